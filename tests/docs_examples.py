#!/usr/bin/python3
"""Helper of tests/docs.sh: run the documentation's examples.

    docs_examples.py rst   --top TOP --work DIR
        The "Tagged dynamic capacity" section of build/qemu/docs/system/
        devices/cxl.rst: every literal block that is a qemu-system-x86_64
        command line is booted (TCG, no display, a QMP socket of our own);
        the (QEMU) lines that follow it are typed into the tree's
        scripts/qmp/qmp-shell in document order, against the serve-mode
        bare-metal guest (guest/README.md).
    docs_examples.py readme-tour --top TOP --work DIR --qmp-sock S
                     --hmp-sock S --state-dir D
        README.md's five-minute tour: scripts/interactive.sh with sockets
        and a state directory of our own, the qmp-shell line, the (QEMU)
        lines, then scripts/interactive.sh --stop.
    docs_examples.py readme-refs --top TOP
        Print what README.md names, one per line, tab-separated:
        "make TARGET LINE" and "path PATH LINE [RELATIVE-TO]".

The commands are the documents', verbatim except that mem-path= points
into DIR; the waits in between are this test's and follow what the text
says happens (the guest accepts an offer; it answers a release).  A
failure raises DocFailure naming FILE:LINE and the documented line.
QEMU is started and queried through the tree's python/qemu (qemu.machine,
qemu.qmp; PYTHONPATH=build/qemu/python), the documented lines go through
its scripts/qmp/qmp-shell.
"""

import argparse
import ast
import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import qmp as qmpclient  # noqa: E402  (scripts/qmp.py: checks qemu.qmp imports)
from qemu.machine import QEMUMachine  # noqa: E402
from qemu.machine.machine import VMLaunchFailure  # noqa: E402

RST = "build/qemu/docs/system/devices/cxl.rst"
RST_SECTION = "Tagged dynamic capacity"
RST_NAME = "cxl.rst"         # in messages: FILE:LINE
README = "README.md"
README_TOUR = "## Five-minute tour"
QEMU_BIN = "build/qemu/build/qemu-system-x86_64"
QEMU_TREE = "build/qemu"
GUEST = "guest/guest.elf"
# The CFMW base of q35 with -m below 2.75G and no maxmem: the guest cannot
# read it from ACPI (guest/README.md), it is checked against 'info mtree'.
WINDOW = 0x110000000
PROMPT = b"(QEMU) "

BOOT_TIMEOUT = 75       # SeaBIOS spends ~32 s on q35's default empty CD-ROM
STEP_TIMEOUT = 20       # for the guest to answer an offer or a release
QMP_TIMEOUT = 20


class DocFailure(Exception):
    pass


def ok(msg):
    print("ok: " + msg, flush=True)


def info(msg):
    print("   " + msg, flush=True)


def short(text, n=110):
    return text if len(text) <= n else text[:n - 3] + "..."


# ---------------------------------------------------------------- extraction

def rst_literal_blocks(lines, start, end):
    """(line number of the '::' paragraph line, [(lineno, text)]) for every
    literal block in lines[start:end] (0-based indices, 1-based numbers)."""
    blocks = []
    i = start
    while i < end:
        line = lines[i]
        if line.strip() and line.rstrip().endswith("::"):
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while j < end and not lines[j].strip():
                j += 1
            body = []
            while j < end and (not lines[j].strip() or
                               len(lines[j]) - len(lines[j].lstrip()) > indent):
                body.append((j + 1, lines[j].rstrip("\n")))
                j += 1
            while body and not body[-1][1].strip():
                body.pop()
            if body:
                cut = min(len(t) - len(t.lstrip()) for _, t in body if t.strip())
                blocks.append((i + 1, [(n, t[cut:]) for n, t in body]))
            i = j
            continue
        i += 1
    return blocks


def extract_rst(top):
    """The section's examples in document order: dicts with kind 'cmdline'
    (line, text, argv), 'qmp' (line, text, reply, reply_line) or 'note'."""
    path = os.path.join(top, RST)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    start = None
    for i in range(len(lines) - 1):
        if (lines[i].strip() == RST_SECTION and
                re.fullmatch(r"-{3,}", lines[i + 1].strip())):
            start = i
            break
    if start is None:
        raise DocFailure(f"{RST_NAME}: no section titled \"{RST_SECTION}\"")
    end = len(lines)
    for j in range(start + 2, len(lines) - 1):
        title, under = lines[j].rstrip("\n"), lines[j + 1].rstrip("\n")
        if (title.strip() and not title[0].isspace() and
                re.fullmatch(r"[-=]{3,}", under) and len(under) >= len(title)):
            end = j
            break
    items = []
    for para, body in rst_literal_blocks(lines, start, end):
        first = body[0][1]
        if first.startswith("qemu-system-"):
            cur = None
            for n, t in body:
                if not t.strip():
                    continue
                if cur is None:
                    cur = {"kind": "cmdline", "line": n, "parts": []}
                cont = t.rstrip().endswith("\\")
                cur["parts"].append(t.rstrip()[:-1].strip() if cont else t.strip())
                if not cont:
                    cur["text"] = " ".join(cur.pop("parts"))
                    cur["argv"] = shlex.split(cur["text"])
                    items.append(cur)
                    cur = None
            if cur is not None:
                raise DocFailure(f"{RST_NAME}:{cur['line']}: the command line ends "
                                 "with a '\\' continuation and nothing after it")
        elif any(t.startswith("(QEMU) ") for _, t in body):
            for n, t in body:
                if not t.strip():
                    continue
                if t.startswith("(QEMU) "):
                    items.append({"kind": "qmp", "line": n,
                                  "text": t[len("(QEMU) "):].strip(),
                                  "reply": None, "reply_line": None})
                elif (items and items[-1]["kind"] == "qmp" and
                      items[-1]["reply"] is None and items[-1]["line"] < n):
                    items[-1]["reply"] = t.strip()
                    items[-1]["reply_line"] = n
                else:
                    raise DocFailure(f"{RST_NAME}:{n}: a line in a qmp-shell block "
                                     f"that is neither '(QEMU) ...' nor the "
                                     f"reply to one: {t.strip()}")
        else:
            items.append({"kind": "note", "line": para,
                          "text": first.strip()})
    section = "".join(lines[start:end])
    attach = re.search(r"``(scripts/qmp/qmp-shell)\s+(\S+?)``", section)
    if attach:
        line = start + 1 + section[:attach.start()].count("\n")
        attach = {"line": line, "shell": attach.group(1),
                  "sock": attach.group(2)}
    return items, attach, start + 1


def readme_tour(top):
    """The tour's fenced block: (start-command item, attach item, qmp items)."""
    with open(os.path.join(top, README), encoding="utf-8") as f:
        lines = f.readlines()
    try:
        start = next(i for i, t in enumerate(lines) if t.strip() == README_TOUR)
    except StopIteration:
        raise DocFailure(f"{README}: no \"{README_TOUR}\" section") from None
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("## ")), len(lines))
    fenced = False
    found = []
    for i in range(start, end):
        t = lines[i].strip()
        if t.startswith("```"):
            fenced = not fenced
            continue
        if fenced and t:
            found.append((i + 1, t))
    start_cmd = attach = None
    qmp = []
    # the text's claim about 'info mtree', checked while an extent is accepted
    mtree_line = next((i + 1 for i in range(start, end)
                       if "cxl-dc-direct-map" in lines[i]), None)
    for n, t in found:
        if t.startswith("(QEMU) "):
            qmp.append({"kind": "qmp", "line": n,
                        "text": t[len("(QEMU) "):].strip(),
                        "reply": None, "reply_line": None})
        elif "qmp-shell" in t.split("#")[0]:
            attach = {"line": n, "text": t, "argv": shlex.split(t, comments=True)}
        elif t.split()[0].endswith("interactive.sh"):
            start_cmd = {"line": n, "text": t, "argv": shlex.split(t, comments=True)}
        else:
            raise DocFailure(f"{README}:{n}: a line of the tour's code block "
                             f"this test does not know how to run: {t}")
    if start_cmd is None or attach is None or not qmp:
        raise DocFailure(f"{README}:{start + 1}: the tour's code block should "
                         "have the interactive.sh line, the qmp-shell line and "
                         "(QEMU) lines")
    return start_cmd, attach, qmp, mtree_line


def readme_refs(top):
    """(make targets, paths) named in README.md code: lists of
    (value, line, relative-to)."""
    with open(os.path.join(top, README), encoding="utf-8") as f:
        lines = f.readlines()
    code = []           # (lineno, text, is_span, table_dir)
    fenced = False
    for i, raw in enumerate(lines):
        t = raw.strip()
        if t.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            if t and not t.startswith("(QEMU) "):
                code.append((i + 1, t.split(" #")[0].strip(), False, None))
            continue
        table_dir = None
        if t.startswith("|"):
            cells = [c.strip() for c in t.strip("|").split("|")]
            m = re.fullmatch(r"`([^`\s]+/)`", cells[0]) if cells else None
            table_dir = m.group(1) if m else None
        for m in re.finditer(r"`([^`]+)`", t):
            code.append((i + 1, m.group(1), True, table_dir))
    targets, paths = [], []
    seen_t, seen_p = set(), set()
    for n, text, is_span, table_dir in code:
        for m in re.finditer(r"(?:^|[\s;&|])make((?:\s+[a-z][a-z0-9-]*)+)", text):
            for tgt in m.group(1).split():
                if tgt not in seen_t:
                    seen_t.add(tgt)
                    targets.append((tgt, n, ""))
        if re.match(r"make(\s|$)", text):
            continue
        tokens = [text] if is_span and " " not in text else \
            ([] if is_span else shlex.split(text, comments=True))
        for tok in tokens:
            tok = tok.rstrip(".,:;")
            if (not tok or tok.startswith(("/", "~", "-", "(")) or
                    re.search(r"[=<>'\"\[\]{}$*]|NNNN", tok) or
                    re.fullmatch(r"[./]+", tok)):
                continue
            rel = ""
            if "/" in tok or tok == "Makefile":
                pass
            elif table_dir and is_span and re.fullmatch(r"[\w.-]+", tok):
                rel = table_dir
            else:
                continue
            if (tok, rel) not in seen_p:
                seen_p.add((tok, rel))
                paths.append((tok, n, rel))
    return targets, paths


# ---------------------------------------------------------------- QMP pieces

def parse_qmp_shell_line(text):
    """The command and arguments qmp-shell builds from a line (its own
    tokenizer and value rules, enough for these examples)."""
    toks = re.findall(r'''(?:[^\s"']|"(?:\\.|[^"])*"|'(?:\\.|[^'])*')+''', text)
    args = {}
    for tok in toks[1:]:
        key, _, val = tok.partition("=")
        try:
            v = int(val)
        except ValueError:
            if val.lower() in ("true", "false"):
                v = val.lower() == "true"
            elif val.startswith(("[", "{")):
                try:
                    v = json.loads(val)
                except ValueError:
                    v = val
            else:
                v = val
        args[key] = v
    return (toks[0] if toks else ""), args


class QmpShell:
    """The tree's scripts/qmp/qmp-shell, fed one line at a time."""

    def __init__(self, argv, cwd, home, where):
        env = dict(os.environ, HOME=home, PYTHONUNBUFFERED="1")
        self.where = where
        self.p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        banner = self.read_prompt(where)
        if "Connected to QEMU" not in banner:
            raise DocFailure(f"{where}: qmp-shell did not connect: {banner.strip()}")
        self.banner = banner.strip().splitlines()[-1]

    def read_prompt(self, where, timeout=QMP_TIMEOUT):
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while not self.buf.endswith(PROMPT):
            left = deadline - time.monotonic()
            if left <= 0:
                raise DocFailure(f"{where}: qmp-shell gave no prompt within "
                                 f"{timeout} s; output so far: {self.buf.decode(errors='replace')}")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.p.wait()
                    raise DocFailure(f"{where}: qmp-shell exited (status "
                                     f"{self.p.returncode}): {self.buf.decode(errors='replace').strip()}")
                self.buf += chunk
        out = self.buf[:-len(PROMPT)].decode(errors="replace")
        self.buf = b""
        return out

    def send(self, line, where):
        try:
            self.p.stdin.write(line.encode() + b"\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            raise DocFailure(f"{where}: qmp-shell is gone") from None
        return self.read_prompt(where)

    def close(self):
        """EOF, as a user's Ctrl-D: qmp-shell must exit cleanly."""
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return -9
        return self.p.returncode


def reply_of(out):
    """The JSON reply qmp-shell printed for one command: (line, object)."""
    lines = [t for t in out.splitlines() if t.startswith("{")]
    if not lines:
        return None, None
    try:
        return lines[-1], json.loads(lines[-1])
    except ValueError:
        return lines[-1], None


# ---------------------------------------------------------------- a scenario

class Scenario:
    """Types the documented lines into one qmp-shell session and performs
    the waits the text describes between them."""

    def __init__(self, doc, shell, work, serial=None, after_accept=None):
        self.doc = doc                  # file name for messages
        self.shell = shell
        self.work = work
        self.serial = serial
        self.after_accept = after_accept
        self.backends = {}              # id -> tag (lower case) or None
        self.adds = []                  # offered, not released: dicts
        self.waits = []                 # outstanding: dicts
        self.events = []
        self.lines = 0
        self.polls = 0

    def where(self, item):
        return f"{self.doc}:{item['line']}: (QEMU) {item['text']}"

    def query(self, path, why):
        out = self.shell.send(f"query-cxl-dynamic-capacity path={path}", why)
        self.polls += 1
        _, reply = reply_of(out)
        if not reply or "return" not in reply:
            raise DocFailure(f"{why}: the test's query-cxl-dynamic-capacity "
                             f"failed: {out.strip()}")
        return reply["return"]

    def read_events(self, why):
        out = self.shell.send("", why)
        for t in out.splitlines():
            if t.startswith("{"):
                try:
                    self.events.append(ast.literal_eval(t))
                except (ValueError, SyntaxError):
                    raise DocFailure(f"{why}: cannot parse the event line {t}") from None

    def serial_errors(self):
        if not self.serial or not os.path.exists(self.serial):
            return []
        with open(self.serial, errors="replace") as f:
            return [t.strip() for t in f if t.startswith(("SERVE ERROR", "ERROR"))]

    @staticmethod
    def ext_key(region, e):
        return (region, e["offset"], e["len"])

    def wait_for(self, w):
        """Poll the query (and the events) until w holds."""
        t0 = time.monotonic()
        deadline = t0 + STEP_TIMEOUT
        want = {self.ext_key(w["region"], e) for e in w["extents"]}
        while True:
            entries = self.query(w["path"], w["where"])
            if w["kind"] == "accepted":
                got = {(e["region"], e["offset"], e["len"]): e for e in entries}
                done = all(k in got and got[k]["status"] == "accepted" for k in want)
                if done:
                    for k in want:
                        e = got[k]
                        if w["tag"] and e.get("tag") != w["tag"]:
                            raise DocFailure(f"{w['where']}: the accepted extent "
                                             f"{k} shows tag {e.get('tag')}, not {w['tag']}")
                        if w["memdev"] and e.get("memdev") != w["memdev"]:
                            raise DocFailure(f"{w['where']}: the accepted extent {k} "
                                             f"shows memdev {e.get('memdev')}, the text "
                                             f"says \"memdev\": \"{w['memdev']}\"")
            else:
                left = [e for e in entries
                        if self.ext_key(e["region"], e) in want]
                done = not left
            if done:
                break
            if time.monotonic() > deadline:
                errs = self.serial_errors()
                raise DocFailure(f"{w['where']}: after {STEP_TIMEOUT} s the guest "
                                 f"has not {w['kind']} the extents; last query: "
                                 f"{json.dumps(entries)}" +
                                 (f"; guest: {errs[0]}" if errs else ""))
            time.sleep(0.2)
        took = time.monotonic() - t0
        # CXL_DYNAMIC_CAPACITY_CHANGE reports the answer.
        while True:
            self.read_events(w["where"])
            seen = set()
            for ev in self.events:
                d = ev.get("data", {})
                if (ev.get("event") == "CXL_DYNAMIC_CAPACITY_CHANGE" and
                        d.get("change") == w["kind"] and d.get("path") == w["path"] and
                        d.get("region") == w["region"] and d.get("tag") == w["tag"]):
                    seen |= {self.ext_key(d["region"], e) for e in d["extents"]}
            if want <= seen:
                break
            if time.monotonic() > deadline + 5:
                raise DocFailure(f"{w['where']}: no CXL_DYNAMIC_CAPACITY_CHANGE "
                                 f"event with change '{w['kind']}' for {sorted(want)} "
                                 f"(events seen: {self.events})")
            time.sleep(0.2)
        info(f"wait: the guest {w['kind']} {len(want)} extent(s) of tag "
             f"{w['tag']}{' (memdev ' + w['memdev'] + ')' if w['memdev'] and w['kind'] == 'accepted' else ''} "
             f"after {took:.1f} s; query and CXL_DYNAMIC_CAPACITY_CHANGE "
             f"change={w['kind']} agree")
        if w["kind"] == "accepted" and self.after_accept:
            self.after_accept(w)

    def settle(self):
        while self.waits:
            self.wait_for(self.waits.pop(0))

    def check_query(self, item, entries):
        """What the text says a query shows: every offered extent, pending
        until the guest answers, then accepted, with its tag and memdev."""
        got = {(e["region"], e["offset"], e["len"]): e for e in entries}
        for a in self.adds:
            if a["path"] != parse_qmp_shell_line(item["text"])[1].get("path"):
                continue
            for e in a["extents"]:
                k = self.ext_key(a["region"], e)
                g = got.get(k)
                if g is None:
                    raise DocFailure(f"{self.where(item)}: the offered extent "
                                     f"{k} is not listed: {json.dumps(entries)}")
                if g["status"] not in ("pending", "accepted"):
                    raise DocFailure(f"{self.where(item)}: status {g['status']}")
                if a["tag"] and g.get("tag") != a["tag"]:
                    raise DocFailure(f"{self.where(item)}: extent {k} has tag "
                                     f"{g.get('tag')}, offered with {a['tag']}")
                if a["memdev"] and g.get("memdev") != a["memdev"]:
                    raise DocFailure(f"{self.where(item)}: extent {k} has memdev "
                                     f"{g.get('memdev')}, expected {a['memdev']}")
        return ", ".join(f"region {e['region']} offset {e['offset']:#x} len "
                         f"{e['len']:#x} {e['status']}" for e in entries) or "nothing"

    def run(self, item):
        try:
            self._run(item)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DocFailure(f"{self.where(item)}: unexpected arguments or reply "
                             f"({type(e).__name__}: {e})") from None

    def _run(self, item):
        cmd, args = parse_qmp_shell_line(item["text"])
        where = self.where(item)
        if not cmd.startswith("query-"):
            self.settle()
        line = item["text"]
        note = ""
        m = re.search(r"(?<=\s)mem-path=(\S+)", line)
        if m:
            new = os.path.join(self.work, os.path.basename(m.group(1)))
            line = line[:m.start(1)] + new + line[m.end(1):]
            note = f" (mem-path={new})"
        before = None
        if item["reply"] is not None and "path" in args and cmd.startswith("cxl-"):
            before = self.query(args["path"], where)
        out = self.shell.send(line, where)
        self.lines += 1
        rline, reply = reply_of(out)
        if item["reply"] is not None:
            if rline != item["reply"]:
                raise DocFailure(
                    f"{where}: documented reply ({self.doc}:{item['reply_line']})\n"
                    f"    {item['reply']}\n  but qmp-shell printed\n    "
                    f"{out.strip() or '(nothing)'}")
            ok(f"{self.doc}:{item['line']}: {item['text']}\n"
               f"      -> {rline} (as documented, line {item['reply_line']})")
            if before is not None:
                after = self.query(args["path"], where)
                if after != before:
                    raise DocFailure(f"{where}: the refused request changed the "
                                     f"extents: before {before}, after {after}")
                info("the refused request changed nothing (query before and after agree)")
            return
        if not reply or "return" not in reply:
            raise DocFailure(f"{where}{note}: did not succeed; qmp-shell printed: "
                             f"{out.strip() or '(nothing)'}")
        summary = short(rline, 70)
        if cmd == "object-add":
            tag = args.get("tag")
            self.backends[args.get("id")] = tag.lower() if isinstance(tag, str) else None
        elif cmd == "cxl-add-dynamic-capacity":
            tag = args.get("tag")
            tag = tag.lower() if isinstance(tag, str) else None
            memdev = next((b for b, t in self.backends.items() if t and t == tag), None)
            a = {"kind": "accepted", "path": args["path"], "region": args["region"],
                 "tag": tag, "extents": args["extents"], "memdev": memdev,
                 "where": where}
            self.adds.append(a)
            self.waits.append(a)
        elif cmd == "cxl-release-dynamic-capacity":
            tag = args.get("tag")
            tag = tag.lower() if isinstance(tag, str) else None
            region = args["region"]
            if args.get("removal-policy") == "tag-based":
                exts = [e for a in self.adds if a["path"] == args["path"] and
                        a["region"] == region and a["tag"] == tag
                        for e in a["extents"]]
            else:
                exts = args["extents"]
            if not exts:
                raise DocFailure(f"{where}: releases nothing this scenario offered")
            keys = {self.ext_key(region, e) for e in exts}
            for a in self.adds:
                if a["path"] == args["path"] and a["region"] == region:
                    a["extents"] = [e for e in a["extents"]
                                    if self.ext_key(region, e) not in keys]
            self.adds = [a for a in self.adds if a["extents"]]
            self.waits.append({"kind": "released", "path": args["path"],
                               "region": region, "tag": tag, "extents": exts,
                               "memdev": None, "where": where})
        elif cmd == "query-cxl-dynamic-capacity":
            summary = self.check_query(item, reply["return"])
        elif cmd == "object-del":
            self.backends.pop(args.get("id"), None)
        ok(f"{self.doc}:{item['line']}: {item['text']}{note}\n"
           f"      -> {summary}")


# ---------------------------------------------------------------- QEMU

def boot_argv(top, item, sock, extra):
    """The documented command line, run under TCG without a display and
    with our QMP socket.  Returns (argv, documented socket or None)."""
    argv = [os.path.join(top, QEMU_BIN)]
    doc_sock = None
    rest = item["argv"][1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("-qmp", "--qmp") and i + 1 < len(rest):
            m = re.fullmatch(r"unix:([^,]+)(,.*)?", rest[i + 1])
            if not m:
                raise DocFailure(f"{RST_NAME}:{item['line']}: -qmp {rest[i + 1]} is "
                                 "not a unix socket")
            doc_sock = m.group(1)
            argv += [a, f"unix:{sock}{m.group(2) or ''}"]
            i += 2
            continue
        argv.append(a)
        i += 1
    if doc_sock is None:
        argv += ["-qmp", f"unix:{sock},server=on,wait=off"]
    argv += ["-accel", "tcg", "-display", "none"] + extra
    return argv, doc_sock


class Qemu:
    """A documented command line run by qemu.machine's QEMUMachine, which
    adds its own QMP monitor (the test's queries) beside the command
    line's -qmp socket (qmp-shell's); -pidfile lets tests/docs.sh stop it
    if this helper is killed."""

    def __init__(self, argv, work, name):
        self.log = os.path.join(work, name + ".log")
        self.m = QEMUMachine(argv[0], args=argv[1:] + ["-pidfile", os.path.join(work, name + ".pid")],
                             name=name, base_temp_dir=work, log_dir=work,
                             qmp_timer=BOOT_TIMEOUT)

    def launch(self, where):
        try:
            self.m.launch()
        except (VMLaunchFailure, qmpclient.QMPError, OSError) as e:
            raise DocFailure(f"{where}: QEMU did not start: {e}; {self.output()}") from None

    def output(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().strip()
        except OSError:
            return ""

    def alive(self):
        return self.m.is_running()

    def exitcode(self):
        return self.m.exitcode()

    def stop(self):
        try:
            self.m.shutdown(timeout=10)
        except Exception:       # noqa: BLE001  (already gone, or killed)
            if self.m.is_running():
                self.m.kill()


def check_devices(q, item, argv):
    """Every -device of the command line is in the QOM tree, and QMP
    answers query-pci."""
    where = f"{RST_NAME}:{item['line']}"
    named, anon = {}, {}
    for i, a in enumerate(argv[:-1]):
        if a == "-device":
            opts = argv[i + 1].split(",")
            kv = dict(o.split("=", 1) for o in opts[1:] if "=" in o)
            if "id" in kv:
                named[kv["id"]] = opts[0]
            else:
                anon[opts[0]] = anon.get(opts[0], 0) + 1
    r = q.qmp("query-pci")
    if "return" not in r:
        raise DocFailure(f"{where}: query-pci failed: {r}")
    ndev = sum(len(b["devices"]) for b in r["return"])
    children = {}
    for base in ("/machine/peripheral", "/machine/peripheral-anon"):
        r = q.qmp("qom-list", path=base)
        if "return" not in r:
            raise DocFailure(f"{where}: qom-list {base} failed: {r}")
        children[base] = [(c["name"], c["type"]) for c in r["return"]
                          if c["type"].startswith("child<")]
    for dev_id, drv in named.items():
        if (dev_id, f"child<{drv}>") not in children["/machine/peripheral"]:
            raise DocFailure(f"{where}: -device {drv},id={dev_id} is not "
                             "/machine/peripheral/" + dev_id)
    for drv, n in anon.items():
        have = sum(1 for _, t in children["/machine/peripheral-anon"]
                   if t == f"child<{drv}>")
        if have < n:
            raise DocFailure(f"{where}: {n} -device {drv} without id, "
                             f"{have} in /machine/peripheral-anon")
    for dev_id, drv in named.items():
        if drv == "cxl-type3":
            r = q.qmp("qom-list", path=f"/machine/peripheral/{dev_id}")
            props = {c["name"] for c in r.get("return", [])}
            if "dc-regions-total-size" not in props:
                raise DocFailure(f"{where}: qom-list /machine/peripheral/{dev_id}: "
                                 f"{r}")
    return (f"query-pci lists {ndev} PCI functions; every -device is in the "
            f"QOM tree ({', '.join(f'{d}={v}' for d, v in named.items())}"
            f"{''.join(f', {n} anonymous {d}' for d, n in anon.items())}); "
            f"qom-list of the cxl-type3 has dc-regions-total-size")


def wait_serial(path, regex, timeout, qemu, where):
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text = f.read().replace("\r", "")
            if re.search(regex, text, re.M):
                return
        if not qemu.alive():
            raise DocFailure(f"{where}: QEMU exited (status {qemu.exitcode()}) "
                             f"before the guest printed /{regex}/: {qemu.output()}")
        if time.monotonic() > deadline:
            raise DocFailure(f"{where}: the guest did not print /{regex}/ within "
                             f"{timeout} s")
        time.sleep(0.1)


def run_rst(top, work):
    items, attach, sec_line = extract_rst(top)
    cmdlines = [i for i in items if i["kind"] == "cmdline"]
    qmps = [i for i in items if i["kind"] == "qmp"]
    replies = [i for i in qmps if i["reply"] is not None]
    print(f"{RST}: section \"{RST_SECTION}\" (line {sec_line}): "
          f"{len(cmdlines)} command line(s), {len(qmps)} (QEMU) line(s), "
          f"{len(replies)} documented reply line(s)", flush=True)
    for it in items:
        if it["kind"] == "note":
            info(f"note: the literal block after line {it['line']} is neither a "
                 f"command line nor qmp-shell input, not run: {short(it['text'])}")
    if not cmdlines or not qmps or not replies:
        raise DocFailure(f"{RST_NAME}:{sec_line}: expected command lines, (QEMU) lines "
                         "and a documented error reply in the section")
    if qmps[0]["line"] < cmdlines[0]["line"]:
        raise DocFailure(f"{RST_NAME}:{qmps[0]['line']}: a (QEMU) line before any "
                         "command line")
    groups = []
    for it in items:
        if it["kind"] == "cmdline":
            groups.append((it, []))
        elif it["kind"] == "qmp":
            groups[-1][1].append(it)
    if not any("cxl-switch-mailbox-cci" in c["text"] for c, _ in groups):
        raise DocFailure(f"{RST_NAME}:{sec_line}: no FM-API command line "
                         "(cxl-switch-mailbox-cci) in the section")

    shell_path = os.path.join(top, QEMU_TREE, "scripts/qmp/qmp-shell")
    if attach:
        if attach["shell"] != "scripts/qmp/qmp-shell":
            raise DocFailure(f"{RST_NAME}:{attach['line']}: attach with {attach['shell']}")
    total = 0
    for n, (cl, lines) in enumerate(groups):
        where = f"{RST_NAME}:{cl['line']}"
        sock = os.path.join(work, f"rst{n}.qmp")
        serial = os.path.join(work, f"rst{n}.serial")
        extra = []
        if lines:
            hb = " hbdec=1" if "hdm_for_passthrough=on" in cl["text"] else ""
            extra = ["-serial", f"file:{serial}", "-kernel",
                     os.path.join(top, GUEST), "-append",
                     f"mode=serve window={WINDOW:#x}{hb}"]
        argv, doc_sock = boot_argv(top, cl, sock, extra)
        if lines and attach and doc_sock and attach["sock"] != doc_sock:
            raise DocFailure(f"{RST_NAME}:{attach['line']}: the text attaches qmp-shell "
                             f"to {attach['sock']}, the command line at line "
                             f"{cl['line']} listens on {doc_sock}")
        print(f"-- {where}: {cl['text']}", flush=True)
        info("run as documented"
             + (f", -qmp socket {doc_sock} -> {sock}" if doc_sock else
                f", + -qmp unix:{sock},server=on,wait=off")
             + ", + -accel tcg -display none"
             + (" " + " ".join(shlex.quote(a) for a in extra) if extra else ""))
        qemu = Qemu(argv, work, f"rst{n}")
        shell = None
        try:
            t0 = time.monotonic()
            qemu.launch(where)
            q = qemu.m
            ok(f"{where}: QEMU boots and answers QMP ({time.monotonic() - t0:.1f} s); "
               + check_devices(q, cl, cl["argv"]))
            if lines:
                base = qmpclient.window_base(q)
                if base != WINDOW:
                    raise DocFailure(f"{where}: the CXL fixed memory window is at "
                                     f"{base and hex(base)}, the guest was told "
                                     f"{WINDOW:#x} (test assumption)")
                wait_serial(serial, r"^READY serving", BOOT_TIMEOUT, qemu,
                            f"{where} (serve-mode guest)")
                info(f"the serve-mode guest is serving after {time.monotonic() - t0:.1f} s "
                     f"(CXL window at {WINDOW:#x} as it was told)")
                shell_where = f"{RST_NAME}:{attach['line'] if attach else cl['line']}"
                shell = QmpShell([shell_path, sock], top, work, shell_where)
                ok(f"{shell_where}: scripts/qmp/qmp-shell {sock}: {shell.banner}")
                files = os.path.join(work, f"rst{n}-files")
                os.makedirs(files, exist_ok=True)
                sc = Scenario(RST_NAME, shell, files, serial)
                for it in lines:
                    sc.run(it)
                sc.settle()
                total += sc.lines
                rc = shell.close()
                if rc != 0:
                    raise DocFailure(f"{shell_where}: qmp-shell exited with status {rc} on EOF")
                errs = sc.serial_errors()
                if errs:
                    raise DocFailure(f"{where}: the guest reported: {errs[0]}")
                info(f"qmp-shell exited cleanly; {sc.polls} test queries; "
                     "the guest reported no error")
            if not qemu.alive():
                raise DocFailure(f"{where}: QEMU exited: {qemu.output()}")
        finally:
            if shell:
                shell.close()
            qemu.stop()
    return total


# ---------------------------------------------------------------- README

def run_readme(top, work, qmp_sock, hmp_sock, state_dir):
    start, attach, qmps, mtree_line = readme_tour(top)
    print(f"{README}: five-minute tour: {len(qmps)} (QEMU) line(s)", flush=True)
    env = dict(os.environ, QMP_SOCK=qmp_sock, HMP_SOCK=hmp_sock, STATE_DIR=state_dir)
    script = start["argv"][0]
    where = f"{README}:{start['line']}: {start['text']}"

    # The socket the README attaches to is the script's default one.
    h = subprocess.run([script, "--help"], cwd=top, capture_output=True,
                       text=True, timeout=30)
    m = re.search(r"QMP_SOCK=(\S+)", h.stdout)
    doc_sock = attach["argv"][-1]
    if not m or m.group(1) != doc_sock:
        raise DocFailure(f"{README}:{attach['line']}: {attach['text']}: attaches to "
                         f"{doc_sock}, but {script} --help says QMP_SOCK="
                         f"{m.group(1) if m else '(not shown)'}")
    ok(f"{README}:{attach['line']}: the socket {doc_sock} is {script}'s default QMP_SOCK")

    t0 = time.monotonic()
    r = subprocess.run(start["argv"], cwd=top, env=env, capture_output=True,
                       text=True, timeout=BOOT_TIMEOUT)
    if r.returncode != 0:
        raise DocFailure(f"{where}: exit status {r.returncode}: "
                         f"{(r.stdout + r.stderr).strip()}")
    shown = attach["argv"][:-1] + [qmp_sock]
    if " ".join(shown) not in r.stdout or qmp_sock not in r.stdout:
        raise DocFailure(f"{where}: it should print the QMP socket and the "
                         f"qmp-shell line '{' '.join(shown)}'; it printed:\n{r.stdout}")
    ok(f"{README}:{start['line']}: {start['argv'][0]} started QEMU and the serving "
       f"guest in {time.monotonic() - t0:.1f} s (QMP_SOCK={qmp_sock}) and printed "
       f"the qmp-shell line")
    shell = None
    try:
        shell_where = f"{README}:{attach['line']}: {attach['text']}"
        shell = QmpShell(shown, top, work, shell_where)
        ok(f"{README}:{attach['line']}: {' '.join(shown)}: {shell.banner}")

        def direct_map(w):
            # README: info mtree shows the extent as a cxl-dc-direct-map
            # alias of the backend inside cxl-fixed-memory-region.
            mtree = qmpclient.hmp_socket(hmp_sock, "info mtree")
            inside, found = None, False
            for t in mtree.splitlines():
                ind = len(t) - len(t.lstrip())
                if "cxl-fixed-memory-region" in t and "alias" not in t:
                    inside = ind
                    continue
                if inside is not None:
                    if ind <= inside:
                        inside = None
                    elif re.search(r"alias cxl-dc-direct-map @%s " % re.escape(w["memdev"]), t):
                        found = True
            if not found:
                raise DocFailure(f"{README}:{mtree_line}: 'info mtree' shows no cxl-dc-direct-map "
                                 f"alias of {w['memdev']} inside cxl-fixed-memory-region")
            info(f"README.md:{mtree_line}: 'info mtree' (HMP) shows a cxl-dc-direct-map alias of "
                 f"{w['memdev']} inside cxl-fixed-memory-region")

        files = os.path.join(work, "readme-files")
        os.makedirs(files, exist_ok=True)
        sc = Scenario("README.md", shell, files,
                      os.path.join(state_dir, "serial.log"),
                      direct_map if mtree_line else None)
        for it in qmps:
            sc.run(it)
        sc.settle()
        rc = shell.close()
        shell = None
        if rc != 0:
            raise DocFailure(f"{shell_where}: qmp-shell exited with status {rc} on EOF")
        errs = sc.serial_errors()
        if errs:
            raise DocFailure(f"{where}: the guest reported: {errs[0]}")
    finally:
        if shell:
            shell.close()
        stop = subprocess.run([script, "--stop"], cwd=top, env=env,
                              capture_output=True, text=True, timeout=30)
    if stop.returncode != 0 or "stopped QEMU" not in stop.stdout:
        raise DocFailure(f"{where}: {script} --stop: {(stop.stdout + stop.stderr).strip()}")
    ok(f"{script} --stop: {stop.stdout.strip()}")
    return sc.lines


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["rst", "readme-tour", "readme-refs", "extract"])
    ap.add_argument("--top", required=True)
    ap.add_argument("--work")
    ap.add_argument("--qmp-sock")
    ap.add_argument("--hmp-sock")
    ap.add_argument("--state-dir")
    a = ap.parse_args()
    if a.work:
        # tests/docs.sh stops this process by this pid on SIGTERM; the
        # finally blocks then stop the QEMU processes it started.
        with open(os.path.join(a.work, "helper.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    try:
        if a.what == "extract":
            items, attach, _ = extract_rst(a.top)
            print(json.dumps({"rst": items, "attach": attach,
                              "readme": readme_tour(a.top)}, indent=1))
        elif a.what == "readme-refs":
            targets, paths = readme_refs(a.top)
            for t, n, _ in targets:
                print(f"make\t{t}\t{n}")
            for p, n, rel in paths:
                print(f"path\t{p}\t{n}\t{rel}")
        elif a.what == "rst":
            n = run_rst(a.top, a.work)
            print(f"{RST_NAME}: {n} (QEMU) line(s) run", flush=True)
        else:
            n = run_readme(a.top, a.work, a.qmp_sock, a.hmp_sock, a.state_dir)
            print(f"README.md: {n} (QEMU) line(s) run", flush=True)
    except DocFailure as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

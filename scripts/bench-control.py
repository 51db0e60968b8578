#!/usr/bin/python3
"""Control-path cost of tagged dynamic capacity, timed from the host over QMP.

    scripts/bench-control.py QMP_SOCKET [--counts 16,256] [--rounds 3]

QEMU must already run a DC-only cxl-type3 (dc-regions-total-size, id dcd0)
with guest/guest.elf in mode=serve, which accepts every offer and answers
every release request.  scripts/bench-all.sh starts it; this script only
talks QMP.

For each count N it measures two things, each in every round:

  add      from the first cxl-add-dynamic-capacity until CXL_DYNAMIC_
           CAPACITY_CHANGE events (change=accepted) have reported all N
           extents accepted by the guest
  release  from the first cxl-release-dynamic-capacity until the
           change=released events cover all N extents

in two ways of handing out the capacity:

  per-tag  N memory-backend-ram of 2 MiB, one tag each, one add request
           (one extent) per tag; released with one tag-based request per tag
  one-req  one backend of N * 2 MiB, one tag, one add request carrying N
           extents; released with one tag-based request (extents=[]).
           Only for N <= 16: the serve-mode guest answers one request with
           one Add DC Response of at most 16 extents (QEMU accepts larger
           offers over several responses chained with the "More" flag; the
           guest does not do that).

Backends are created once (object-add is not timed) and reused in every
round, which also checks that a released backend is free again.  After each
step the query-cxl-dynamic-capacity result is checked (untimed).

Output: one "CTL ..." line per measurement (for bench-all.sh), then a table.
QMP through QEMU's qemu.qmp (scripts/qmp.py; PYTHONPATH=build/qemu/python).
"""

import argparse
import asyncio
import json
import statistics
import sys
import time

import qmp as qmpclient

MiB = 1 << 20
EXT_LEN = 2 * MiB                   # the DC block size of QEMU's regions
DCD = "/machine/peripheral/dcd0"
ONE_REQ_MAX = 16                    # see the docstring


class QMPError(Exception):
    pass


class QMP:
    """Commands through qemu.qmp; events kept in arrival order."""

    def __init__(self, path):
        self.qmp = qmpclient.connect(path)
        self.events = []

    def cmd(self, name, check=True, **args):
        reply = self.qmp.cmd_raw(name, args or None)
        self.events += self.qmp.get_events()
        if check and "error" in reply:
            raise QMPError("%s %s: %s" % (name, json.dumps(args), reply["error"]["desc"]))
        return reply.get("return", reply)

    def wait_extents(self, change, n, timeout):
        """Until CXL_DYNAMIC_CAPACITY_CHANGE events with this change cover n
        extents; consumes the events.  Returns the time it happened."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            rest = []
            for ev in self.events:
                data = ev.get("data", {})
                if ev["event"] != "CXL_DYNAMIC_CAPACITY_CHANGE" or data.get("path") != DCD:
                    continue
                if data["change"] == change:
                    seen += len(data["extents"])
                elif data["change"] == "declined":
                    raise QMPError("the guest declined extents: %s" % json.dumps(data))
                else:
                    rest.append(ev)
            self.events = rest
            if seen >= n:
                return time.monotonic()
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPError("only %d of %d extents %s after %ds" % (seen, n, change, timeout))
            try:
                self.events.append(self.qmp.pull_event(wait=left))
            except asyncio.TimeoutError:
                pass


def tag_of(kind, i):
    # valid (version 4, variant 1) and recognisable in query output
    return "c71a0000-0000-4000-8000-%04x%08x" % (kind, i)


def query(qmp):
    return qmp.cmd("query-cxl-dynamic-capacity", path=DCD)


def expect_query(qmp, n, what):
    q = query(qmp)
    bad = [e for e in q if e["status"] != "accepted"]
    if len(q) != n or bad:
        raise QMPError("%s: query shows %d extent(s) (%d not accepted), expected %d accepted"
                       % (what, len(q), len(bad), n))


def direct_maps(qmp):
    """cxl-dc-direct-map aliases in the system address space.  'info mtree'
    shows some trees twice (per address space and per aliased region), so
    only the block headed "address-space: memory" counts."""
    mtree = qmp.cmd("human-monitor-command", **{"command-line": "info mtree"})
    count, in_memory, header = 0, False, False
    for line in mtree.splitlines():
        if line.startswith(("address-space:", "memory-region:")):
            # consecutive header lines share the tree that follows
            in_memory = (in_memory and header) or line == "address-space: memory"
            header = True
            continue
        header = False
        if in_memory and "cxl-dc-direct-map" in line:
            count += 1
    return count


def make_backends(qmp, prefix, kind, count, size):
    for i in range(count):
        qmp.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "%s%d" % (prefix, i),
                                 "size": size, "tag": tag_of(kind, i)})


def dc_add(qmp, tag, extents):
    qmp.cmd("cxl-add-dynamic-capacity", **{"path": DCD, "host-id": 0, "region": 0,
                                           "selection-policy": "prescriptive",
                                           "tag": tag, "extents": extents})


def dc_release(qmp, tag):
    # tag-based with no extents: every accepted extent of the tag
    qmp.cmd("cxl-release-dynamic-capacity", **{"path": DCD, "host-id": 0, "region": 0,
                                               "removal-policy": "tag-based",
                                               "tag": tag, "extents": []})


def extent(i):
    return {"offset": i * EXT_LEN, "len": EXT_LEN}


def add_release(qmp, n, requests):
    """requests: [(tag, extents)].  Times the add requests until all n
    extents are accepted, then one tag-based release per tag until all are
    released.  Returns (add_s, release_s)."""
    qmp.events.clear()
    t0 = time.monotonic()
    for tag, extents in requests:
        dc_add(qmp, tag, extents)
    t_acc = qmp.wait_extents("accepted", n, 120)
    expect_query(qmp, n, "after the guest accepted")
    t1 = time.monotonic()
    for tag, _ in requests:
        dc_release(qmp, tag)
    t_rel = qmp.wait_extents("released", n, 120)
    expect_query(qmp, 0, "after the guest released")
    return t_acc - t0, t_rel - t1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("socket")
    ap.add_argument("--counts", default="16,256")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--direct-map", choices=("on", "off"), default="on",
                    help="whether QEMU maps accepted extents as RAM "
                         "(off: it runs with -global cxl-type3.x-dc-direct-map=off)")
    ap.add_argument("--stop-guest", action="store_true",
                    help="at the end, send the serving guest the 'q' key")
    ap.add_argument("--budget", type=float, default=10,
                    help="seconds per count after which no more rounds are run")
    opt = ap.parse_args()
    counts = [int(c) for c in opt.counts.split(",")]

    qmp = QMP(opt.socket)
    if query(qmp):
        raise QMPError("the device already has capacity")

    t = time.monotonic()
    make_backends(qmp, "pt", 1, max(counts), EXT_LEN)
    print("CTL setup object-add %d x 2 MiB memory-backend-ram: %.1f ms"
          % (max(counts), (time.monotonic() - t) * 1000))
    for n in counts:
        if n <= ONE_REQ_MAX:
            qmp.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "one%d" % n,
                                     "size": n * EXT_LEN, "tag": tag_of(2, n)})

    results = {}                                # (way, n) -> [(add_s, release_s)]
    spent = dict.fromkeys(counts, 0.0)          # seconds measured per count
    checked_mtree = False
    for rnd in range(opt.rounds):
        for n in counts:
            # A slow count gets one round, so that make bench stays short.
            if rnd and spent[n] > opt.budget:
                continue
            r = add_release(qmp, n, [(tag_of(1, i), [extent(i)]) for i in range(n)])
            results.setdefault(("per-tag", n), []).append(r)
            spent[n] += sum(r)
            print("CTL round=%d way=per-tag n=%d add_ms=%.1f release_ms=%.1f"
                  % (rnd + 1, n, r[0] * 1000, r[1] * 1000), flush=True)
            if n > ONE_REQ_MAX:
                continue
            r = add_release(qmp, n, [(tag_of(2, n), [extent(i) for i in range(n)])])
            results.setdefault(("one-req", n), []).append(r)
            spent[n] += sum(r)
            print("CTL round=%d way=one-req n=%d add_ms=%.1f release_ms=%.1f"
                  % (rnd + 1, n, r[0] * 1000, r[1] * 1000), flush=True)
        if not checked_mtree:
            # Sanity check of the setup (untimed): accepted tagged extents
            # are direct-mapped, and the aliases go with the release.
            n = counts[0]
            for i in range(n):
                dc_add(qmp, tag_of(1, i), [extent(i)])
            qmp.wait_extents("accepted", n, 60)
            mapped = direct_maps(qmp)
            for i in range(n):
                dc_release(qmp, tag_of(1, i))
            qmp.wait_extents("released", n, 60)
            left = direct_maps(qmp)
            print("CTL mtree: %d accepted extents -> %d cxl-dc-direct-map aliases; "
                  "after release %d" % (n, mapped, left))
            if mapped != (n if opt.direct_map == "on" else 0) or left:
                raise QMPError("direct maps do not follow accept/release (direct map %s)"
                               % opt.direct_map)
            checked_mtree = True

    # The backends must be free again after all those releases.
    for n in counts:
        if n <= ONE_REQ_MAX:
            qmp.cmd("object-del", id="one%d" % n)
    for i in range(max(counts)):
        qmp.cmd("object-del", id="pt%d" % i)

    if opt.stop_guest:
        # guest/README.md: 'q' on the PS/2 keyboard ends mode=serve
        qmp.cmd("send-key", keys=[{"type": "qcode", "data": "q"}])

    print()
    print("control path: host QMP -> guest accepts/releases -> CHANGE events "
          "(median of the rounds, min in brackets)")
    print("  %-48s %7s %6s %20s %22s" % ("way", "extents", "rounds", "add->all accepted",
                                         "release->all released"))
    med = {}
    for (way, n), rs in sorted(results.items(), key=lambda kv: (kv[0][0] != "per-tag", kv[0][1])):
        a = [x[0] * 1000 for x in rs]
        r = [x[1] * 1000 for x in rs]
        med[way, n] = (statistics.median(a), statistics.median(r))
        desc = ("N backends x 2 MiB, 1 tag + 1 request each" if way == "per-tag"
                else "1 backend of N x 2 MiB, 1 request of N extents")
        print("  %-48s %7d %6d %9.1f ms (%7.1f) %11.1f ms (%7.1f)"
              % (desc, n, len(rs), med[way, n][0], min(a), med[way, n][1], min(r)))
    lo, hi = min(counts), max(counts)
    if ("per-tag", lo) in med and ("per-tag", hi) in med and lo != hi:
        ra = med["per-tag", hi][0] / med["per-tag", lo][0]
        rr = med["per-tag", hi][1] / med["per-tag", lo][1]
        ok = ra < 20 and rr < 20
        print("  ratio %d/%d (per-tag): add %.1fx, release %.1fx  (target < 20x: %s)"
              % (hi, lo, ra, rr, "met" if ok else "NOT met"))
        print("CTL ratio add=%.2f release=%.2f target=%s" % (ra, rr, "met" if ok else "not-met"))
    if hi > ONE_REQ_MAX:
        print("  (one request of %d extents: not measured.  The guest answers a request with one\n"
              "   Add DC Response of at most %d extents.)" % (hi, ONE_REQ_MAX))


if __name__ == "__main__":
    try:
        main()
    except (QMPError, qmpclient.QMPError, OSError) as e:
        sys.exit("bench-control: error: %s" % e)

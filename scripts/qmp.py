#!/usr/bin/python3
"""QMP from the repo's scripts and tests, through QEMU's own client
(python/qemu/qmp in the tree: PYTHONPATH=build/qemu/python, which
scripts/common.sh exports).

    qmp.py SOCK CMD_JSON...
        One connection; each command ({"execute": ..., "arguments": ...})
        in turn.  Prints "QMP <command> -> <reply>" per command and
        "QMP event <event>" per event, as JSON; exit status 1 after an
        error reply.
    qmp.py --hmp SOCK COMMAND-LINE
        Prints the output of an HMP command (human-monitor-command).
    qmp.py --hmp-socket SOCK COMMAND-LINE
        The same on a human monitor socket (-monitor unix:SOCK).
    qmp.py --check-window SOCK BASE
        The CXL fixed memory window must be at BASE (the bare-metal guest
        is told where it is); exit status 1 with one line if it is
        elsewhere or missing.

As a module: connect(sock) returns a connected QEMUMonitorProtocol;
hmp(qmp, command) and hmp_socket(path, command) an HMP command's output;
window_base(qmp) the window's base address (or None).
"""

import json
import re
import socket
import sys
import time

try:
    from qemu.qmp import QMPError
    from qemu.qmp.legacy import QEMUMonitorProtocol
except ImportError as e:
    sys.exit(f"qmp.py: QEMU's python/qemu is not importable ({e}); "
             "set PYTHONPATH=build/qemu/python (make tree)")

__all__ = ["QMPError", "connect", "close", "window_base", "hmp", "hmp_socket"]


def connect(sock, timeout=30.0, alive=None):
    """A negotiated connection to the QMP server at sock, retried until
    timeout (QEMU may still be starting; alive() false: give up)."""
    deadline = time.monotonic() + timeout
    while True:
        qmp = QEMUMonitorProtocol(sock)
        try:
            qmp.connect()
            qmp.settimeout(60)
            return qmp
        except (OSError, QMPError):
            qmp.close()
            if time.monotonic() > deadline or (alive is not None and not alive()):
                raise
            time.sleep(0.1)


def close(qmp):
    """Disconnect; a QEMU that has gone (quit) is no error."""
    try:
        qmp.close()
    except (EOFError, OSError, QMPError):
        pass


def hmp(qmp, command):
    return qmp.cmd("human-monitor-command", **{"command-line": command})


def hmp_socket(path, command, timeout=10):
    """HMP is a terminal protocol: read up to the prompt, send, read to
    the next one."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)

        def until_prompt():
            buf = b""
            while not buf.endswith(b"(qemu) "):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf.decode(errors="replace")
        until_prompt()
        s.sendall(command.encode() + b"\r\n")
        return until_prompt().replace("\r", "")


def window_base(qmp):
    m = re.search(r"([0-9a-f]+)-[0-9a-f]+ \(prio [0-9-]+, i/o\): cxl-fixed-memory-region",
                  hmp(qmp, "info mtree"))
    return int(m.group(1), 16) if m else None


def main(argv):
    if len(argv) >= 2 and argv[0] == "--hmp":
        qmp = connect(argv[1])
        print(hmp(qmp, " ".join(argv[2:])), end="")
        close(qmp)
        return 0
    if len(argv) >= 2 and argv[0] == "--hmp-socket":
        print(hmp_socket(argv[1], " ".join(argv[2:])), end="")
        return 0
    if len(argv) == 3 and argv[0] == "--check-window":
        qmp = connect(argv[1])
        base, want = window_base(qmp), int(argv[2], 0)
        close(qmp)
        if base != want:
            print(f"error: the CXL fixed memory window is at "
                  f"{'none' if base is None else hex(base)}, the guest was told {want:#x}",
                  file=sys.stderr)
            return 1
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    qmp = connect(argv[0])
    rc = 0
    for text in argv[1:]:
        cmd = json.loads(text)
        reply = qmp.cmd_obj(cmd)
        for ev in qmp.get_events():
            print("QMP event " + json.dumps(ev))
        print("QMP " + json.dumps(cmd) + " -> " + json.dumps(reply))
        if "error" in reply:
            rc = 1
    close(qmp)
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, QMPError) as e:
        sys.exit(f"qmp.py: {type(e).__name__}: {e}")

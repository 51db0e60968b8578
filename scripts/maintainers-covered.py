#!/usr/bin/python3
"""checkpatch's "added, moved or deleted file(s) ... Does MAINTAINERS need
updating?" is a question, asked whenever a patch adds a file without
touching MAINTAINERS, even when an entry an earlier patch of the series
added already covers the file.

    maintainers-covered.py SERIES_F_LINES CHECKPATCH_LOG

SERIES_F_LINES: the "F: pattern" lines the series adds to MAINTAINERS.
Exit 0 when the log's only warning is that one and every file it lists
matches one of them (get_maintainer.pl's rules: a trailing '/' covers the
directory, '*' and '?' do not cross '/'), i.e. the series did update
MAINTAINERS for it.  Otherwise prints the files not covered; exit 1.
A file covered only by a pre-existing catch-all (tests/qtest/) does not
count: the series' own entry must name it.
"""

import re
import sys


def patterns(path):
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("F:"):
            pat = line[2:].strip()
            if pat.endswith("/"):
                out.append(re.compile(re.escape(pat) + ".*"))
            else:
                rx = re.escape(pat).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
                out.append(re.compile(rx + "(/.*)?"))
    return out


def main(maintainers, log):
    text = open(log, encoding="utf-8", errors="replace").read()
    if re.search(r"^ERROR:", text, re.M):
        return 1
    warnings = re.findall(r"^WARNING: (.*)$", text, re.M)
    if not warnings or any(w != "added, moved or deleted file(s):" for w in warnings):
        return 1
    m = re.search(r"^WARNING: added, moved or deleted file\(s\):\n\n((?:  \S+\n)+)", text, re.M)
    if not m:
        return 1
    files = m.group(1).split()
    pats = patterns(maintainers)
    missing = [f for f in files if not any(p.fullmatch(f) for p in pats)]
    for f in missing:
        print(f"not covered by the MAINTAINERS entries the series adds: {f}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

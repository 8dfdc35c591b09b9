#!/usr/bin/env python3
"""Summarise stm-bench-2core.txt against stm-bench-2core-before.txt.

Each file holds rounds of `go test -bench` output separated by '## round N'.
Prints, per benchmark, the median and minimum ns/op over the rounds for the
code before issue 16 and after it, then for each gostm case the median over
rounds of anacrolix/stm's time divided by gostm's (both measured in the same
round), and for ping-pong gostm's time over a channel round trip's.
"""
import collections
import re
import statistics
import sys
from pathlib import Path

here = Path(__file__).parent
files = {"before": here / "stm-bench-2core-before.txt", "after": here / "stm-bench-2core.txt"}
line_re = re.compile(r"(Benchmark\S+?)-\d+\s+\d+\s+([\d.]+) ns/op(.*)")


def rounds(path):
    """Yield one dict benchmark -> (ns/op, allocs/op) per round."""
    cur = None
    for line in path.read_text().splitlines():
        if line.startswith("## round"):
            if cur:
                yield cur
            cur = {}
            continue
        m = line_re.match(line)
        if m and cur is not None:
            a = re.search(r"(\d+) allocs/op", m.group(3))
            cur[m.group(1)] = (float(m.group(2)), a.group(1) if a else "-")
    if cur:
        yield cur


data = {k: list(rounds(p)) for k, p in files.items()}
names = list(dict.fromkeys(n for r in data["after"] for n in r))
out = sys.stdout
out.write(f"{'benchmark':52s}{'before med':>12s}{'min':>10s}{'allocs':>7s}{'after med':>12s}{'min':>10s}{'allocs':>7s}\n")
for n in names:
    row = f"{n:52s}"
    for k in ("before", "after"):
        v = [r[n][0] for r in data[k] if n in r]
        al = next((r[n][1] for r in data[k] if n in r), "-")
        row += f"{statistics.median(v):12.1f}{min(v):10.1f}{al:>7s}" if v else f"{'-':>12s}{'-':>10s}{'-':>7s}"
    out.write(row + "\n")


def ratio(k, num, den):
    rs = [r[num][0] / r[den][0] for r in data[k] if num in r and den in r]
    return rs


out.write("\nanacrolix/stm's time over gostm's, median of the per-round ratios (higher: gostm faster)\n")
for n in names:
    if "/engine=gostm" not in n or n.endswith("-errretry"):
        continue
    other = n.replace("engine=gostm", "engine=anacrolix")
    cells = []
    for k in ("before", "after"):
        rs = ratio(k, other, n)
        cells.append(f"{k} {statistics.median(rs):5.2f}x" if rs else f"{k}     -")
    out.write(f"  {n:52s} {'   '.join(cells)}\n")
out.write("\nping-pong round trip over a channel round trip, median of the per-round ratios\n")
for n in ("BenchmarkPingPong/engine=gostm", "BenchmarkPingPong/engine=gostm-errretry"):
    cells = []
    for k in ("before", "after"):
        rs = ratio(k, n, "BenchmarkPingPong/engine=channel")
        cells.append(f"{k} {statistics.median(rs):5.2f}x" if rs else f"{k}     -")
    out.write(f"  {n:52s} {'   '.join(cells)}\n")

#!/usr/bin/env python3
"""Turns BenchmarkPaired output (BucketMap against xsync, alternating rounds
in one process) into a markdown table and counts the cells that meet the
issue's goal (BucketMap at >= 0.9x xsync's throughput).

    go test -run '^$' -bench Paired -benchtime 15x -lockfree.fullmatrix ./lockfree > run1.txt
    python3 docs/results/lockfree-paired.py run1.txt [run2.txt ...]

Each benchmark line already carries medians over its rounds; with several
files, the table shows the ratio of every run and the goal counts each run.
"""
import re
import sys

LINE = re.compile(r"^BenchmarkPaired/(\S+?)(?:-\d+)?\s")


def read(path):
    """Returns {cell: (bucket ns/op, xsync ns/op, ratio)} in file order."""
    runs = {}
    for line in open(path):
        m = LINE.match(line)
        if not m:
            continue
        f = line.split()
        metric = {f[i + 1]: float(f[i]) for i in range(2, len(f) - 1, 2)}
        cell = m.group(1).replace("type=", "").replace("mode=", "")
        runs[cell] = (metric["bucket-ns/op"], metric["xsync-ns/op"], metric["bucket/xsync"])
    return runs


def main():
    runs = [read(p) for p in sys.argv[1:]]
    cells = list(runs[0])
    head = "| cell | Bucket ns/op | xsync ns/op | " + " | ".join(
        f"Bucket vs xsync, run {i + 1}" for i in range(len(runs))) + " |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for c in cells:
        b, x, _ = runs[0][c]
        ratios = " | ".join(f"{r[c][2]:.2f}×" if c in r else "" for r in runs)
        print(f"| {c} | {b:.1f} | {x:.1f} | {ratios} |")
    print()
    for i, r in enumerate(runs):
        ok = sum(v[2] >= 0.9 for v in r.values())
        low = min(r.items(), key=lambda kv: kv[1][2])
        print(f"Run {i + 1}: BucketMap >= 0.9x xsync in {ok} of {len(r)} cells; lowest {low[1][2]:.2f}x ({low[0]}).")
    both = [c for c in cells if all(c in r and r[c][2] >= 0.9 for r in runs)]
    never = [c for c in cells if all(c in r and r[c][2] < 0.9 for r in runs)]
    print(f"In every run: {len(both)} of {len(cells)} cells; below 0.9x in every run: "
          + (", ".join(never) if never else "none") + ".")


main()

#!/usr/bin/env python3
"""Turns BenchmarkPaired output (two maps in alternating rounds in one
process; by default BucketMap against xsync) into a markdown table and
counts the cells where the first map reaches a throughput ratio.

    go test -run '^$' -bench Paired -benchtime 15x ./lockfree -lockfree.fullmatrix > run1.txt
    python3 docs/results/lockfree-paired.py run1.txt [run2.txt ...]
    python3 docs/results/lockfree-paired.py --pair Ctrie,sync.Map --goal 1.0 --reads 90 run1.txt

--pair names the columns (the -lockfree.pair the runs used), --goal is the
ratio to reach (0.9: the issue's goal for BucketMap against xsync), --reads
keeps only cells with at least that read share. Each benchmark line already
carries medians over its rounds; with several files, the table shows the
ratio of every run (the ns/op columns are the first run's) and the goal
counts each run, and with three or more also the median of the runs'
ratios per cell, and how many cells reach the goal by it.
"""
import argparse
import re
import statistics

LINE = re.compile(r"^BenchmarkPaired/(\S+?)(?:-\d+)?\s")


def read(path, min_reads):
    """Returns {cell: (first ns/op, second ns/op, ratio)} in file order."""
    runs = {}
    for line in open(path):
        m = LINE.match(line)
        if not m:
            continue
        f = line.split()
        metric = {f[i + 1]: float(f[i]) for i in range(2, len(f) - 1, 2)}
        cell = m.group(1).replace("type=", "").replace("mode=", "")
        if int(cell.rsplit("reads=", 1)[1]) < min_reads:
            continue
        if "a/b" in metric:
            runs[cell] = (metric["a-ns/op"], metric["b-ns/op"], metric["a/b"])
        else:  # files written before the pair became a flag
            runs[cell] = (metric["bucket-ns/op"], metric["xsync-ns/op"], metric["bucket/xsync"])
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pair", default="Bucket,xsync")
    ap.add_argument("--goal", type=float, default=0.9)
    ap.add_argument("--reads", type=int, default=0)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    a, b = args.pair.split(",")
    runs = [read(p, args.reads) for p in args.files]
    cells = list(runs[0])
    med = {c: statistics.median(r[c][2] for r in runs if c in r) for c in cells}
    head = f"| cell | {a} ns/op, run 1 | {b} ns/op, run 1 | " + " | ".join(
        f"{a} vs {b}, run {i + 1}" for i in range(len(runs))) + " |"
    if len(runs) > 2:
        head += " median |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for c in cells:
        x, y, _ = runs[0][c]
        ratios = " | ".join(f"{r[c][2]:.2f}×" if c in r else "" for r in runs)
        if len(runs) > 2:
            ratios += f" | {med[c]:.2f}×"
        print(f"| {c} | {x:.1f} | {y:.1f} | {ratios} |")
    print()
    g = args.goal
    for i, r in enumerate(runs):
        ok = sum(v[2] >= g for v in r.values())
        low = min(r.items(), key=lambda kv: kv[1][2])
        print(f"Run {i + 1}: {a} >= {g}x {b} in {ok} of {len(r)} cells; lowest {low[1][2]:.2f}x ({low[0]}).")
    both = [c for c in cells if all(c in r and r[c][2] >= g for r in runs)]
    never = [c for c in cells if all(c in r and r[c][2] < g for r in runs)]
    print(f"In every run: {len(both)} of {len(cells)} cells; below {g}x in every run: "
          + (", ".join(never) if never else "none") + ".")
    if len(runs) > 2:
        low = [f"{c} ({m:.2f}x)" for c, m in med.items() if m < g]
        least = min(med.items(), key=lambda kv: kv[1])
        print(f"Median of the runs: {sum(m >= g for m in med.values())} of {len(cells)} cells "
              f"at >= {g}x; below: " + (", ".join(low) if low else "none")
              + f"; lowest median {least[1]:.2f}x ({least[0]}).")


main()

#!/usr/bin/env python3
"""Turns the lockfree benchmark matrix into the README's markdown table.

Input: the CSV that benchstat prints for the raw `go test -bench Maps` output,
laid out with one column per map:

    benchstat -format csv -col /map -row /type,/mode,/keys,/reads raw.txt > med.csv
    python3 docs/results/lockfree-table.py med.csv

benchstat does the statistics (medians); this only formats them: ns/op per
cell and map, the best in bold, BucketMap's throughput relative to xsync's,
and the read-heavy comparison of every variant with sync.Map.
"""
import csv
import sys

OURS = ["Bucket", "Click", "Ctrie", "SOList", "Striped"]
ORDER = OURS + ["sync.Map", "xsync", "cmap", "tvar.Map"]


def read_sec_per_op(path):
    """Returns {cell: {map: ns/op}} from benchstat's first (sec/op) table."""
    header, cells = None, {}
    for r in csv.reader(open(path)):
        if header is None:
            if len(r) > 2 and r[0] == "" and r[1] and r[1] != "sec/op":
                header = r  # ,Bucket,,Click,,...
            continue
        if len(r) > 1 and r[1] == "sec/op":
            continue
        if not r or not r[0]:
            continue
        if r[0] == "geomean":
            break  # end of the sec/op table
        cells[r[0]] = {header[i]: float(v) * 1e9
                       for i, v in enumerate(r) if i > 0 and header[i] and v}
    return cells


def main():
    cells = read_sec_per_op(sys.argv[1])
    maps = [m for m in ORDER if any(m in c for c in cells.values())]
    print("| cell | " + " | ".join(maps) + " | Bucket vs xsync |")
    print("|---" * (len(maps) + 2) + "|")
    ok, total, lowest = 0, 0, None
    wins = {m: [0, 0] for m in OURS}
    for name, c in cells.items():
        best = min(c.values())
        out = []
        for m in maps:
            v = c.get(m)
            s = "" if v is None else (f"{v:.1f}" if v < 1000 else f"{v:.0f}")
            out.append(f"**{s}**" if v == best else s)
        ratio = c["xsync"] / c["Bucket"]
        total += 1
        ok += ratio >= 0.9
        lowest = ratio if lowest is None else min(lowest, ratio)
        t, mode, keys, reads = name.split()
        print(f"| {t}/{mode}/keys={keys}/reads={reads} | " + " | ".join(out) + f" | {ratio:.2f}× |")
        if int(reads) >= 90:
            for m in OURS:
                wins[m][1] += 1
                wins[m][0] += c.get(m, 1e18) <= c.get("sync.Map", 0)
    print()
    print(f"BucketMap ≥ 0.9× xsync in {ok} of {total} cells; lowest {lowest:.2f}×.")
    print("Read-heavy cells (reads ≥ 90%) where the variant is at least as fast as sync.Map: "
          + ", ".join(f"{m} {w}/{n}" for m, (w, n) in wins.items()) + ".")


main()

"""Compares hyparquet's rows (JSON lines) with the CSV of the same series, cell by cell.

Usage: compare.py ROWS.jsonl RUN.csv; exits 1 on any difference."""
import csv
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1])]
want = list(csv.DictReader(open(sys.argv[2])))
if len(rows) != len(want):
    sys.exit(f"{len(rows)} rows in the Parquet file, {len(want)} in the CSV")
bad = 0
for i, (got, w) in enumerate(zip(rows, want)):
    for col, v in w.items():
        g = got[col]
        if v == "":
            same = g is None
        elif col in ("param", "kind", "state"):
            same = g == v
        else:
            same = g is not None and float(g) == float(v)
        if not same:
            bad += 1
            if bad <= 5:
                print(f"row {i} {col}: parquet {g!r}, csv {v!r}")
print(f"{len(rows)} rows, {len(rows) * len(want[0])} cells, {bad} differing")
sys.exit(1 if bad else 0)

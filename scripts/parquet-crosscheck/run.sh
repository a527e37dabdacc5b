#!/bin/sh
# Cross-checks `series --format parquet` against a reader that shares no
# code with ours or with parquet-go (the tests' reader): writes the bundled
# run as Parquet and as CSV, reads the Parquet file with hyparquet
# (JavaScript, installed from npm into a temporary folder) and compares
# every cell with the CSV. Needs go, node and npm (and the npm registry);
# not part of `go test`.
#
#   sh scripts/parquet-crosscheck/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
go build -o "$tmp/ckptinspect" ./cmd/ckptinspect
"$tmp/ckptinspect" series testdata/series -f parquet -o "$tmp/run.parquet" --cache "$tmp/cache"
"$tmp/ckptinspect" series testdata/series -f csv -o "$tmp/run.csv" --cache "$tmp/cache"
cp "$here/read.mjs" "$tmp/"
(cd "$tmp" && npm init -y >/dev/null && npm install --silent hyparquet hyparquet-compressors >/dev/null)
node "$tmp/read.mjs" "$tmp/run.parquet" > "$tmp/rows.jsonl"
python3 "$here/compare.py" "$tmp/rows.jsonl" "$tmp/run.csv"

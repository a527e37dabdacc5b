#!/bin/sh
# Renders `ckptinspect report` in headless Chromium and saves screenshots, so
# that a change to the report can be looked at. Not part of CI.
#
# Usage (from anywhere in the repository):
#   sh scripts/report-screenshot.sh [OUTDIR]        (default OUTDIR: /tmp/ckptinspect-report)
#   HEIGHT=5000 sh scripts/report-screenshot.sh      (screenshot height in pixels, default 3600;
#                                                     9000 for the series reports)
#
# It writes, in OUTDIR:
#   pair.html, pair.png       the two generator-made checkpoints of one model
#                             (testdata/universal-intstep/checkpoint-7 -> testdata/drift/checkpoint-12)
#                             with a histogram
#   sample.html, sample.png   the bundled sample checkpoint alone, with a histogram
#   series.html, series.png   the bundled run of 5 checkpoints (testdata/series): the report
#                             against step, with a histogram per checkpoint
#   series-v.html, series-v.png  the same with log-bin histograms of exp_avg_sq
#   *.dom.html                the DOM Chromium built (--dump-dom), checked for every chart
#   *.log                     Chromium's log
# and fails if Chromium logs a console message (the report has no script, so
# any message is an error) or a failed load, if the file refers to anything
# outside itself, or if a page lacks a chart.
#
# Needs Debian's chromium (apt-get install -y chromium). Runs as root with
# --no-sandbox and a fresh profile, nothing fetched from the network.
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
out=${1:-/tmp/ckptinspect-report}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

command -v chromium >/dev/null || { echo "chromium not found: apt-get install -y chromium" >&2; exit 1; }

go build -o "$work/ckptinspect" ./cmd/ckptinspect
"$work/ckptinspect" report -o "$out/pair.html" testdata/universal-intstep/checkpoint-7 testdata/drift/checkpoint-12 \
    --hist model.layers.0.mlp.gate_proj.weight >/dev/null
"$work/ckptinspect" report -o "$out/sample.html" testdata/sample/checkpoint-120 \
    --hist model.layers.1.mlp.down_proj.weight >/dev/null
"$work/ckptinspect" report -o "$out/series.html" testdata/series \
    --hist model.layers.1.mlp.down_proj.weight >/dev/null
"$work/ckptinspect" report -o "$out/series-v.html" testdata/series \
    --hist model.layers.1.mlp.down_proj.weight --hist-state exp_avg_sq >/dev/null

# chrome runs Chromium headless on a fresh profile with the flags that keep
# it off the network; its log goes to $log.
chrome() {
    log=$1
    shift
    chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-default-apps --disable-extensions \
        --hide-scrollbars --force-device-scale-factor=1 --user-data-dir="$work/profile-$$-$(date +%s%N)" \
        --enable-logging=stderr --v=0 "$@" 2>>"$log"
}

status=0
for page in pair sample series series-v; do
    html="$out/$page.html"
    log="$out/$page.log"
    : >"$log"
    # The DOM Chromium builds: every chart of the file must be in it.
    chrome "$log" --dump-dom "file://$html" >"$out/$page.dom.html"
    if grep -Eo '(src|href)=|url\(|@import|<script|<link|<img|https?:' "$html" >&2; then
        echo "$page: the report refers to something outside itself (above)" >&2
        status=1
    fi
    charts=$(grep -o '<svg class="chart"' "$html" | wc -l)
    dom_charts=$(grep -o '<svg class="chart"' "$out/$page.dom.html" | wc -l)
    if [ "$charts" -lt 4 ] || [ "$dom_charts" -ne "$charts" ]; then
        echo "$page: $charts charts in the file, $dom_charts in Chromium's DOM" >&2
        status=1
    fi
    height=${HEIGHT:-3600}
    case $page in series*) height=${HEIGHT:-9000} ;; esac
    chrome "$log" --window-size=1400,"$height" --screenshot="$out/$page.png" "file://$html" >/dev/null
    if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|ERR_NAME_NOT_RESOLVED|Failed to load resource|net::ERR_' "$log" >&2; then
        echo "$page: Chromium logged the console messages or failed loads above (see $log)" >&2
        status=1
    fi
    echo "$page: $charts charts, screenshot $out/$page.png"
done
exit $status

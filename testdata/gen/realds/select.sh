#!/bin/bash
# Copy the committed selection of make.sh's output into testdata/realds/, then compute the goldens.
#
#   bash select.sh OUT [DEST]      (DEST defaults to testdata/realds of this repository)
#
# OUT is make.sh's output folder, built with (at least) the configs listed below. What is kept of
# each config is what a reader or a resume needs of the tags kept: `latest` / `latest_universal`
# and the whole tag folders; zero_to_fp32.py and the other saved step are dropped (global_step4
# is kept for z2_dp3_bf16 only, for `diff` between two steps of one run), and so are the shard
# folders of z3onegroup_dp1_bf16 (only its universal checkpoint is kept, so its `latest` goes too).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "${1:?usage: select.sh OUT [DEST]}" && pwd)/ckpt"
DEST="${2:-$HERE/../../realds}"
mkdir -p "$DEST"; DEST="$(cd "$DEST" && pwd)"

keep() {
  local name=$1; shift
  rm -rf "${DEST:?}/$name"; mkdir -p "$DEST/$name"
  for item in "$@"; do cp -a "$OUT/$name/$item" "$DEST/$name/"; done
  cp "$OUT/$name.meta.json" "$DEST/"
}
keep z2_dp3_bf16         latest latest_universal global_step4 global_step9 global_step9_universal
keep z1bf16opt_dp3_bf16  latest global_step9
keep z2_dp3_fp32         latest global_step9
keep z3_dp3_bf16         latest global_step9
keep z3onegroup_dp1_bf16 latest_universal global_step9_universal
keep z3onegroup_dp3_bf16 latest latest_universal global_step9 global_step9_universal
chmod -R u+rwX,go+rX "$DEST"
/usr/bin/python3 "$HERE/golden_realds.py" "$DEST" --source "$(dirname "$OUT")" --deepspeed "$(dirname "$OUT")/deepspeed-src"
du -sh --apparent-size "$DEST"

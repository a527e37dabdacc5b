#!/bin/sh
# Regenerates every committed fixture under testdata/ (deterministic).
# Run from the repository root:  sh testdata/gen/regen_all.sh
set -e
PY=/usr/bin/python3
$PY testdata/gen/gen_torch.py
$PY testdata/gen/gen_deepspeed.py
rm -rf testdata/sample testdata/universal-intstep
$PY testdata/gen/gen_universal.py --out testdata/sample \
    --layers 2 --hidden 64 --intermediate 160 --vocab 256 --tp-pad-vocab 8 --heads 4 --kv-heads 2 \
    --step 120 --step-format tensor --dp 2 --seed 1 --golden testdata/sample.golden.json
$PY testdata/gen/gen_universal.py --out testdata/universal-intstep \
    --layers 1 --hidden 32 --intermediate 64 --vocab 64 --tp-pad-vocab 0 --heads 2 --kv-heads 1 \
    --step 7 --step-format int --dp 1 --seed 2 --golden testdata/universal-intstep.golden.json
rm -rf testdata/drift
$PY testdata/gen/gen_drift.py --base testdata/universal-intstep/checkpoint-7 \
    --steps 5 --drift 1.0 --drift-seed 3 --freeze 'lm_head_alpha$' \
    --out testdata/drift --golden testdata/drift.golden.json -- \
    --layers 1 --hidden 32 --intermediate 64 --vocab 64 --tp-pad-vocab 0 --heads 2 --kv-heads 1 \
    --step-format int --dp 1 --seed 2
rm -rf testdata/series
$PY testdata/gen/gen_series.py --out testdata/series --golden testdata/series.golden.json
rm -rf testdata/zero-dp3
$PY testdata/gen/gen_universal.py --out testdata/zero-dp3 \
    --layers 1 --hidden 32 --intermediate 72 --vocab 60 --tp-pad-vocab 4 --heads 2 --kv-heads 1 \
    --step 50 --step-format int --dp 3 --seed 3 --zero-shards --golden testdata/zero-dp3.golden.json
rm -rf testdata/zero3-dp3
$PY testdata/gen/gen_universal.py --out testdata/zero3-dp3 \
    --layers 1 --hidden 16 --intermediate 40 --vocab 30 --tp-pad-vocab 2 --heads 2 --kv-heads 1 \
    --step 9 --step-format tensor --dp 3 --seed 4 --zero3-shards --golden testdata/zero3-dp3.golden.json
$PY testdata/gen/gen_resume.py --out testdata/resume
$PY testdata/gen/gen_safetensors.py
$PY testdata/gen/gen_scan.py
rm -rf testdata/wesar-llama testdata/wesar-llama-st testdata/wesar-gemma testdata/wesar-gemma-drift
$PY testdata/gen/gen_wesar.py --rms-type llama --out testdata/wesar-llama --seed 5 \
    --zero-shards --safetensors testdata/wesar-llama-st
$PY testdata/gen/gen_wesar.py --rms-type gemma --out testdata/wesar-gemma --seed 6 \
    --drift-steps 3 --drift-out testdata/wesar-gemma-drift
$PY testdata/gen/gen_pytorch.py
$PY testdata/gen/gen_hostile.py

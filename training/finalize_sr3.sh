#!/bin/sh
# Evaluate the current sr3-x4 run (validation steps curve + test metrics), then export it with the metrics, the
# loss curve, the sample grid and the fp16 checkpoint. If a training job is running, pass its pid: it is paused
# (SIGSTOP) meanwhile, so the two PyTorch processes never share the 2 cores, and resumed (SIGCONT) afterwards.
#   sh training/finalize_sr3.sh [trainer-pid]
set -e
cd "$(dirname "$0")/.."
PID="$1"
OUT=${DIFFUSEKIT_CACHE:-$HOME/.cache/diffusekit}/eval
mkdir -p "$OUT"
[ -n "$PID" ] && kill -STOP "$PID"
trap '[ -n "$PID" ] && kill -CONT "$PID"' EXIT
PY="nice -n 5 /usr/bin/python3"
$PY training/evaluate.py sr3-x4 --split val --n ${VAL_N:-24} --steps 1,2,4,10,20 --batch 16 --out "$OUT/sr3-val.json"
$PY training/evaluate.py sr3-x4 --split test --n ${TEST_N:-0} --steps 1,2,4,10 --batch 8 --out "$OUT/sr3-test.json" \
  --grid packages/sr3/models/sr3-x4/samples.png
STEPS=$($PY training/pick_steps.py "$OUT/sr3-val.json" "$OUT/sr3-test.json" "$OUT/sr3-metrics.json")
$PY training/export.py sr3-x4 --metrics "$OUT/sr3-metrics.json" --default-steps "$STEPS" --save-fp16
$PY training/card.py sr3-x4 packages/sr3/models/sr3-x4/loss.png
echo "defaultSteps=$STEPS"; cat "$OUT/sr3-metrics.json"

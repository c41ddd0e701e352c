#!/bin/sh
# Evaluate a super-resolution model (validation steps curve + test metrics), then export it with the metrics, the
# loss curve, the sample grid and the fp16 checkpoint. If a training job is running, pass its pid: it is paused
# (SIGSTOP) meanwhile, so the two PyTorch processes never share the 2 cores, and resumed (SIGCONT) afterwards.
#   sh training/finalize_sr.sh sr3-x4|srdiff-x4 [trainer-pid]
#   WEIGHTS=/path/to/<id>.fp16.pt sh training/finalize_sr.sh srdiff-x4     # weights trained elsewhere
#   DEFAULT_STEPS=2 ...   overrides the step-count rule of pick_steps.py (say why in the model card)
#   VERSION=0.2.0 ...     the manifest version (new weights: a new version)
set -e
DEFAULT_STEPS=${DEFAULT_STEPS:-}
cd "$(dirname "$0")/.."
ID=${1:?usage: finalize_sr.sh sr3-x4|srdiff-x4 [trainer-pid]}
PID="$2"
PKG=packages/sr3/models/$ID
OUT=${DIFFUSEKIT_CACHE:-$HOME/.cache/diffusekit}/eval
mkdir -p "$OUT" "$PKG"
[ -n "$PID" ] && kill -STOP "$PID"
trap '[ -n "$PID" ] && kill -CONT "$PID"' EXIT
PY="nice -n 5 /usr/bin/python3"
W=${WEIGHTS:+--weights $WEIGHTS}
$PY training/evaluate.py "$ID" $W --split val --n ${VAL_N:-24} --steps 1,2,4,10,20 --batch 16 --out "$OUT/$ID-val.json"
$PY training/evaluate.py "$ID" $W --split test --n ${TEST_N:-0} --steps 1,2,4,10 --batch 8 --out "$OUT/$ID-test.json" \
  --grid "$PKG/samples.png"
STEPS=$($PY training/pick_steps.py "$OUT/$ID-val.json" "$OUT/$ID-test.json" "$OUT/$ID-metrics.json" $DEFAULT_STEPS)
$PY training/export.py "$ID" $W --metrics "$OUT/$ID-metrics.json" --default-steps "$STEPS" --save-fp16 ${VERSION:+--version "$VERSION"}
$PY training/card.py "$ID" "$PKG/loss.png"
echo "defaultSteps=$STEPS"; cat "$OUT/$ID-metrics.json"

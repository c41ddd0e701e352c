#!/bin/sh
# Train on a one-GPU machine with no network, from a checkout plus the carried data subset (training/data/subset.py):
#   MINUTES=6 OUT=/some/dir sh training/gpu_train.sh .gpu/data
# Continues every model in $MODELS from training/checkpoints/, all at once on the one GPU, and leaves <run>.fp16.pt
# (weights-only EMA, the format export.py --weights reads) plus hardware.txt and runs.tar.gz (each run's stdout,
# log.txt, losses.jsonl, evals.jsonl) in $OUT. An entry of $MODELS is a model id or run=id (a second run of one model,
# sr3-x4 only: train.py names its run after the model); EXTRA_<run, - as _> adds arguments to that run, e.g.
#   MODELS="sr3-x4 sr3-x4-plain=sr3-x4" EXTRA_sr3_x4="--refine 2" ...
set -u
DATA=${1:?usage: gpu_train.sh DATA_DIR}
MINUTES=${MINUTES:-6}
BATCH=${BATCH:-64}
THREADS=${THREADS:-2}
PY=${PYTHON:-python3}
export DIFFUSEKIT_CACHE=${DIFFUSEKIT_CACHE:-/tmp/diffusekit-gpu} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/hardware.txt" 2>&1
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' >> "$OUT/hardware.txt" 2>&1
$PY training/data/subset.py unpack "$DATA" --cache "$DIFFUSEKIT_CACHE" || exit 1
LOGS="$DIFFUSEKIT_CACHE/runs"
mkdir -p "$LOGS"
HW="$(head -1 "$OUT/hardware.txt" | cut -d, -f1), $(tail -1 "$OUT/hardware.txt")"
common="--device ${DEVICE:-cuda} --batch $BATCH --minutes $MINUTES --ckpt-min 1000 --threads $THREADS"
MODELS=${MODELS:-srdiff-x4 ddpm-aerial palette-inpaint sr3-x4 palette-jpeg}
RUNS=
for entry in $MODELS; do
  run=${entry%%=*}
  id=${entry#*=}
  RUNS="$RUNS $run"
  eval "extra=\${EXTRA_$(echo "$run" | tr -- - _):-}"
  init="--init training/checkpoints/$id.fp16.pt"
  case $id in
    sr3-x4) $PY training/train_sr3.py --run "$run" $common --hardware "$HW" $init $extra > "$LOGS/$run.log" 2>&1 & ;;
    *) $PY training/train.py "$id" $common --hardware "$HW" $init $extra > "$LOGS/$run.log" 2>&1 & ;;
  esac
done
wait
for run in $RUNS; do
  cp "$DIFFUSEKIT_CACHE/runs/$run/ema.fp16.pt" "$OUT/$run.fp16.pt" || echo "no weights for $run"
  tail -3 "$LOGS/$run.log"
done
tar -czf "$OUT/runs.tar.gz" -C "$DIFFUSEKIT_CACHE/runs" --exclude '*.pt' .
ls -la "$OUT"

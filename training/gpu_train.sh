#!/bin/sh
# Train on a one-GPU machine with no network, from a checkout plus the carried data subset (training/data/subset.py):
#   MINUTES=6 OUT=/some/dir sh training/gpu_train.sh .gpu/data
# Trains srdiff-x4 from scratch and continues sr3-x4, ddpm-aerial and palette-inpaint from training/checkpoints/
# (or only the ids in $MODELS), all at once on the one GPU, and leaves <id>.fp16.pt (weights-only EMA, the format export.py --weights reads)
# plus hardware.txt and runs.tar.gz (each run's stdout, log.txt, losses.jsonl, evals.jsonl) in $OUT.
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
MODELS=${MODELS:-srdiff-x4 ddpm-aerial palette-inpaint sr3-x4}
for id in $MODELS; do
  case $id in
    srdiff-x4) $PY training/train.py $id $common --hardware "$HW" > "$LOGS/$id.log" 2>&1 & ;;
    sr3-x4) $PY training/train_sr3.py --run $id $common --hardware "$HW" --init training/checkpoints/$id.fp16.pt > "$LOGS/$id.log" 2>&1 & ;;
    *) $PY training/train.py $id $common --hardware "$HW" --init training/checkpoints/$id.fp16.pt > "$LOGS/$id.log" 2>&1 & ;;
  esac
done
wait
for id in $MODELS; do
  cp "$DIFFUSEKIT_CACHE/runs/$id/ema.fp16.pt" "$OUT/$id.fp16.pt" || echo "no weights for $id"
  tail -3 "$LOGS/$id.log"
done
tar -czf "$OUT/runs.tar.gz" -C "$DIFFUSEKIT_CACHE/runs" --exclude '*.pt' .
ls -la "$OUT"

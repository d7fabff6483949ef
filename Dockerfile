# podium GPU image: batch transcription with diarization, air-gapped at run time.
#   docker build -t podium .
#   docker run --gpus all -v /in:/in -v /out:/out podium batch /in --output-dir /out
# CTranslate2 4.x (faster-whisper) needs cuBLAS 12 and cuDNN 9; torch 2.9.1 (pyannote) ships cuDNN 9
# too, so one CUDA 12 + cuDNN 9 base serves both in one process.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PODIUM_VENV=/opt/podium/venv \
    XDG_CACHE_HOME=/opt/podium/cache \
    HF_HUB_OFFLINE=1 \
    PYANNOTE_METRICS_ENABLED=false \
    ORT_DISABLE_TELEMETRY=1 \
    PATH=/opt/podium/venv/bin:$PATH

# Python comes from the base image's distribution (a compiler too: meeteval ships only an sdist);
# everything else from scripts/install.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/podium/src
COPY pyproject.toml requirements.lock README.md ./
COPY scripts/ scripts/
COPY src/ src/
# The same script a fresh machine runs before the demo and the tests, so the two cannot drift.
# Joining the split base model now puts it in the image: no download or join at run time.
RUN ./scripts/install \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip \
    && podium models \
    && useradd --create-home --uid 1000 podium \
    && chown -R podium /opt/podium/cache

USER 1000:1000
WORKDIR /work
ENTRYPOINT ["podium"]
CMD ["--help"]

# speechpipe batch job image: CUDA runtime, the package, and its models pulled at build time,
# so a scheduled run never reaches a model hub.
#
#   docker build --secret id=hf_token,env=HF_TOKEN -t speechpipe:latest .
#   docker run --gpus all -v /data:/data speechpipe:latest \
#       batch s3://calls/incoming/ -o /data/out --config cloud --since last --log-format json
#
# CUDA 12 with cuDNN 9: CTranslate2 (faster-whisper's engine) loads libcublas.so.12 and cuDNN 9.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1

# wget: KubeRay's readiness and liveness probes call it when the image runs Ray nodes (deploy/rayjob.yaml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates wget \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/speechpipe
COPY pyproject.toml setup.py MANIFEST.in constraints.txt README.md ./
COPY pipeline/ pipeline/
COPY configs/ configs/
COPY models/registry.yaml models/registry.yaml

# A normal install: the wheel carries the configs and the model registry.
# s3fs/gcsfs let batch inputs be s3:// and gs:// URLs.
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install -c constraints.txt ".[cluster]" s3fs gcsfs

# Models into /opt/speechpipe/models (configs/cloud.yaml's models_dir), verified by checksum.
# community-1 is gated: pass the token as a build secret so it never lands in a layer.
RUN --mount=type=secret,id=hf_token \
    HF_HUB_OFFLINE=0 HF_TOKEN="$(cat /run/secrets/hf_token)" speechpipe models pull turbo --config cloud \
    && HF_HUB_OFFLINE=0 HF_TOKEN="$(cat /run/secrets/hf_token)" speechpipe models pull community-1 --config cloud \
    && speechpipe models verify --config cloud

RUN useradd --uid 10001 --create-home speechpipe
USER 10001

ENTRYPOINT ["speechpipe"]
CMD ["batch", "--help"]

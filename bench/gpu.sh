#!/usr/bin/env bash
# GPU benchmark: per-stage real-time factor and peak GPU memory, CPU vs GPU in one run.
#
#   bench/gpu.sh prepare   # here (has PyPI): wheels for the GPU machine's Python 3.12 into
#                          # .whl/, model layouts + tokenizers + the sample into .benchdata/
#   bench/gpu.sh data      # only the .benchdata/ part of prepare (no download); BENCHDATA=DIR moves it
#   bench/gpu.sh run       # on the GPU machine (or here, with PYTHON=.venv/bin/python): device
#                          # facts, `speechpipe doctor`, then bench/gpu_bench.py (extra arguments go to it)
#
# Dry run on a CPU-only machine (under 3 minutes on 2 cores; results elsewhere than bench/results):
#   export BENCHDATA=/tmp/gpu-dry/data OUT=/tmp/gpu-dry PYTHON=.venv/bin/python
#   bash bench/gpu.sh data && bash bench/gpu.sh run --device cpu --minutes 1 --cpu-seconds 20 --max-new-tokens 8
#
# On a lent GPU machine (see the device tool): run with carry [".whl", ".benchdata"]:
#   bash bench/gpu.sh run
# Results: $OUT (on the device) or bench/results/ (here): gpu_bench.json, device.txt, log.txt.
# Everything carried must stay under 64 MiB: ctranslate2's wheel alone is ~41 MiB, so real
# Whisper weights cannot travel; tiny.en/base are timed with their exact layout and random
# weights (see bench/gpu_bench.py), and pyannote with its real architectures.
# Measured 2026-11-27 on a lent H100 (80 GB, CUDA 13, torch 2.11), 20 min recording, 82 s wall:
# pyannote RTF 0.0073 on CUDA (peak 1.65 GiB) vs 0.35 on 16 CPU cores; CTranslate2 4.8.5 sees
# the GPU but fails at its first matrix product: "Library libcublas.so.12 is not found" (the
# image has libcublas.so.13 only), so ASR ran on the CPU there.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-run}
PY=${PYTHON:-python3}
VENV_PY=.venv/bin/python
DATA=${BENCHDATA:-.benchdata}  # model layouts, tokenizers, the sample: written by prepare (or data), read by run

if [[ $MODE == prepare ]]; then
    rm -rf .whl && mkdir -p .whl
    # What the GPU image lacks (its package list: the device README's KINDS.md). Pure-Python
    # where possible; torchcodec is left out (pyannote only warns; we hand it waveforms).
    $VENV_PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl \
        ctranslate2==4.8.5 faster-whisper==1.2.1 pyannote.audio==4.0.7 pyannote.core==6.1.0 \
        pyannote.database==6.1.1 pyannote.metrics==4.2.0 pyannote.pipeline==4.1.0 pyannoteai-sdk==0.4.0 \
        asteroid-filterbanks==0.4.0 pytorch-metric-learning==2.9.0 torch-audiomentations==0.12.0 \
        torch-pitch-shift==1.2.5 julius==0.2.8 primePy==1.3 optuna==5.0.0 alembic==1.20.1 sqlalchemy==2.1.9 \
        colorlog==6.12.0 mako==1.4.3 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
        typing-inspection==0.4.5 googleapis-common-protos==1.76.0 opentelemetry-api==1.45.2 \
        opentelemetry-sdk==1.45.2 opentelemetry-semantic-conventions==0.66b2 opentelemetry-proto==1.45.2 \
        opentelemetry-exporter-otlp==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2 \
        opentelemetry-exporter-otlp-proto-grpc==1.45.2 opentelemetry-exporter-otlp-proto-common==1.45.2 \
        opentelemetry-exporter-otlp-common==0.66b2 opentelemetry-exporter-http-transport==0.66b2
fi
if [[ $MODE == prepare || $MODE == data ]]; then  # data: only this part, no download (a CPU dry run)
    rm -rf "$DATA" && mkdir -p "$DATA"
    if [[ $DATA == .benchdata ]]; then
        EXCLUDE=$(git rev-parse --git-path info/exclude) && mkdir -p "$(dirname "$EXCLUDE")"
        grep -qxF '/.benchdata/' "$EXCLUDE" 2>/dev/null || echo '/.benchdata/' >> "$EXCLUDE"
    fi
    BENCHDATA=$DATA $VENV_PY - <<'PYEOF'
"""Write each Whisper model's layout (names, shapes, dtypes; small values verbatim) and side files."""
import base64, json, os, shutil, struct
from pathlib import Path
from pipeline.models.registry import resolve_model

def read_string(f):
    (n,) = struct.unpack("H", f.read(2)); return f.read(n)[:-1].decode()

for name in ("tiny.en", "base"):
    folder, _ = resolve_model(name, models_dir=Path("models"))
    out = Path(os.environ["BENCHDATA"]) / name; out.mkdir(parents=True)
    with open(folder / "model.bin", "rb") as f:
        (version,) = struct.unpack("I", f.read(4)); spec = read_string(f)
        (revision,) = struct.unpack("I", f.read(4)); (count,) = struct.unpack("I", f.read(4))
        variables = []
        for _ in range(count):
            var = read_string(f); (rank,) = struct.unpack("B", f.read(1))
            shape = list(struct.unpack(f"{rank}I", f.read(4 * rank))) if rank else []
            (dtype,) = struct.unpack("B", f.read(1)); (size,) = struct.unpack("I", f.read(4)); data = f.read(size)
            variables.append([var, shape, dtype, base64.b64encode(data).decode() if size <= 64 else None])
        (n_alias,) = struct.unpack("I", f.read(4))
        aliases = [[read_string(f), read_string(f)] for _ in range(n_alias)]
    (out / "layout.json").write_text(json.dumps(dict(binary_version=version, spec=spec, revision=revision,
                                                     variables=variables, aliases=aliases)))
    for side in folder.iterdir():
        if side.name != "model.bin":
            shutil.copy(side, out / side.name)
import pyannote.audio
shutil.copy(Path(pyannote.audio.__file__).parent / "sample" / "sample.wav", Path(os.environ["BENCHDATA"]))
PYEOF
    gzip -9 "$DATA"/*/*.json "$DATA"/*/*.txt  # tokenizers compress ~4x; the carry is tight
    if [[ $MODE == prepare ]]; then
        du -sh .whl "$DATA"
        echo "carry: .whl $DATA ($(du -cm .whl "$DATA" | tail -1 | cut -f1) MiB; keep the whole tree < 64 MiB)"
    fi
    exit 0
fi

OUTDIR=${OUT:-bench/results}
mkdir -p "$OUTDIR"
{
    echo "== $(date -u +%FT%TZ)  $(uname -m)  $(nproc) cores"
    $PY --version
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi"
    echo "== cuBLAS libraries known to the loader"; ldconfig -p | grep -i cublas || echo "(none)"
    echo "== libcublas.so.12 anywhere under /usr /opt"; find /usr /opt -name 'libcublas.so.12*' 2>/dev/null | head -5 || true
    echo "== packages"; $PY -m pip list 2>/dev/null | grep -iE 'torch|ctranslate|faster|pyannote|nvidia|onnxruntime' || true
} > "$OUTDIR/device.txt" 2>&1
cat "$OUTDIR/device.txt"
find "$DATA" -name '*.gz' -exec gunzip -f {} + 2>/dev/null || true
if [[ -d .whl ]] && ! $PY -c "import ctranslate2, pyannote.audio" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
# faster_whisper imports PyAV at import time only to decode files; we hand it arrays, and
# PyAV's wheel does not fit the 64 MiB carry: a stub stands in where PyAV is missing.
if ! $PY -c "import av" 2>/dev/null; then
    mkdir -p /tmp/avstub/av && echo '"""Stand-in: this benchmark never decodes files."""' > /tmp/avstub/av/__init__.py
    export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}/tmp/avstub
fi
# On a GPU machine with no libcublas.so.12, let CUDA 13's cuBLAS stand in (pipeline/models/gpu_libs.py),
# so the run measures whether it works; doctor reports what was loaded, from where.
if command -v nvidia-smi >/dev/null; then export SPEECHPIPE_CUBLAS_SHIM=${SPEECHPIPE_CUBLAS_SHIM:-1}; fi
{ echo "== speechpipe doctor"; $PY -m pipeline.cli doctor || echo "(doctor failed: exit $?)"; } >> "$OUTDIR/device.txt" 2>&1
sed -n '/^== speechpipe doctor/,$p' "$OUTDIR/device.txt"
export PYTHONUNBUFFERED=1
shift || true
$PY bench/gpu_bench.py --data "$DATA" --out "$OUTDIR" "$@" 2>&1 | tee "$OUTDIR/log.txt"

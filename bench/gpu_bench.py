"""Per-stage real-time factor and peak GPU memory, CPU vs GPU in one run (driven by bench/gpu.sh).

What it measures, on a long recording built from pyannote's 30 s two-speaker sample
with silences between repeats:

- **diarization**: the pyannote backend (``PyannoteDiarizer``) on a pipeline folder
  laid out like community-1 with random weights (tests/integration/pyannote_local.py).
  Same architectures and code path as the real one, so its compute cost and memory are
  real; its speakers are not. GPU on the whole recording, CPU on an excerpt.
- **asr**: faster-whisper with the Transcriber's settings (float16 + batched on CUDA,
  int8 sequential on CPU, Silero VAD, word timestamps, beam 5). Models with the layout
  of tiny.en and base are written from ``layout.json`` files (variable names, shapes,
  dtypes of the real model.bin; see ``gpu.sh prepare``) with random weights, because the
  real weights cannot travel to the GPU machine; decoding is capped at
  ``--max-new-tokens`` per 30 s window (real speech runs ~90 tokens). ``--real DIR``
  times real weights too, for calibration where they are installed.

Real-time factor = processing seconds / audio seconds (lower is faster).

``--device auto`` times each stage on CUDA (when torch sees a GPU) and on the CPU;
``--device cpu`` only on the CPU: with ``--minutes 1 --cpu-seconds 20 --max-new-tokens 8``
that is a dry run of the whole script (under 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import platform
import struct
import sys
import tempfile
import time
import wave
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]

SAMPLE_RATE = 16000
logger = logging.getLogger("bench.gpu")


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM mono WAV -> float32 samples in [-1, 1] (stdlib only)."""
    with wave.open(str(path)) as handle:
        assert (handle.getframerate(), handle.getnchannels(), handle.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        return np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768.0


def long_recording(sample: np.ndarray, minutes: float, *, seed: int = 0) -> np.ndarray:
    """Repeat ``sample`` with 5-15 s of faint noise between repeats, to ``minutes`` long."""
    rng = np.random.default_rng(seed)
    pieces, total, target = [], 0, int(minutes * 60 * SAMPLE_RATE)
    while total < target:
        gap = rng.normal(0, 1e-3, int(rng.uniform(5, 15) * SAMPLE_RATE)).astype(np.float32)
        pieces += [sample, gap]
        total += sample.size + gap.size
    return np.concatenate(pieces)[:target]


def write_random_ct2(layout_path: Path, folder: Path, *, seed: int = 0) -> Path:
    """Write a CTranslate2 ``model.bin`` with the real model's layout and random weights.

    Small variables (scalars such as head counts) are copied verbatim from the layout;
    norms get ones, biases zeros, other weights N(0, 0.02).
    """
    layout = json.loads(layout_path.read_text())
    rng = np.random.default_rng(seed)
    dtypes = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "model.bin", "wb") as out:

        def string(text: str) -> None:
            out.write(struct.pack("H", len(text) + 1) + text.encode() + b"\0")

        out.write(struct.pack("I", layout["binary_version"]))
        string(layout["spec"])
        out.write(struct.pack("I", layout["revision"]))
        out.write(struct.pack("I", len(layout["variables"])))
        for name, shape, dtype_id, raw in layout["variables"]:
            if raw is not None:
                data = base64.b64decode(raw)
            else:
                dtype = dtypes[dtype_id]
                if name.endswith("gamma"):
                    values = np.ones(shape)
                elif name.endswith(("beta", "bias")):
                    values = np.zeros(shape)
                else:
                    values = rng.normal(0, 0.02, shape)
                data = values.astype(dtype).tobytes()
            string(name)
            out.write(struct.pack("B", len(shape)) + b"".join(struct.pack("I", d) for d in shape))
            out.write(struct.pack("B", dtype_id) + struct.pack("I", len(data)) + data)
        out.write(struct.pack("I", len(layout["aliases"])))
        for alias, target in layout["aliases"]:
            string(alias)
            string(target)
    for side in layout_path.parent.iterdir():
        if side.name != "layout.json":
            (folder / side.name).write_bytes(side.read_bytes())
    return folder


def gpu_peak_reset() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_mib() -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


class NvmlPeak:
    """Device-wide used memory via NVML (CTranslate2 allocates outside torch), sampled at 20 Hz."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._nvml = pynvml
            self.base = self._used()
        except Exception:  # no NVML: no device-wide figure
            self._nvml = None
            self.base = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _used(self) -> float:
        return self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._used())

    def __enter__(self) -> NvmlPeak:
        if self._nvml is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._nvml is not None:
            self._thread.join()

    @property
    def above_base_mib(self) -> float | None:
        return None if self._nvml is None else round(self.peak - self.base, 1)


def bench_pyannote(
    audio: np.ndarray, devices: list[str], cpu_seconds: float, work: Path
) -> list[dict[str, Any]]:
    from pyannote_local import build_local_pipeline

    from pipeline.stages.diarization.pyannote_backend import PyannoteDiarizer
    from pipeline.stages.diarization.settings import DiarizationConfig, PyannoteConfig

    folder = build_local_pipeline(work / "community-1-random")
    rows = []
    for device in devices:
        clip = audio if device == "cuda" else audio[: int(cpu_seconds * SAMPLE_RATE)]
        config = DiarizationConfig(device=device, pyannote=PyannoteConfig(pipeline=str(folder)))
        started = time.perf_counter()
        diarizer = PyannoteDiarizer(config, models_dir=work)
        load = time.perf_counter() - started
        diarizer.diarize(audio[: 15 * SAMPLE_RATE])  # warm-up (cuDNN autotune, lazy init)
        gpu_peak_reset()
        with NvmlPeak() as nvml:
            started = time.perf_counter()
            result = diarizer.diarize(clip, num_speakers=None, min_speakers=1, max_speakers=8)
            elapsed = time.perf_counter() - started
        rows.append(
            dict(
                stage="diarization",
                model="pyannote community-1 layout (random weights)",
                device=device,
                audio_s=round(clip.size / SAMPLE_RATE, 1),
                seconds=round(elapsed, 2),
                rtf=round(elapsed / (clip.size / SAMPLE_RATE), 4),
                load_s=round(load, 1),
                torch_peak_mib=gpu_peak_mib() if device == "cuda" else None,
                device_peak_mib=nvml.above_base_mib if device == "cuda" else None,
                speakers=len(result.regular.labels()),
            )
        )
        logger.info("%s", rows[-1])
        del diarizer
    return rows


def bench_whisper(
    audio: np.ndarray,
    name: str,
    folder: Path,
    devices: list[str],
    cpu_seconds: float,
    max_new_tokens: int | None,
    weights: str,
) -> list[dict[str, Any]]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from pipeline.stages.transcribe_settings import AsrConfig

    defaults = AsrConfig()
    rows = []
    for device in devices:
        clip = audio if device == "cuda" else audio[: int(cpu_seconds * SAMPLE_RATE)]
        row: dict[str, Any] = dict(
            stage="asr",
            model=f"{name} ({weights} weights)",
            device=device,
            audio_s=round(clip.size / SAMPLE_RATE, 1),
            max_new_tokens=max_new_tokens,
        )
        try:
            started = time.perf_counter()
            model = WhisperModel(
                str(folder), device=device, compute_type="float16" if device == "cuda" else "int8"
            )
            batched = BatchedInferencePipeline(model) if device == "cuda" else None
            options: dict[str, Any] = dict(
                language="en",
                beam_size=defaults.beam_size,
                word_timestamps=True,
                vad_filter=True,
                max_new_tokens=max_new_tokens,
            )
            if weights == "random":
                # Random logits fail every quality check and would re-decode at 5 more temperatures.
                options["temperature"] = 0.0
            # Warm-up; on CUDA this is where CTranslate2 loads cuBLAS.
            decoded_tokens(model, batched, audio[: 30 * SAMPLE_RATE], defaults.batch_size, options)
            row["load_s"] = round(time.perf_counter() - started, 1)
            with NvmlPeak() as nvml:
                started = time.perf_counter()
                tokens = decoded_tokens(model, batched, clip, defaults.batch_size, options)
                elapsed = time.perf_counter() - started
            row.update(
                seconds=round(elapsed, 2),
                rtf=round(elapsed / (clip.size / SAMPLE_RATE), 4),
                tokens=tokens,
                device_peak_mib=nvml.above_base_mib if device == "cuda" else None,
            )
            del model, batched
        except Exception as err:  # a device that cannot run it is a finding, not a crash
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
            row["error"] = f"{type(err).__name__}: {first_line}"
        rows.append(row)
        logger.info("%s", row)
    return rows


def decoded_tokens(
    model: Any, batched: Any, samples: np.ndarray, batch_size: int, options: dict[str, Any]
) -> int:
    """Transcribe ``samples`` as the Transcriber does on that device; return the tokens decoded."""
    if batched is not None:
        segments, _ = batched.transcribe(samples, batch_size=batch_size, **options)
    else:
        segments, _ = model.transcribe(samples, condition_on_previous_text=False, **options)
    return sum(len(s.tokens) for s in segments)


def facts() -> dict[str, Any]:
    import torch

    found: dict[str, Any] = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
    )
    if torch.cuda.is_available():
        found["gpu"] = torch.cuda.get_device_name(0)
        found["gpu_mib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**20)
    try:
        import ctranslate2

        found["ctranslate2"] = ctranslate2.__version__
        found["ctranslate2_cuda_devices"] = ctranslate2.get_cuda_device_count()
        gpus = found["ctranslate2_cuda_devices"]
        cuda_types = ctranslate2.get_supported_compute_types("cuda") if gpus else []
        found["ctranslate2_cuda_compute_types"] = sorted(cuda_types)
    except Exception as err:
        found["ctranslate2"] = f"{type(err).__name__}: {err}"
    return found


def main() -> int:
    from evaluation.results import write_json

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata", help="from `bench/gpu.sh prepare`")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--minutes", type=float, default=25.0, help="length of the generated recording")
    parser.add_argument("--cpu-seconds", type=float, default=120.0, help="CPU runs use this excerpt")
    parser.add_argument("--max-new-tokens", type=int, default=96, help="decode cap per window (random)")
    parser.add_argument(
        "--real",
        type=Path,
        action="append",
        default=[],
        help="also time a real model folder (NAME=DIR), uncapped, e.g. tiny.en=/path",
    )
    parser.add_argument("--skip", action="append", default=[], choices=["pyannote", "whisper"])
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto: CUDA (if torch sees a GPU) and CPU; cpu: CPU only, e.g. a dry run (default: %(default)s)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pipeline").setLevel(logging.WARNING)

    report: dict[str, Any] = {"facts": facts(), "rows": []}
    logger.info("facts: %s", report["facts"])
    audio = long_recording(read_wav(args.data / "sample.wav"), args.minutes)
    gpu = ["cuda"] if report["facts"]["cuda_available"] else []
    devices = {"auto": [*gpu, "cpu"], "cpu": ["cpu"], "cuda": ["cuda"]}[args.device]
    if "cuda" in devices:
        from pipeline.models.gpu_libs import preload_cuda_libraries

        # As the Transcriber does: cuBLAS 12 (or the opted-in shim) loaded before CTranslate2 asks.
        report["facts"]["gpu_libraries"] = asdict(preload_cuda_libraries())
        logger.info("GPU libraries: %s", report["facts"]["gpu_libraries"])
    args.out.mkdir(parents=True, exist_ok=True)

    def save(rows: list[dict[str, Any]]) -> None:  # after each stage: a run cut short keeps what it measured
        report["rows"] += rows
        write_json(args.out / "gpu_bench.json", report)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "pyannote" not in args.skip:
            save(bench_pyannote(audio, devices, args.cpu_seconds, work))
        if "whisper" not in args.skip:
            for layout in sorted(args.data.glob("*/layout.json")):
                name = layout.parent.name
                folder = write_random_ct2(layout, work / f"{name}-random")
                save(
                    bench_whisper(
                        audio, name, folder, devices, args.cpu_seconds, args.max_new_tokens, "random"
                    )
                )
            for spec in args.real:
                name, _, path = str(spec).partition("=")
                save(bench_whisper(audio, name, Path(path), ["cpu"], args.cpu_seconds, None, "real"))
    print(json.dumps(report["facts"], default=str))
    for row in report["rows"]:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Batch mode vs ``speechpipe run`` once per file, on the same short real recordings.

Both sides are the console script in a fresh process with a fresh output folder
(so an empty stage cache), one after the other in the same invocation:

- per file: ``speechpipe run FILE -o OUT_i`` for each of N files (N interpreter
  starts, N model loads);
- batch: one ``speechpipe batch FOLDER -o OUT`` (one start, one model load).

The recordings are N slices of pyannote's 30 s two-speaker sample. The ratio
per-file / batch is the speed-up from loading the models once; it grows with N
and shrinks as recordings get longer (model loading is a fixed cost).
Writes ``bench/results/batch.json`` and prints the figures. Usage::

    .venv/bin/python bench/batch_throughput.py [--files 4] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the evaluation package beside bench/

from evaluation.results import write_json

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "batch.json"
SPEECHPIPE = str(Path(sys.executable).parent / "speechpipe")


def sample_wav() -> Path:
    """pyannote's bundled sample, found without importing pyannote.audio (seconds)."""
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "sample" / "sample.wav"


def write_clips(folder: Path, count: int, seconds: float) -> list[Path]:
    """``count`` slices of ``seconds`` each, taken round the 30 s sample at different offsets."""
    import soundfile as sf

    audio, rate = sf.read(sample_wav(), dtype="float32")
    length = int(seconds * rate)
    step = max(1, (audio.size - length) // max(1, count - 1))
    paths = []
    for i in range(count):
        start = (i * step) % max(1, audio.size - length)
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, audio[start : start + length], rate)
        paths.append(path)
    return paths


def timed(command: list[str]) -> float:
    """Wall seconds of ``command``, which must succeed."""
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="recordings, count (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each, s (default: %(default)s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="speechpipe-bench-") as tmp:
        work = Path(tmp)
        inputs = work / "in"
        inputs.mkdir()
        clips = write_clips(inputs, args.files, args.seconds)
        per_file = sum(
            timed([SPEECHPIPE, "run", str(p), "-o", str(work / f"run{i}"), "-q"]) for i, p in enumerate(clips)
        )
        batch = timed([SPEECHPIPE, "batch", str(inputs), "-o", str(work / "batch"), "-q"])

    figures = {
        "files": args.files,
        "seconds_each": args.seconds,
        "per_file_run_s": round(per_file, 2),
        "batch_s": round(batch, 2),
        "speedup": round(per_file / batch, 2),
        "per_file_s_per_recording": round(per_file / args.files, 2),
        "batch_s_per_recording": round(batch / args.files, 2),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json(RESULTS, figures)
    print(
        f"{args.files} recordings x {args.seconds:g} s: `speechpipe run` per file {per_file:.1f} s, "
        f"`speechpipe batch` {batch:.1f} s -> batch is {per_file / batch:.2f}x faster"
    )
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()

"""Diarize audio files with the peer system senko 0.2.2, a baseline for the diarization bench.

Runs in senko's own environment (``bash bench/senko_env.sh`` makes it); the product never
imports senko. Usage::

    bench/.senko-venv/bin/python bench/senko_diarize.py --out DIR AUDIO...

Builds ``senko.Diarizer(device="cpu", warmup=True, quiet=True)`` once, then for each file
writes ``DIR/<stem>.rttm`` and appends ``{"name", "seconds", "cpu_seconds", "duration"}``
(wall and process CPU seconds of ``diarize()``, audio seconds) to ``DIR/timings.jsonl``.
The one-off build and warm-up seconds go to ``DIR/build.json``. Any format soundfile reads
(or PyAV, where installed) is accepted: senko needs a 16 kHz mono 16-bit WAV, so each file
is decoded, mixed down, resampled and written to a temporary WAV first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import senko
import soundfile as sf
from scipy.signal import resample_poly

RATE = 16000


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Return ``(mono float32 samples, sample rate)``: soundfile first, then PyAV if present."""
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        return audio.mean(axis=1), int(rate)
    except sf.LibsndfileError:
        import av  # not one of senko's dependencies: only formats libsndfile lacks need it

        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in [*container.decode(stream), None]
                for out in resampler.resample(frame)
            ]
        return np.concatenate(chunks).astype(np.float32), RATE


def to_senko_wav(path: Path, wav: Path) -> float:
    """Write ``path`` as a 16 kHz mono 16-bit WAV at ``wav``; return its duration in seconds."""
    audio, rate = decode(path)
    if rate != RATE:
        g = gcd(rate, RATE)
        audio = resample_poly(audio, RATE // g, rate // g).astype(np.float32)
    sf.write(wav, np.clip(audio, -1.0, 1.0), RATE, subtype="PCM_16")
    return len(audio) / RATE


def rttm_lines(stem: str, segments: list[dict[str, Any]]) -> list[str]:
    """Standard RTTM ``SPEAKER`` lines for senko's merged segments."""
    lines = []
    for seg in segments:
        start, end = float(seg["start"]), float(seg["end"])
        lines.append(f"SPEAKER {stem} 1 {start:.3f} {end - start:.3f} <NA> <NA> {seg['speaker']} <NA> <NA>\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for RTTMs and timings")
    parser.add_argument("audio", type=Path, nargs="+", help="audio files, any format")
    args = parser.parse_args()
    missing = [str(path) for path in args.audio if not path.is_file()]
    if missing:  # before the minute-long build
        parser.error(f"no such file: {', '.join(missing)}")
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    diarizer = senko.Diarizer(device="cpu", warmup=True, quiet=True)
    build = time.perf_counter() - t0
    (args.out / "build.json").write_text(json.dumps({"seconds": round(build, 3)}) + "\n")
    print(f"built and warmed up in {build:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        for path in args.audio:
            wav = Path(tmp) / f"{path.stem}.wav"
            duration = to_senko_wav(path, wav)
            w0, c0 = time.perf_counter(), time.process_time()
            result = diarizer.diarize(str(wav))  # None when it finds no speech
            seconds, cpu = time.perf_counter() - w0, time.process_time() - c0
            segments = result["merged_segments"] if result else []
            (args.out / f"{path.stem}.rttm").write_text("".join(rttm_lines(path.stem, segments)))
            timing = {
                "name": path.stem,
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "duration": round(duration, 3),
            }
            with (args.out / "timings.jsonl").open("a") as log:
                log.write(json.dumps(timing) + "\n")
            print(f"{path.stem}: {len(segments)} segments, {seconds:.1f} s for {duration:.1f} s")


if __name__ == "__main__":
    main()

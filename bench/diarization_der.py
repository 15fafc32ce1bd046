"""Print the embedded diarizer's DER per reference file (speaker count found, not given).

DER is pyannote.metrics' ``DiarizationErrorRate(collar=0.5, skip_overlap=False)``:
0.25 s forgiven on each side of every reference boundary, overlapped speech scored.
References: pyannote.audio's ``sample.wav``/``sample.rttm`` and, when present,
``../shared/data/multispeaker/*.wav`` with their ``.rttm``.

Usage::

    .venv/bin/python bench/diarization_der.py
    .venv/bin/python bench/diarization_der.py --set median_filter=0 --set resegment_iterations=0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_MULTISPEAKER = REPO.parent / "shared" / "data" / "multispeaker"


def references() -> Iterator[tuple[str, Path, Path]]:
    """``(name, wav, rttm)`` for every reference recording found."""
    import pyannote.core

    # pyannote is a namespace package: find the sample beside pyannote.core, without
    # importing pyannote.audio (slow) or pyannote.audio.sample (decodes via torchcodec)
    sample_dir = Path(pyannote.core.__file__).resolve().parents[1] / "audio" / "sample"
    yield "pyannote_sample", sample_dir / "sample.wav", sample_dir / "sample.rttm"
    for wav in sorted(SHARED_MULTISPEAKER.glob("*.wav")):
        rttms = sorted(wav.parent.glob(f"{wav.stem}.*rttm")) + sorted(wav.parent.glob(f"{wav.stem}.rttm"))
        if rttms:
            yield wav.stem, wav, rttms[0]


def read_audio(path: Path) -> np.ndarray:
    """16 kHz mono float32; pyannote's sample is read with soundfile (no torchcodec)."""
    import soundfile as sf

    from pipeline.audio import SAMPLE_RATE, load_audio

    info = sf.info(str(path))
    if info.samplerate == SAMPLE_RATE and info.channels == 1:
        audio, _ = sf.read(str(path), dtype="float32")
        return audio
    return load_audio(path)


def parse_overrides(pairs: list[str]) -> dict[str, float | int]:
    """``["median_filter=0", ...]`` -> ``{"median_filter": 0.0, ...}`` (ints stay ints)."""
    out: dict[str, float | int] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override an EmbeddedDiarizerConfig field (repeatable)",
    )
    args = parser.parse_args()

    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    from pipeline.config import EmbeddedDiarizerConfig
    from pipeline.stages.diarize_embedded import EmbeddedDiarizer

    config = EmbeddedDiarizerConfig.model_validate(parse_overrides(args.set))
    started = time.perf_counter()
    diarizer = EmbeddedDiarizer(config)
    print(f"models loaded in {time.perf_counter() - started:.1f} s; config: {config.model_dump()}")
    print(
        f"{'file':28s} {'dur s':>6s} {'DER %':>6s} {'miss %':>6s} {'FA %':>6s} {'conf %':>6s} "
        f"{'spk':>7s} {'run s':>6s}"
    )
    totals = {"missed detection": 0.0, "false alarm": 0.0, "confusion": 0.0, "total": 0.0}
    for name, wav, rttm in references():
        audio = read_audio(wav)
        reference = next(iter(load_rttm(str(rttm)).values()))
        started = time.perf_counter()
        result = diarizer.diarize(audio)
        elapsed = time.perf_counter() - started
        d = DiarizationErrorRate(collar=0.5, skip_overlap=False)(reference, result.exclusive, detailed=True)
        total = d["total"]
        print(
            f"{name:28s} {audio.size / 16000:6.1f} {100 * d['diarization error rate']:6.1f} "
            f"{100 * d['missed detection'] / total:6.1f} {100 * d['false alarm'] / total:6.1f} "
            f"{100 * d['confusion'] / total:6.1f} "
            f"{len(result.exclusive.labels()):>3d}/{len(reference.labels()):<3d} "
            f"{elapsed:6.2f}"
        )
        if name != "pyannote_sample":
            for key in totals:
                totals[key] += d[key]
    if totals["total"]:
        errors = totals["missed detection"] + totals["false alarm"] + totals["confusion"]
        print(f"{'shared multispeaker, pooled':28s} {'':6s} {100 * errors / totals['total']:6.1f}")


if __name__ == "__main__":
    main()

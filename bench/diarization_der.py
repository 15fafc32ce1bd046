"""Print the embedded diarizer's DER per reference file, speakers found on single-speaker
files, and the long-monologue check (speaker count found, never given).

Three tables:

1. **DER** per reference: pyannote.metrics' ``DiarizationErrorRate(collar=0.5,
   skip_overlap=False)`` (0.25 s forgiven on each side of every reference boundary,
   overlapped speech scored) on pyannote.audio's ``sample.wav`` and, when present,
   ``../shared/data/multispeaker/*.wav`` with their ``.rttm``; the shared files pooled.
2. **Single speaker**: speakers found on each of ``../shared/data/singlespeaker``
   (the right answer is 1 everywhere).
3. **Monologue** (``build_monologue``): one reader's sentences shuffled into a long
   recording with short backchannels of a second voice sprinkled into the pauses. The
   right answer is 2 speakers, the monologue on one label (share >= 95 %), the
   backchannels on another.

Runtime is reported as seconds of processing per minute of audio.

Usage::

    .venv/bin/python bench/diarization_der.py
    .venv/bin/python bench/diarization_der.py --set merge_margin=0.03 --monologue-minutes 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyannote.core import Annotation

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_MULTISPEAKER = SHARED_DATA / "multispeaker"
SHARED_SINGLESPEAKER = SHARED_DATA / "singlespeaker"
RESULTS = REPO / "bench" / "results" / "diarization.json"
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")

MONOLOGUE_VOICE = "joinly_OSR_us_000_0034_8k.wav"
"""The monologue's reader: 35.6 s of Harvard sentences on an 8 kHz line (Open Speech
Repository), a telephone band like the backchannels'."""

BACKCHANNELS = ((7.60, 8.20), (9.84, 10.57), (21.90, 23.98))
"""Sheila's (speaker91) turns in pyannote's sample that nobody overlaps, seconds:
"Hello?", "Neither did I.", "Well, there isn't that much difference." (0.6-2.1 s)."""

_SAMPLE_RATE = 16_000


def pyannote_sample_dir() -> Path:
    """Folder of pyannote.audio's bundled sample.

    pyannote is a namespace package: the sample is found beside pyannote.core, without
    importing pyannote.audio (slow) or pyannote.audio.sample (decodes via torchcodec).
    """
    import pyannote.core

    return Path(pyannote.core.__file__).resolve().parents[1] / "audio" / "sample"


def references() -> Iterator[tuple[str, Path, Path]]:
    """``(name, wav, rttm)`` for every reference recording found."""
    sample_dir = pyannote_sample_dir()
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


def single_speaker_files() -> list[Path]:
    """Every audio file in ``../shared/data/singlespeaker`` (empty when absent), sorted."""
    return sorted(p for p in SHARED_SINGLESPEAKER.glob("*") if p.suffix in AUDIO_SUFFIXES)


@dataclass(frozen=True)
class Monologue:
    """A synthetic long monologue with backchannels, and where each voice is."""

    audio: np.ndarray
    """16 kHz mono float32, shape ``(samples,)``."""
    monologue: tuple[tuple[float, float], ...]
    """The reader's sentences (with their own short pauses), ``(start, end)`` seconds."""
    backchannels: tuple[tuple[float, float], ...]
    """The second voice's turns, ``(start, end)`` seconds."""


def sentences(voice: np.ndarray, *, min_pause: float = 0.5) -> list[np.ndarray]:
    """Cut ``voice`` (16 kHz) at pauses of at least ``min_pause`` seconds, mid-pause.

    A 20 ms frame is silent below a tenth of the 95th-percentile frame RMS; each piece
    keeps half of the pauses on either side, so pieces join back without clicks.
    """
    frame = _SAMPLE_RATE // 50
    frames = voice[: voice.size // frame * frame].reshape(-1, frame)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    silent = np.r_[False, rms < 0.1 * np.percentile(rms, 95), False]
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # silent runs [start, end) in frames
    cuts = [
        (a + b) // 2 * frame
        for a, b in zip(starts, ends, strict=True)
        if (b - a) * frame >= min_pause * _SAMPLE_RATE
    ]
    bounds = [0, *cuts, voice.size]
    return [voice[a:b] for a, b in itertools.pairwise(bounds) if b - a > frame]


def build_monologue(*, minutes: float = 15.0, seed: int = 0, backchannel_every: float = 30.0) -> Monologue:
    """One reader for ``minutes`` with a second voice's murmurs now and then.

    The reader's sentences (``MONOLOGUE_VOICE``) are drawn at random with replacement,
    each at a random gain (+-4 dB) so repeats are not bit-identical; into the pause after
    a sentence, with probability ``sentence length / backchannel_every``, goes one of
    Sheila's short turns from pyannote's sample (``BACKCHANNELS``) with 0.4 s of
    silence either side.

    Parameters
    ----------
    minutes
        Length of the result, minutes (it stops at the first sentence past it).
    seed
        Seed of the draws, so the recording is reproducible.
    backchannel_every
        Mean seconds of monologue between backchannels.

    Returns
    -------
    Monologue
    """
    import soundfile as sf

    from pipeline.audio import load_audio

    voice_path = SHARED_SINGLESPEAKER / MONOLOGUE_VOICE
    if not voice_path.is_file():
        raise FileNotFoundError(
            f"{voice_path}: the monologue's voice; shared data lives beside the repository"
        )
    pieces = sentences(load_audio(voice_path))
    sample, rate = sf.read(str(pyannote_sample_dir() / "sample.wav"), dtype="float32")
    assert rate == _SAMPLE_RATE
    murmurs = [sample[round(a * rate) : round(b * rate)] for a, b in BACKCHANNELS]
    gap = np.zeros(round(0.4 * rate), dtype=np.float32)
    rng = np.random.default_rng(seed)
    chunks: list[np.ndarray] = []
    monologue: list[tuple[float, float]] = []
    backchannels: list[tuple[float, float]] = []
    at = 0
    while at < minutes * 60 * rate:
        piece = pieces[rng.integers(len(pieces))] * np.float32(10 ** (rng.uniform(-4, 4) / 20))
        chunks.append(piece)
        monologue.append((at / rate, (at + piece.size) / rate))
        at += piece.size
        if rng.random() < piece.size / rate / backchannel_every:
            murmur = murmurs[rng.integers(len(murmurs))]
            chunks += [gap, murmur, gap]
            backchannels.append(((at + gap.size) / rate, (at + gap.size + murmur.size) / rate))
            at += 2 * gap.size + murmur.size
    return Monologue(np.concatenate(chunks), tuple(monologue), tuple(backchannels))


def label_time(annotation: Annotation, intervals: tuple[tuple[float, float], ...]) -> dict[str, float]:
    """Seconds of each label of ``annotation`` inside ``intervals``."""
    from pyannote.core import Segment, Timeline

    support = Timeline([Segment(a, b) for a, b in intervals]).support()
    cropped = annotation.crop(support)
    return {label: float(cropped.label_duration(label)) for label in cropped.labels()}


def monologue_scores(annotation: Annotation, case: Monologue) -> tuple[int, float, float]:
    """``(speakers, monologue share, backchannel share)`` of a diarization of ``case``.

    Monologue share: the fraction of the labelled monologue time on its majority label.
    Backchannel share: the fraction of the labelled backchannel time on other labels.
    """
    mono = label_time(annotation, case.monologue)
    if not mono:
        return len(annotation.labels()), 0.0, 0.0
    main = max(mono, key=mono.__getitem__)
    murmurs = label_time(annotation, case.backchannels)
    other = sum(t for label, t in murmurs.items() if label != main)
    return len(annotation.labels()), mono[main] / sum(mono.values()), other / max(sum(murmurs.values()), 1e-9)


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
    parser.add_argument(
        "--monologue-minutes",
        type=float,
        default=15.0,
        help="length of the monologue case (0: skip it), minutes",
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
        f"{'file':34s} {'dur s':>6s} {'DER %':>6s} {'miss %':>6s} {'FA %':>6s} {'conf %':>6s} "
        f"{'spk':>7s} {'s/min':>6s}"
    )
    totals = {"missed detection": 0.0, "false alarm": 0.0, "confusion": 0.0, "total": 0.0}
    results: dict = {"config": config.model_dump(), "collar": 0.5, "multispeaker": [], "single_speaker": []}
    audio_seconds = run_seconds = 0.0
    for name, wav, rttm in references():
        audio = read_audio(wav)
        reference = next(iter(load_rttm(str(rttm)).values()))
        started = time.perf_counter()
        result = diarizer.diarize(audio)
        elapsed = time.perf_counter() - started
        audio_seconds, run_seconds = audio_seconds + audio.size / _SAMPLE_RATE, run_seconds + elapsed
        d = DiarizationErrorRate(collar=0.5, skip_overlap=False)(reference, result.exclusive, detailed=True)
        total = d["total"]
        print(
            f"{name:34s} {audio.size / _SAMPLE_RATE:6.1f} {100 * d['diarization error rate']:6.1f} "
            f"{100 * d['missed detection'] / total:6.1f} {100 * d['false alarm'] / total:6.1f} "
            f"{100 * d['confusion'] / total:6.1f} "
            f"{len(result.exclusive.labels()):>3d}/{len(reference.labels()):<3d} "
            f"{60 * elapsed / (audio.size / _SAMPLE_RATE):6.2f}"
        )
        results["multispeaker"].append(
            {
                "file": name,
                "duration": audio.size / _SAMPLE_RATE,
                "der": d["diarization error rate"],
                "speakers_found": len(result.exclusive.labels()),
                "speakers_true": len(reference.labels()),
            }
        )
        if name != "pyannote_sample":
            for key in totals:
                totals[key] += d[key]
    if totals["total"]:
        errors = totals["missed detection"] + totals["false alarm"] + totals["confusion"]
        print(f"{'shared multispeaker, pooled':34s} {'':6s} {100 * errors / totals['total']:6.1f}")
        results["multispeaker_pooled_der"] = errors / totals["total"]

    singles = single_speaker_files()
    if singles:
        print(f"\n{'single speaker':34s} {'dur s':>6s} {'spk':>4s} {'s/min':>6s}")
        found_one = 0
        for path in singles:
            audio = read_audio(path)
            started = time.perf_counter()
            speakers = len(diarizer.diarize(audio).exclusive.labels())
            elapsed = time.perf_counter() - started
            audio_seconds, run_seconds = audio_seconds + audio.size / _SAMPLE_RATE, run_seconds + elapsed
            found_one += speakers == 1
            results["single_speaker"].append({"file": path.name, "speakers_found": speakers})
            print(
                f"{path.name:34s} {audio.size / _SAMPLE_RATE:6.1f} {speakers:4d} "
                f"{60 * elapsed / (audio.size / _SAMPLE_RATE):6.2f}"
            )
        print(f"{'found as 1 speaker':34s} {found_one}/{len(singles)}")
    print(f"{'all files above':34s} {run_seconds / (audio_seconds / 60):.2f} s per minute of audio")
    results["seconds_per_audio_minute"] = run_seconds / (audio_seconds / 60)

    if args.monologue_minutes > 0 and (SHARED_SINGLESPEAKER / MONOLOGUE_VOICE).is_file():
        case = build_monologue(minutes=args.monologue_minutes)
        duration = case.audio.size / _SAMPLE_RATE
        started = time.perf_counter()
        result = diarizer.diarize(case.audio)
        elapsed = time.perf_counter() - started
        speakers, share, caught = monologue_scores(result.exclusive, case)
        print(
            f"\nmonologue {duration / 60:.1f} min, {len(case.backchannels)} backchannels "
            f"({sum(b - a for a, b in case.backchannels):.0f} s): {speakers} speakers, "
            f"monologue share {100 * share:.1f} %, backchannel time on another label {100 * caught:.1f} %, "
            f"{60 * elapsed / duration:.2f} s per minute of audio"
        )
        results["monologue"] = {
            "minutes": duration / 60,
            "speakers_found": speakers,
            "monologue_share": share,
            "backchannel_time_elsewhere": caught,
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

"""Derive the reference RTTMs of the two real conversations in ``../shared/data/conversations``.

Neither recording ships speaker turns. They were derived once, as ``README.md`` here
describes; this script is that derivation, so it can be checked and re-run:

1. ``--words`` prints faster-whisper's words with their times (model ``base``, int8 on
   the CPU, ``language="en"``, ``word_timestamps=True``; pass ``vad``: ``vad_filter=True``,
   pass ``plain``: no VAD filter and ``condition_on_previous_text=False``). The tables
   below (``UTTERANCES``) were written by reading them: every sentence with its first
   word's start, last word's end, and who says it, decided from the dialogue's content.
2. Short acknowledgements the content does not settle (speaker ``None`` below) are
   decided by voice: CAM++ embeddings (``pipeline/models/campplus.py``, 3D-Speaker's
   ``campplus_cn_en_common`` weights, filterbanks less their mean over frames) compared
   by cosine to each speaker's centroid: the mean embedding of the 4 s chunks of their
   content-decided utterances of at least 2 s. The embedded span is the utterance's
   loud run (reaching at most 0.3 s past its word times, never into the neighbouring
   utterances' word times), at least 0.3 s. A margin under ``MARGIN`` leaves the
   utterance out of the reference. Content-decided utterances are scored too, as a
   check.
3. Each utterance (first word start to last word end) is fitted to the audio: its
   edges move inwards onto the first and last loud 10 ms frame, and it is split where
   it holds ``MIN_GAP`` seconds or more of quiet frames (faster-whisper stretches words
   over pauses); pieces under ``MIN_PIECE`` (clicks) are dropped. An utterance left
   with nothing (a short word whose word times miss its sound) takes the loud run
   around its words (quiet gaps under 0.1 s bridged, reaching at most 0.3 s past the
   word times), or keeps its word times when there is none.
   Loud: at least ``max(p10 + 10 dB, p95 - 45 dB)`` of the file's frame energies.
   A speaker's consecutive pieces less than ``MIN_GAP`` apart are then joined into one turn.
   Loud runs of 0.3 s or more that no turn touches are printed: sound the words did
   not cover (a word missed by both passes, a breath, the desk).

Usage::

    .venv/bin/python bench/references/derive_conversation_rttms.py --words   # print the words
    .venv/bin/python bench/references/derive_conversation_rttms.py           # write the RTTMs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's evaluation package

from evaluation.sources import read_clip
from pipeline.io.audio import SAMPLE_RATE

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONVERSATIONS = REPO.parent / "shared" / "data" / "conversations"

MARGIN = 0.1
"""Least cosine difference between the two centroids for a voice decision."""
MIN_GAP = 0.5
"""Seconds of quiet frames that split a turn."""
MIN_PIECE = 0.15
"""Seconds: shorter loud pieces of an utterance are dropped."""
EMBED_MAX = 20.0
"""Seconds: longer utterances are scored on their first 20 s (a voice does not change)."""
CENTROID_MIN = 2.0
"""Seconds: content-decided utterances at least this long make the speaker centroids."""

Utterance = tuple[float, float, str | None, str]
"""``(first word start, last word end, speaker or None for a voice decision, words)``, seconds.
Times are from the ``vad`` pass unless the words are marked ``[plain]`` (found only by the other)."""

UTTERANCES: dict[str, tuple[Utterance, ...]] = {
    "azure_katiesteve": (
        (0.00, 1.00, "katie", "Good morning, Steve."),
        (1.50, 2.74, "steve", "Good morning, Katie."),
        (
            3.70,
            11.24,
            "katie",
            "Have you tried the latest real-time diarization in Microsoft Speech Service? "
            "Which can tell you who said what in real-time?",
        ),
        (
            11.96,
            23.60,
            "steve",
            "Not yet, I've been using the batch transcription with diarization "
            "functionality, but it produces diarization result until whole audio get processed. "
            "Is the new feature can diarize in real-time?",
        ),
        (24.76, 25.36, "katie", "Absolutely."),  # the answer to Steve's question
        (26.22, 28.50, "steve", "That's exciting. Let me try it right now."),  # the one who has not tried it
    ),
    "pca_auto0_call_8k": (
        (
            0.75,
            5.03,
            "travis",
            "Thank you for calling Big Jim's Auto. This is Travis. How can I help you today?",
        ),
        (
            6.31,
            16.93,
            "violet",
            "Hello, my name is Violet King and I bought a car not too long ago and a light is coming on, "
            "a light on the dashboard and so I was wondering what I should do about that.",
        ),
        (
            17.71,
            24.95,
            "travis",
            "Okay, it may depend on what kind of light we're looking at here today, ma'am. "
            "Could I get your first and last name for me so I can just get some information pulled up?",
        ),
        (25.83, 34.25, "violet", "Yes, my name is Violet, V-I-O-L-E-T. My last name is King, K-I-N-G."),
        (35.57, 35.69, None, "Okay."),
        (37.39, 39.05, None, "I bought the car last season."),  # low word probabilities: words unsure
        (39.91, 40.19, None, "Okay."),
        (40.83, 43.11, "travis", "And what kind of car are we examining today?"),
        (44.93, 50.03, "violet", "It's a Ford Fusion. It's 2017."),
        (51.31, 53.31, None, "2017 Ford Fusion, okay."),  # read back by the agent, or repeated by her
        (
            56.74,
            60.66,
            "travis",
            "And for verification, ma'am, do you happen to know the purchase date of the car?",
        ),
        (62.02, 64.92, "violet", "Yes, it was last two days."),
        (65.82, 66.92, None, "I'll get 10."),
        (73.31, 76.07, "travis", "Okay, and can you describe to me what kind of light we're looking at?"),
        (78.43, 85.77, "violet", "Yes, it's, I think it's an oil and oil light."),
        (86.54, 88.62, None, "[plain] An oil light. Okay."),
        (96.59, 96.79, None, "Okay."),
        (
            97.63,
            104.27,
            "travis",
            "And just for clarity on my end, ma'am, is this the first call you've made regarding this?",
        ),
        (105.69, 106.15, "violet", "Yes."),  # the answer to his question
        (106.99, 107.45, None, "Okay."),
        (
            113.28,
            123.58,
            "travis",
            "And this might be kind of a silly question because I know you've just got "
            "the car, but sometimes they make me ask silly questions. How many miles has the car been "
            "driven since you bought it?",
        ),
        (123.58, 130.31, "violet", "Oh, I'm not sure. Should I check?"),
        (
            131.41,
            136.33,
            "travis",
            "No, that's okay. I'll just, I'll just put it in that we don't know at this time. It's okay.",
        ),
        (137.23, 137.89, None, "Okay."),
        (
            138.45,
            213.38,
            "travis",
            "So, under the warranty we offer, we don't handle in-house oil changes. "
            "[...] I would recommend giving them a call as soon as you can before they close.",
        ),
        (215.37, 215.81, None, "Okay."),
        (216.39, 217.39, "violet", "What is their number?"),
        (
            218.97,
            227.45,
            "travis",
            "Give me a second. Let me just ruffle through the desk here, see if I can "
            "find their information.",
        ),
        (229.47, 229.93, None, "Okay."),
        (231.01, 231.23, None, "Okay."),
        (231.45, 232.35, "travis", "You got something to write with there?"),
        (233.95, 234.95, "violet", "One moment please."),  # the one asked to write
        (235.94, 236.42, None, "[plain] Sure."),
        (241.00, 241.74, None, "Okay. Okay."),
        (242.40, 251.81, "travis", "[plain] All right, [vad] their number is 888-333-2222."),
        (255.48, 255.94, None, "Okay."),
        (256.48, 257.92, "violet", "And they can fix my car?"),
        (
            258.80,
            269.02,
            "travis",
            "Yeah. They should be able to handle the oil change. I'm sorry, that's not "
            "something that we cover under the warranty that we have, but they should be able to get you "
            "settled in [...], okay?",
        ),
        (270.04, 270.46, None, "Okay."),
        (271.08, 271.68, "violet", "Thank you."),  # answered by "no problem"
        (272.08, 273.62, "travis", "Oh, no problem. Have a good one."),
        (274.70, 275.38, "violet", "Thank you."),  # answers "have a good one"
        (275.38, 275.88, None, "Yeah."),
        (276.10, 276.32, None, "Bye."),
    ),
}


@dataclass(frozen=True)
class Decision:
    """Who says an utterance, and why."""

    utterance: Utterance
    speaker: str | None
    by: str  # "content", "voice", or "left out"
    scores: dict[str, float]  # cosine to each centroid (voice decisions only)


def frame_db(audio: np.ndarray) -> np.ndarray:
    """Energy of consecutive 10 ms frames, dB re full scale, shape ``(audio.size // 160,)``."""
    frame = SAMPLE_RATE // 100
    frames = audio[: audio.size // frame * frame].reshape(-1, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def loud_frames(audio: np.ndarray) -> np.ndarray:
    """Boolean per 10 ms frame: at least ``max(p10 + 10 dB, p95 - 45 dB)``."""
    db = frame_db(audio)
    return db >= max(np.percentile(db, 10) + 10.0, np.percentile(db, 95) - 45.0)


def fit_to_audio(start: float, end: float, loud: np.ndarray) -> list[tuple[float, float]]:
    """``[start, end]`` shrunk onto its loud frames and split at quiet runs of ``MIN_GAP`` or more."""
    a, b = int(np.floor(start * 100)), int(np.ceil(end * 100))
    idx = np.flatnonzero(loud[a:b]) + a
    if idx.size == 0:
        return []
    pieces: list[tuple[float, float]] = []
    first = last = int(idx[0])
    for i in idx[1:]:
        if (i - last - 1) / 100 >= MIN_GAP:
            pieces.append((first / 100, (last + 1) / 100))
            first = int(i)
        last = int(i)
    pieces.append((first / 100, (last + 1) / 100))
    return [(a, b) for a, b in pieces if b - a >= MIN_PIECE]


def loud_run(
    start: float, end: float, loud: np.ndarray, *, reach: float | None = None
) -> tuple[float, float]:
    """``[start, end]`` grown over the loud frames next to it (gaps under 0.1 s bridged), seconds.

    ``reach``: at most this many seconds past either end (None: no limit). The result is
    never smaller than ``[start, end]``.
    """
    a, b = int(start * 100), int(np.ceil(end * 100))
    low = 0 if reach is None else max(0, a - round(reach * 100))
    high = loud.size if reach is None else min(loud.size, b + round(reach * 100))
    while a > low and loud[max(a - 10, 0) : a].any():
        a -= 1
    while b < high and loud[b : b + 10].any():
        b += 1
    return a / 100, b / 100


def voice_span(start: float, end: float, loud: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """What to embed for ``[start, end]``: its loud run (reach 0.3 s), at least 0.3 s, within ``[low, high]``.

    ``low``, ``high``: the neighbouring utterances' word times, so no other voice gets in.
    """
    a, b = loud_run(start, end, loud, reach=0.3)
    middle, half = (a + b) / 2, max(b - a, 0.3) / 2
    return max(low, middle - half), min(high, middle + half)


def chunks(start: float, end: float, *, seconds: float = 4.0) -> list[tuple[float, float]]:
    """``[start, end]`` cut into equal pieces of at most ``seconds``."""
    n = max(1, int(np.ceil((end - start) / seconds)))
    step = (end - start) / n
    return [(start + i * step, start + (i + 1) * step) for i in range(n)]


def embedder() -> Callable[[np.ndarray], np.ndarray]:
    """A function: 16 kHz audio ``(samples,)`` -> unit CAM++ embedding ``(192,)``."""
    import torch

    from pipeline.models.campplus import fbank, load_campplus

    model, _ = load_campplus(models_dir=REPO / "models")

    def embed(audio: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            features = fbank(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))
            vector = model((features - features.mean(dim=0, keepdim=True))[None])[0].numpy()
        return vector / np.linalg.norm(vector)

    return embed


def decide(
    stem: str, audio: np.ndarray, loud: np.ndarray, embed: Callable[[np.ndarray], np.ndarray]
) -> list[Decision]:
    """Content decisions as in the table; voice decisions for the rest (see the module docstring)."""
    table = UTTERANCES[stem]

    def clip(a: float, b: float) -> np.ndarray:
        return audio[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)]

    centroids = {}
    for speaker in sorted({u[2] for u in table if u[2] is not None}):
        clear = [(a, b) for a, b, s, _ in table if s == speaker and b - a >= CENTROID_MIN]
        mean = np.mean([embed(clip(a, b)) for start, end in clear for a, b in chunks(start, end)], axis=0)
        centroids[speaker] = mean / np.linalg.norm(mean)
    decisions = []
    for i, u in enumerate(table):
        low = table[i - 1][1] if i > 0 else 0.0
        high = table[i + 1][0] if i + 1 < len(table) else loud.size / 100
        a, b = voice_span(u[0], u[1], loud, max(low, u[0] - 0.3), min(high, u[1] + 0.3))
        vector = embed(clip(a, min(b, a + EMBED_MAX)))
        scores = {s: float(vector @ c) for s, c in centroids.items()}
        if u[2] is not None:
            decisions.append(Decision(u, u[2], "content", scores))
            continue
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        if scores[ranked[0]] - scores[ranked[1]] >= MARGIN:
            decisions.append(Decision(u, ranked[0], "voice", scores))
        else:
            decisions.append(Decision(u, None, "left out", scores))
    return decisions


def turns(decisions: list[Decision], loud: np.ndarray) -> list[tuple[float, float, str]]:
    """Each decided utterance fitted to the audio, a speaker's pieces under ``MIN_GAP`` apart joined."""
    pieces = []
    for d in decisions:
        if d.speaker is not None:
            start, end = d.utterance[0], d.utterance[1]
            fitted = fit_to_audio(start, end, loud) or [loud_run(start, end, loud, reach=0.3)]
            pieces += [(a, b, d.speaker) for a, b in fitted]
    joined: list[list] = []  # [start, end, speaker]
    for start, end, speaker in sorted(pieces):
        if joined and joined[-1][2] == speaker and start - joined[-1][1] < MIN_GAP:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end, speaker])
    return sorted((a, b, s) for a, b, s in joined)


def uncovered(rows: list[tuple[float, float, str]], loud: np.ndarray) -> list[tuple[float, float]]:
    """Loud runs of 0.3 s or more (quiet gaps under ``MIN_GAP`` bridged) that no turn touches, seconds."""
    runs = fit_to_audio(0.0, loud.size / 100, loud)
    return [(a, b) for a, b in runs if b - a >= 0.3 and not any(s < b and a < e for s, e, _ in rows)]


def write_rttm(path: Path, stem: str, rows: list[tuple[float, float, str]]) -> None:
    """RTTM ``SPEAKER`` lines, times to 10 ms."""
    lines = [f"SPEAKER {stem} 1 {a:.2f} {b - a:.2f} <NA> <NA> {s} <NA> <NA>" for a, b, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def print_words(stem: str) -> None:
    """Both faster-whisper passes' words with their times (step 1 of the module docstring)."""
    from faster_whisper import WhisperModel

    from pipeline.models.registry import resolve_model

    folder, _ = resolve_model("base", models_dir=REPO / "models")
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)
    audio = read_clip(CONVERSATIONS / f"{stem}.wav")
    for name, options in (("vad", {"vad_filter": True}), ("plain", {"condition_on_previous_text": False})):
        segments, _ = model.transcribe(audio, language="en", word_timestamps=True, **options)
        print(f"== {stem} ({name})")
        for segment in segments:
            print(" ".join(f"{w.word.strip()}[{w.start:.2f}-{w.end:.2f}]" for w in segment.words or ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", action="store_true", help="print faster-whisper's words and stop")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the RTTMs")
    args = parser.parse_args()
    for stem in UTTERANCES:
        if not (CONVERSATIONS / f"{stem}.wav").is_file():
            print(f"{CONVERSATIONS / stem}.wav not present: skipped")
            continue
        if args.words:
            print_words(stem)
            continue
        audio = read_clip(CONVERSATIONS / f"{stem}.wav")
        loud = loud_frames(audio)
        decisions = decide(stem, audio, loud, embedder())
        for d in decisions:
            a, b, _, text = d.utterance
            scores = " ".join(f"{k}={v:+.2f}" for k, v in d.scores.items())
            print(f"{stem} {a:7.2f}-{b:7.2f} {d.speaker or '-':7s} {d.by:9s} {scores}  {text[:60]}")
        rows = turns(decisions, loud)
        for a, b in uncovered(rows, loud):
            print(f"{stem} {a:7.2f}-{b:7.2f} loud, in no turn")
        write_rttm(args.out / f"{stem}.rttm", stem, rows)
        print(f"{stem}: {len(rows)} turns written to {args.out / stem}.rttm")


if __name__ == "__main__":
    main()

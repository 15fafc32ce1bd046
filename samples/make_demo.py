"""Build the demo recording: hold music looping, then two people talking.

Deterministic (seeded): 48 s of a synthesized lo-fi loop (8 bars at 80 bpm,
12 s, played 4 times, faded out), 1 s of silence, then pyannote.audio's real
two-speaker telephone sample (30 s; MIT licence, shipped with the pyannote.audio
package). Written as FLAC at 16 kHz.

Usage: python samples/make_demo.py samples/demo.flac
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's evaluation package

from evaluation.signals import fade, repeat_loop, synth_loop
from evaluation.sources import pyannote_sample_path, read_clip
from pipeline.io.audio import SAMPLE_RATE

LOOP_BPM, LOOP_BARS, LOOP_REPEATS = 80.0, 4, 4.0
SEED = 20261127


def build_demo() -> tuple[np.ndarray, dict[str, float]]:
    """Return the demo signal (16 kHz mono float32) and where its parts are, seconds."""
    rng = np.random.default_rng(SEED)
    loop = synth_loop(rng, bpm=LOOP_BPM, bars=LOOP_BARS)
    music = fade(repeat_loop(loop, LOOP_REPEATS), fade_out=2.0)
    sample = pyannote_sample_path()
    if sample is None:
        raise SystemExit("pyannote.audio is not installed: run `make install` first")
    speech = read_clip(sample)
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    signal = np.concatenate([0.5 * music, silence, speech]).astype(np.float32)
    parts = {
        "music_end": music.size / SAMPLE_RATE,
        "loop_period": loop.size / SAMPLE_RATE,
        "speech_start": (music.size + silence.size) / SAMPLE_RATE,
        "duration": signal.size / SAMPLE_RATE,
    }
    return signal, parts


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("demo.flac")
    signal, parts = build_demo()
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, signal, SAMPLE_RATE, subtype="PCM_16")
    print(f"wrote {out}: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

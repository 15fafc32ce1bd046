"""What was said, scored: WER on Whisper-normalised text, and words invented inside music.

Both sides are normalised the way Whisper's English evaluation does
(``whisper_normalizer``'s ``EnglishTextNormalizer``: case, punctuation, numbers,
British spellings, fillers), so WER counts recognition errors, not formatting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import jiwer

from pipeline.core.types import Word

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WordErrors:
    """Word alignment counts of one recording (or a pooled set).

    Attributes
    ----------
    hits, substitutions, deletions, insertions : int
        Normalised words, jiwer's alignment.
    """

    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def reference_words(self) -> int:
        """Words in the normalised reference."""
        return self.hits + self.substitutions + self.deletions

    @property
    def wer(self) -> float | None:
        """(S + D + I) / reference words; None without reference words."""
        if not self.reference_words:
            return None
        return (self.substitutions + self.deletions + self.insertions) / self.reference_words

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )


@cache
def _normaliser():  # type: ignore[no-untyped-def]
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> str:
    """Whisper's English normalisation, whitespace collapsed.

    ``"Okay, um, Mr. Smith has TWO dogs!"`` -> ``"okay mister smith has 2 dogs"``.
    """
    return " ".join(_normaliser()(text).split())


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Align normalised ``hypothesis`` to normalised ``reference`` (jiwer)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return WordErrors(0, 0, 0, len(hyp.split()))
    if not hyp:
        return WordErrors(0, 0, len(ref.split()), 0)
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.hits, out.substitutions, out.deletions, out.insertions)


def words_inside(words: Iterable[Word], spans: Sequence[tuple[float, float]]) -> list[Word]:
    """Words whose midpoint lies inside one of ``spans`` (seconds)."""
    return [w for w in words if any(s <= (w.start + w.end) / 2 < e for s, e in spans)]


def words_outside(words: Iterable[Word], spans: Sequence[tuple[float, float]]) -> list[Word]:
    """Words whose midpoint lies inside none of ``spans`` (seconds)."""
    return [w for w in words if not any(s <= (w.start + w.end) / 2 < e for s, e in spans)]


def scored_text(words: Iterable[Word], *, untranscribed: Sequence[tuple[float, float]]) -> str:
    """Hypothesis text for WER: every word except those in speech the reference has no text for.

    Words inside music or silence stay in, as the insertions a reader of the
    transcript would see.
    """
    return " ".join(w.text for w in words_outside(words, untranscribed))

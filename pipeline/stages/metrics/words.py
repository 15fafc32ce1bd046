"""A speaker's words as tokens: lexicon phrases (backchannels, fillers, topics), sentences, questions.

Tokens are lower case with surrounding punctuation removed, keeping apostrophes and
inner hyphens: ``"Mm-hmm,"`` -> ``"mm-hmm"``, ``"[Laughter]"`` -> ``"laughter"``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pipeline.core.types import Segment, Word

_TERMINAL = (".", "?", "!")
_CLOSERS = "\"')]}»”’"
_TOKEN_STRIP = re.compile(r"^[^\w']+|[^\w']+$")


def words_by_speaker(segments: Sequence[Segment]) -> dict[str, list[Word]]:
    """Each speaker's words in time order (a word's own speaker, else its segment's; unknown: left out)."""
    out: dict[str, list[Word]] = defaultdict(list)
    for segment in segments:
        for word in segment.words:
            speaker = word.speaker or segment.speaker
            if speaker is not None:
                out[speaker].append(word)
    for words in out.values():
        words.sort(key=lambda w: (w.start, w.end))
    return dict(out)


def token(text: str) -> str:
    """One word's token (may be empty for pure punctuation)."""
    return _TOKEN_STRIP.sub("", text.strip().lower())


def tokens(words: Sequence[Word]) -> list[str]:
    """The non-empty tokens of ``words``, in order."""
    return [t for t in (token(w.text) for w in words) if t]


def phrases(entries: Iterable[str]) -> list[tuple[str, ...]]:
    """Lexicon entries as token tuples, longest first (so "of course" beats "of")."""
    found = {tuple(t for t in (token(p) for p in entry.split()) if t) for entry in entries}
    return sorted((p for p in found if p), key=len, reverse=True)


def covered(tokens: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> bool:
    """Whether ``tokens`` is a sequence of lexicon phrases (greedy, longest first)."""
    i = 0
    while i < len(tokens):
        match = next((p for p in phrases if tuple(tokens[i : i + len(p)]) == p), None)
        if match is None:
            return False
        i += len(match)
    return True


def count_phrases(tokens: Sequence[str], phrases: Sequence[tuple[str, ...]]) -> int:
    """Non-overlapping occurrences of any phrase in ``tokens``."""
    count, i = 0, 0
    while i < len(tokens):
        match = next((p for p in phrases if tuple(tokens[i : i + len(p)]) == p), None)
        if match is None:
            i += 1
        else:
            count += 1
            i += len(match)
    return count


def sentences(words: Sequence[Word]) -> list[list[str]]:
    """Raw word texts split after sentence-final punctuation (and at the turn's end)."""
    out: list[list[str]] = [[]]
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        out[-1].append(text)
        if text.rstrip(_CLOSERS).endswith(_TERMINAL):
            out.append([])
    return [s for s in out if s]


def is_question(sentence: Sequence[str], openers: Sequence[tuple[str, ...]]) -> bool:
    """Ends in "?", or has no final punctuation and starts with a question opener."""
    last = sentence[-1].rstrip(_CLOSERS)
    if last.endswith("?"):
        return True
    if last.endswith(_TERMINAL):
        return False
    found = [t for t in (token(w) for w in sentence) if t]
    return any(tuple(found[: len(p)]) == p for p in openers)

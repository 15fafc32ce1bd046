"""How well the quietest speaker keeps their own label: the figures DER hides.

A host with 1 % of the talk can lose every word to the guest and the DER moves by
1 %. These figures look only at the speaker with the least reference speech (the
minority), after mapping hypothesis labels to reference speakers one-to-one by time
(pyannote.metrics' optimal mapping):

* **recall**: the minority's speech on the label mapped to it, over all its speech;
* **turns on label**: the share of its turns (reference turns) mostly on its label;
* **backchannels / questions**: the same, for the turns given as such (their speech:
  the minority's reference turns inside them, so a question's pauses do not count);
* **named first**: whether the hypothesis speaker who speaks first is the one mapped
  to the reference's first speaker, which is what naming by order of first speech
  (``--speaker-names Host,Guest``) needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.diarization import optimal_mapping
from pipeline.core.types import Turn

Span = tuple[float, float]


@dataclass(frozen=True)
class MinorityScore:
    """The minority speaker's figures on one recording (see the module docstring).

    Attributes
    ----------
    speaker : str
        Reference label of the minority.
    seconds : float
        Its reference speech, seconds (to pool the recall over recordings).
    share : float
        Its fraction of all reference speaker time.
    recall : float
        Fraction of its speech on its mapped label (0 when no label maps to it).
    turns_on_label : float
        Fraction of its turns with more than half their time on its label.
    backchannels, questions : float or None
        The same fraction for the given backchannel / question spans (None: none given).
    named_first : bool
        The first hypothesis speaker maps to the reference's first speaker.
    """

    speaker: str
    seconds: float
    share: float
    recall: float
    turns_on_label: float
    backchannels: float | None
    questions: float | None
    named_first: bool


def _seconds_on(turns: Sequence[Turn], label: str | None, start: float, end: float) -> float:
    """Seconds of ``[start, end]`` covered by ``turns`` of ``label`` (turns of one label do not overlap)."""
    return sum(max(0.0, min(t.end, end) - max(t.start, start)) for t in turns if t.speaker == label)


def _mostly_on(
    turns: Sequence[Turn], label: str | None, spans: Sequence[Span], speech: Sequence[Span]
) -> float:
    """Fraction of ``spans`` with more than half of their ``speech`` on ``label``.

    A question's pauses are nobody's speech, so only the minority's reference speech
    inside each span counts (the whole span where it holds none).
    """
    hits = 0
    for a, b in spans:
        said = [(max(a, s), min(b, e)) for s, e in speech if s < b and e > a] or [(a, b)]
        hits += sum(_seconds_on(turns, label, s, e) for s, e in said) > sum(e - s for s, e in said) / 2
    return hits / len(spans) if spans else 0.0


def first_speaker(turns: Sequence[Turn]) -> str | None:
    """Label of the earliest turn (ties: label order), None when there is none."""
    return min(turns, key=lambda t: (t.start, t.speaker)).speaker if turns else None


def minority_score(
    reference: Sequence[Turn],
    regular: Sequence[Turn],
    exclusive: Sequence[Turn],
    *,
    duration: float,
    backchannels: Sequence[Span] = (),
    questions: Sequence[Span] = (),
) -> MinorityScore | None:
    """Score the minority speaker of ``reference`` (None with fewer than two reference speakers).

    Parameters
    ----------
    reference
        Reference turns, seconds.
    regular
        Hypothesis turns, overlap-aware: the recall is measured on these.
    exclusive
        Hypothesis with one speaker at a time (what words are aligned to): turns,
        backchannels, questions and the first speaker are judged on these.
    duration
        Seconds of audio (the mapping's scoring region).
    backchannels, questions
        The minority's backchannels and questions, seconds.
    """
    speech: dict[str, float] = {}
    for t in reference:
        speech[t.speaker] = speech.get(t.speaker, 0.0) + t.end - t.start
    if len(speech) < 2:
        return None
    minority = min(speech, key=lambda s: (speech[s], s))
    mapping = optimal_mapping(reference, regular, uem=((0.0, duration),))
    label = next((hyp for hyp, ref in mapping.items() if ref == minority), None)
    own = [(t.start, t.end) for t in reference if t.speaker == minority]
    recall = sum(_seconds_on(regular, label, a, b) for a, b in own) / speech[minority]
    first = first_speaker(exclusive)
    return MinorityScore(
        speaker=minority,
        seconds=speech[minority],
        share=speech[minority] / sum(speech.values()),
        recall=recall,
        turns_on_label=_mostly_on(exclusive, label, own, own),
        backchannels=_mostly_on(exclusive, label, backchannels, own) if backchannels else None,
        questions=_mostly_on(exclusive, label, questions, own) if questions else None,
        named_first=first is not None and mapping.get(first) == first_speaker(reference),
    )

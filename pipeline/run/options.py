"""One options object for every way of running: ``speechpipe run``, ``batch``, the Ray workers, ``eval``."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.run.config import Config
from pipeline.stages.naming import SpeakerNaming


@dataclass(frozen=True)
class RunOptions:
    """What to do with each recording of a run.

    Attributes
    ----------
    config : Config
        The resolved config (file, then command-line overrides).
    naming : SpeakerNaming
        ``--speaker-names`` and ``--enroll``; empty: speakers keep their labels.
    stream : int or None
        ``--stream``: the audio stream to analyse, 0-based among a file's audio streams;
        None: the one with speech (``pipeline.io.audio.choose_audio_stream``).
    """

    config: Config
    naming: SpeakerNaming = field(default_factory=SpeakerNaming)
    stream: int | None = None

    @property
    def formats(self) -> tuple[str, ...]:
        """The output files each recording gets (``output.formats``)."""
        return self.config.output.formats

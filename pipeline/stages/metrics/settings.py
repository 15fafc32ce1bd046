"""Settings of the metrics stage (``metrics`` in a config); the enrollment keys are the naming stage's."""

from __future__ import annotations

from pydantic import Field

from pipeline.core.settings import StrictSettings
from pipeline.stages.naming_settings import EnrollmentConfig, EnrollmentMargin, EnrollmentThreshold


class MetricsConfig(StrictSettings):
    """Per-speaker and conversation metrics; definitions and formulas in docs/metrics.md."""

    merge_pause: float = Field(0.5, ge=0, description="gaps under this join a speaker's turns, seconds")
    short_turn_max_duration: float = Field(
        1.5, ge=0, description="a turn this long or shorter is short (backchannel or interjection), seconds"
    )
    short_turn_max_words: int = Field(
        3, ge=0, description="a turn with 1 to this many words is short, whatever its length, words"
    )
    floor_gap: float = Field(
        2.0,
        ge=0,
        description="a short turn leaves the floor with another speaker whose long turn is under way "
        "at its end or starts within this many seconds after it, seconds",
    )
    interruption_min_overlap: float = Field(
        0.3,
        ge=0,
        description="an interrupter starts at least this long before the other speaker stops "
        "(smaller overlaps are handovers), seconds",
    )
    monologue_min_duration: float = Field(
        60.0, gt=0, description="one speaker holding the floor this long or longer is a monologue, seconds"
    )
    monologue_max_pause: float = Field(
        3.0, ge=0, description="longest pause between a speaker's turns inside one monologue, seconds"
    )
    backchannel_lexicon: tuple[str, ...] = Field(
        (
            "yeah",
            "yes",
            "yep",
            "yup",
            "right",
            "okay",
            "ok",
            "mm-hmm",
            "mhm",
            "mm",
            "hmm",
            "uh-huh",
            "aha",
            "ah",
            "oh",
            "wow",
            "exactly",
            "sure",
            "true",
            "indeed",
            "absolutely",
            "totally",
            "definitely",
            "of course",
            "i see",
            "got it",
            "cool",
            "nice",
            "great",
            "really",
            "no way",
            "laughter",
            "laughs",
            "laughing",
            "haha",
            "ha",
        ),
        description="words and phrases of assent: a short turn saying only these (or no recognised "
        "words) that does not take the floor is a backchannel; matched case- and punctuation-blind",
    )
    filler_words: tuple[str, ...] = Field(
        ("um", "uh", "umm", "uhm", "uhh", "erm", "er"), description="words counted as fillers"
    )
    question_openers: tuple[str, ...] = Field(
        (
            "who",
            "what",
            "when",
            "where",
            "why",
            "how",
            "which",
            "whose",
            "whom",
            "do you",
            "did you",
            "does it",
            "does that",
            "are you",
            "is it",
            "is that",
            "is there",
            "can you",
            "could you",
            "would you",
            "will you",
            "have you",
            "should we",
            "shall we",
        ),
        description="a sentence without final punctuation that starts with one of these phrases is "
        "a question (one ending in '?' always is)",
    )
    keywords: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="optional topic -> words or phrases; each speaker's mentions are counted per topic",
    )
    # The naming stage's (``EnrollmentConfig``), kept in this section: users write metrics.enrollment_*.
    enrollment_threshold: EnrollmentThreshold = EnrollmentConfig().threshold
    enrollment_margin: EnrollmentMargin = EnrollmentConfig().margin

    @property
    def enrollment(self) -> EnrollmentConfig:
        """The naming stage's settings, from this section's enrollment keys."""
        return EnrollmentConfig(threshold=self.enrollment_threshold, margin=self.enrollment_margin)

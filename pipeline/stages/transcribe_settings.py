"""Settings of the ASR and language stages (``asr`` in a config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.core.languages import WHISPER_LANGUAGES
from pipeline.core.settings import StrictSettings


class AsrConfig(StrictSettings):
    """faster-whisper transcription."""

    model: str = "tiny.en"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = Field(None, description="None: float16 on CUDA, int8 on CPU")
    language: str | None = Field(None, description="None: detect (English-only models: en)")
    beam_size: int = Field(5, ge=1)
    batched: bool = Field(
        True,
        description="decode VAD-cut chunks of at most 30 s together (faster, and its time swings less "
        "with where 30 s windows fall) rather than one window after another",
    )
    # Measured on 10 min of talk, tiny.en int8, 2 cores: batch 4 as fast as 8 (21 s) with
    # 0.5 GB less memory at its peak; batch 2 is 40 % slower.
    batch_size: int = Field(4, ge=1, description="chunks decoded together when batched; halved on GPU OOM")
    vad_filter: bool = True
    cpu_threads: int = Field(0, ge=0, description="0: let CTranslate2 decide")
    # faster-whisper's VAD holds about 0.15 GB per 10 minutes of window at its peak.
    window: float = Field(
        300.0,
        ge=60,
        description="longer audio is transcribed in windows of at most this, cut where quietest, seconds",
    )
    language_check: Literal["warn", "switch", "off"] = Field(
        "warn",
        description="with an English-only model or a fixed language, hear which language is spoken first; "
        "another one: warn, or switch (transcribe with language_model in that language)",
    )
    language_model: str = Field(
        "base", description="multilingual model that hears the language (and transcribes after a switch)"
    )
    language_threshold: float = Field(
        0.7, ge=0, le=1, description="another language is believed at this mean probability over the windows"
    )

    @property
    def english_only(self) -> bool:
        """The model transcribes English only (``*.en``)."""
        return self.model.endswith(".en")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None and value not in WHISPER_LANGUAGES:
            raise ValueError(
                f"unknown language {value!r} (--language); give a code Whisper knows, e.g. en, fr, de, es, "
                f"one of: {', '.join(WHISPER_LANGUAGES)}"
            )
        return value

    @field_validator("language_model")
    @classmethod
    def _multilingual(cls, value: str) -> str:
        if value.endswith(".en"):
            raise ValueError(
                f"{value!r} is English-only; language ID needs a multilingual model such as base"
            )
        return value

"""Settings of the hold-music stages (``hold_music`` in a config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.settings import StrictSettings


class HoldMusicConfig(StrictSettings):
    """Music detection and stripping (runs before everything else).

    Defaults are the best measured by ``bench/holdmusic.py`` on the seeded scenario set.
    """

    strip: Literal["loops", "music", "off"] = "music"
    min_region: float = Field(default=20.0, gt=0, description="shortest music region kept, seconds")
    min_loop_repeats: float = Field(default=2.0, ge=1.5, description="repeats needed to call a loop")
    speech_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Silero speech probability above which a frame is speech"
    )
    min_period: float = Field(default=1.5, gt=0, description="shortest loop period searched, seconds")
    max_period: float = Field(default=180.0, gt=0, description="longest loop period searched, seconds")
    frame_rate: float = Field(
        default=10.0, gt=0, description="repetition-search feature frames per second, Hz"
    )
    pool: float = Field(default=0.4, gt=0, description="each feature frame averages this much audio, seconds")
    detrend: float = Field(
        default=2.0, ge=0, description="span of the moving average removed from each band, seconds"
    )
    smoothing: float = Field(
        default=2.0, ge=0, description="similarities averaged over this span before a lag is chosen, seconds"
    )
    similarity_threshold: float = Field(
        default=0.8, ge=0, le=1, description="cosine similarity at the best lag for a frame to repeat"
    )
    contrast_threshold: float = Field(
        default=0.3, ge=0, le=1, description="best-lag similarity minus the lag curve's mean, cosine"
    )
    edge_threshold: float = Field(
        default=0.6, ge=0, le=1, description="similarity at the period that extends a region edge, cosine"
    )
    gap_fill: float = Field(
        default=3.0, ge=0, description="dips in repetition evidence up to this long are joined, seconds"
    )
    edge_search: float = Field(
        default=4.0, ge=0, description="audio inside each region edge Silero checks for speech, seconds"
    )
    silence_level: float = Field(
        default=-50.0, le=0, description="frames quieter than this are silence, never music, dBFS RMS"
    )
    screen_stride: int = Field(
        default=8, ge=1, description="speech screen: Silero scores one 32 ms chunk in this many, chunks"
    )
    screen_span: float = Field(
        default=2.0, gt=0, description="speech screen: Silero probabilities averaged over this span, seconds"
    )
    music_window: float = Field(
        default=6.0, gt=0, description="tonality and rhythm averaged over this span, seconds"
    )
    tonality_threshold: float = Field(
        default=0.22, gt=0, le=1, description="spectral-peak persistence over 0.1 s that is music, cosine"
    )
    rhythm_threshold: float = Field(
        default=0.35, gt=0, le=1, description="onset autocorrelation at a beat lag that is music, normalised"
    )

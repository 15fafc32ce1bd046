"""Typed run configuration, loaded from YAML and validated strictly.

A config is named (``default``, ``gpu``, ``cloud``: files in ``configs/``) or given
as a path. Unknown keys are errors, so a typo never silently falls back to a default.
The whole run's ``Config`` composes the settings each stage keeps beside itself
(``pipeline/stages/*/settings.py``), the outputs' and the batch's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from pipeline.core.errors import ConfigError, first_line
from pipeline.core.locations import CONFIGS_DIR, default_models_dir
from pipeline.core.settings import StrictSettings
from pipeline.run.batch.settings import BatchConfig
from pipeline.stages.diarization.settings import DiarizationConfig
from pipeline.stages.holdmusic.settings import HoldMusicConfig
from pipeline.stages.metrics.settings import MetricsConfig
from pipeline.stages.transcribe_settings import AsrConfig


class OutputConfig(StrictSettings):
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


class Config(StrictSettings):
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

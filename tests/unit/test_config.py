"""Config loading: named configs, overrides, strictness, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError
from pipeline.core.locations import CONFIGS_DIR
from pipeline.run.config import Config, load_config


@pytest.mark.parametrize("path", sorted(CONFIGS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_validates(path: Path) -> None:
    assert isinstance(load_config(path.stem), Config)


def test_default_is_cpu_with_models_from_pypi() -> None:
    config = load_config()
    assert config.asr.model == "tiny.en" and config.asr.device == "cpu"
    assert config.diarization.pyannote.pipeline == "offline"


def test_overrides_apply_and_none_is_ignored() -> None:
    config = load_config(
        "default", **{"asr.model": "base", "diarization.num_speakers": 2, "asr.language": None}
    )
    assert config.asr.model == "base" and config.diarization.num_speakers == 2 and config.asr.language is None


def test_an_unknown_language_fails_naming_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"asr\.language: .*unknown language 'xx' \(--language\)"):
        load_config("default", **{"asr.language": "xx"})
    assert load_config("default", **{"asr.language": "fr"}).asr.language == "fr"


def test_language_codes_are_faster_whispers() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from pipeline.core.languages import WHISPER_LANGUAGES

    assert tuple(_LANGUAGE_CODES) == WHISPER_LANGUAGES


def test_language_id_needs_a_multilingual_model() -> None:
    with pytest.raises(ConfigError, match=r"asr\.language_model: .*'tiny\.en' is English-only"):
        load_config("default", **{"asr.language_model": "tiny.en"})
    with pytest.raises(ConfigError, match=r"asr\.language_check"):
        load_config("default", **{"asr.language_check": "maybe"})


def test_unknown_key_is_an_error_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("asr:\n  modle: tiny.en\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: asr\.modle"):
        load_config(path)


@pytest.mark.parametrize("text", ["asr: [1, 2", "- just\n- a list\n", "\xff\xfe"])
def test_malformed_yaml_is_one_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        load_config(path)


def test_missing_config() -> None:
    with pytest.raises(ConfigError, match="config not found"):
        load_config("no-such-config")


def test_public_dict_drops_the_token() -> None:
    config = load_config("default", **{"diarization.pyannote.token": "hf_secret"})
    assert "hf_secret" not in str(config.public_dict())
    assert "hf_secret" not in repr(config)


def test_an_empty_section_plus_a_flag_is_the_defaults_plus_the_flag(tmp_path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("asr:\ndiarization:\n", encoding="utf-8")
    config = load_config(path, **{"asr.model": "base"})
    assert config.asr.model == "base" and config.diarization.max_speakers == 20


def test_speaker_bounds_that_cannot_hold_name_the_flags() -> None:
    flags = {"diarization.min_speakers": "--min-speakers", "diarization.max_speakers": "--max-speakers"}
    with pytest.raises(ConfigError, match=r"^--max-speakers, --min-speakers: min_speakers \(5\) is more"):
        load_config(flag_names=flags, **{"diarization.min_speakers": 5, "diarization.max_speakers": 2})


def test_a_bad_flag_value_is_blamed_on_the_flag_not_the_config_file() -> None:
    with pytest.raises(ConfigError, match=r"^--num-speakers: "):
        load_config(
            flag_names={"diarization.num_speakers": "--num-speakers"}, **{"diarization.num_speakers": 0}
        )


def test_models_never_resolve_in_the_working_directory(tmp_path, monkeypatch) -> None:
    from pipeline.core import locations

    monkeypatch.chdir(tmp_path)  # e.g. cron's read-only / or a read-only container root
    monkeypatch.setattr(locations, "running_from_checkout", lambda: False)
    folder = locations.default_models_dir({"XDG_CACHE_HOME": "/var/cache/u"})
    assert folder == Path("/var/cache/u/speechpipe/models")
    assert locations.default_models_dir({"SPEECHPIPE_MODELS_DIR": "/srv/models"}) == Path("/srv/models")
    assert not folder.is_relative_to(tmp_path) and folder.is_absolute()

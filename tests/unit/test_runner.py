"""The runner's loop over stages: the stage contract, caching by what a stage declares, the stage list."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.core.errors import StageError
from pipeline.core.timeline import KeptTimeline
from pipeline.core.types import ModelIdentity, Region
from pipeline.run.cache import StageCache
from pipeline.run.config import load_config
from pipeline.run.options import RunOptions
from pipeline.run.progress import SilentProgress
from pipeline.run.runner import _run_stage, build_stages, config_sha256
from pipeline.stages.base import ProgressHook, RecordingState, Stage, check_order
from pipeline.stages.naming import NamingStage, SpeakerNaming


def state(seconds: float = 2.0, sha: str = "ab" * 32) -> RecordingState:
    audio = np.zeros(int(seconds * 16_000), np.float32)
    return RecordingState(Path("x.wav"), sha, seconds, audio, KeptTimeline.keep_all(seconds))


class CountingMusic(Stage[tuple[Region, ...]]):
    """A cached stage that counts its runs; its key is one setting."""

    name = "hold_music"
    needs = ("audio",)
    provides = ("music",)
    output_type = tuple[Region, ...]

    def __init__(self, setting: int = 1) -> None:
        self.setting = setting
        self.runs = 0

    @property
    def cached(self) -> bool:
        return True

    def cache_key(self) -> dict[str, Any]:
        return {"setting": self.setting}

    @property
    def identities(self) -> tuple[ModelIdentity, ...]:
        return (ModelIdentity("vad", "fake", "test", "00"),)

    def run(self, state: RecordingState, progress: ProgressHook) -> tuple[Region, ...]:
        self.runs += 1
        return (Region(0.0, 1.0, "loop", 0.5, 2.0, 0.9),)

    def apply(self, state: RecordingState, output: tuple[Region, ...]) -> RecordingState:
        return replace(state, music=output)


def test_a_cached_stage_runs_once_per_recording_key_and_models(tmp_path: Path) -> None:
    cache, stage = StageCache(tmp_path), CountingMusic()
    first = _run_stage(stage, state(), cache, SilentProgress())
    again = _run_stage(stage, state(), cache, SilentProgress())
    assert first.music == again.music == (Region(0.0, 1.0, "loop", 0.5, 2.0, 0.9),) and stage.runs == 1
    _run_stage(stage, state(sha="cd" * 32), cache, SilentProgress())  # another recording
    _run_stage(CountingMusic(setting=2), state(), cache, SilentProgress())  # another key
    assert stage.runs == 2 and len(list(tmp_path.rglob("hold_music-*.json"))) == 3


def test_fingerprint_pins_what_a_stage_needs_not_where_the_file_is() -> None:
    one, two = state(), replace(state(), source=Path("elsewhere/y.wav"))
    assert one.fingerprint(("audio", "source")) == two.fingerprint(("audio", "source"))
    stripped = replace(one, timeline=KeptTimeline.from_stripped(2.0, (Region(0.0, 1.0),)))
    assert one.fingerprint(("audio",)) != stripped.fingerprint(("audio",))  # other kept audio


def test_stage_order_is_checked_against_what_earlier_stages_provide() -> None:
    class NeedsTurns(CountingMusic):
        name = "needs_turns"
        needs = ("turns",)

    with pytest.raises(StageError, match=r"needs_turns.*turns"):
        check_order([NeedsTurns()])
    check_order(list(build_stages(RunOptions(load_config("default")))))


def test_the_stage_list_follows_the_options(tmp_path: Path) -> None:
    config = load_config("default")
    names = [s.name for s in build_stages(RunOptions(config))]
    assert names == ["hold_music", "strip", "asr", "diarization", "align", "metrics"]
    named = build_stages(RunOptions(config, SpeakerNaming(names=("Host",))))
    assert [s.name for s in named][-2:] == ["naming", "metrics"] and isinstance(named[-2], NamingStage)


def test_stages_declare_their_keys_the_runner_decides_none_of_them() -> None:
    stages = {s.name: s for s in build_stages(RunOptions(load_config("default")))}
    assert "strip" not in stages["hold_music"].cache_key()  # stripping is the strip stage's key
    assert stages["strip"].cache_key() == {"strip": "music"}
    assert "cpu_threads" not in stages["asr"].cache_key()  # how fast, not what
    assert "token" not in stages["diarization"].cache_key()["pyannote"]  # a secret, not a setting
    assert {s.name for s in stages.values() if s.cached} == {"hold_music", "asr", "diarization"}
    base = config_sha256(RunOptions(load_config("default")))
    assert base == config_sha256(RunOptions(load_config("default", **{"asr.cpu_threads": 4})))


def test_another_audio_stream_of_the_same_file_is_another_recording(tmp_path: Path) -> None:
    """Same bytes, stream 1 after stream 0: the cache and the ledger's config hash keep them apart."""
    cache, stage = StageCache(tmp_path), CountingMusic()
    for stream in (0, 1, 0, 1):
        _run_stage(stage, replace(state(), audio_stream=stream, audio_streams=2), cache, SilentProgress())
    assert stage.runs == 2
    assert "audio_stream" not in state().fingerprint(("audio",))  # stream 0: keys as before streams
    config = load_config("default")
    hashes = {config_sha256(RunOptions(config, stream=stream)) for stream in (None, 0, 1)}
    assert len(hashes) == 3

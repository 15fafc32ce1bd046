"""The wheel works outside the checkout: it carries the configs and the registry, installs, and runs.

The wheel is built from a copy of the files a build needs (pip builds in the source
folder; the checkout stays clean), installed (not editable) into a fresh virtual
environment whose dependencies are this environment's own (a ``.pth`` file, no
download), and run from another directory with its own home and cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "pipeline", "configs")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_FILES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "_data"))
        else:
            shutil.copy2(path, source / name)
    (source / "models").mkdir()
    shutil.copy2(REPO / "models" / "registry.yaml", source / "models" / "registry.yaml")
    dist = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*build, "-q", "-w", str(dist), str(source)], check=True, capture_output=True, timeout=300)
    (built,) = dist.glob("speechpipe-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a fresh venv with the wheel installed; dependencies come from this environment."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Paths listed in a .pth file join sys.path after the venv's own site-packages, and the
    # .pth files inside them are not run: this environment's editable install stays out
    # (also when this environment is the checkout's own .venv).
    ours = [p for p in dict.fromkeys(sys.path) if p.endswith("site-packages")]
    Path(site, "dependencies.pth").write_text("\n".join(ours) + "\n")
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q"]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True, timeout=300)
    return root / "bin"


def elsewhere(
    bin_dir: Path, tmp_path: Path, *args: str | Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``speechpipe ARGS`` in ``tmp_path`` with a home and cache of its own."""
    environ = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPEECHPIPE_MODELS_DIR")},
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        **env,
    }
    return subprocess.run(
        [str(bin_dir / "speechpipe"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=600,
    )


def test_the_wheel_carries_the_configs_the_registry_and_the_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"pipeline/_data/configs/{p.name}" for p in (REPO / "configs").glob("*.yaml")}
    assert configs and configs <= names
    assert {"pipeline/_data/registry.yaml", "pipeline/schema/result.schema.json"} <= names
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "pipeline").rglob("*.py")}
    assert modules <= names, sorted(modules - names)


def test_installed_package_finds_its_files_from_another_directory(installed: Path, tmp_path: Path) -> None:
    where = elsewhere(installed, tmp_path, "models", "list")
    assert where.returncode == 0, where.stderr
    assert "tiny.en" in where.stdout and "silero-vad" in where.stdout and "segmentation-3.0" in where.stdout
    # Not the working directory's models/, not the checkout's: the user's cache.
    assert f"models folder: {tmp_path / 'cache' / 'speechpipe' / 'models'}" in where.stdout
    package = subprocess.run(
        [str(installed / "python"), "-c", "import pipeline; print(pipeline.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(installed.parent) in package and str(REPO) not in package
    assert elsewhere(installed, tmp_path, "run", "--help").returncode == 0


def test_installed_package_analyses_a_recording(installed: Path, tmp_path: Path, sample_wav: Path) -> None:
    audio, rate = sf.read(sample_wav, dtype="float32")
    sf.write(tmp_path / "call.wav", audio[: 8 * rate], rate)
    # The checkout's models folder (the diarizer's weights, pulled by make): no download here.
    proc = elsewhere(
        installed,
        tmp_path,
        "run",
        "call.wav",
        "-o",
        "out",
        "--quiet",
        SPEECHPIPE_MODELS_DIR=str(REPO / "models"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / "call" / "result.json").is_file()
    assert (tmp_path / "out" / "call" / "speakers.csv").read_text().startswith("speaker,")

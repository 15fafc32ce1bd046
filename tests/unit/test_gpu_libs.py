"""Finding and preloading the CUDA libraries CTranslate2 loads: fake wheel trees, an injected loader,
the cuBLAS shim on a real ELF library, and (where a GPU is present) the real thing."""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.models import whisper as whisper_module
from pipeline.models.gpu_libs import (
    CTRANSLATE2_CUBLAS_FUNCTIONS,
    SHIM_ENV,
    Library,
    SearchPlaces,
    build_shim,
    find_gpu_libraries,
    preload_cuda_libraries,
    soname_location,
)
from pipeline.stages.transcribe import Transcriber
from pipeline.stages.transcribe_settings import AsrConfig


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.fixture
def cuda12_site(tmp_path: Path) -> Path:
    """A site-packages/nvidia tree as the ``gpu`` extra installs it (empty files)."""
    root = tmp_path / "site" / "nvidia"
    for name in ("cublas/lib/libcublas.so.12", "cublas/lib/libcublasLt.so.12", "cudnn/lib/libcudnn.so.9"):
        touch(root / name)
    return root


@pytest.fixture
def cuda13_site(tmp_path: Path) -> Path:
    """A site-packages/nvidia tree of CUDA 13 wheels (as torch +cu130 brings them)."""
    root = tmp_path / "site13" / "nvidia"
    for name in ("cu13/lib/libcublas.so.13", "cu13/lib/libcublasLt.so.13", "cudnn/lib/libcudnn.so.9"):
        touch(root / name)
    return root


class RecordingLoader:
    """Stands in for ctypes.CDLL: records the paths and returns a handle with the given functions."""

    def __init__(self, functions: tuple[str, ...] = CTRANSLATE2_CUBLAS_FUNCTIONS) -> None:
        self.paths: list[Path] = []
        self.functions = functions

    def __call__(self, path: Path) -> SimpleNamespace:
        self.paths.append(path)
        return SimpleNamespace(**{name: None for name in self.functions})


def refuse(path: Path) -> None:
    raise AssertionError(f"nothing should be loaded, got {path}")


def test_finds_the_cuda12_wheels_and_prefers_them(cuda12_site: Path, tmp_path: Path) -> None:
    system = touch(tmp_path / "usr" / "lib" / "libcublas.so.12")
    places = SearchPlaces(wheel_roots=(cuda12_site,), ldconfig={"libcublas.so.12": system})

    found = find_gpu_libraries(places, environ={})

    assert found.cublas == Library("libcublas.so.12", cuda12_site / "cublas/lib/libcublas.so.12", "pip wheel")
    assert found.cublas_lt.path == cuda12_site / "cublas/lib/libcublasLt.so.12"
    assert found.cudnn.path == cuda12_site / "cudnn/lib/libcudnn.so.9"
    assert found.cublas13.path is None and not found.shim_enabled
    assert found.cublas_ready and not found.cublas.loaded  # found, not loaded: find loads nothing


def test_search_order_after_the_wheels(tmp_path: Path) -> None:
    ldconfig, env_dir, toolkit = (tmp_path / name for name in ("ld", "env", "cuda-12.8/lib64"))
    for folder in (ldconfig, env_dir, toolkit):
        touch(folder / "libcublas.so.12")
    touch(env_dir / "libcudnn.so.9")
    touch(toolkit / "libcudnn.so.9")
    touch(toolkit / "libcublasLt.so.12")
    places = SearchPlaces(
        ldconfig={"libcublas.so.12": ldconfig / "libcublas.so.12"},
        library_path=(env_dir,),
        toolkit_dirs=(toolkit,),
    )

    found = find_gpu_libraries(places, environ={})

    assert (found.cublas.origin, found.cudnn.origin, found.cublas_lt.origin) == (
        "ldconfig",
        "LD_LIBRARY_PATH",
        "CUDA toolkit",
    )


def test_a_machine_without_cuda_libraries_gets_a_report_and_no_loading(tmp_path: Path) -> None:
    result = preload_cuda_libraries(
        SearchPlaces(), environ={SHIM_ENV: "1"}, cache_dir=tmp_path, loader=refuse
    )

    assert result.cublas == Library("libcublas.so.12") and result.cudnn == Library("libcudnn.so.9")
    assert not result.cublas_ready and result.cublas.describe() == "libcublas.so.12: not found"
    assert list(tmp_path.iterdir()) == []  # no CUDA 13 cuBLAS: no shim


def test_preload_loads_cublaslt_before_cublas_then_cudnn(cuda12_site: Path) -> None:
    loader = RecordingLoader()

    result = preload_cuda_libraries(SearchPlaces(wheel_roots=(cuda12_site,)), environ={}, loader=loader)

    assert [p.name for p in loader.paths] == ["libcublasLt.so.12", "libcublas.so.12", "libcudnn.so.9"]
    assert result.cublas.loaded and result.cublas_lt.loaded and result.cudnn.loaded
    assert result.cublas_ready and result.missing_functions == ()


def test_a_cublas_without_ctranslate2s_functions_is_not_ready(cuda12_site: Path) -> None:
    loader = RecordingLoader(tuple(f for f in CTRANSLATE2_CUBLAS_FUNCTIONS if f != "cublasGemmEx"))

    result = preload_cuda_libraries(SearchPlaces(wheel_roots=(cuda12_site,)), environ={}, loader=loader)

    assert result.missing_functions == ("cublasGemmEx",) and not result.cublas_ready


def test_a_library_that_fails_to_load_is_reported_not_raised(cuda12_site: Path) -> None:
    def broken(path: Path) -> None:
        raise OSError(f"{path.name}: cannot open shared object file")

    result = preload_cuda_libraries(SearchPlaces(wheel_roots=(cuda12_site,)), environ={}, loader=broken)

    assert not result.cublas.loaded and "cannot open" in result.cublas.error
    assert not result.cublas_ready and "failed to load" in result.cublas.describe()


def test_an_unexpected_failure_is_logged_not_raised(
    cuda12_site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def crash(path: Path) -> None:
        raise RuntimeError("loader crashed")

    result = preload_cuda_libraries(SearchPlaces(wheel_roots=(cuda12_site,)), environ={}, loader=crash)

    assert not result.cublas_ready and "not preloaded (RuntimeError: loader crashed)" in caplog.text


def test_the_shim_is_opt_in(cuda13_site: Path, tmp_path: Path) -> None:
    places = SearchPlaces(wheel_roots=(cuda13_site,))
    loader = RecordingLoader()

    result = preload_cuda_libraries(places, environ={}, cache_dir=tmp_path / "cache", loader=loader)

    assert result.cublas.path is None and result.cublas13.path == cuda13_site / "cu13/lib/libcublas.so.13"
    assert [p.name for p in loader.paths] == ["libcudnn.so.9"] and not (tmp_path / "cache").exists()


def test_a_shim_that_cannot_be_built_is_reported(cuda13_site: Path, tmp_path: Path) -> None:
    places = SearchPlaces(wheel_roots=(cuda13_site,))  # its libcublas.so.13 is an empty file, not ELF

    result = preload_cuda_libraries(
        places, environ={SHIM_ENV: "1"}, cache_dir=tmp_path, loader=RecordingLoader()
    )

    assert result.cublas.origin == "shim" and "not a 64-bit" in result.cublas.error
    assert not result.cublas_ready and result.cublas.describe().startswith("libcublas.so.12: shim failed")


def system_library(soname: str) -> Path:
    """A real shared library of this machine, from the loader's cache; skip when absent."""
    path = SearchPlaces.of_this_machine().ldconfig.get(soname)
    if path is None or not path.is_file():
        pytest.skip(f"{soname} not in this machine's loader cache")
    return path


def test_the_shim_copy_answers_to_the_new_soname_in_this_process(tmp_path: Path) -> None:
    source = system_library("libz.so.1")

    shim = build_shim(source, "libz.so.7", tmp_path)

    with open(shim, "rb") as handle:
        assert soname_location(handle)[1] == "libz.so.7"
    assert build_shim(source, "libz.so.7", tmp_path) == shim  # made once
    ctypes.CDLL(str(shim))  # loaded by path, as preload does ...
    assert ctypes.CDLL("libz.so.7").zlibVersion  # ... so a later dlopen by name resolves to it


def test_the_shim_soname_must_keep_its_length(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        build_shim(system_library("libz.so.1"), "libz.so.12", tmp_path)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no half-written copy left


def cuda13_cublas() -> Path:
    found = SearchPlaces.of_this_machine().locate("libcublas.so.13").path
    if found is None:
        pytest.skip("no CUDA 13 cuBLAS on this machine")
    return found


def test_the_shim_on_the_real_cuda13_cublas(tmp_path: Path) -> None:
    cuda13_cublas()
    if SearchPlaces.of_this_machine().locate("libcublas.so.12").path is not None:
        pytest.skip("a real libcublas.so.12 is here: the shim is not used")

    result = preload_cuda_libraries(environ={SHIM_ENV: "1"}, cache_dir=tmp_path)

    assert result.cublas.origin == "shim" and result.cublas.loaded
    assert result.cublas_version.startswith("13.") and result.cublas_ready  # all nine functions
    assert ctypes.CDLL("libcublas.so.12").cublasGetProperty  # CTranslate2's dlopen would get it


def test_the_whisper_loader_preloads_only_for_cuda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr(whisper_module, "preload_cuda_libraries", lambda: calls.append("preload"))
    monkeypatch.setattr(whisper_module, "resolve_model", lambda name, models_dir: (tmp_path, None))
    monkeypatch.setattr(whisper_module, "_load", lambda config, path, device, identity: None)

    for device in ("cpu", "cuda"):
        monkeypatch.setattr(whisper_module, "resolve_ctranslate2_device", lambda requested, d=device: d)
        whisper_module.load_whisper(AsrConfig(device="auto"), models_dir=tmp_path)
    assert calls == ["preload"]


def ctranslate2_gpus() -> int:
    if importlib.util.find_spec("ctranslate2") is None:
        return 0
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


@pytest.mark.skipif(ctranslate2_gpus() == 0, reason="needs a GPU that CTranslate2 sees")
def test_faster_whisper_runs_on_the_gpu_after_preload() -> None:
    from pipeline.run.config import load_config

    models_dir = load_config("default").models_dir
    transcriber = Transcriber(
        AsrConfig(model="tiny.en", device="cuda", compute_type="float16"), models_dir=models_dir
    )
    assert transcriber.device == "cuda"  # its load decodes 1 s on the GPU: cuBLAS was found

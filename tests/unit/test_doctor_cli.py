"""``speechpipe doctor``: the fix it prints for each missing piece, and ``--require-gpu``'s exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.cli import doctor_command as doctor_cli
from pipeline.cli.main import main
from pipeline.models import gpu_libs
from pipeline.models.gpu_libs import SHIM_ENV, GpuLibraries, Library

NOTHING = GpuLibraries(Library("libcublas.so.12"), Library("libcublasLt.so.12"), Library("libcudnn.so.9"))
CUDA12 = GpuLibraries(
    Library("libcublas.so.12", Path("/site/nvidia/cublas/lib/libcublas.so.12"), "pip wheel", loaded=True),
    Library("libcublasLt.so.12", Path("/site/nvidia/cublas/lib/libcublasLt.so.12"), "pip wheel", loaded=True),
    Library("libcudnn.so.9", Path("/site/nvidia/cudnn/lib/libcudnn.so.9"), "pip wheel", loaded=True),
    cublas_version="12.9.3",
)


GpuHost = Callable[..., None]


@pytest.fixture
def gpu_host(monkeypatch: pytest.MonkeyPatch) -> GpuHost:
    """A GPU that torch and CTranslate2 see; the test picks the libraries found."""

    def setup(libs: GpuLibraries) -> None:
        line = "2.11.0 (CUDA 13.0): NVIDIA H100 80GB HBM3, 79.2 GiB"
        monkeypatch.setattr(doctor_cli, "_torch", lambda: (line, True))
        monkeypatch.setattr(doctor_cli, "_ctranslate2", lambda: ("4.8.5: 1 CUDA device(s)", "4.8.5", 1))
        monkeypatch.setattr(gpu_libs, "preload_cuda_libraries", lambda: libs)

    return setup


def test_missing_cublas_on_a_cuda12_host_names_the_gpu_extra(
    gpu_host: GpuHost, capsys: pytest.CaptureFixture
) -> None:
    gpu_host(NOTHING)

    assert main(["doctor", "--config", "gpu"]) == 0  # a report, whatever it finds
    out = capsys.readouterr().out
    assert "libcublas.so.12 not found" in out and "fix: pip install 'speechpipe[gpu]'" in out
    assert "GPU path     not usable" in out
    assert "ASR large-v3 on cuda, not usable here" in out and "diarization on cuda;" not in out


def test_missing_cublas_beside_cuda13_also_offers_the_shim(
    gpu_host: GpuHost, capsys: pytest.CaptureFixture
) -> None:
    cublas13 = Library("libcublas.so.13", Path("/site/nvidia/cu13/lib/libcublas.so.13"), "pip wheel")
    gpu_host(GpuLibraries(NOTHING.cublas, NOTHING.cublas_lt, NOTHING.cudnn, cublas13=cublas13))

    main(["doctor"])
    out = capsys.readouterr().out
    assert "fix: pip install 'speechpipe[gpu]'; or, with no download, " in out
    assert f"{SHIM_ENV}=1 lets CUDA 13's cuBLAS stand in (unverified)" in out
    assert "shim         off" in out


def test_a_ready_gpu_path_passes_require_gpu(gpu_host: GpuHost, capsys: pytest.CaptureFixture) -> None:
    gpu_host(CUDA12)

    assert main(["doctor", "--require-gpu", "--config", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "GPU path     usable" in out and "fix:" not in out
    assert "cuBLAS 12.9.3, CTranslate2's functions: all 9" in out
    assert "ASR large-v3 on cuda; diarization on cuda" in out


def test_a_shim_without_ctranslate2s_functions_is_named(
    gpu_host: GpuHost, capsys: pytest.CaptureFixture
) -> None:
    shim = Library("libcublas.so.12", Path("/cache/libcublas.so.12"), "shim", loaded=True)
    gpu_host(
        GpuLibraries(
            shim, CUDA12.cublas_lt, CUDA12.cudnn, shim_enabled=True, missing_functions=("cublasGemmEx",)
        )
    )

    assert main(["doctor", "--require-gpu"]) == 2
    captured = capsys.readouterr()
    assert "lacks cublasGemmEx, which CTranslate2 calls" in captured.out
    assert f"fix: unset {SHIM_ENV}" in captured.out
    assert "speechpipe: error: GPU path not usable" in captured.err


def test_cudnn_is_asked_for_only_by_ctranslate2_before_4_8() -> None:
    def problems(version: str) -> list[str]:
        libs = GpuLibraries(CUDA12.cublas, CUDA12.cublas_lt, NOTHING.cudnn)
        found = doctor_cli._problems(libs, torch_gpu=True, ct2_version=version, ct2_gpus=1)
        return [p.what for p in found]

    assert problems("4.8.5") == []
    assert problems("4.6.0") == ["libcudnn.so.9 not found (CTranslate2 4.6.0 loads it)"]


def gpu_visible() -> bool:
    import torch

    return bool(torch.cuda.is_available())


@pytest.mark.skipif(gpu_visible(), reason="checks a machine without a GPU")
def test_require_gpu_fails_with_exit_2_on_this_cpu_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv(SHIM_ENV, raising=False)

    assert main(["doctor", "--require-gpu"]) == 2  # the code `run --device cuda` exits with here
    captured = capsys.readouterr()
    assert "no CUDA GPU visible to torch or CTranslate2" in captured.out
    assert "fix: " in captured.out and "config       default: ASR tiny.en on cpu" in captured.out
    assert captured.err.startswith("speechpipe: error: GPU path not usable")

"""``speechpipe doctor``: what the GPU path will use on this machine, what is missing, and the fix.

One screen: Python, torch and the GPU it sees, CTranslate2 and the GPUs it sees, the
CUDA libraries faster-whisper loads (found where, loaded or not; see
``pipeline/models/gpu_libs.py``), onnxruntime's providers, and the devices a config's ASR and
diarization would run on. Exit 0, whatever it finds; with ``--require-gpu``, exit 2
(as ``run --device cuda`` would) unless ASR and diarization can both run on the GPU.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import dataclass

from pipeline import __version__
from pipeline.core.errors import ConfigError
from pipeline.models import gpu_libs
from pipeline.models.gpu_libs import SHIM_ENV, GpuLibraries

GPU_EXTRA = "pip install 'speechpipe[gpu]'"
"""The fix for a missing cuBLAS 12: its own folder, so right beside torch for CUDA 12 or 13."""


@dataclass(frozen=True)
class Problem:
    """One thing that keeps the GPU path from working, with what to do about it."""

    what: str  # what is wrong, e.g. "libcublas.so.12 not found"
    fix: str  # the command or setting that fixes it


def add_doctor_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``doctor`` command to the ``speechpipe`` parser."""
    doctor = commands.add_parser(
        "doctor",
        help="what the GPU path will use here, what is missing, and the fix",
        description="Report Python, torch, CTranslate2, the CUDA libraries faster-whisper loads "
        "(cuBLAS 12, cuDNN 9), onnxruntime's providers and the devices a config would use, with a fix "
        "for each missing piece. Exit 0, or 2 with --require-gpu when the GPU path is not usable.",
    )
    doctor.add_argument(
        "--config",
        default="default",
        metavar="NAME|PATH",
        help="config whose devices are shown (default: %(default)s)",
    )
    doctor.add_argument(
        "--require-gpu",
        action="store_true",
        help="exit 2 unless ASR and diarization can both run on the GPU (for a job's pre-flight check)",
    )
    doctor.set_defaults(handler=_doctor_command)


def _doctor_command(args: argparse.Namespace) -> int:
    torch_line, torch_gpu = _torch()
    ct2_line, ct2_version, ct2_gpus = _ctranslate2()
    libs = gpu_libs.preload_cuda_libraries()
    problems = _problems(libs, torch_gpu=torch_gpu, ct2_version=ct2_version, ct2_gpus=ct2_gpus)
    asr_gpu = ct2_gpus > 0 and libs.cublas_ready
    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("torch", torch_line),
        ("ctranslate2", ct2_line),
        ("cuBLAS 12", _cublas_line(libs)),
        ("cuDNN 9", libs.cudnn.describe()),
        ("cuBLAS 13", libs.cublas13.describe()),
        ("shim", _shim_line(libs)),
        ("onnxruntime", _onnxruntime()),
        ("config", _config_line(args.config, asr_gpu=asr_gpu, torch_gpu=torch_gpu)),
        ("GPU path", "usable: ASR and diarization can run on the GPU" if not problems else "not usable"),
    ]
    print(f"speechpipe {__version__} doctor")
    for label, text in rows:
        print(f"{label:<12} {text}")
    for problem in problems:
        print(f"  - {problem.what}\n    fix: {problem.fix}")
    if args.require_gpu and problems:
        raise ConfigError(f"GPU path not usable: {problems[0].what} (fixes above)")
    return 0


def _problems(libs: GpuLibraries, *, torch_gpu: bool, ct2_version: str, ct2_gpus: int) -> list[Problem]:
    problems = []
    if not torch_gpu and not ct2_gpus:
        problems.append(
            Problem(
                "no CUDA GPU visible to torch or CTranslate2",
                "on a GPU machine, check the driver (nvidia-smi) and that torch is a CUDA build; "
                "here, run on the CPU (--device cpu)",
            )
        )
    elif not torch_gpu:
        problems.append(
            Problem("torch sees no CUDA GPU (diarization)", "install a CUDA build of torch for this driver")
        )
    elif not ct2_gpus:
        problems.append(
            Problem(
                "CTranslate2 sees no CUDA GPU (ASR)",
                "update the NVIDIA driver: CTranslate2 4.x is built for CUDA 12 (driver >= 525)",
            )
        )
    problems += _cublas_problems(libs)
    if ct2_version and libs.cudnn.path is None and _version_tuple(ct2_version) < (4, 8):
        problems.append(
            Problem(
                f"libcudnn.so.9 not found (CTranslate2 {ct2_version} loads it)",
                "pip install 'ctranslate2>=4.8.5' (it loads no cuDNN)",
            )
        )
    return problems


def _cublas_problems(libs: GpuLibraries) -> list[Problem]:
    cublas = libs.cublas
    if cublas.error or libs.missing_functions:
        if cublas.error:
            what = f"{cublas.soname} ({cublas.origin}) cannot be loaded: {cublas.error}"
        else:
            missing = ", ".join(libs.missing_functions)
            what = f"cuBLAS {libs.cublas_version} ({cublas.soname}) lacks {missing}, which CTranslate2 calls"
        fix = (
            f"unset {SHIM_ENV} and {GPU_EXTRA}"
            if cublas.origin == "shim"
            else f"{GPU_EXTRA} --force-reinstall"
        )
        return [Problem(what, fix)]
    if cublas.path is not None:
        return []
    fix = GPU_EXTRA
    if libs.cublas13.path is not None and not libs.shim_enabled:
        fix += f"; or, with no download, {SHIM_ENV}=1 lets CUDA 13's cuBLAS stand in (unverified)"
    return [Problem(f"{cublas.soname} not found (CTranslate2 loads it on the GPU)", fix)]


def _cublas_line(libs: GpuLibraries) -> str:
    line = libs.cublas.describe()
    if libs.cublas.loaded:
        functions = "missing " + ", ".join(libs.missing_functions) if libs.missing_functions else "all 9"
        line += f"; cuBLAS {libs.cublas_version or '?'}, CTranslate2's functions: {functions}"
    return line


def _shim_line(libs: GpuLibraries) -> str:
    if not libs.shim_enabled:
        return f"off ({SHIM_ENV}=1 lets CUDA 13's cuBLAS stand in for libcublas.so.12; unverified)"
    if libs.cublas.origin == "shim":
        return f"on: {libs.cublas13.path} stands in for libcublas.so.12 (unverified)"
    if libs.cublas.path is not None:
        return "on, not needed: a CUDA 12 cuBLAS was found"
    return "on, but no CUDA 13 cuBLAS was found"


def _torch() -> tuple[str, bool]:
    """(report line, whether torch sees a CUDA GPU)."""
    try:
        import torch

        cuda = torch.version.cuda
        build = f"{torch.__version__} ({f'CUDA {cuda}' if cuda else 'CPU build'})"
        if not torch.cuda.is_available():
            return f"{build}: no CUDA GPU visible", False
        memory = torch.cuda.get_device_properties(0).total_memory / 2**30
        count = torch.cuda.device_count()
        more = f" (+{count - 1} more)" if count > 1 else ""
        return f"{build}: {torch.cuda.get_device_name(0)}, {memory:.1f} GiB{more}", True
    except Exception as err:  # a broken install is a finding, not a crash
        return f"not usable ({type(err).__name__}: {err})", False


def _ctranslate2() -> tuple[str, str, int]:
    """(report line, CTranslate2's version or "", CUDA devices it sees)."""
    try:
        import ctranslate2

        count = ctranslate2.get_cuda_device_count()
    except Exception as err:
        return f"not usable ({type(err).__name__}: {err})", "", 0
    return f"{ctranslate2.__version__}: {count} CUDA device(s)", ctranslate2.__version__, count


def _onnxruntime() -> str:
    try:
        import onnxruntime

        return f"{onnxruntime.__version__}: {', '.join(onnxruntime.get_available_providers())}"
    except Exception as err:
        return f"not usable ({type(err).__name__}: {err})"


def _config_line(name: str, *, asr_gpu: bool, torch_gpu: bool) -> str:
    from pipeline.run.config import load_config

    try:
        config = load_config(name)
    except Exception as err:  # a bad name or a broken file: said on the line
        return f"{name}: cannot load ({err})"
    asr = _device(config.asr.device, asr_gpu)
    diarization = _device(config.diarization.device, torch_gpu)
    return f"{name}: ASR {config.asr.model} on {asr}; diarization on {diarization}"


def _device(requested: str, gpu_usable: bool) -> str:
    """Where ``requested`` (auto, cpu, cuda) runs, as the stages resolve it."""
    if requested == "cpu":
        return "cpu"
    if requested == "auto":
        return "cuda (auto)" if gpu_usable else "cpu (auto: no usable GPU)"
    return "cuda" if gpu_usable else "cuda, not usable here: `run` would stop (exit 2)"


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"4.8.5"`` -> ``(4, 8, 5)``; unreadable -> ``()``."""
    try:
        return tuple(int(part) for part in version.split(".")[:3])
    except ValueError:
        return ()

"""Let CTranslate2 find the CUDA libraries it loads at run time, without LD_LIBRARY_PATH.

CTranslate2 4.8.5 (faster-whisper's engine) links no CUDA library: at its first matrix
product on the GPU it ``dlopen``s ``libcublas.so.12`` by name and looks up nine
functions in it (``CTRANSLATE2_CUBLAS_FUNCTIONS``); CTranslate2 4.5-4.7 also load
cuDNN 9. pip wheels (``nvidia-cublas-cu12``, the ``gpu`` extra; ``nvidia-cudnn-cu12``,
which torch for CUDA 12 brings) put these under ``site-packages/nvidia/*/lib``, where
the loader does not look. Loading them here first, by path, is enough: glibc answers a
later ``dlopen`` of a name with the library already loaded under that soname.
(cuDNN's own parts are found beside ``libcudnn.so.9``, whose rpath is ``$ORIGIN``.)

On a host with CUDA 13 only, ``SPEECHPIPE_CUBLAS_SHIM=1`` opts in to a shim: a copy of
CUDA 13's ``libcublas.so.13`` in the user cache whose soname is rewritten to
``libcublas.so.12``, loaded the same way (a symlink would not do: glibc matches a
loaded library by its soname, not by the file name it was opened under). CUDA 13's
cuBLAS exports all nine functions; that CTranslate2's results are right with it is
unverified until measured on a GPU.

Nothing here runs at import, nothing raises, and on a machine without these
libraries every function is a no-op that reports what it did not find.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import logging
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.core.locations import user_cache_dir

logger = logging.getLogger(__name__)

SHIM_ENV = "SPEECHPIPE_CUBLAS_SHIM"
"""Set to 1 to let a CUDA 13 cuBLAS stand in for ``libcublas.so.12`` (unverified)."""

CUBLAS12 = "libcublas.so.12"
CUBLAS_LT12 = "libcublasLt.so.12"
CUBLAS13 = "libcublas.so.13"
CUBLAS_LT13 = "libcublasLt.so.13"
CUDNN9 = "libcudnn.so.9"

CTRANSLATE2_CUBLAS_FUNCTIONS = (
    "cublasCreate_v2",
    "cublasDestroy_v2",
    "cublasGemmEx",
    "cublasGemmStridedBatchedEx",
    "cublasGetMathMode",
    "cublasGetProperty",
    "cublasSetStream_v2",
    "cublasSgemmStridedBatched",
    "cublasSgemm_v2",
)
"""What CTranslate2 4.8.5 looks up in ``libcublas.so.12`` (read from its bundled library)."""

WHEEL_LIB_DIRS = ("cublas/lib", "cudnn/lib", "cu13/lib")
"""Folders under ``site-packages/nvidia/`` that hold CUDA libraries: CUDA 12 wheels have one
per library, CUDA 13 wheels share ``cu13/lib``; cuDNN keeps ``cudnn/lib`` in both."""

Loader = Callable[[Path], Any]
"""Loads a shared library by path and returns its handle (``ctypes.CDLL``)."""


@dataclass(frozen=True)
class Library:
    """One shared library of the GPU path: where it was found and whether it is loaded."""

    soname: str  # the name the loader is asked for, e.g. "libcublas.so.12"
    path: Path | None = None  # the file found; None: found nowhere
    origin: str = ""  # where: "pip wheel", "ldconfig", "LD_LIBRARY_PATH", "CUDA toolkit" or "shim"
    loaded: bool = False  # loaded into this process: a later dlopen(soname) gets it
    error: str = ""  # the loader's message when loading failed

    def describe(self) -> str:
        """One line for a report: the path and where it came from, or why it is not usable."""
        if self.path is None:
            return (
                f"{self.soname}: {self.origin} failed: {self.error}"
                if self.error
                else f"{self.soname}: not found"
            )
        state = f"; failed to load: {self.error}" if self.error else ""
        return f"{self.path} ({self.origin}{state})"


@dataclass(frozen=True)
class GpuLibraries:
    """What faster-whisper's CUDA path will load, as found (and loaded) on this machine."""

    cublas: Library  # libcublas.so.12: CTranslate2 cannot run on the GPU without it
    cublas_lt: Library  # the cuBLASLt that cuBLAS links against
    cudnn: Library  # libcudnn.so.9 (CTranslate2 4.5-4.7; 4.8.5 loads no cuDNN)
    cublas13: Library = Library(CUBLAS13)  # CUDA 13's cuBLAS, the shim's source
    shim_enabled: bool = False  # SPEECHPIPE_CUBLAS_SHIM=1 was set
    cublas_version: str = ""  # version of the cuBLAS behind libcublas.so.12 once loaded, e.g. "12.9.1"
    missing_functions: tuple[str, ...] = ()  # of CTranslate2's cuBLAS functions, those it lacks

    @property
    def cublas_ready(self) -> bool:
        """``libcublas.so.12`` was found, loads (when loading was tried) and has all nine functions."""
        return self.cublas.path is not None and not self.cublas.error and not self.missing_functions


@dataclass(frozen=True)
class SearchPlaces:
    """Where to look for CUDA libraries, in this order."""

    wheel_roots: tuple[Path, ...] = ()  # folders of the ``nvidia`` namespace package (pip wheels)
    ldconfig: Mapping[str, Path] = field(default_factory=dict)  # soname -> path, from ``ldconfig -p``
    library_path: tuple[Path, ...] = ()  # LD_LIBRARY_PATH folders
    toolkit_dirs: tuple[Path, ...] = ()  # library folders of CUDA toolkits under /usr/local

    @classmethod
    def of_this_machine(cls, environ: Mapping[str, str] | None = None) -> SearchPlaces:
        """The places on this machine; empty everywhere but Linux."""
        if not sys.platform.startswith("linux"):
            return cls()
        environ = os.environ if environ is None else environ
        # /usr/local/cuda (the default) first, then the versioned ones, highest name first.
        toolkits = sorted(Path("/usr/local").glob("cuda*/lib64"), reverse=True)
        toolkits += sorted(Path("/usr/local").glob("cuda*/targets/*/lib"), reverse=True)
        return cls(
            wheel_roots=_nvidia_wheel_roots(),
            ldconfig=_ldconfig_cache(),
            library_path=tuple(Path(p) for p in environ.get("LD_LIBRARY_PATH", "").split(":") if p),
            toolkit_dirs=tuple(toolkits),
        )

    def locate(self, soname: str) -> Library:
        """The first file named ``soname`` in these places (not loaded)."""
        for root in self.wheel_roots:
            for sub in WHEEL_LIB_DIRS:
                if (root / sub / soname).is_file():
                    return Library(soname, root / sub / soname, "pip wheel")
        if soname in self.ldconfig:
            return Library(soname, self.ldconfig[soname], "ldconfig")
        for origin, folders in (("LD_LIBRARY_PATH", self.library_path), ("CUDA toolkit", self.toolkit_dirs)):
            for folder in folders:
                if (folder / soname).is_file():
                    return Library(soname, folder / soname, origin)
        return Library(soname)


def find_gpu_libraries(
    places: SearchPlaces | None = None, *, environ: Mapping[str, str] | None = None
) -> GpuLibraries:
    """Find cuBLAS 12, cuDNN 9 and a CUDA 13 cuBLAS (for the shim) without loading anything."""
    environ = os.environ if environ is None else environ
    places = SearchPlaces.of_this_machine(environ) if places is None else places
    return GpuLibraries(
        cublas=places.locate(CUBLAS12),
        cublas_lt=places.locate(CUBLAS_LT12),
        cudnn=places.locate(CUDNN9),
        cublas13=places.locate(CUBLAS13),
        shim_enabled=environ.get(SHIM_ENV, "").strip() == "1",
    )


def preload_cuda_libraries(
    places: SearchPlaces | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
    loader: Loader | None = None,
) -> GpuLibraries:
    """Load cuBLAS 12 (or the opted-in CUDA 13 shim) and cuDNN 9 globally, before CTranslate2 asks.

    Parameters
    ----------
    places
        Where to look (default: this machine's wheels, ldconfig, LD_LIBRARY_PATH, toolkits).
    environ
        Environment that holds ``SPEECHPIPE_CUBLAS_SHIM`` and ``XDG_CACHE_HOME``.
    cache_dir
        Folder for the shim (default: ``$XDG_CACHE_HOME/speechpipe/cublas-shim``, else ``~/.cache/...``).
    loader
        Loads one library by path (default: ``ctypes.CDLL`` with ``RTLD_GLOBAL``).

    Returns
    -------
    GpuLibraries
        What was found and loaded; never raises (a failure is in the fields, and logged).
    """
    environ = os.environ if environ is None else environ
    try:
        return _preload(places, environ, cache_dir, _load_global if loader is None else loader)
    except Exception as err:  # a broken ldconfig, site-packages or cache must not stop a run
        logger.warning("GPU libraries: not preloaded (%s: %s)", type(err).__name__, err)
        return GpuLibraries(Library(CUBLAS12), Library(CUBLAS_LT12), Library(CUDNN9))


def _preload(
    places: SearchPlaces | None, environ: Mapping[str, str], cache_dir: Path | None, loader: Loader
) -> GpuLibraries:
    places = SearchPlaces.of_this_machine(environ) if places is None else places
    found = find_gpu_libraries(places, environ=environ)
    if found.cublas.path is None and found.shim_enabled and found.cublas13.path is not None:
        found = _with_shim(found, places, cache_dir or user_cache_dir(environ) / "cublas-shim")
    cublas_lt = _load(found.cublas_lt, loader)[0]  # before cuBLAS, which needs it
    cublas, handle = _load(found.cublas, loader)
    cudnn = _load(found.cudnn, loader)[0]
    result = replace(found, cublas=cublas, cublas_lt=cublas_lt, cudnn=cudnn)
    if handle is not None:
        missing = tuple(name for name in CTRANSLATE2_CUBLAS_FUNCTIONS if not hasattr(handle, name))
        result = replace(result, cublas_version=_cublas_version(handle), missing_functions=missing)
    version = f" (cuBLAS {result.cublas_version})" if result.cublas_version else ""
    logger.info("GPU libraries: %s%s; %s", cublas.describe(), version, cudnn.describe())
    return result


def build_shim(source: Path, soname: str, cache_dir: Path) -> Path:
    """A copy of the library ``source`` named ``soname``, with its ELF soname rewritten to match.

    The copy lives in ``cache_dir/<key>/`` (key: path, size and time of ``source``) and is
    made once. The new soname must be as long as the old one (it is rewritten in place).

    Raises
    ------
    ValueError, struct.error
        ``source`` is not a 64-bit little-endian ELF library with a soname of that length.
    OSError
        The copy cannot be written.
    """
    stat = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_dir / key / soname
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{soname}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, partial)
        with open(partial, "r+b") as handle:
            offset, old = soname_location(handle)
            if len(old) != len(soname):
                raise ValueError(f"{source}: soname {old!r} and {soname!r} differ in length")
            handle.seek(offset)
            handle.write(soname.encode())
        os.replace(partial, target)  # atomic: another process sees all of it or none
    finally:
        partial.unlink(missing_ok=True)
    return target


def soname_location(handle: BinaryIO) -> tuple[int, str]:
    """File offset and text of the soname (``DT_SONAME``) of an open ELF64 little-endian library.

    Raises
    ------
    ValueError
        Not such a library, or it has no soname.
    """
    handle.seek(0)
    header = handle.read(64)
    if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    (phoff,) = struct.unpack_from("<Q", header, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
    handle.seek(phoff)
    table = handle.read(phentsize * phnum)
    segments = [struct.unpack_from("<IIQQQQ", table, i * phentsize) for i in range(phnum)]
    loads = [(vaddr, offset, filesz) for kind, _, offset, vaddr, _, filesz in segments if kind == 1]
    dynamic = [(offset, filesz) for kind, _, offset, _, _, filesz in segments if kind == 2]
    if not dynamic:
        raise ValueError("no dynamic section")
    handle.seek(dynamic[0][0])
    raw = handle.read(dynamic[0][1])
    entries = dict(struct.iter_unpack("<qQ", raw[: len(raw) // 16 * 16]))
    if 5 not in entries or 14 not in entries:  # DT_STRTAB, DT_SONAME
        raise ValueError("no soname")
    strtab = next((off + entries[5] - va for va, off, size in loads if va <= entries[5] < va + size), None)
    if strtab is None:
        raise ValueError("string table outside the file's segments")
    offset = strtab + entries[14]
    handle.seek(offset)
    return offset, handle.read(256).split(b"\0", 1)[0].decode()


def _with_shim(found: GpuLibraries, places: SearchPlaces, cache_dir: Path) -> GpuLibraries:
    """``found`` with the shim as cuBLAS 12, and CUDA 13's cuBLASLt (from beside it) as its cuBLASLt."""
    source = found.cublas13
    assert source.path is not None
    try:
        shim = build_shim(source.path, CUBLAS12, cache_dir)
    except (OSError, ValueError, struct.error) as err:
        logger.warning("cuBLAS shim: cannot build it from %s (%s)", source.path, err)
        return replace(found, cublas=Library(CUBLAS12, origin="shim", error=str(err)))
    logger.warning("cuBLAS shim: CUDA 13's %s stands in for %s (unverified)", source.path, CUBLAS12)
    beside = source.path.with_name(CUBLAS_LT13)
    # The copy's rpath ($ORIGIN) now points at the cache: its cuBLASLt is loaded first, by path.
    cublas_lt = (
        Library(CUBLAS_LT13, beside, source.origin) if beside.is_file() else places.locate(CUBLAS_LT13)
    )
    return replace(found, cublas=Library(CUBLAS12, shim, "shim"), cublas_lt=cublas_lt)


def _load(library: Library, loader: Loader) -> tuple[Library, Any]:
    if library.path is None or library.error:
        return library, None
    try:
        handle = loader(library.path)
    except OSError as err:
        return replace(library, error=str(err)), None
    return replace(library, loaded=True), handle


def _load_global(path: Path) -> ctypes.CDLL:
    return ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


def _cublas_version(handle: Any) -> str:
    """``major.minor.patch`` from ``cublasGetProperty`` (needs no GPU); "" when it cannot say."""
    parts = []
    try:
        for prop in (0, 1, 2):  # MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            value = ctypes.c_int()
            if handle.cublasGetProperty(prop, ctypes.byref(value)) != 0:
                return ""
            parts.append(str(value.value))
    except (AttributeError, TypeError, OSError):
        return ""
    return ".".join(parts)


def _nvidia_wheel_roots() -> tuple[Path, ...]:
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        return ()
    if spec is None or spec.submodule_search_locations is None:
        return ()
    return tuple(Path(p) for p in spec.submodule_search_locations)


def _ldconfig_cache() -> dict[str, Path]:
    """soname -> path of the loader's cache (``ldconfig -p``); empty when there is no ldconfig."""
    program = shutil.which("ldconfig") or shutil.which("ldconfig", path="/sbin:/usr/sbin")
    if program is None:
        return {}
    try:
        listing = subprocess.run([program, "-p"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, Path] = {}
    for line in listing.stdout.splitlines():  # "\tlibcublas.so.12 (libc6,x86-64) => /usr/lib/..."
        name, arrow, path = line.strip().partition(" => ")
        if arrow:
            found.setdefault(name.split(" (", 1)[0], Path(path))
    return found

"""Compiled kernels: the hot loops of the hourly processes, compiled with Numba.

Each process keeps its rule in one place, its own module: the Python function
draws the hour's random numbers (fixed-size blocks, see
:mod:`milieu_sim.model.streams`), passes them with the state arrays to a kernel
decorated with :func:`kernel`, and logs the event rows the kernel returns.
Kernels loop over bed slots in slot order and write the rule's arithmetic as
scalar expressions in the order the rule states it (no ``fastmath``), so a run
gives the same tables compiled or not: ``NUMBA_DISABLE_JIT=1`` runs the very
same functions as plain Python (slow; for debugging and coverage), and a test
checks that both agree.

The kernel cache.  Importing the package compiles nothing and touches no
folder: a kernel compiles, or loads from the cache, the first time it is
called.  Compiled kernels are cached per user, in
``$XDG_CACHE_HOME/milieu-sim/kernels/<version>-<fingerprint>/`` (``~/.cache``
when ``XDG_CACHE_HOME`` is not set; under ``$NUMBA_CACHE_DIR/milieu-sim/``
when that is set), where the fingerprint hashes Numba's version and every
``.py`` file under ``milieu_sim/model/`` (Numba checks a cached kernel against
its own source file only, not against the constants it takes from other
modules).  Any change to the model's code therefore compiles afresh into a new
folder; no folder is ever deleted, so two installed versions never remove each
other's kernels.  The cache is never written inside the installed package.
The folders are created owner-only (0o700) and used only if they belong to the
user and no one else can write to them; otherwise kernels are cached in a
fresh private temporary folder for this process (removed at exit).  Numba's
global settings (``numba.config``) are left alone: each kernel gets its own
cache object.  ``milieu-sim warm-up`` compiles every kernel ahead of use
(``./milieu`` runs it after installing; the model's own modules are not
imported by this one).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numba
from numba import njit
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    NullCache,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)

#: The folder of the model's code: the cache is keyed by every ``.py`` file under it.
MODEL_SOURCES = Path(__file__).resolve().parent
#: The kernels decorated so far (filled as the process modules are imported).
KERNELS: list[Callable] = []
PRIVATE = 0o700
#: Written into the cache folder when every kernel has been compiled there (:func:`mark_warmed_up`).
WARM_MARKER = "warmed-up"


def fingerprint(sources: Path | None = None) -> str:
    """A hash of Numba's version and every ``.py`` file (name and bytes) under the model's folder."""
    sources = MODEL_SOURCES if sources is None else sources
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(sources.rglob("*.py")):
        digest.update(path.relative_to(sources).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def cache_key() -> str:
    """The name of this code's cache folder: package version and source fingerprint."""
    from milieu_sim.provenance import package_version

    return f"{package_version()}-{fingerprint()}"


def _own_folders() -> tuple[Path, list[Path]]:
    """The user's cache base (not ours: only created if missing) and our folders in it, outermost first."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        base, parts = Path(os.environ["NUMBA_CACHE_DIR"]), ("milieu-sim",)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base, parts = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"), ("milieu-sim", "kernels")
    folders = [base.joinpath(*parts[: k + 1]) for k in range(len(parts))]
    return base, [*folders, folders[-1] / cache_key()]


def is_private(folder: Path) -> bool:
    """True if ``folder`` is a real folder (not a link), owned by this user, that no one else can write to."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and os.access(folder, os.W_OK)
    )


def _private_user_folder() -> Path | None:
    """The per-user cache folder, created owner-only, if it and our folders above it are private; else None."""
    base, folders = _own_folders()
    try:
        base.mkdir(parents=True, exist_ok=True)
        for folder in folders:
            folder.mkdir(mode=PRIVATE, exist_ok=True)
            if not is_private(folder):
                return None
    except OSError:
        return None
    return folders[-1]


@functools.cache
def cache_dir() -> Path:
    """This code's kernel cache folder, created on first call: the per-user folder if it is private to the
    user, else a fresh private temporary folder (removed when the process exits)."""
    found = _private_user_folder()
    if found is not None:
        return found
    fallback = Path(tempfile.mkdtemp(prefix="milieu-sim-kernels-"))
    atexit.register(shutil.rmtree, fallback, ignore_errors=True)
    return fallback


def kernels_cached() -> bool:
    """True if ``milieu-sim warm-up`` has compiled the kernels into this code's per-user cache (checked without
    writing), or if Numba is switched off (``NUMBA_DISABLE_JIT=1``): nothing will be compiled."""
    if numba.config.DISABLE_JIT:
        return True
    folders = _own_folders()[1]
    return all(is_private(folder) for folder in folders) and (folders[-1] / WARM_MARKER).is_file()


class _KernelLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Numba cache locator for one kernel: a subfolder of :func:`cache_dir` named after the source folder."""

    def __init__(self, py_func: Callable, py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_dir() / self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self) -> str:
        return self._cache_path

    def ensure_cache_path(self) -> None:
        os.makedirs(self._cache_path, mode=PRIVATE, exist_ok=True)
        tempfile.TemporaryFile(dir=self._cache_path).close()


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes: ClassVar[list[type]] = [_KernelLocator]


class _KernelCache(FunctionCache):
    _impl_class = _KernelCacheImpl


class FirstUseCache(NullCache):
    """A kernel's disk cache, set up the first time the kernel compiles (not when it is decorated)."""

    def __init__(self, py_func: Callable) -> None:
        self._py_func = py_func
        self._cache: NullCache | None = None

    def _open(self) -> NullCache:
        if self._cache is None:
            try:
                self._cache = _KernelCache(self._py_func)
            except (OSError, RuntimeError):  # no usable folder: compile without a disk cache
                self._cache = NullCache()
        return self._cache

    @property
    def cache_path(self) -> str | None:
        return getattr(self._open(), "cache_path", None)

    def load_overload(self, sig, target_context):
        return self._open().load_overload(sig, target_context)

    def save_overload(self, sig, data) -> None:
        self._open().save_overload(sig, data)

    def flush(self) -> None:
        if self._cache is not None:
            self._cache.flush()


def kernel(function: Callable | None = None, *, inline: bool = False) -> Callable:
    """Decorator for a compiled kernel: no Python objects, NumPy's division semantics (x / 0 gives inf or
    nan, not an exception), compiled on first call and cached on disk (see the module's docstring).

    ``@kernel(inline=True)``: the kernel is compiled into each compiled function that calls it (Numba's
    ``inline="always"``), as the parts of the compiled hour, their rule kernels and the small helpers these call
    are into the stretch (docs/architecture.md, "What is compiled into the stretch"); called from Python, it
    runs as any kernel."""
    if function is None:
        return functools.partial(kernel, inline=inline)
    compiled = njit(nogil=True, error_model="numpy", inline="always" if inline else "never")(function)
    if hasattr(compiled, "_cache"):  # a Numba dispatcher (not the plain function of NUMBA_DISABLE_JIT=1)
        compiled._cache = FirstUseCache(function)
    KERNELS.append(compiled)
    return compiled


def mark_warmed_up() -> None:
    """Record in the cache folder that every kernel has been compiled there (by running short models that
    take every kernel's path: :func:`milieu_sim.cli.common.warm_up`, ``milieu-sim warm-up``)."""
    (cache_dir() / WARM_MARKER).touch()

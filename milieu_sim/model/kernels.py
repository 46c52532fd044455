"""Compiled kernels: the hot loops of the hourly processes, compiled with Numba.

Each process keeps its rule in one place, its own module: the Python function
draws the hour's random numbers (fixed-size blocks, see
:mod:`milieu_sim.model.streams`), passes them with the state arrays to a kernel
decorated with :data:`kernel`, and logs the event rows the kernel returns.
Kernels loop over bed slots in slot order and write the rule's arithmetic as
scalar expressions in the order the rule states it (no ``fastmath``), so a run
gives the same tables compiled or not: ``NUMBA_DISABLE_JIT=1`` runs the very
same functions as plain Python (slow; for debugging and coverage), and a test
checks that both agree.

Compiled code is cached on disk (``cache=True``): the first use on a machine
compiles (about ten seconds; ``./milieu`` does it once after installing, by
running :func:`warm_up`), later processes load the cache in well under a
second.  Numba checks a cached kernel against its own source file only, not
against the constants it takes from other modules (state rows, event codes,
zone codes), so the cache lives in a directory named by a fingerprint of every
module kernels are defined in or take constants from (:data:`KERNEL_SOURCES`):
any change to them compiles afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numba
from numba import njit

PACKAGE = Path(__file__).resolve().parent
#: The modules compiled kernels live in or take constants from.
KERNEL_SOURCES: tuple[str, ...] = ("compiled.py", "model.py", "state.py", "records.py", "ward.py", "processes/*.py")


def _fingerprint() -> str:
    digest = hashlib.sha256(numba.__version__.encode())
    for pattern in KERNEL_SOURCES:
        for path in sorted(PACKAGE.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_dir() -> Path:
    """Where compiled kernels are cached: under NUMBA_CACHE_DIR if set, else next to the package, else in the
    user's cache directory, else in the temporary directory (the first of these that is writable), in a
    subdirectory named by the fingerprint; other fingerprints' subdirectories are removed."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        bases = [Path(os.environ["NUMBA_CACHE_DIR"]) / "milieu-sim"]
    else:
        bases = [
            PACKAGE / "__pycache__" / "kernels",
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "milieu-sim" / "kernels",
        ]
    bases.append(Path(tempfile.gettempdir()) / "milieu-sim-kernels")
    fingerprint = _fingerprint()
    for base in bases:
        here = base / fingerprint
        try:
            here.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(here, os.W_OK):
            for old in base.iterdir():
                if old != here:
                    shutil.rmtree(old, ignore_errors=True)
            return here
    return here


CACHE_DIR = str(_cache_dir())
_compile = njit(cache=True, nogil=True, error_model="numpy")


def kernel(function: Callable) -> Callable:
    """Decorator for a compiled kernel: cached (in CACHE_DIR, for this package's kernels only), no Python
    objects, NumPy's division semantics (x / 0 gives inf or nan, not an exception)."""
    previous = numba.config.CACHE_DIR  # numba reads it when the kernel is decorated
    numba.config.CACHE_DIR = CACHE_DIR
    try:
        return _compile(function)
    finally:
        numba.config.CACHE_DIR = previous


def warm_up() -> None:
    """Compile (or load from the cache) the kernels by running short models that take their paths."""
    from milieu_sim.model.model import MilieuModel

    MilieuModel(rng=0, policy="restrictive").run(days=3)
    MilieuModel(rng=0, setting="residential_tc").run(days=2)
    MilieuModel(rng=0, setting="day_program").run(days=1)


if __name__ == "__main__":
    warm_up()

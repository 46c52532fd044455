"""Provenance: which versions of this package and of what it depends on produced a result.

A base module (no import of the model, the experiments, the analysis or the
command line): ``run.json``, ``compare.json``, sweep manifests and the kernel
cache's key all read their versions here.  Nothing is read at import; each
function asks the installed packages' metadata when it is called.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

#: The distribution name of this package (``pip install milieu-sim``).
DISTRIBUTION = "milieu-sim"
#: The packages a run's results depend on, recorded with every result.
RESULT_DEPENDENCIES: tuple[str, ...] = ("mesa", "numpy", "pandas", "scipy", "pyarrow", "numba")


def package_version() -> str:
    """The installed version of milieu-sim (``0.0.0+unknown`` when run from a source tree without install)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0+unknown"


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of this package, of Python and of the packages results depend on (plus ``extra``);
    a package that is not installed is recorded as ``not installed``."""
    found = {DISTRIBUTION: package_version(), "python": platform.python_version()}
    for name in (*RESULT_DEPENDENCIES, *extra):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found

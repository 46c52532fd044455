"""Provenance: which versions of this package and of what it depends on produced a result.

Records a reviewer re-runs (screening, posterior, validation) also carry :func:`stamp`: the date,
the commit and the command.  A base module (no import of the model, the experiments, the analysis or the
command line): ``run.json``, ``compare.json``, sweep manifests and the kernel
cache's key all read their versions here.  Nothing is read at import; each
function asks the installed packages' metadata when it is called.
"""

from __future__ import annotations

import datetime as _dt
import platform
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

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


def commit() -> str:
    """The short commit of the checkout the package runs from (``+dirty`` with uncommitted changes to tracked
    files), else the installed package version: the code a record (screening, posterior, validation) came from."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return f"{DISTRIBUTION} {package_version()}"
    return f"{head}+dirty" if dirty else head


def today() -> str:
    """Today's date (UTC), ISO format."""
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def command() -> str:
    """The command line that is running, as a user would type it."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("__main__.py", "main.py", ""):
        program = "milieu-sim"
    return shlex.join([program, *sys.argv[1:]])


def stamp() -> dict[str, str]:
    """``created``, ``commit`` and ``command``: where a record a reviewer can re-run came from."""
    return {"created": today(), "commit": commit(), "command": command()}

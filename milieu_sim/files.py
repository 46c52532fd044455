"""Output files written atomically: complete or absent, whatever happens while they are written.

Every file a command or an analysis writes goes through :func:`write_atomically`: the content is written to a
temporary file beside the target, flushed to disk, and renamed into place, so a reader never sees a partial
file, a Ctrl-C or a crash leaves the previous file (or none), and a full disk is one :class:`OutputError`
line rather than a truncated file.  See docs/reliability.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from milieu_sim.errors import OutputError


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` by calling ``write(temporary_path)`` and renaming the temporary file into place, so
    the file is either complete or absent; an OSError (e.g. a full disk) becomes :class:`OutputError`."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); nothing partial was left there") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically (see :func:`write_atomically`)."""
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_table(frame: Any, path: str | Path) -> Path:
    """Write a pandas DataFrame atomically as Parquet or CSV, by the file's suffix."""
    path = Path(path)
    if path.suffix == ".parquet":
        return write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return write_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_figure(figure: Any, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure atomically (the format from the file's suffix)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    return write_atomically(path, lambda tmp: figure.savefig(tmp, dpi=dpi, format=fmt))

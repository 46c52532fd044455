"""What every command shares: exit statuses, one-line errors, checked inputs, output paths, missing extras,
a quiet end on a closed pipe, and the notice that the model's kernels are being compiled.

Exit statuses: 0 done, 1 some runs failed, 2 bad input (one line on stderr, no traceback) or a missing
extra, 130 interrupted.  Relative paths are taken relative to the folder the command was started in.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from milieu_sim.errors import MilieuInputError
from milieu_sim.files import write_atomically, write_figure, write_table, write_text  # noqa: F401 (re-exported)
from milieu_sim.model.params import SCHEMA

PROG = "milieu-sim"
EXIT_OK = 0
EXIT_FAILED_RUNS = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130
NOT_SET = None

#: The optional extras (``pip install 'milieu-sim[extra]'``) and the top-level modules each provides.
EXTRAS: dict[str, tuple[str, ...]] = {
    "app": ("solara", "uvicorn", "ipyvue", "ipyvuetify", "altair"),
    "analysis": ("statsmodels", "SALib"),
    "cluster": ("dask", "distributed"),
    "calibration": ("pyabc",),
}
EXTRA_OF_MODULE: dict[str, str] = {module: extra for extra, modules in EXTRAS.items() for module in modules}


class CliError(MilieuInputError):
    """A command-line usage error (printed in one line; exit status 2)."""


class MissingExtra(Exception):
    """A command needs an optional extra that is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(extra, module)
        self.extra = extra
        self.module = module


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


@contextlib.contextmanager
def imported_meanwhile(*modules: str) -> Iterator[None]:
    """Import ``modules`` in a thread while the block runs (a command's runs, which go on in worker processes),
    and wait for the thread at the end, so that what the results need (SciPy's statistics, matplotlib: about 2 s
    of imports) is loaded by the time the runs are in rather than after them.  A module that cannot be imported is
    left for the command's own import to report."""

    def load() -> None:
        for name in modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="imports", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def print_error(message: str) -> None:
    """One line on stderr: ``milieu-sim: error: <message>``."""
    print(f"{PROG}: error: {message}", file=sys.stderr)


def print_note(message: str) -> None:
    """One line of information on stderr (not part of a command's results)."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def missing_extra_line(command: str | None, extra: str) -> str:
    """The one line a command prints when its extra is missing."""
    who = f"{PROG} {command}" if command else PROG
    return f"{who}: needs the '{extra}' extra: pip install 'milieu-sim[{extra}]'"


def require_extra(extra: str, modules: Sequence[str] | None = None) -> None:
    """Raise :class:`MissingExtra` unless the modules of ``extra`` (default: all of them) can be imported."""
    for module in EXTRAS[extra] if modules is None else modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise MissingExtra(extra, module) from None


def extra_for(error: ImportError) -> str | None:
    """The extra that provides the module an ImportError names, if any."""
    name = (getattr(error, "name", None) or "").split(".")[0]
    return EXTRA_OF_MODULE.get(name)


def quiet_closed_pipe() -> None:
    """After a BrokenPipeError on stdout (``milieu-sim params | head``): send the rest of the output to
    /dev/null, so that the interpreter's final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


# --- inputs ------------------------------------------------------------------------------------------------
def add_schema_options(parser: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    """One option per model parameter of the schema (``--n-clients 30``), help from the schema."""
    group = parser.add_argument_group("model parameters (defaults: setting, then policy; see 'milieu-sim params')")
    for param in SCHEMA.values():
        if param.name in skip:
            continue
        flag = "--" + param.name.replace("_", "-")
        help_text = f"{param.meaning} [{param.allowed()}"
        help_text += f"; {param.unit}]" if param.unit else "]"
        group.add_argument(
            flag,
            dest=param.name,
            default=NOT_SET,
            metavar=param.kind.__name__.upper(),
            help=help_text.replace("%", "%%"),
        )


def schema_values(args: argparse.Namespace, skip: Sequence[str] = ()) -> dict[str, Any]:
    """The schema options the user set, converted and checked by the schema."""
    values = {}
    for name, param in SCHEMA.items():
        if name in skip:
            continue
        raw = getattr(args, name, NOT_SET)
        if raw is not NOT_SET:
            values[name] = param.check(raw)
    return values


MAX_SEED = 2**63 - 1  # seeds are stored as signed 64-bit integers


def seed(raw: str, count: int = 1) -> int:
    """A random seed: an integer from 0 to 2**63-1 (``count`` consecutive seeds from it must fit too)."""
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SEED - (count - 1):
        most = "2**63-1" if count == 1 else f"2**63-{count} ({count} consecutive seeds)"
        raise CliError(f"parameter 'seed' = {raw!r} is not allowed; allowed: an integer from 0 to {most}")
    return value


def integer_at_least(name: str, raw: str, minimum: int) -> int:
    """``raw`` as an integer >= ``minimum``, or the one-line error naming the parameter."""
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise CliError(f"parameter '{name}' = {raw!r} is not allowed; allowed: an integer >= {minimum}")
    return value


def posterior_draws(raw: str | None) -> int | None:
    """``--posterior N``: an integer >= 2, or None when not given."""
    return None if raw is None else integer_at_least("posterior", raw, 2)


def positive(name: str, raw: str) -> int:
    """An integer >= 1 (a count of replicates, workers, ...)."""
    return integer_at_least(name, raw, 1)


def non_negative(name: str, raw: str) -> int:
    """An integer >= 0 (a count of days)."""
    return integer_at_least(name, raw, 0)


def _writable(folder: Path, raw: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise CliError(f"parameter 'out' = '{raw}': '{folder}' is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".milieu-sim-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"parameter 'out' = '{raw}': cannot write there ({exc.strerror or exc})") from None


def out_dir(raw: str) -> Path:
    """An output folder (relative to the folder the command was started in), created and checked writable."""
    path = Path(raw).expanduser()
    _writable(path, raw)
    return path


def out_file(raw: str, suffix: str) -> Path:
    """An output file ending in ``suffix`` whose folder is created and checked writable."""
    path = Path(raw).expanduser()
    if path.suffix.lower() != suffix:
        raise CliError(f"parameter 'out' = {raw!r} is not allowed; allowed: a file name ending in {suffix}")
    _writable(path.parent, raw)
    return path


# --- outputs: written atomically (milieu_sim.files) -------------------------------------------------


# --- the model's kernels -----------------------------------------------------------------------------------
def warm_up() -> None:
    """Compile (or load from the cache) every kernel, by running short models that take their paths, and
    record in the cache that they are there."""
    from milieu_sim.model.kernels import mark_warmed_up
    from milieu_sim.model.model import MilieuModel

    MilieuModel(rng=0, policy="restrictive").run(days=3)
    MilieuModel(rng=0, setting="residential_tc").run(days=2)
    MilieuModel(rng=0, setting="day_program").run(days=1)
    mark_warmed_up()


def announce_kernel_compilation() -> None:
    """If the model's kernels are not in the cache yet, say so in one line and compile them now (all of them,
    once per user and version, so that later runs and worker processes load them instead)."""
    from milieu_sim.model.kernels import kernels_cached

    if not kernels_cached():
        print_note("compiling the model's kernels (once, a few minutes; later runs load them from the cache) ...")
        warm_up()

"""The milieu-sim command line: the parser, the command groups, and one way to end.

    milieu-sim run --setting S --policy P --days D --seed N --out DIR
    milieu-sim compare --policies a,b,... --replicates R --days D --seed N --out DIR
    milieu-sim params | policies | schedule | sweep | report | sensitivity | validate | calibrate | app | ...

Each command group lives in its own module with ``register(sub)`` (:data:`COMMAND_GROUPS`); what they
share is in :mod:`milieu_sim.cli.common`.  Every model parameter of the schema is also an option
(``--n-clients 30``), generated from :data:`milieu_sim.model.params.SCHEMA`.  :func:`main` ends every
command the same way: bad input in one line on stderr with exit status 2 before any run starts, a missing
optional extra in one line naming it (exit 2), a closed pipe (``milieu-sim params | head``) quietly with
exit status 0, Ctrl+C with 130.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Sequence

from milieu_sim.cli.common import (
    EXIT_FAILED_RUNS,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    MissingExtra,
    Parser,
    extra_for,
    missing_extra_line,
    print_error,
    quiet_closed_pipe,
)
from milieu_sim.errors import MilieuInputError, OutputError
from milieu_sim.provenance import package_version

#: The modules that add commands, in the order of ``milieu-sim --help`` (each has ``register(sub)``).
COMMAND_GROUPS: tuple[str, ...] = (
    "milieu_sim.cli.run",  # run, compare, warm-up
    "milieu_sim.cli.params",  # params, policies
    "milieu_sim.cli.schedule",  # schedule
    "milieu_sim.cli.sweep",  # sweep, report, sensitivity
    "milieu_sim.cli.validate",  # validate
    "milieu_sim.cli.calibrate",  # calibrate
    "milieu_sim.cli.app",  # app, animate
    "milieu_sim.cli.story",  # story
)


def build_parser() -> Parser:
    parser = Parser(prog="milieu-sim", description="Agent-based simulation of a therapeutic milieu.")
    parser.add_argument("--version", action="version", version=f"milieu-sim {package_version()}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    for module in COMMAND_GROUPS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 done, 1 some runs failed, 2 bad input, 130 interrupted).

    SIGTERM and SIGHUP end a command as Ctrl-C does.  No error ends in a traceback: an output that cannot be
    written (a full disk) is one line with exit status 1, and an unexpected error is one line naming it as a
    bug (exit status 1; ``MILIEU_SIM_DEBUG=1`` shows the traceback)."""
    from milieu_sim.experiments.executors import signals_as_interrupt

    with signals_as_interrupt():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    command = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = getattr(args, "command", None)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return EXIT_INPUT
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        quiet_closed_pipe()
        return 0
    except MilieuInputError as exc:
        print_error(str(exc))
        return EXIT_INPUT
    except MissingExtra as exc:
        print(missing_extra_line(command, exc.extra), file=sys.stderr)
        return EXIT_INPUT
    except ImportError as exc:
        extra = extra_for(exc)
        if extra is None:
            raise
        print(missing_extra_line(command, extra), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        print(f"milieu-sim: interrupted{_by_signal(exc)} (exit status {EXIT_INTERRUPTED})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OutputError as exc:
        print_error(str(exc))
        return EXIT_FAILED_RUNS
    except MemoryError:
        print_error("out of memory; make the run or the sweep smaller (fewer clients, days, points or workers)")
        return EXIT_FAILED_RUNS
    except OSError as exc:  # a path the user gave that cannot be used (exit 2), or a failing disk (exit 1)
        name = str(getattr(exc, "filename", "") or "")
        where = f" ('{name[:80]}{'...' if len(name) > 80 else ''}')" if name else ""
        print_error(f"{exc.strerror or exc}{where}")
        return EXIT_INPUT if exc.errno in INPUT_ERRNOS else EXIT_FAILED_RUNS
    except Exception as exc:
        if os.environ.get("MILIEU_SIM_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print_error(
            f"internal error (a bug; please report it, with MILIEU_SIM_DEBUG=1 for the traceback): "
            f"{type(exc).__name__}: {first}"
        )
        return EXIT_FAILED_RUNS


#: OSError numbers that mean the user named an unusable path (exit 2), not that the machine failed (exit 1).
INPUT_ERRNOS = {errno.ENOENT, errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.ELOOP}


def _by_signal(exc: BaseException) -> str:
    name = getattr(exc, "signal_name", None)
    return f" by {name}" if name else ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

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

import importlib
import sys
from collections.abc import Sequence

from milieu_sim.cli.common import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    MissingExtra,
    Parser,
    extra_for,
    missing_extra_line,
    print_error,
    quiet_closed_pipe,
)
from milieu_sim.errors import MilieuInputError
from milieu_sim.provenance import package_version

#: The modules that add commands, in the order of ``milieu-sim --help`` (each has ``register(sub)``).
COMMAND_GROUPS: tuple[str, ...] = (
    "milieu_sim.cli.run",  # run, compare, warm-up
    "milieu_sim.cli.params",  # params, policies
    "milieu_sim.cli.schedule",  # schedule
    "milieu_sim.cli.sweep",  # sweep, report, sensitivity
    "milieu_sim.cli.validate",  # validate, calibrate
    "milieu_sim.cli.app",  # app, animate
)


def build_parser() -> Parser:
    parser = Parser(prog="milieu-sim", description="Agent-based simulation of a therapeutic milieu.")
    parser.add_argument("--version", action="version", version=f"milieu-sim {package_version()}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    for module in COMMAND_GROUPS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 done, 1 some runs failed, 2 bad input, 130 interrupted)."""
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
    except KeyboardInterrupt:
        print("milieu-sim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

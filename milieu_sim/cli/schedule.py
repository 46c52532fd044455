"""`milieu-sim schedule`: the phases of one ward hour, in order.

    milieu-sim schedule                    # one block per phase, wrapped to 100 columns
    milieu-sim schedule --wide             # one line per phase
    milieu-sim schedule --format markdown  # the tables of docs/ODD.md's process overview

Each phase is shown with when it runs, its function, its ODD section and what
its process module declares it reads, writes, its parameters and random streams
(``-`` where the module has not declared an ``OWNS`` record).  The command
is registered in :data:`milieu_sim.cli.main.COMMAND_GROUPS`.
"""

from __future__ import annotations

import argparse


def cmd_schedule(args: argparse.Namespace) -> int:
    from milieu_sim.model.schedule import schedule_markdown, schedule_text

    text = schedule_markdown() if args.format == "markdown" else schedule_text(wide=args.wide)
    print(text)  # a closed pipe (``| head``) ends quietly in milieu_sim.cli.main
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``schedule`` command to the milieu-sim command line."""
    parser = sub.add_parser(
        "schedule", help="print the phases of one ward hour: when each runs, what it reads, writes and draws"
    )
    parser.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="text (default) or the ODD's markdown"
    )
    parser.add_argument("--wide", action="store_true", help="one line per phase, not wrapped to 100 columns")
    parser.set_defaults(handler=cmd_schedule)

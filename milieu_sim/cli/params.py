"""The ``params`` and ``policies`` commands: the parameter schema and the policy presets, as tables.

    milieu-sim params [--wide | --format table|csv|markdown]
    milieu-sim policies

``params`` prints a compact table that fits a 100-column terminal (name, default, range, unit and a short
source: *assumed*, *posterior median*, *calibrated*, *fixed*, *policy lever* or the first citation); ``--wide`` adds the
group and the meaning, ``--format csv`` and ``--format markdown`` give every column with full sources.
"""

from __future__ import annotations

import argparse

from milieu_sim.cli.common import CliError

#: The compact table's columns and their widths; names are never cut, the source gets what is left of
#: :data:`WIDTH` (two spaces between columns).
COMPACT_COLUMNS: dict[str, int] = {"name": 0, "default": 10, "range": 18, "unit": 13, "source": 0}
WIDTH = 100
SOURCE_TAGS = (  # (words in the schema's source text, the compact tag), checked in this order
    ("modelling assumption", "assumed"),
    ("assumed", "assumed"),
    ("calibrated by abc-smc", "posterior median"),
    ("calibrated to", "calibrated"),
    ("influential in the screening", "fixed (influential)"),
    ("screened as not influential", "fixed (screened out)"),
    ("policy lever", "policy lever"),
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``params`` and ``policies`` commands."""
    p_params = sub.add_parser(
        "params", help="list every model parameter with its default, range, unit and source (--wide: meaning)"
    )
    p_params.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    p_params.add_argument(
        "--wide", action="store_true", help="every column (group, meaning, full source), wider than a terminal"
    )
    p_params.set_defaults(handler=cmd_params)

    p_pol = sub.add_parser("policies", help="show each policy preset's lever values side by side")
    p_pol.set_defaults(handler=cmd_policies)


def source_tag(source: str) -> str:
    """A parameter's source in a word or two: assumed, posterior median, calibrated, fixed (influential or
    screened out), policy lever, or the first citation without its note (``Warren et al. 2013``)."""
    lowered = source.lower()
    for words, tag in SOURCE_TAGS:
        if words in lowered:
            return tag
    return source.split("(")[0].split(";")[0].strip() or source


def value_range(param) -> str:
    """A parameter's allowed values, short: ``0 to 1``, ``>= 0``, ``true/false``, ``text`` or the choices."""
    if param.choices is not None:
        return "/".join(param.choices)
    if param.kind is bool:
        return "true/false"
    if param.kind is str:
        return "text"
    if param.low is not None and param.high is not None:
        return f"{param.low:g} to {param.high:g}"
    if param.low is not None:
        return f">= {param.low:g}"
    return "any"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def compact_table() -> list[str]:
    """The compact parameter table as lines of at most :data:`WIDTH` characters."""
    from milieu_sim.model.params import SCHEMA

    rows = [
        {
            "name": p.name,
            "default": str(p.default),
            "range": value_range(p),
            "unit": p.unit,
            "source": source_tag(p.source),
        }
        for p in SCHEMA.values()
    ]
    widths = dict(COMPACT_COLUMNS, name=max(len(row["name"]) for row in rows))
    widths["source"] = max(12, WIDTH - sum(widths.values()) - 2 * (len(widths) - 1))
    lines = ["  ".join(column.ljust(width) for column, width in widths.items()).rstrip()]
    for row in rows:
        cells = [_cut(row[column], width).ljust(width) for column, width in widths.items()]
        lines.append("  ".join(cells).rstrip())
    return lines


def markdown_table(frame) -> str:
    """A pandas DataFrame as a Markdown (GitHub) table, with ``|`` in cells escaped."""

    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def cmd_params(args: argparse.Namespace) -> int:
    import sys

    import pandas as pd

    from milieu_sim.model.params import schema_table

    if args.wide and args.format != "table":
        raise CliError(f"parameter 'wide' cannot be combined with --format {args.format} (which has every column)")
    if args.format == "csv":
        schema_table().to_csv(sys.stdout, index=False)
    elif args.format == "markdown":
        print(markdown_table(schema_table()))
    elif args.wide:
        table = schema_table()[["name", "group", "default", "allowed", "unit", "meaning", "source"]]
        with pd.option_context("display.max_rows", None, "display.max_colwidth", 90, "display.width", 400):
            print(table.to_string(index=False))
    else:
        print("\n".join(compact_table()))
        print("(--wide: also group, meaning and full source; --format csv or markdown: every column)")
    return 0


def cmd_policies(args: argparse.Namespace) -> int:
    import pandas as pd

    from milieu_sim.model.policies import presets_table

    with pd.option_context("display.max_rows", None, "display.width", 250):
        print(presets_table().to_string())
    return 0

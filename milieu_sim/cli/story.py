"""The ``story`` command: one client's stay, from a run's saved tables, as Markdown and a figure.

    milieu-sim story --client ID RUN_DIR [--out FILE.md]

``RUN_DIR`` is a folder written by ``milieu-sim run --out RUN_DIR`` (its Parquet tables and
run.json).  The story and the counts come from the tables
(:mod:`milieu_sim.analysis.story`); the state over time, which the tables keep only at
admission and exit, comes from running the seeded run again (checked against the saved
events table; left out with a note if the replay differs).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from milieu_sim.cli.common import CliError, announce_kernel_compilation, non_negative, out_file


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``story`` command."""
    p = sub.add_parser("story", help="one client's stay in plain words (Markdown and a figure) from a saved run")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by 'milieu-sim run --out'")
    p.add_argument("--client", required=True, help="the client's id (client_id in the stays table)")
    p.add_argument("--out", default=None, help="the Markdown file to write (default RUN_DIR/client-ID.md)")
    p.add_argument("--no-replay", action="store_true", help="do not run the seeded run again for the state trace")
    p.set_defaults(handler=cmd_story)


def _atomic_write(path: Path, write) -> None:
    """Write ``path`` through a temporary file in the same folder, renamed into place when complete."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cmd_story(args: argparse.Namespace) -> int:
    from milieu_sim.analysis import story

    folder = Path(args.run_dir).expanduser()
    missing = [n for n in story.TABLE_NAMES if not (folder / f"{n}.parquet").is_file()]
    if not folder.is_dir() or missing:
        raise CliError(
            f"parameter 'RUN_DIR' = {args.run_dir!r} is not allowed; allowed: a folder written by "
            f"'milieu-sim run --out' (missing: {', '.join(missing) or 'the folder'})"
        )
    client = non_negative("client", args.client)
    out = out_file(args.out or str(folder / f"client-{client}.md"), ".md")
    try:
        tables = story.read_run(folder)
    except Exception as exc:  # a damaged Parquet file: one line, not a traceback
        raise CliError(f"parameter 'RUN_DIR' = {args.run_dir!r}: cannot read its tables ({exc})") from None
    stays = tables["stays"]
    if client not in set(stays["client_id"].astype(int)):
        ids = stays["client_id"].astype(int)
        raise CliError(
            f"parameter 'client' = {client} is not allowed; allowed: a client of this run ({ids.min()} to {ids.max()})"
        )
    trace = None
    note = ""
    if not args.no_replay:
        try:
            run = json.loads((folder / "run.json").read_text())
            parameters, seed = run["parameters"], int(run["seed"])
        except (OSError, ValueError, KeyError, TypeError):
            parameters = None
        if parameters is not None:
            announce_kernel_compilation()
            trace = story.replay(parameters, seed, tables["events"])
        if trace is None:
            note = "the state over time is left out: the seeded run could not be replayed to the same events"
    told = story.stay_story(tables, client, trace)
    figure_path = out.with_suffix(".png")
    text = story.stay_markdown(told, figure_name=figure_path.name)
    if note:
        text += f"\n_Note: {note}._\n"
    figure = story.stay_figure(told)
    try:
        _atomic_write(figure_path, lambda tmp: figure.savefig(tmp, dpi=110, format="png"))
        _atomic_write(out, lambda tmp: Path(tmp).write_text(text))
    except OSError as exc:
        raise CliError(f"parameter 'out' = '{out}': cannot write there ({exc.strerror or exc})") from None
    print(f"wrote {out} and {figure_path.name} (Client {client}: {told['summary'][1]})")
    if note:
        print(f"note: {note}")
    return 0

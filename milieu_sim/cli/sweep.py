"""The ``sweep``, ``report`` and ``sensitivity`` commands (registered by :func:`register`).

    milieu-sim sweep SPEC --out DIR [--workers N | --scheduler ADDRESS | --cluster local] [--retry-failed]
                               [--posterior N [--posterior-file F]]
    milieu-sim report DIR [--reference NAME] [--precision 0.05]
    milieu-sim sensitivity SPEC --out DIR [--outcomes a,b] [--analyse-only] [--workers N | ...]

Exit status: 0 all runs done, 1 some runs failed (the last line says how many), 2 bad input,
130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import sys

from milieu_sim.cli.common import (
    EXIT_FAILED_RUNS,
    EXIT_INTERRUPTED,
    CliError,
    announce_kernel_compilation,
    out_dir,
    positive,
    posterior_draws,
    print_error,
    print_note,
    require_extra,
)


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="sweep directory (created; re-use it to resume)")
    where_options(parser)
    parser.add_argument("--retry-failed", action="store_true", help="run the runs that failed before again")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    size_options(parser)


def where_options(parser: argparse.ArgumentParser) -> None:
    """Where the runs execute: ``--workers N`` local processes, or ``--scheduler ADDRESS`` / ``--cluster local``
    (Dask); read back with :func:`where`."""
    parser.add_argument("--workers", default=None, help="local worker processes (default: all cores; 1 = serial)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run on an existing Dask cluster")
    group.add_argument("--cluster", choices=("local",), default=None, help="start a local Dask cluster")


def where(args: argparse.Namespace) -> dict:
    """The ``workers``, ``scheduler`` and ``cluster`` of :func:`where_options`, checked (Dask needs its extra;
    local workers are capped at the cores unless ``--oversubscribe``)."""
    if args.cluster or args.scheduler:
        require_extra("cluster")
    return {
        "workers": local_workers(args) if not args.scheduler else _remote_workers(args),
        "scheduler": args.scheduler,
        "cluster": args.cluster,
    }


def size_options(parser: argparse.ArgumentParser) -> None:
    """``--yes`` (run a sweep above the size limit) and ``--oversubscribe`` (more workers than cores)."""
    parser.add_argument(
        "--yes", action="store_true", help="run even if the sweep is above the size limit (runs, time or disk)"
    )
    parser.add_argument("--oversubscribe", action="store_true", help="allow more --workers than cores")


def posterior_options(parser: argparse.ArgumentParser) -> None:
    """``--posterior N`` (each replicate draws its parameters from the calibration's posterior) and
    ``--posterior-file F`` (a posterior folder; default the shipped one)."""
    parser.add_argument(
        "--posterior",
        default=None,
        metavar="N",
        help="answers with uncertainty: replicate r draws its parameters from draw r %% N of the calibration's "
        "posterior (the same draw for every policy)",
    )
    parser.add_argument(
        "--posterior-file",
        default=None,
        metavar="F",
        help="the posterior: a folder with posterior.csv and posterior.toml (default: the one shipped)",
    )


def local_workers(args: argparse.Namespace) -> int | None:
    """``--workers``, checked and capped at the cores available (a note says so) unless --oversubscribe."""
    from milieu_sim.experiments.executors import cap_workers

    if args.workers is None:
        return None
    workers, note = cap_workers(positive("workers", args.workers), allow_more=getattr(args, "oversubscribe", False))
    if note:
        print_note(note)
    return workers


def _remote_workers(args: argparse.Namespace) -> int | None:
    return positive("workers", args.workers) if args.workers is not None else None


def _sweep_options(args: argparse.Namespace) -> dict:
    return {
        **where(args),
        "progress": not args.no_progress,
        "retry_failed": args.retry_failed,
        "confirmed": args.yes,
    }


def _final_line(name: str, result, out) -> int:
    done = f"{result.runs_done} of {result.n_runs} runs done ({result.ran_now} this session, {result.seconds:.1f} s)"
    if result.runs_failed:
        print(f"sweep '{name}': {done}; {result.runs_failed} runs failed, see {out}/failures (--retry-failed)")
        return EXIT_FAILED_RUNS
    if result.remaining:
        print(f"sweep '{name}': {done}; {result.remaining} remaining: run the same command again")
        return EXIT_FAILED_RUNS
    print(f"sweep '{name}': {done}; 0 failed; results in {out}")
    return 0


def interrupted(out, exc: BaseException | None = None) -> int:
    by = f" by {exc.signal_name}" if getattr(exc, "signal_name", None) else ""
    print(
        f"milieu-sim: interrupted{by}; finished runs are saved in {out}: run the same command to resume "
        f"(exit status {EXIT_INTERRUPTED})",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def cmd_sweep(args: argparse.Namespace) -> int:
    from milieu_sim.experiments.spec import load_spec
    from milieu_sim.experiments.storage import StorageError
    from milieu_sim.experiments.sweep import run_sweep

    spec = load_spec(args.spec)
    if args.posterior is not None or args.posterior_file is not None:  # the command line overrides the spec's key
        from milieu_sim.experiments.spec import with_posterior

        spec = with_posterior(spec, posterior_draws(args.posterior), args.posterior_file)
    options = _sweep_options(args)
    out = out_dir(args.out)
    announce_kernel_compilation()
    try:
        result = run_sweep(spec, out, **options)
    except KeyboardInterrupt as exc:
        return interrupted(out, exc)
    except StorageError as exc:
        print_error(str(exc))
        return EXIT_FAILED_RUNS
    return _final_line(spec.name, result, out)


def cmd_report(args: argparse.Namespace) -> int:
    require_extra("analysis", ["statsmodels"])
    from milieu_sim.analysis.report import write_report
    from milieu_sim.experiments.storage import check_readable

    try:
        precision = float(args.precision)
    except ValueError:
        precision = -1.0
    if not 0 < precision < 1:
        raise CliError(f"parameter 'precision' = {args.precision!r} is not allowed; allowed: a number in (0, 1)")
    check_readable(args.dir)  # no sweep running there, no damaged part, no run recorded twice
    path = write_report(args.dir, reference=args.reference, precision=precision)
    print(f"wrote {path} (tables and figures in {path.parent})")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    require_extra("analysis", ["SALib"])
    from milieu_sim.analysis.sensitivity import run_sensitivity
    from milieu_sim.experiments.spec import load_spec
    from milieu_sim.experiments.storage import StorageError

    spec = load_spec(args.spec)
    outcomes = [o.strip() for o in args.outcomes.split(",") if o.strip()] if args.outcomes else None
    options = _sweep_options(args)
    out = out_dir(args.out)
    if args.analyse_only:
        from milieu_sim.experiments.storage import check_readable

        check_readable(out)
    else:
        announce_kernel_compilation()
    try:
        result, indices = run_sensitivity(spec, out, outcomes=outcomes, analyse_only=args.analyse_only, **options)
    except KeyboardInterrupt as exc:
        return interrupted(out, exc)
    except StorageError as exc:
        print_error(str(exc))
        return EXIT_FAILED_RUNS
    print(f"wrote {len(indices)} indices to {out}/sensitivity/indices.csv and sensitivity.md")
    if result is not None:
        return _final_line(spec.name, result, out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the sweep, report and sensitivity commands to the milieu-sim parser."""
    p_sweep = sub.add_parser("sweep", help="run an experiment file's runs in parallel, resumably, to Parquet")
    p_sweep.add_argument("spec", help="experiment file (experiments/*.toml)")
    _executor_options(p_sweep)
    posterior_options(p_sweep)
    p_sweep.set_defaults(handler=cmd_sweep)

    p_report = sub.add_parser("report", help="statistics, figures and a Markdown report of a sweep directory")
    p_report.add_argument("dir", help="sweep directory")
    p_report.add_argument("--reference", default=None, help="reference policy (default: the spec's first)")
    p_report.add_argument(
        "--precision", default="0.05", help="target 95%% CI half-width relative to the mean (default 0.05)"
    )
    p_report.set_defaults(handler=cmd_report)

    p_sens = sub.add_parser("sensitivity", help="Morris or Sobol sensitivity indices (SALib) of an experiment")
    p_sens.add_argument("spec", help="experiment file with [design] method = 'sobol' or 'morris'")
    p_sens.add_argument("--outcomes", default=None, help="comma-separated outcomes (default: the spec's outcomes)")
    p_sens.add_argument("--analyse-only", action="store_true", help="recompute the indices from saved runs")
    _executor_options(p_sens)
    p_sens.set_defaults(handler=cmd_sensitivity)

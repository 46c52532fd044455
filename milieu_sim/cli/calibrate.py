"""`milieu-sim calibrate`: screen the free and assumed parameters, then fit the influential ones by ABC-SMC.

milieu-sim calibrate --screen --out docs/calibration/screening [--trajectories 4] [--workers 2]
milieu-sim calibrate --screening docs/calibration/screening --out docs/calibration/posterior
                     [--population 120] [--generations 8] [--workers 2 | --cluster local | --scheduler ADDR]
                     [--fresh]   (the same command again goes on from the last completed generation)
milieu-sim calibrate --check 50 --out results/sbc      (simulation-based calibration of the method)
"""

from __future__ import annotations

import argparse

from milieu_sim.cli.common import CliError, announce_kernel_compilation, out_dir, positive, seed
from milieu_sim.cli.sweep import where, where_options


def cmd_calibrate(args: argparse.Namespace) -> int:
    options = where(args)
    first_seed = seed(args.seed)
    if args.screen:
        return _screen(args, options, first_seed)
    return _fit(args, options, first_seed)


def _stopping(args: argparse.Namespace) -> dict:
    """The stopping rule's values given on the command line (each checked)."""
    rule = {}
    if args.generations is not None:
        rule["generations"] = positive("generations", args.generations)
    if args.max_simulations is not None:
        rule["max_simulations"] = positive("max-simulations", args.max_simulations)
    for name, flag, raw in (
        ("minimum_epsilon", "min-epsilon", args.min_epsilon),
        ("min_acceptance_rate", "min-acceptance", args.min_acceptance),
    ):
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value >= 0 or value == float("inf"):
            raise CliError(f"parameter '{flag}' = {raw!r} is not allowed; allowed: a number >= 0")
        rule[name] = value
    return rule


def _fit(args: argparse.Namespace, options: dict, first_seed: int) -> int:
    from milieu_sim.analysis.calibration import (
        calibrate,
        fitted_at,
        posterior_from_history,
        problem_from_screening,
        simulation_based_check,
        write_check,
        write_posterior,
    )

    population = positive("population", args.population)
    if population < 2:
        raise CliError(f"parameter 'population' = {population} is not allowed; allowed: an integer >= 2")
    rule = _stopping(args)
    spec = problem_from_screening(args.screening)
    out = out_dir(args.out)
    announce_kernel_compilation()
    if args.check is not None:
        datasets = positive("check", args.check)
        table = simulation_based_check(spec, datasets, first_seed, population, **options, **rule)
        write_check(table, out)
        print(f"simulation-based check: {table['dataset'].nunique()} datasets; wrote sbc.csv, sbc.png to {out}")
        return 0
    if args.from_history is not None:
        posterior = posterior_from_history(spec, args.from_history, args.reason or "read from a run's database")
    else:
        posterior = calibrate(spec, population, first_seed, **options, database=out / "history.db",
                              progress=not args.no_progress, resume=not args.fresh, **rule)  # fmt: skip
    fitted = fitted_at(spec, posterior.central(), replicates=positive("replicates", args.replicates))
    write_posterior(posterior, out, fitted)
    record = posterior.record
    print(f"ABC-SMC: {record['generations']} generations, {record['total_simulations']} simulations, "
          f"final epsilon {record['final_epsilon']:.3f}")  # fmt: skip
    print(posterior.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(fitted[["pattern", "target", "simulated", "ci_low", "ci_high", "tolerance_low", "tolerance_high"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"))  # fmt: skip
    print(f"wrote the posterior and its diagnostics to {out}")
    return 0


def _screen(args: argparse.Namespace, options: dict, first_seed: int) -> int:
    from milieu_sim.analysis.screening import choose_free, run_screening

    trajectories = positive("trajectories", args.trajectories)
    levels = positive("levels", args.levels)
    if levels < 2 or levels % 2:
        raise CliError(f"parameter 'levels' = {levels} is not allowed; allowed: an even integer >= 2")
    out = out_dir(args.out)
    announce_kernel_compilation()
    table = run_screening(out, trajectories, levels, first_seed, **options, progress=not args.no_progress)
    free, ranking = choose_free(table)
    print(f"screened {table['parameter'].nunique()} parameters on {table['pattern'].nunique()} patterns")
    print("most influential (largest influence on a fitted pattern; * = left free):")
    for name, value in ranking.head(20).items():
        print(f"  {'*' if name in free else ' '} {name:32s} {value:8.3f}")
    print(f"wrote screening.json, screening.csv, screening.png to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="screen the parameters (--screen), then fit the free ones by ABC-SMC")
    p.add_argument("--screen", action="store_true", help="run the Morris screening instead of the calibration")
    p.add_argument("--trajectories", default="4", help="screening: Morris trajectories (default 4)")
    p.add_argument("--levels", default="4", help="screening: Morris grid levels (default 4)")
    p.add_argument("--screening", default="docs/calibration/screening",
                   help="the screening record whose influential parameters are fitted")  # fmt: skip
    p.add_argument("--population", default="150", help="ABC-SMC particles per generation (default 150)")
    p.add_argument("--generations", default=None, help="stop after this many generations (default 8)")
    p.add_argument("--min-epsilon", default=None, help="stop when epsilon falls to this (default 1.0)")
    p.add_argument("--min-acceptance", default=None, help="stop when the acceptance rate falls below (default 0.02)")
    p.add_argument("--max-simulations", default=None, help="stop after this many simulations (default 4000)")
    p.add_argument("--replicates", default="8", help="replicates of the fitted patterns at the posterior median")
    p.add_argument("--check", default=None, metavar="N",
                   help="simulation-based check of the method on N datasets made by the model")  # fmt: skip
    p.add_argument("--from-history", default=None, metavar="DB",
                   help="write the outputs from the last completed generation of a run's history.db")  # fmt: skip
    p.add_argument("--reason", default=None, help="with --from-history: why the run ended early (recorded)")
    p.add_argument("--fresh", action="store_true",
                   help="start the calibration anew (default: go on from the run left in --out, if any)")  # fmt: skip
    where_options(p)  # the result does not depend on where it runs
    p.add_argument("--seed", default="0", help="seed of the screening or the calibration (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", default="results/calibration", help="output directory")
    p.set_defaults(handler=cmd_calibrate)

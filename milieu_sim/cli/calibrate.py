"""`milieu-sim calibrate`: screen the free and assumed parameters, then fit the influential ones by ABC-SMC.

milieu-sim calibrate --screen --out docs/calibration/screening [--trajectories 4] [--workers 2]
milieu-sim calibrate --screening docs/calibration/screening --out docs/calibration/posterior
                     [--population 120] [--generations 8] [--workers 2 | --cluster local | --scheduler ADDR]
milieu-sim calibrate --check 50 --out results/sbc      (simulation-based calibration of the method)
"""

from __future__ import annotations

import argparse

from milieu_sim.cli.common import CliError, announce_kernel_compilation, out_dir, positive, print_note, seed


def cmd_calibrate(args: argparse.Namespace) -> int:
    from milieu_sim.experiments.executors import cap_workers

    workers, note = cap_workers(positive("workers", args.workers))
    if note:
        print_note(note)
    first_seed = seed(args.seed)
    if args.screen:
        return _screen(args, workers, first_seed)
    raise CliError("parameter 'screen': the ABC-SMC calibration is not wired yet")


def _screen(args: argparse.Namespace, workers: int, first_seed: int) -> int:
    from milieu_sim.analysis.screening import choose_free, run_screening

    trajectories = positive("trajectories", args.trajectories)
    levels = positive("levels", args.levels)
    if levels < 2 or levels % 2:
        raise CliError(f"parameter 'levels' = {levels} is not allowed; allowed: an even integer >= 2")
    out = out_dir(args.out)
    announce_kernel_compilation()
    table = run_screening(out, trajectories, levels, first_seed, workers=workers, progress=not args.no_progress)
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
    p.add_argument("--seed", default="0", help="seed of the screening or the calibration (default 0)")
    p.add_argument("--workers", default="1", help="worker processes (the result does not depend on it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", default="results/calibration", help="output directory")
    p.set_defaults(handler=cmd_calibrate)

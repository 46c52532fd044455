"""`milieu-sim validate`: the shipped defaults against published patterns (``calibrate``: cli/calibrate.py)."""

from __future__ import annotations

import argparse
import json
import sys

from milieu_sim.cli.common import (
    CliError,
    announce_kernel_compilation,
    out_dir,
    positive,
    seed,
    write_figure,
    write_table,
    write_text,
)
from milieu_sim.provenance import versions


def _progress(label_width: int = 28):
    from tqdm import tqdm

    def wrap(seeds, name):
        return tqdm(seeds, desc=name.ljust(label_width), unit="run", disable=None, file=sys.stderr, leave=False)

    return wrap


def cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from milieu_sim.analysis import validation
    from milieu_sim.analysis.figures import validation_figure
    from milieu_sim.analysis.validation import safewards_rates, select_patterns
    from milieu_sim.model.params import SCHEMA

    setting = SCHEMA["setting"].check(args.setting) if args.setting else None
    replicates = positive("replicates", args.replicates)
    if replicates < 2:
        raise CliError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 2")
    first_seed = seed(args.seed)
    keys = [k.strip() for k in args.patterns.split(",") if k.strip()] if args.patterns else None
    select_patterns(setting, keys)  # refuse unknown pattern names before running
    out = out_dir(args.out)
    announce_kernel_compilation()
    table, runs = validation.validate_runs(setting, replicates, first_seed, keys, progress=_progress())
    rates = safewards_rates(runs)
    write_table(table, out / "validation.csv")  # atomically: complete or absent, even on a full disk
    write_figure(validation_figure(table), out / "validation.png")
    write_text(
        out / "validation.json",
        json.dumps(
            {"setting": setting, "replicates": replicates, "seed": first_seed, "versions": versions()}, indent=2
        ),
    )
    shown = table.assign(
        simulated=table.apply(
            lambda r: (
                f"{r['simulated']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
                if pd.notna(r["ci_low"])
                else f"{r['simulated']:.3f}"
            ),
            axis=1,
        ),
        tolerance=table.apply(lambda r: f"{r['tolerance_low']:.3g} to {r['tolerance_high']:.3g}", axis=1),
        verdict=table["within_tolerance"].map({True: "ok", False: "FAIL"}),
        fitted=table["fitted"].map({True: "fit", False: ""}),
    )
    columns = ["pattern", "source", "published", "simulated", "tolerance", "fitted", "verdict"]
    with pd.option_context("display.width", 250, "display.max_colwidth", 60, "display.max_columns", None):
        print(shown[columns].to_string(index=False))
    passed = int(table["within_tolerance"].sum())
    print(f"\n{passed} of {len(table)} patterns within tolerance ({replicates} replicates, seeds {first_seed}..)")
    for _, row in table[~table["within_tolerance"]].iterrows():
        print(f"  {row['pattern']}: {row['note']}")
    written = "validation.csv, validation.png"
    if len(rates):
        write_table(rates, out / "rates.csv")
        written += ", rates.csv"
        print("\nConflict and containment, safewards vs usual care (paired rate ratio, 95% CI):")
        for _, r in rates.iterrows():
            print(
                f"  {r['event']:<11s} {r['rate']:<38s} {r['usual_care']:7.3f} -> {r['safewards']:7.3f}  "
                f"RR {r['rate_ratio']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]  ({r['n_pairs']} pairs)"
            )
    print(f"wrote {written} to {out}")
    return 1 if args.strict and passed < len(table) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p_val = sub.add_parser("validate", help="run the shipped defaults and compare them with published patterns")
    p_val.add_argument("--setting", default=None, help="only this setting's patterns (default: all)")
    p_val.add_argument("--replicates", default="10", help="seeded replicates per arm (default 10)")
    p_val.add_argument("--seed", default="0", help="first seed (default 0)")
    p_val.add_argument("--patterns", default=None, help="comma-separated pattern keys (default: all)")
    p_val.add_argument("--strict", action="store_true", help="exit 1 if any pattern is outside its tolerance")
    p_val.add_argument("--out", default="results/validation", help="output directory")
    p_val.set_defaults(handler=cmd_validate)

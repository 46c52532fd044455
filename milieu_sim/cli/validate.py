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
    posterior_draws,
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


#: Where ``validate --record`` writes the saved record docs/validation.md is built from (unless --out is given).
RECORD_DIR = "docs/calibration/validation"


def _shown(table):
    """The printed form of a score table: the value with its interval, the band, the verdict."""
    import math

    def band(row) -> str:
        low, high = row["tolerance_low"], row["tolerance_high"]
        if math.isinf(low):
            return f"below {high:.3g}"
        if math.isinf(high):
            return f"{low:.3g} and above"
        return f"{low:.3g} to {high:.3g}"

    def value(row) -> str:
        if math.isnan(row["ci_low"]) or math.isnan(row["ci_high"]):
            return f"{row['simulated']:.3f} [no interval]"
        return f"{row['simulated']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"

    return table.assign(simulated=[value(r) for _, r in table.iterrows()],
                        tolerance=[band(r) for _, r in table.iterrows()])  # fmt: skip


def cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from milieu_sim.analysis import validation
    from milieu_sim.analysis.figures import validation_figure
    from milieu_sim.analysis.validation import consistency_rows, evidence_rows, safewards_rates, select_patterns
    from milieu_sim.model.params import SCHEMA
    from milieu_sim.provenance import stamp

    if args.doc and not args.record:
        return _write_doc()
    setting = SCHEMA["setting"].check(args.setting) if args.setting else None
    n_draws = _posterior_draws(args.posterior, args.posterior_file)
    replicates = positive("replicates", args.replicates if args.replicates is not None else str(n_draws or 10))
    if replicates < 2:
        raise CliError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 2")
    if n_draws and replicates % n_draws:
        raise CliError(f"parameter 'replicates' = {replicates} is not allowed with --posterior {n_draws}; allowed: "
                       "a multiple of the draws (each draw gets the same number of replicates)")  # fmt: skip
    first_seed = seed(args.seed, count=replicates)
    keys = [k.strip() for k in args.patterns.split(",") if k.strip()] if args.patterns else None
    select_patterns(setting, keys)  # refuse unknown pattern names (and a bad tolerances file) before running
    draws = None
    if n_draws:
        from milieu_sim.experiments.posterior import load_posterior

        draws = validation.PosteriorDraws.of(load_posterior(args.posterior_file), n_draws, first_seed)
    out = out_dir(args.out or (RECORD_DIR if args.record else "results/validation"))
    announce_kernel_compilation()
    if draws is not None:
        print(f"Parameters drawn from the {draws.posterior.describe()}: {n_draws} draws, {replicates // n_draws} "
              "replicate(s) each; the intervals include the parameters' uncertainty")  # fmt: skip
    table, runs = validation.validate_runs(setting, replicates, first_seed, keys, progress=_progress(), draws=draws)
    rates = safewards_rates(runs)
    evidence, consistency = evidence_rows(table), consistency_rows(table)
    write_table(evidence, out / "validation.csv")  # atomically: complete or absent, even on a full disk
    write_table(consistency, out / "consistency.csv")
    write_figure(validation_figure(evidence), out / "validation.png")
    record = {**stamp(), "setting": setting, "patterns": keys, "replicates": replicates, "seed": first_seed,
              "posterior": _posterior_record(draws)}  # fmt: skip
    write_text(out / "validation.json", json.dumps({**record, "versions": versions()}, indent=2))

    with pd.option_context("display.width", 250, "display.max_colwidth", 60, "display.max_columns", None):
        if len(evidence):
            columns = ["pattern", "role", "published", "simulated", "tolerance", "verdict"]
            print(_shown(evidence)[columns].to_string(index=False))
        if len(consistency):
            print("\nConsistency checks: each re-measures a model input, so agreement is not evidence that the model")
            print("is right; it shows that the other processes leave the input's effect intact.")
            columns = ["pattern", "echoes", "simulated", "tolerance", "verdict"]
            print(_shown(consistency)[columns].to_string(index=False))
    passed = int(evidence["passes"].sum())
    crossing = int((evidence["verdict"] == "pass; interval crosses the band").sum())
    print(
        f"\n{passed} of {len(evidence)} patterns pass (point estimate in the band, 95% interval overlapping it; "
        f"{crossing} of them with an interval crossing the band); {replicates} replicates, seeds {first_seed}.."
    )
    for _, row in evidence[~evidence["passes"].astype(bool)].iterrows():
        print(f"  {row['pattern']} ({row['verdict']}): {row['note']}")
    written = "validation.csv, consistency.csv, validation.png, validation.json"
    (out / "rates.csv").unlink(missing_ok=True)  # a record's rates belong to the run that wrote them
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
    if args.doc:
        _write_doc()
    return 1 if args.strict and passed < len(evidence) else 0


def _posterior_draws(raw: str | None, file: str | None) -> int | None:
    """``--posterior N`` (:func:`~milieu_sim.cli.common.posterior_draws`); ``--posterior-file`` needs it."""
    if raw is None and file is not None:
        raise CliError(f"parameter 'posterior-file' = {file!r} needs a number of draws; allowed: with --posterior N")
    return posterior_draws(raw)


def _posterior_record(draws) -> dict | None:
    """validation.json's record of the posterior the runs drew from (None without one)."""
    if draws is None:
        return None
    posterior = draws.posterior
    return {
        "draws": len(draws.draws),
        "file": str(posterior.sample_file.parent),
        "digest": posterior.digest(),
        "record": posterior.record,
        "particles": [draw.particle for draw in draws.draws],
    }


def _write_doc() -> int:
    """``validate --doc``: docs/validation.md regenerated from the saved records (no runs)."""
    from pathlib import Path

    from milieu_sim.analysis.validation_record import write_document

    path = write_document(Path.cwd())
    print(f"wrote {path} from the saved records")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p_val = sub.add_parser("validate", help="run the shipped defaults and compare them with published patterns")
    p_val.add_argument("--setting", default=None, help="only this setting's patterns (default: all)")
    p_val.add_argument("--replicates", default=None, help="seeded replicates per arm (default 10; with --posterior "
                       "N, N)")  # fmt: skip
    p_val.add_argument("--seed", default="0", help="first seed (default 0)")
    p_val.add_argument("--patterns", default=None, help="comma-separated pattern keys (default: all)")
    p_val.add_argument("--strict", action="store_true", help="exit 1 if any fitted or validation pattern fails")
    p_val.add_argument("--out", default=None, help=f"output directory (default results/validation; {RECORD_DIR} "
                       "with --record)")  # fmt: skip
    p_val.add_argument("--record", action="store_true", help=f"save the run as the record docs/validation.md is "
                       f"built from (in {RECORD_DIR} unless --out is given)")  # fmt: skip
    p_val.add_argument(
        "--posterior",
        default=None,
        metavar="N",
        help="replicate r of every arm draws its parameters "
        "from draw r %% N of the calibration's posterior (the intervals then include their uncertainty)",
    )
    p_val.add_argument("--posterior-file", default=None, metavar="F", help="the posterior: a folder with "
                       "posterior.csv and posterior.toml (default: the one shipped)")  # fmt: skip
    p_val.add_argument("--doc", action="store_true", help="regenerate docs/validation.md from the saved records "
                       "(run in the repository's root; with --record, after recording)")  # fmt: skip
    p_val.set_defaults(handler=cmd_validate)

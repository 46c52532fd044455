"""A policy comparison is a one-point sweep: ``milieu-sim compare`` and :func:`compare_policies`.

The comparison's runs go to ``OUT/sweep`` (a sweep directory: re-running the same command resumes,
a different comparison replaces it); replicate r of every policy uses seed ``seed + r`` (common random
numbers).  The familiar outputs are then derived from that directory: ``runs.csv``, ``failures.csv``,
``comparison.csv`` (estimates with 95% CIs and n: rates and shares pooled over runs, other outcomes averaged
per run), ``contrasts.csv`` (paired differences against the first policy, with n of pairs and Holm-adjusted
p-values) and ``rate_ratios.csv`` (paired rate ratios per shift and per occupied bed-day, by phase of stay;
:func:`milieu_sim.analysis.statistics.rate_ratios`).  :func:`compare_policies` does the same from Python and
returns the tables.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from milieu_sim.analysis.statistics import format_p, paired_contrasts, rate_ratios, summary_table
from milieu_sim.errors import ParameterError
from milieu_sim.experiments.outcomes import COUNTS, KEY_OUTCOMES, SUMMARY_OUTCOMES
from milieu_sim.experiments.spec import Spec, spec_from_dict
from milieu_sim.experiments.storage import read_failures, read_runs
from milieu_sim.experiments.sweep import SweepResult, run_sweep
from milieu_sim.model.params import SCHEMA, setting_defaults

RUN_COLUMNS = ["policy", "replicate", "seed", *SUMMARY_OUTCOMES, "seconds", *COUNTS]
FAILURE_COLUMNS = ["policy", "replicate", "seed", "error", "traceback"]


def comparison_spec(policies: list[str], replicates: int, seed: int, base: dict[str, Any], warmup_days: int) -> Spec:
    """The spec of a policy comparison (schema values in ``base``; ``setting`` and ``days`` may be among them)."""
    base = dict(base)
    setting = base.pop("setting", SCHEMA["setting"].default)
    days = base.pop("days", setting_defaults(setting)["days"])
    base.pop("warmup_days", None)
    data = {
        "name": "compare",
        "setting": setting,
        "policies": list(policies),
        "replicates": replicates,
        "days": days,
        "warmup_days": warmup_days,
        "seed": seed,
        "seeds": "sequential",
        "parameters": base,
    }
    return spec_from_dict(data, path="", default_name="compare")


def run_comparison(spec: Spec, out: Path, workers: int | None = 1, progress: bool = True) -> SweepResult:
    """Run (or finish) the comparison's sweep in ``out/sweep``."""
    return run_sweep(spec, out / "sweep", workers=workers, progress=progress, replace_other_spec=True)


def comparison_tables(out: Path, policies: list[str]) -> dict[str, pd.DataFrame]:
    """runs, failures, means (comparison.csv), contrasts and rate ratios of a finished comparison."""
    runs = read_runs(out / "sweep").rename(columns={"run_seconds": "seconds"})
    runs = runs[[c for c in RUN_COLUMNS if c in runs.columns]]
    failures = read_failures(out / "sweep")
    failures = failures[[c for c in FAILURE_COLUMNS if c in failures.columns]] if len(failures) else failures
    outcomes = [o for o in SUMMARY_OUTCOMES if o in runs.columns]
    order = {p: k for k, p in enumerate(policies)}
    ordered = runs.sort_values(["replicate", "policy"], key=lambda s: s.map(order) if s.name == "policy" else s)
    means = summary_table(ordered.sort_values("policy", key=lambda s: s.map(order), kind="stable"), outcomes)
    contrasts = paired_contrasts(ordered, outcomes, reference=policies[0])
    ratios = rate_ratios(ordered, "policy", policies[0], pair="seed") if len(policies) > 1 else pd.DataFrame()
    return {
        "runs": ordered.reset_index(drop=True),
        "failures": failures,
        "means": means,
        "contrasts": contrasts,
        "rate_ratios": ratios,
    }


@dataclass
class Comparison:
    """A finished policy comparison: one row per run, the failed runs, estimates, paired contrasts and rate ratios."""

    runs: pd.DataFrame
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    means: pd.DataFrame = field(default_factory=pd.DataFrame)
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    rate_ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    policies: list[str] = field(default_factory=list)


def compare_policies(
    policies: list[str],
    replicates: int,
    seed: int = 0,
    base: Mapping[str, Any] | None = None,
    warmup_days: int = 0,
    out: str | Path | None = None,
    workers: int | None = 1,
    progress: bool = False,
) -> Comparison:
    """Paired replicates of each policy (replicate r uses seed ``seed + r``), run as a one-point sweep.

    ``base`` holds schema parameters shared by every run (``setting`` and ``days`` may be among them).
    The sweep goes to ``out/sweep`` (resumed if it is already there), or to a temporary folder that
    is removed afterwards.  A failing run is recorded in ``failures`` and the others go on.
    """
    policies = list(policies)
    if not policies:
        raise ParameterError("parameter 'policies' is empty; allowed: a list of policies")
    if replicates < 1:
        raise ParameterError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 1")
    spec = comparison_spec(policies, replicates, seed, dict(base or {}), warmup_days)
    if out is not None:
        out = Path(out)
        run_comparison(spec, out, workers=workers, progress=progress)
        tables = comparison_tables(out, policies)
    else:
        with tempfile.TemporaryDirectory(prefix="milieu-compare-") as folder:
            run_comparison(spec, Path(folder), workers=workers, progress=progress)
            tables = comparison_tables(Path(folder), policies)
    return Comparison(policies=policies, **tables)


def _cell(estimate: float, low: float, high: float, n: int, signed: bool = False, p: float | None = None) -> str:
    """'estimate [low, high] n=N' (flagged below 3), then 'p_Holm P' when given."""
    sign = "+" if signed else ""
    if pd.isna(estimate):
        text = "n/a"
    elif pd.isna(low):
        text = f"{estimate:{sign}.3f}"
    else:
        text = f"{estimate:{sign}.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"
    text += f" n={int(n)}" + ("!" if n < 3 else "")
    if p is not None and format_p(p):
        text += f" p_Holm {format_p(p)}"
    return text


def comparison_text(
    means: pd.DataFrame,
    contrasts: pd.DataFrame,
    ratios: pd.DataFrame,
    policies: list[str],
    outcomes: list[str] | tuple[str, ...] = KEY_OUTCOMES,
    seeds: str = "sequential",
    replicates: int | None = None,
    n_runs: int | None = None,
) -> str:
    """What ``milieu-sim compare`` prints: estimates and intervals first, n beside each, p-values labelled."""
    lines = []
    key = means[means["outcome"].isin(outcomes)].copy()
    key["value"] = [_cell(r.mean, r.ci_low, r.ci_high, r.n) for r in key.itertuples()]
    wide = key.pivot(index="outcome", columns="policy", values="value").reindex([o for o in outcomes])
    wide = wide[[p for p in policies if p in wide.columns]]
    pairing = "paired by seed (common random numbers)" if seeds in ("paired", "sequential") else "independent seeds"
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_colwidth", 60):
        lines += [
            f"\nEstimate [95% CI] over {replicates} {'paired ' if 'paired' in pairing else ''}replicates "
            f"({n_runs} runs): n=runs with a value ({pairing}; rates and shares pooled over runs; ! = under 3)",
            wide.to_string(),
        ]
        if len(contrasts):
            diff = contrasts[contrasts["outcome"].isin(outcomes)].copy()
            diff["value"] = [
                _cell(r.difference, r.ci_low, r.ci_high, r.n_pairs, signed=True, p=r.p_holm) for r in diff.itertuples()
            ]
            wide_diff = diff.pivot(index="outcome", columns="policy", values="value").reindex(list(outcomes))
            lines += [
                f"\nPaired difference against {policies[0]} [95% CI] n=pairs; p_Holm: paired test (rates: the rate "
                "ratio's), Holm-adjusted within each outcome's contrasts",
                wide_diff[[p for p in policies[1:] if p in wide_diff.columns]].to_string(),
            ]
        if len(ratios):
            table = ratios.copy()
            table["rate"] = "per " + table["per"] + ", " + table["phase"]
            table["value"] = [
                _cell(r.rate_ratio, r.ci_low, r.ci_high, r.n_pairs, p=r.p_holm) for r in table.itertuples()
            ]
            wide_ratio = table.pivot_table(
                index=["event", "rate"], columns="group", values="value", aggfunc="first", sort=False
            )
            lines += [
                f"\nRate ratio against {policies[0]} [95% CI] n=pairs (paired: conditional Poisson on the pair, "
                "robust variance, t); p_Holm within each rate's contrasts",
                wide_ratio[[p for p in policies[1:] if p in wide_ratio.columns]].to_string(),
            ]
    return "\n".join(lines)

"""Global sensitivity analysis through SALib: Morris screening or Sobol indices, on any outcome.

The spec's ``[design]`` is ``morris`` or ``sobol`` (see :mod:`milieu_sim.experiments.spec`).  The sample is
made by SALib from the spec's seed and saved (``sample.parquet``), the runs are an ordinary sweep in
the same directory (resumable), and the indices go to ``DIR/sensitivity/``: ``indices.csv`` (and
``second_order.csv`` for Sobol with ``second_order = true``), one bar chart per outcome and
``sensitivity.md``.  :func:`analyse_sensitivity` redoes the analysis from the saved sample and runs
without running anything.

Each point's output is the mean over its replicates (replicate r of every point shares one seed, so
the noise is common to all points).  Screen with Morris first, then Sobol on the parameters that
matter (Herman & Usher 2017; Iwanaga et al. 2022).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from milieu_sim.analysis import figures
from milieu_sim.analysis.report import markdown_table
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.spec import Spec, SpecError
from milieu_sim.experiments.storage import SweepDirError, read_manifest, read_runs
from milieu_sim.experiments.sweep import SweepResult, run_sweep
from milieu_sim.files import write_figure, write_table, write_text

METHODS = ("sobol", "morris")
NUM_RESAMPLES = 1000


class SensitivityError(MilieuInputError):
    """The sensitivity analysis cannot be done (wrong design, missing runs, unknown outcome)."""


def check_design(spec: Spec) -> None:
    if spec.method not in METHODS:
        raise SpecError(
            f"experiment file '{spec.path}': key 'design.method' = {spec.method!r} cannot be analysed for "
            f"sensitivity; allowed: one of {', '.join(METHODS)}"
        )


def run_sensitivity(
    spec: Spec, out: str | Path, outcomes: list[str] | None = None, analyse_only: bool = False, **sweep_options: Any
) -> tuple[SweepResult | None, pd.DataFrame]:
    """Run the sample's sweep (unless ``analyse_only``), then compute and save the indices."""
    check_design(spec)
    _check_outcomes(spec, outcomes)
    result = None
    if not analyse_only:
        result = run_sweep(spec, out, **sweep_options)
    return result, analyse_sensitivity(spec, out, outcomes)


def _check_outcomes(spec: Spec, outcomes: list[str] | None) -> None:
    for outcome in outcomes or []:
        if outcome not in spec.outcomes:
            raise SensitivityError(
                f"parameter 'outcomes': {outcome!r} is not kept by this experiment; allowed: {', '.join(spec.outcomes)}"
            )


def analyse_sensitivity(spec: Spec, out: str | Path, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Indices from the saved sample and runs of ``out`` (nothing runs); writes ``out/sensitivity/``."""
    from SALib.analyze import morris as morris_analyse
    from SALib.analyze import sobol as sobol_analyse

    check_design(spec)
    _check_outcomes(spec, outcomes)
    out = Path(out)
    manifest = read_manifest(out)
    if manifest.get("spec_hash") != spec.hash():
        raise SweepDirError(f"directory '{out}' holds results of a different spec; analyse it with its own spec")
    outcomes = list(outcomes or spec.outcomes)
    sample = pd.read_parquet(out / "sample.parquet").to_numpy(dtype=float)
    problem = spec.problem()
    runs = read_runs(out, columns=["run_id", "point", "policy", *outcomes])
    folder = out / "sensitivity"
    folder.mkdir(exist_ok=True)
    rows, second, notes = [], [], []
    for policy in spec.policies:
        frame = runs[runs["policy"] == policy]
        means = frame.groupby("point")[outcomes].mean().reindex(range(spec.n_points))
        missing = int(means[outcomes[0]].isna().sum()) if len(outcomes) else 0
        if len(frame) == 0 or frame["point"].nunique() < spec.n_points:
            raise SensitivityError(
                f"directory '{out}': {spec.n_points - frame['point'].nunique()} of {spec.n_points} sample points "
                f"of policy '{policy}' have no finished run (missing {missing}); finish the sweep first "
                "(run the same command without --analyse-only)"
            )
        for outcome in outcomes:
            y = means[outcome].to_numpy(dtype=float)
            if not np.all(np.isfinite(y)):
                notes.append(
                    f"`{outcome}` ({policy}): {int((~np.isfinite(y)).sum())} sample points have no value "
                    "(e.g. no stay ended); not analysed."
                )
                continue
            if spec.method == "sobol":
                result = sobol_analyse.analyze(
                    problem,
                    y,
                    calc_second_order=spec.second_order,
                    num_resamples=NUM_RESAMPLES,
                    conf_level=0.95,
                    seed=spec.seed,
                )
                rows += _index_rows(policy, outcome, problem["names"], result, ("S1", "S1_conf", "ST", "ST_conf"))
                for k, name in enumerate(problem["names"]):
                    if spec.second_order:
                        for j, other in enumerate(problem["names"]):
                            if j > k:
                                second.append(
                                    {
                                        "policy": policy,
                                        "outcome": outcome,
                                        "parameter": name,
                                        "other": other,
                                        "S2": result["S2"][k, j],
                                        "S2_conf": result["S2_conf"][k, j],
                                    }
                                )
            else:
                result = morris_analyse.analyze(
                    problem,
                    sample,
                    y,
                    num_resamples=NUM_RESAMPLES,
                    conf_level=0.95,
                    num_levels=spec.levels,
                    seed=spec.seed,
                )
                rows += _index_rows(
                    policy, outcome, problem["names"], result, ("mu", "mu_star", "sigma", "mu_star_conf")
                )
    indices = pd.DataFrame(rows)
    write_table(indices, folder / "indices.csv")
    if second:
        write_table(pd.DataFrame(second), folder / "second_order.csv")
    _write_markdown(spec, folder, indices, notes)
    return indices


def _write_markdown(spec: Spec, folder: Path, indices: pd.DataFrame, notes: list[str]) -> None:
    title = "Sobol indices (first order S1, total ST)" if spec.method == "sobol" else "Morris screening (mu*, sigma)"
    lines = [
        f"# Sensitivity analysis: {spec.name}",
        "",
        f"{title} through SALib; {spec.n_points} sample points x {len(spec.policies)} policies x "
        f"{spec.replicates} replicates; each point's output is its mean over replicates; 95% confidence "
        f"intervals from {NUM_RESAMPLES} bootstrap resamples. Table: `indices.csv`.",
        "",
    ]
    lines += [*(f"> {note}" for note in notes), ""]
    for (policy, outcome), frame in indices.groupby(["policy", "outcome"], sort=False):
        name = f"{spec.method}_{policy}_{outcome}.png".replace("/", "_")
        fig = figures.sensitivity_bars(frame, spec.method, outcome)
        write_figure(fig, folder / name)
        plt.close(fig)
        lines += [f"## {outcome} ({policy})", "", markdown_table(frame.drop(columns=["policy", "outcome"])), ""]
        lines += [f"![{outcome}]({name})", ""]
    write_text(folder / "sensitivity.md", "\n".join(lines))


def _index_rows(policy, outcome: str, names: list[str], result, keys: tuple[str, ...]) -> list[dict]:
    """One tidy row per parameter with the SALib result's ``keys``."""
    return [
        {"policy": policy, "outcome": outcome, "parameter": name, **{key: result[key][k] for key in keys}}
        for k, name in enumerate(names)
    ]

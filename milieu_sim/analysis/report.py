"""The report of a sweep directory: tables (CSV), figures (PNG) and a Markdown page that links them.

    from milieu_sim.analysis.report import analyse, write_report
    analysis = analyse("results/policy_comparison")      # tables only, as DataFrames
    write_report("results/policy_comparison")            # -> results/policy_comparison/report/report.md

Groups: with several policies, runs are compared by policy (within each parameter point); with one
policy and a grid, by parameter point against the first point.  Sampled designs (Latin hypercube,
Sobol, Morris) get means only; their analysis is ``milieu-sim sensitivity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from milieu_sim.analysis import figures
from milieu_sim.analysis.statistics import contrast_table, rate_ratios, replicate_check, summary_table
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.outcomes import KEY_OUTCOMES
from milieu_sim.experiments.storage import read_failures, read_manifest, read_runs, read_series

MAX_BANDS = 8  # time series with more groups than this are not drawn (unreadable)


class ReportError(MilieuInputError):
    """A report cannot be made from this directory (e.g. no finished runs, unknown reference)."""


@dataclass
class Analysis:
    """The statistics of one sweep directory."""

    manifest: dict[str, Any]
    runs: pd.DataFrame
    failures: pd.DataFrame
    outcomes: list[str]
    group: str  # the column the contrasts compare ("policy" or "point_label")
    reference: Any
    within: str | None
    summary: pd.DataFrame
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    rate_ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)


def point_labels(runs: pd.DataFrame, varied: list[str]) -> pd.Series:
    """'name=value, ...' for each run's parameter point."""
    if not varied:
        return pd.Series(["all"] * len(runs), index=runs.index)
    parts = [runs[name].map(lambda v, n=name: f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}") for name in varied]
    label = parts[0]
    for part in parts[1:]:
        label = label + ", " + part
    return label


def analyse(path: str | Path, reference: str | None = None, precision: float = 0.05) -> Analysis:
    """Means, contrasts, rate ratios and the replicate check of a sweep directory."""
    manifest = read_manifest(path)
    spec = manifest["spec"]
    runs = read_runs(path)
    failures = read_failures(path)
    if runs.empty:
        raise ReportError(f"directory '{path}' has no finished runs yet; run 'milieu-sim sweep' first")
    policies = list(spec["policies"])
    varied = [c for c in runs.columns if c in _varied_names(spec)]
    outcomes = [o for o in spec["outputs"]["outcomes"] if o in runs.columns]
    runs["point_label"] = point_labels(runs, varied)
    n_points = runs["point"].nunique()
    by = ["policy"] if n_points == 1 else ["point", *varied, "point_label", "policy"]
    summary = summary_table(runs, outcomes, by)
    notes = []
    sampled = spec["design"]["method"] != "grid"
    if len(policies) > 1:
        group, within = "policy", ("point" if n_points > 1 else None)
        reference = reference if reference is not None else policies[0]
        if reference not in policies:
            raise ReportError(f"parameter 'reference' = {reference!r} is not a policy of this sweep: {policies}")
    elif n_points > 1 and not sampled:
        group, within = "point_label", None
        labels = list(dict.fromkeys(runs.sort_values("point")["point_label"]))
        reference = reference if reference is not None else labels[0]
        if reference not in labels:
            raise ReportError(f"parameter 'reference' = {reference!r} is not a parameter point of this sweep")
    else:
        group, within, reference = "policy", None, policies[0]
    analysis = Analysis(manifest, runs, failures, outcomes, group, reference, within, summary, notes=notes)
    if sampled:
        notes.append(
            f"Design '{spec['design']['method']}': no contrasts; see 'milieu-sim sensitivity' for the indices."
        )
    elif runs[group].nunique() > 1:
        analysis.contrasts = contrast_table(runs, outcomes, group, reference, within)
        analysis.rate_ratios = rate_ratios(runs, group, reference, within)
    check_by = ["point", "policy"] if n_points > 1 else ["policy"]
    analysis.replicates = replicate_check(runs, outcomes, check_by, precision=precision)
    return analysis


def _varied_names(spec: dict[str, Any]) -> list[str]:
    names = []
    for label, value in spec.get("vary", {}).items():
        if isinstance(value, dict) and not {"low", "high"} >= set(value):
            names.extend(value)
        else:
            names.append(label)
    return names


def _factor_axes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(column, axis label) of each factor: a linked factor is shown by its first parameter."""
    axes = []
    for label, value in spec.get("vary", {}).items():
        if isinstance(value, dict) and not {"low", "high"} >= set(value):
            first = next(iter(value))
            axes.append((first, f"{label} ({first}; linked: {', '.join(list(value)[1:])})"))
        else:
            axes.append((label, label))
    return axes


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table (no extra dependency)."""

    def cell(value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return (
                "" if not np.isfinite(value) else f"{value:.{digits}g}" if abs(value) >= 1e4 else f"{value:.{digits}f}"
            )
        return str(value).replace("|", "/")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _interval(frame: pd.DataFrame, value: str, digits: int = 3, signed: bool = False) -> pd.Series:
    sign = "+" if signed else ""

    def text(row: pd.Series) -> str:
        if pd.isna(row[value]):
            return ""
        if pd.isna(row["ci_low"]):
            return f"{row[value]:{sign}.{digits}f}"
        return f"{row[value]:{sign}.{digits}f} [{row['ci_low']:{sign}.{digits}f}, {row['ci_high']:{sign}.{digits}f}]"

    return frame.apply(text, axis=1) if len(frame) else pd.Series(dtype=str)


def write_report(path: str | Path, reference: str | None = None, precision: float = 0.05) -> Path:
    """Write tables, figures and ``report.md`` to ``path/report``; return the Markdown file's path."""
    path = Path(path)
    analysis = analyse(path, reference=reference, precision=precision)
    out = path / "report"
    out.mkdir(exist_ok=True)
    spec = analysis.manifest["spec"]
    a = analysis
    a.summary.to_csv(out / "summary.csv", index=False)
    a.replicates.to_csv(out / "replicates.csv", index=False)
    if len(a.contrasts):
        a.contrasts.to_csv(out / "contrasts.csv", index=False)
    if len(a.rate_ratios):
        a.rate_ratios.to_csv(out / "rate_ratios.csv", index=False)
    key = [o for o in KEY_OUTCOMES if o in a.outcomes] or a.outcomes[:6]
    lines = [
        f"# Sweep report: {spec['name']}",
        "",
        spec.get("description", ""),
        "",
        f"- spec hash `{a.manifest['spec_hash'][:16]}`, {a.manifest['n_runs']} runs planned: "
        f"{len(a.runs)} finished, {len(a.failures)} failed"
        + (
            ""
            if len(a.runs) + len(a.failures) >= a.manifest["n_runs"]
            else f" (**incomplete**: {a.manifest['n_runs'] - len(a.runs) - len(a.failures)} runs not yet done)"
        ),
        f"- setting `{spec['setting']}`, policies {', '.join(f'`{p}`' for p in spec['policies'])}, "
        f"{spec['replicates']} replicates, {spec['days']} days ({spec['warmup_days']} warm-up), "
        f"seeds `{spec['seeds']}` from seed {spec['seed']}, design `{spec['design']['method']}`",
        f"- versions: {', '.join(f'{k} {v}' for k, v in a.manifest['versions'].items())}",
        "",
    ]
    lines += [*(f"> {note}" for note in a.notes), ""]
    figures_written = []

    def save(fig, name: str) -> str:
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        figures_written.append(name)
        return name

    # means
    lines += ["## Means and 95% confidence intervals over replicates", "", "All outcomes: `summary.csv`.", ""]
    table = a.summary[a.summary["outcome"].isin(key)].copy()
    table["value"] = _interval(table, "mean")
    index = "policy" if "point_label" not in table.columns else ["point_label", "policy"]
    wide = table.pivot_table(index=index, columns="outcome", values="value", aggfunc="first", sort=False)
    wide = wide[[o for o in key if o in wide.columns]].reset_index()
    if len(wide) <= 60:
        lines += [markdown_table(wide), ""]
    else:
        lines += [f"({len(wide)} groups: see `summary.csv`.)", ""]
    # contrasts
    if len(a.contrasts):
        where = f" within each parameter point ({a.within})" if a.within else ""
        lines += [
            f"## Paired differences against `{a.reference}`{where}",
            "",
            "Matched on the replicate (common random numbers). All outcomes: `contrasts.csv`.",
            "",
        ]
        table = a.contrasts[a.contrasts["outcome"].isin(key)].copy()
        table["value"] = _interval(table, "difference", signed=True)
        if a.within == "point":
            labels = a.runs.drop_duplicates("point").set_index("point")["point_label"]
            table.insert(1, "point_label", table["point"].map(labels))
        index = [a.group] if not a.within else [a.within, "point_label", a.group]
        wide = table.pivot_table(index=index, columns="outcome", values="value", aggfunc="first", sort=False)
        wide = wide[[o for o in key if o in wide.columns]].reset_index()
        if len(wide) <= 60:
            lines += [markdown_table(wide), ""]
        if a.contrasts[a.group].nunique() <= 20 and not a.within:
            name = save(figures.forest_differences(a.contrasts, key, label=a.group), "forest_differences.png")
            lines += [f"![paired differences]({name})", ""]
    if len(a.rate_ratios):
        lines += [
            f"## Rate ratios of events per shift against `{a.reference}`",
            "",
            "Negative binomial (NB2) regression of each run's event count with log(shifts) as offset; "
            "95% Wald intervals; `alpha` is the over-dispersion. All rows: `rate_ratios.csv`.",
            "",
        ]
        table = a.rate_ratios.copy()
        table["rate ratio [95% CI]"] = _interval(table, "rate_ratio")
        if a.within == "point":
            labels = a.runs.drop_duplicates("point").set_index("point")["point_label"]
            table.insert(1, "point_label", table["point"].map(labels))
        columns = [
            c for c in (a.within, "point_label" if a.within else None, "event", "group", "rate", "reference_rate") if c
        ]
        shown = table[[*columns, "rate ratio [95% CI]", "p_value", "alpha", "model"]]
        lines += [markdown_table(shown if len(shown) <= 80 else shown.head(80)), ""]
        if not a.within and len(table) <= 40:
            name = save(figures.forest_rate_ratios(a.rate_ratios), "forest_rate_ratios.png")
            lines += [f"![rate ratios]({name})", ""]
    # replicates
    lines += [
        "## Are the replicates enough?",
        "",
        "After Lee et al. (2015): the worst group per outcome; `mean_drift` and `cv_drift` say how far the "
        "mean and the coefficient of variation still moved over the second half of the replicates; "
        f"`replicates_needed` is the smallest number of replicates whose t-based 95% CI is within {precision:.0%} "
        "of the mean (the number the advice quotes).",
        "",
    ]
    if len(a.replicates):
        shown = a.replicates[
            [
                c
                for c in (
                    "outcome",
                    "replicates",
                    "mean",
                    "half_width",
                    "rel_half_width",
                    "mean_drift",
                    "cv_drift",
                    "replicates_needed",
                    "advice",
                )
                if c in a.replicates.columns
            ]
        ]
        lines += [markdown_table(shown), ""]
    # figures
    series = read_series(path)
    if len(series):
        series = series.merge(a.runs[["run_id", "point_label"]], on="run_id", how="inner")
        band_group = a.group if a.runs[a.group].nunique() > 1 else "policy"
        if series[band_group].nunique() <= MAX_BANDS:
            name = save(figures.time_series(series, band_group, spec["warmup_days"]), "time_series.png")
            lines += ["## Time series", "", f"![events per shift over time]({name})", ""]
    axes = _factor_axes(spec)
    if spec["design"]["method"] == "grid" and len(axes) == 2 and "point_label" in a.summary.columns:
        lines += ["## Two-parameter grid", ""]
        for policy in spec["policies"]:
            frame = a.summary[a.summary["policy"] == policy]
            for outcome in key:
                if not np.isfinite(frame.loc[frame["outcome"] == outcome, "mean"].to_numpy(dtype=float)).any():
                    continue
                name = save(
                    figures.heatmap(
                        frame,
                        axes[0][0],
                        axes[1][0],
                        outcome,
                        f"{outcome.replace('_', ' ')} ({policy})",
                        labels=(axes[0][1], axes[1][1]),
                    ),
                    f"heatmap_{policy}_{outcome}.png".replace("/", "_"),
                )
                lines += [f"![{outcome} ({policy})]({name})", ""]
    sensitivity_md = path / "sensitivity" / "sensitivity.md"
    if sensitivity_md.is_file():
        lines += ["## Sensitivity analysis", "", "See [sensitivity/sensitivity.md](../sensitivity/sensitivity.md).", ""]
    if len(a.failures):
        lines += ["## Failed runs", "", f"{len(a.failures)} runs failed; see `failures/` in the sweep directory.", ""]
        shown = a.failures[["run_id", "policy", "replicate", "seed", "error"]].head(20)
        lines += [markdown_table(shown), ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return out / "report.md"

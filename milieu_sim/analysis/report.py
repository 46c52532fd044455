"""The report of a sweep directory: tables (CSV), figures (PNG) and a Markdown page that links them.

    from milieu_sim.analysis.report import analyse, write_report
    analysis = analyse("results/policy_comparison")      # tables only, as DataFrames
    write_report("results/policy_comparison")            # -> results/policy_comparison/report/report.md

Groups: with several policies, runs are compared by policy (within each parameter point); with one
policy and a grid, by parameter point against the first point.  Sampled designs (Latin hypercube,
Sobol, Morris) get means only; their analysis is ``milieu-sim sensitivity``.

Runs whose parameters were drawn from the calibration's posterior (``posterior = { draws = N }``, or
``--posterior N``) also get ``posterior_conclusions.csv`` and a section that says, for each contrast, in how
many draws it lies on the same side of no effect as the pooled estimate
(:func:`~milieu_sim.analysis.statistics.posterior_conclusions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from milieu_sim.analysis import figures
from milieu_sim.analysis.statistics import (
    FLAG_FEW,
    RATE_COLUMNS,
    contrast_table,
    format_p,
    posterior_conclusions,
    posterior_sentence,
    rate_ratios,
    replicate_check,
    summary_table,
)
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.outcomes import KEY_OUTCOMES, SUMMARY_OUTCOMES
from milieu_sim.experiments.storage import read_failures, read_manifest, read_runs, read_series
from milieu_sim.files import write_figure, write_table, write_text

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
    posterior: pd.DataFrame = field(default_factory=pd.DataFrame)  # conclusions across the posterior's draws
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
    runs_per_group = runs.groupby(by, sort=False, observed=True, dropna=False).size().min()
    short = sorted(set(summary.loc[summary["n"] < runs_per_group, "outcome"]))
    if short:
        notes.append(
            f"Some runs have no value for {', '.join(f'`{o}`' for o in short)} (e.g. no stay ended after the "
            "warm-up): those estimates rest on fewer runs, and their paired differences on fewer pairs; `n` "
            "beside each estimate says how many."
        )
    if summary["n"].min() < 3:
        notes.append("Some estimates rest on fewer than 3 replicates (flagged `n < 3`): their intervals are rough.")
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
        if "posterior_draw" in runs.columns and runs["posterior_draw"].notna().all():
            analysis.posterior = posterior_conclusions(runs, outcomes, reference, group, within)
    check_by = ["point", "policy"] if n_points > 1 else ["policy"]
    if len(analysis.contrasts):
        check_by = list(dict.fromkeys([*check_by, group]))
        analysis.replicates = replicate_check(
            runs, outcomes, check_by, precision=precision, group=group, reference=reference
        )
    else:
        analysis.replicates = replicate_check(runs, outcomes, check_by, precision=precision)
    return analysis


def pairing_note(spec: dict[str, Any]) -> str:
    """How the runs of one replicate are matched, in the report's words (common random numbers or not)."""
    if spec.get("seeds", "paired") in ("paired", "sequential"):
        return "Matched on the replicate: replicate r of every group uses the same seed (common random numbers)."
    return (
        "Matched on the replicate, but this spec draws an independent seed for every run (`seeds = "
        '"independent"`): the pairs share no random numbers, so pairing gains little precision (it stays valid).'
    )


def posterior_lines(manifest: dict[str, Any]) -> list[str]:
    """The report's header line about the posterior the runs drew from (none without one)."""
    drawn = manifest.get("spec", {}).get("posterior")
    if not isinstance(drawn, dict):
        return []
    found = manifest.get("posterior", {}) if isinstance(manifest.get("posterior"), dict) else {}
    record = found.get("record", {}) if isinstance(found.get("record"), dict) else {}
    made = ", ".join(f"{k} {record[k]}" for k in ("created", "commit", "method", "particles") if k in record)
    names = ", ".join(f"`{n}`" for n in found.get("drawn", [])) or "none that apply to this setting"
    return [
        f"- posterior: {drawn.get('draws')} draws from `{drawn.get('file')}` ({made or 'no record'}; digest "
        f"`{str(found.get('digest', ''))[:12]}`); replicate r uses draw r % {drawn.get('draws')}; drawn: {names}"
    ]


def posterior_section(a: Analysis, key: list[str]) -> list[str]:
    """The report's section on which conclusions hold across the posterior's draws."""
    table = a.posterior
    draws = int(table["draws"].max()) if len(table) else 0
    lines = [
        "## Conclusions across the posterior",
        "",
        f"Each replicate drew its parameters from the calibration's posterior (draw r % {draws} for replicate r, "
        "the same draw for every group of that replicate). `estimate` [`ci_low`, `ci_high`] is the paired "
        "difference pooled over all replicates with the draw as the cluster, so its 95% CI carries the "
        "uncertainty of the parameters as well as chance (with one replicate per draw it equals the table "
        "above; with several, the table above treats the replicates of one draw as independent and is too "
        "narrow). Then each contrast is computed "
        "again within each draw's pairs, and `share` is the share of draws whose contrast lies on the same "
        "side of no effect as the pooled estimate (a draw whose contrast is undefined does not count as "
        "agreeing). All outcomes: `posterior_conclusions.csv`.",
        "",
    ]
    shown = table[table["outcome"].isin(key)]
    for row in shown.to_dict("records"):
        where = f" (point {row[a.within]})" if a.within else ""
        lines.append(f"- {posterior_sentence(row, a.group, a.reference)}{where}")
    lines.append("")
    if len(shown) <= 80:
        lines += [markdown_table(shown), ""]
    return lines


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


def _interval(
    frame: pd.DataFrame, value: str, digits: int = 3, signed: bool = False, n: str | None = None, p: str | None = None
) -> pd.Series:
    """'estimate [low, high]', then ', n N' (and the flag below 3), then ', p_Holm P' when asked."""
    sign = "+" if signed else ""

    def text(row: pd.Series) -> str:
        if pd.isna(row[value]):
            out = "n/a"
        elif pd.isna(row["ci_low"]):
            out = f"{row[value]:{sign}.{digits}f}"
        else:
            out = f"{row[value]:{sign}.{digits}f} [{row['ci_low']:{sign}.{digits}f}, {row['ci_high']:{sign}.{digits}f}]"
        if n is not None:
            out += f", n {int(row[n])}" + (f" ({FLAG_FEW})" if row[n] < 3 else "")
        if p is not None and format_p(row[p]):
            out += f", p_Holm {format_p(row[p])}"
        return out

    return frame.apply(text, axis=1) if len(frame) else pd.Series(dtype=str)


def write_report(path: str | Path, reference: str | None = None, precision: float = 0.05) -> Path:
    """Write tables, figures and ``report.md`` to ``path/report``; return the Markdown file's path."""
    path = Path(path)
    analysis = analyse(path, reference=reference, precision=precision)
    out = path / "report"
    out.mkdir(exist_ok=True)
    spec = analysis.manifest["spec"]
    a = analysis
    write_table(a.summary, out / "summary.csv")
    write_table(a.replicates, out / "replicates.csv")
    if len(a.contrasts):
        write_table(a.contrasts, out / "contrasts.csv")
    if len(a.rate_ratios):
        write_table(a.rate_ratios, out / "rate_ratios.csv")
    # the spec's own outcomes when it chose them; the key outcomes of the summary set otherwise
    chosen = tuple(a.outcomes) != tuple(o for o in SUMMARY_OUTCOMES if o in a.outcomes)
    key = list(a.outcomes) if chosen else [o for o in KEY_OUTCOMES if o in a.outcomes] or a.outcomes[:6]
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
        *posterior_lines(a.manifest),
        "",
    ]
    lines += [*(f"> {note}" for note in a.notes), ""]
    figures_written = []

    def save(fig, name: str) -> str:
        write_figure(fig, out / name)
        plt.close(fig)
        figures_written.append(name)
        return name

    # means
    lines += [
        "## Estimates and 95% confidence intervals over replicates",
        "",
        "Rates and shares are pooled over runs (sum of numerators / sum of denominators: each shift, occupied "
        "bed-day or ended stay counts once); their intervals take the run as the cluster (t, runs - 1 degrees of "
        "freedom; logit scale for shares, so they stay in [0, 1]; log scale for rates). Other outcomes are "
        "means of per-run values with t intervals. `n` is the number of runs with a value (a share of ended "
        f"stays has none in a run where no stay ended); `{FLAG_FEW}` marks an interval on fewer than 3. "
        "Definitions, denominators and warm-up rules: `docs/outputs.md`. All outcomes, with the pooled "
        "denominators (e.g. stays ended): `summary.csv`.",
        "",
    ]
    table = a.summary[a.summary["outcome"].isin(key)].copy()
    table["value"] = _interval(table, "mean", n="n")
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
            f"{pairing_note(spec)} Difference [95% CI], n of pairs, then `p_Holm`: the paired test's p-value "
            "(for rates, the paired rate ratio's, below), "
            f"Holm-adjusted within the family of one outcome's contrasts against `{a.reference}`"
            + (" within one parameter point" if a.within else "")
            + ". Pooled outcomes compare pooled estimates (same weighting as the table above); a rate's "
            "difference is the reference's rate x (rate ratio - 1) with the rate ratio's interval, so the two "
            "tables agree. "
            "All outcomes, with unadjusted `p_value` and `p_holm`: `contrasts.csv`.",
            "",
        ]
        table = a.contrasts[a.contrasts["outcome"].isin(key)].copy()
        table["value"] = _interval(table, "difference", signed=True, n="n_pairs", p="p_holm")
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
    if len(a.posterior):
        write_table(a.posterior, out / "posterior_conclusions.csv")
        lines += posterior_section(a, key)
    if len(a.rate_ratios):
        lines += [
            f"## Rate ratios against `{a.reference}`: per shift, per occupied bed-day, and by phase of stay",
            "",
            "Paired: conditional Poisson on each pair's total count (the seed's own level drops out), standard "
            "error robust to over-dispersion with the pair as the cluster (Mancl-DeRouen correction), t interval "
            "with pairs - 1 degrees of freedom; the estimate is the ratio of the pooled rates shown. "
            "Occupied bed-days are client-hours present on the unit / 24; `first week` counts events in a "
            "client's first 7 days of stay over the bed-days of first weeks, `later` the rest. `p_value` is "
            "unadjusted; `p_holm` is Holm-adjusted within the family of one rate (event, per, phase) against "
            f"`{a.reference}`. `dispersion` is Pearson X2 / df against the binomial (a diagnostic). "
            "All rows: `rate_ratios.csv`.",
            "",
        ]
        table = a.rate_ratios.copy()
        table["rate ratio [95% CI]"] = _interval(table, "rate_ratio", n="n_pairs")
        table["p_value"] = table["p_value"].map(format_p)
        table["p_holm"] = table["p_holm"].map(format_p)
        if a.within == "point":
            labels = a.runs.drop_duplicates("point").set_index("point")["point_label"]
            table.insert(1, "point_label", table["point"].map(labels))
        where = [c for c in (a.within, "point_label" if a.within else None) if c]
        columns = [*where, *RATE_COLUMNS[: RATE_COLUMNS.index("reference_rate") + 1]]  # what is compared
        shown = table[[*columns, "rate ratio [95% CI]", "p_value", "p_holm", "dispersion"]]
        lines += [markdown_table(shown if len(shown) <= 80 else shown.head(80)), ""]
        if not a.within and len(table) <= 40:
            headline = a.rate_ratios[(a.rate_ratios["phase"] == "all")].copy()
            headline["group"] = headline["group"] + " (per " + headline["per"] + ")"
            name = save(figures.forest_rate_ratios(headline), "forest_rate_ratios.png")
            lines += [f"![rate ratios]({name})", ""]
    # replicates
    lines += [
        "## Are the replicates enough?",
        "",
        "Sized on what is compared: for each outcome, the comparison that needs most; `half_width` is the "
        "t-based 95% half-width of the paired differences (of the mean, without a reference), `target` is "
        f"{precision:.0%} of the level of the two groups compared (the mean of their means; for shares, "
        f"{precision:g} in share points), and "
        "`replicates_needed` the smallest number of pairs whose "
        "t-based half-width reaches it (found by iteration; the number the advice quotes). Drift is its own "
        "diagnostic, after Lee et al. (2015): `mean_drift` and `cv_drift` say how far the mean and the "
        "coefficient of variation still moved over the second half of the replicates (worst group); "
        "`settled` when the mean moved less than half the precision.",
        "",
    ]
    if len(a.replicates):
        shown = a.replicates[
            [
                c
                for c in (
                    "outcome",
                    "compared",
                    "replicates",
                    "estimate",
                    "half_width",
                    "target",
                    "replicates_needed",
                    "mean_drift",
                    "cv_drift",
                    "settled",
                    "advice",
                )
                if c in a.replicates.columns
            ]
        ]
        shown = shown.astype({c: "Int64" for c in ("replicates", "replicates_needed") if c in shown.columns})
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
    write_text(out / "report.md", "\n".join(lines))
    return out / "report.md"

"""Figures of a sweep (matplotlib); every function takes tidy tables and returns a Figure."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from milieu_sim.analysis.plots import policy_colour


def daily_bands(series: pd.DataFrame, group: str, column: str, level: float = 0.95) -> pd.DataFrame:
    """Per group and day: mean over replicates of the run's mean events per shift that day, with a t CI."""
    per_run = series.groupby([group, "run_id", "day"], observed=True, sort=False)[column].mean().reset_index()
    agg = per_run.groupby([group, "day"], observed=True, sort=False)[column].agg(["mean", "std", "count"])
    agg = agg.reset_index()
    t = stats.t.ppf(0.5 + level / 2, np.maximum(agg["count"] - 1, 1))
    half = np.where(agg["count"] > 1, t * agg["std"] / np.sqrt(agg["count"]), np.nan)
    agg["ci_low"] = agg["mean"] - half
    agg["ci_high"] = agg["mean"] + half
    return agg


def time_series(series: pd.DataFrame, group: str = "policy", warmup_days: int = 0) -> Figure:
    """Conflict and containment events per shift by day: mean over replicates with a 95% band per group."""
    columns = ["conflict_events", "containment_events"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    for ax, column in zip(axes, columns, strict=True):
        bands = daily_bands(series, group, column)
        for k, (name, frame) in enumerate(bands.groupby(group, sort=False, observed=True)):
            colour = policy_colour(str(name), k)
            ax.plot(frame["day"], frame["mean"], color=colour, label=str(name))
            ax.fill_between(frame["day"], frame["ci_low"], frame["ci_high"], color=colour, alpha=0.2, linewidth=0)
        if warmup_days:
            ax.axvline(warmup_days, color="grey", linestyle=":", linewidth=1)
        ax.set(title=f"{column.replace('_', ' ')} per shift", xlabel="day", ylabel="events per shift (daily mean)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Mean over replicates with 95% CI band" + (" (dotted: end of warm-up)" if warmup_days else ""))
    return fig


def forest_rate_ratios(ratios: pd.DataFrame, label: str = "group") -> Figure:
    """Forest plot of rate ratios with 95% CIs (log scale), one row per group and event."""
    rows = ratios.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.2), constrained_layout=True)
    y = np.arange(len(rows))[::-1]
    colours = {"conflict": "#d95f02", "containment": "#7570b3"}
    for yi, (_, row) in zip(y, rows.iterrows(), strict=True):
        colour = colours.get(row["event"], "black")
        ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=colour)
        ax.plot([row["rate_ratio"]], [yi], "s", color=colour)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{row[label]}: {row['event']}" for _, row in rows.iterrows()], fontsize=8)
    ax.set_xlabel("rate ratio against the reference (95% CI, negative binomial)")
    return fig


def forest_differences(contrasts: pd.DataFrame, outcomes: list[str], label: str = "group") -> Figure:
    """Paired differences with 95% CIs against the reference: one panel per outcome, one row per group."""
    outcomes = [o for o in outcomes if o in set(contrasts["outcome"])]
    columns = min(3, max(1, len(outcomes)))
    rows_n = max(1, math.ceil(len(outcomes) / columns))
    n_groups = contrasts[label].nunique()
    fig, axes = plt.subplots(
        rows_n,
        columns,
        figsize=(4.3 * columns, (0.35 * n_groups + 1.3) * rows_n),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        frame = contrasts[contrasts["outcome"] == outcome].reset_index(drop=True)
        y = np.arange(len(frame))[::-1]
        for k, (yi, (_, row)) in enumerate(zip(y, frame.iterrows(), strict=True)):
            colour = policy_colour(str(row[label]), k)
            if pd.notna(row["ci_low"]):
                ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=colour)
            ax.plot([row["difference"]], [yi], "o", color=colour)
        ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
        ax.set_yticks(y, [str(v) for v in frame[label]], fontsize=7)
        ax.set_title(outcome.replace("_", " "), fontsize=9)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    fig.suptitle("Paired difference against the reference (95% CI)")
    return fig


def heatmap(
    summary: pd.DataFrame, x: str, y: str, outcome: str, title: str = "", labels: tuple[str, str] | None = None
) -> Figure:
    """Mean of ``outcome`` over a two-parameter grid (``summary`` has columns x, y, outcome, mean)."""
    frame = summary[summary["outcome"] == outcome]
    grid = frame.pivot_table(index=y, columns=x, values="mean", aggfunc="mean").sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * grid.shape[1], 1.0 + 0.55 * grid.shape[0]), constrained_layout=True)
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns], fontsize=8)
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index], fontsize=8)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            value = grid.iat[i, j]
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white")
    xlabel, ylabel = labels or (x, y)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or outcome.replace("_", " "))
    fig.colorbar(image, ax=ax, label=outcome)
    return fig


def sensitivity_bars(indices: pd.DataFrame, method: str, outcome: str) -> Figure:
    """Sobol first-order and total indices, or Morris mu* and sigma, with their confidence intervals."""
    frame = indices[indices["outcome"] == outcome].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(1.2 + 0.8 * len(frame), 3.8), constrained_layout=True)
    x = np.arange(len(frame))
    if method == "sobol":
        pairs = [("S1", "S1_conf", "first order"), ("ST", "ST_conf", "total")]
        ylabel = "Sobol index"
    else:
        pairs = [("mu_star", "mu_star_conf", "mu*"), ("sigma", None, "sigma")]
        ylabel = "Morris elementary effects"
    width = 0.38
    for k, (column, conf, name) in enumerate(pairs):
        err = frame[conf].to_numpy(dtype=float) if conf else None
        ax.bar(x + (k - 0.5) * width, frame[column], width, yerr=err, capsize=3, label=name)
    ax.set_xticks(x, [p.replace("_", "\n") for p in frame["parameter"]], fontsize=7)
    ax.set(ylabel=ylabel, title=f"{outcome.replace('_', ' ')} ({method})")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.legend(fontsize=8)
    return fig

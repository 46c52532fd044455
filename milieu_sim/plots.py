"""Figures (matplotlib) built from the tidy tables; every function returns a Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

POLICY_COLOURS = {
    "therapeutic_milieu": "#1b9e77",
    "usual_care": "#7570b3",
    "restrictive": "#d95f02",
    "custodial": "#666666",
    "token_economy": "#e6ab02",
}


def policy_colour(name: str, index: int = 0) -> str:
    return POLICY_COLOURS.get(name, plt.get_cmap("tab10")(index % 10))


def run_overview(tables: dict[str, pd.DataFrame], title: str = "") -> Figure:
    """Four panels: conflict and containment per shift, mean client states, census and isolation."""
    steps, shifts = tables["steps"], tables["shifts"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), constrained_layout=True)
    daily = shifts.groupby("day")[["conflict_events", "containment_events"]].mean()
    ax = axes[0, 0]
    ax.plot(daily.index, daily["conflict_events"], label="conflict", color="#d95f02")
    ax.plot(daily.index, daily["containment_events"], label="containment", color="#7570b3")
    ax.set(title="Events per shift (daily mean)", xlabel="day", ylabel="events per shift")
    ax.legend()
    ax = axes[0, 1]
    day_states = steps.groupby("day")[["mean_skill", "mean_self_control", "mean_trust", "mean_independence"]].mean()
    for column in day_states:
        ax.plot(day_states.index, day_states[column], label=column.removeprefix("mean_").replace("_", " "))
    ax.set(title="Mean client state", xlabel="day", ylabel="0-1", ylim=(0, 1))
    ax.legend()
    ax = axes[1, 0]
    agitation = steps.groupby("day")["mean_agitation"].mean()
    ax.plot(agitation.index, agitation, color="#e7298a")
    ax.set(title="Mean agitation", xlabel="day", ylabel="0-1")
    ax = axes[1, 1]
    census = steps.groupby("day")[["census", "n_isolated"]].mean()
    ax.plot(census.index, census["census"], label="census", color="#1b9e77")
    ax.plot(census.index, census["n_isolated"], label="in seclusion", color="#000000")
    ax.set(title="Census and seclusion", xlabel="day", ylabel="clients")
    ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def comparison(means: pd.DataFrame, outcomes: list[str], by: str = "policy") -> Figure:
    """One panel per outcome: each group's mean with its 95% confidence interval."""
    n = len(outcomes)
    columns = min(3, n)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, constrained_layout=True)
    groups = list(dict.fromkeys(means[by]))
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        frame = means[means["outcome"] == outcome].set_index(by).reindex(groups)
        for k, group in enumerate(groups):
            row = frame.loc[group]
            low = row["mean"] - row["ci_low"] if pd.notna(row["ci_low"]) else 0.0
            high = row["ci_high"] - row["mean"] if pd.notna(row["ci_high"]) else 0.0
            ax.errorbar(
                [k], [row["mean"]], yerr=[[low], [high]], fmt="o", capsize=4, color=policy_colour(str(group), k)
            )
        ax.set_xticks(range(len(groups)), [str(g).replace("_", "\n") for g in groups], fontsize=8)
        ax.set_title(outcome.replace("_", " "), fontsize=10)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Policy comparison: mean and 95% CI over replicates")
    return fig

"""Figures (matplotlib) drawn from the tidy tables and the analysis tables; every function returns a Figure.

One module for every figure of the package: a run (``run_overview``, written by ``milieu-sim run``), a policy
comparison (``comparison``, written by ``milieu-sim compare``), a sweep's report (``time_series``,
``forest_rate_ratios``, ``forest_differences``, ``heatmap``, ``sensitivity_bars``), the validation
(``validation_figure``, written by ``milieu-sim validate``), and the figures of the notebooks (one client's
stay, the feedback network, floor plans, Morris screening).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from milieu_sim.experiments.outcomes import OUTCOMES

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


# --- a policy comparison (`milieu-sim compare`) ----------------------------------------------------------------
def unit_label(outcome: str) -> str:
    """The unit of an outcome as an axis label (from the outcome vocabulary; empty for an unknown name)."""
    unit = OUTCOMES[outcome].unit if outcome in OUTCOMES else ""
    return {"0-1": "0-1 scale", "share": "share, 0-1"}.get(unit, unit)


def _n_text(counts: pd.Series) -> str:
    """'n = 10' when every group has the same number of values, else 'n = 8-10'."""
    counts = counts.dropna().astype(int)
    if counts.empty:
        return "n = 0"
    low, high = int(counts.min()), int(counts.max())
    return f"n = {low}" if low == high else f"n = {low}-{high}"


def _interval_rows(ax, labels: list, estimates, lows, highs, colours: list, marker: str = "o") -> None:
    """One row per label, the first at the top: the point estimate and its 95% CI as a horizontal line."""
    y = np.arange(len(labels))[::-1]
    for yi, estimate, low, high, colour in zip(y, estimates, lows, highs, colours, strict=True):
        if pd.notna(low):
            ax.plot([low, high], [yi, yi], color=colour, linewidth=2)
        ax.plot([estimate], [yi], marker, color=colour, markersize=6 if marker == "o" else 5)
    ax.set_yticks(y, [str(label) for label in labels], fontsize=8)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.grid(axis="x", alpha=0.3)


def comparison(
    means: pd.DataFrame,
    outcomes: list[str],
    by: str = "policy",
    contrasts: pd.DataFrame | None = None,
    reference: str | None = None,
    days: int | None = None,
    warmup_days: int = 0,
) -> Figure:
    """Per outcome: each group's mean with its 95% CI over replicates (upper panel), and, given ``contrasts``
    (:func:`milieu_sim.analysis.statistics.paired_contrasts`), a forest plot of the paired differences
    against the reference group with their 95% CIs and a zero line (lower panel).

    ``means`` has columns ``by``, outcome, mean, ci_low, ci_high and n (replicates with a value); ``days`` and
    ``warmup_days`` (the run length and the days left out) go into the title.  Replicates of every group share
    their seeds (common random numbers), so the paired differences are much tighter than the marginal CIs.
    """
    groups = list(dict.fromkeys(means[by]))
    has_contrasts = contrasts is not None and len(contrasts) > 0
    if has_contrasts:
        reference = reference or next((g for g in groups if g not in set(contrasts[by])), groups[0])
    others = [g for g in groups if g != reference] if has_contrasts else []
    n = len(outcomes)
    columns = min(3, max(1, n))
    block_rows = max(1, math.ceil(n / columns))
    mean_height, forest_height = 0.32 * len(groups) + 0.9, 0.32 * len(others) + 0.9
    heights = [mean_height, forest_height] * block_rows if others else [mean_height] * block_rows
    fig = plt.figure(figsize=(4.6 * columns, sum(heights) + 0.9), layout="constrained")
    grid = fig.add_gridspec(len(heights), columns, height_ratios=heights)
    step = 2 if others else 1
    for k, outcome in enumerate(outcomes):
        row, column = divmod(k, columns)
        unit = unit_label(outcome)
        ax = fig.add_subplot(grid[step * row, column])
        frame = means[means["outcome"] == outcome].set_index(by).reindex(groups)
        colours = [policy_colour(str(g), i) for i, g in enumerate(groups)]
        _interval_rows(ax, groups, frame["mean"], frame["ci_low"], frame["ci_high"], colours)
        ax.set_xlabel(f"mean ({unit})" if unit else "mean", fontsize=8)
        ax.set_title(f"{outcome.replace('_', ' ')} ({_n_text(frame['n'])})", fontsize=10)
        if not others:
            continue
        ax = fig.add_subplot(grid[step * row + 1, column])
        diff = contrasts[contrasts["outcome"] == outcome].set_index(by).reindex(others)
        colours = [policy_colour(str(g), groups.index(g)) for g in others]
        _interval_rows(ax, others, diff["difference"], diff["ci_low"], diff["ci_high"], colours, marker="D")
        ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel(f"difference ({unit})" if unit else "difference", fontsize=8)
        ax.set_title(f"paired difference vs {reference} ({_n_text(diff['n_pairs'])} pairs)", fontsize=9)
        ax.set_gid("paired_differences")
    replicates = _n_text(means["n"]).removeprefix("n = ")
    length = f", {days} days each" if days else ""
    if days and warmup_days:
        length += f" (the first {warmup_days} not measured)"
    title = f"Policy comparison: mean and 95% CI over {replicates} replicates per policy{length}"
    if others:
        title += f"\nbelow each: paired difference against {reference} (95% CI; same seeds = common random numbers)"
    fig.suptitle(title, fontsize=11)
    return fig


# --- Figures used by the notebooks (agent-level data, the feedback network, experiments) -----------------------

STATE_NAMES: tuple[str, ...] = ("skill", "self_control", "agitation", "trust", "independence", "symptoms")
EXIT_COLOURS = {"completed": "#1b9e77", "dropout": "#d95f02", "transfer": "#7570b3", "still_present": "#999999"}
EVENT_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # (label on the y axis, event categories (or feedback kinds), colour)
    ("transgression", ("transgression",), "#a6761d"),
    ("conflict", ("conflict",), "#d95f02"),
    ("check-in", ("prevention",), "#b3de69"),
    ("de-escalation", ("de_escalation",), "#66a61e"),
    ("containment", ("containment", "isolation"), "#7570b3"),
    ("reinforcement", ("reinforcement",), "#1b9e77"),
    ("punishment, limits,\ndenied requests", ("punishment", "limit_setting", "restriction"), "#e7298a"),
    ("affirmation received", ("affirmation",), "#66c2a5"),
    ("correction received", ("correction",), "#fc8d62"),
    ("feedback sent", ("sent",), "#8da0cb"),
)


def shift_event_kinds(shifts: pd.DataFrame) -> Figure:
    """Mean conflict and containment events per shift, by kind and nursing shift (the ``shifts`` table)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
    for ax, prefix, title in zip(axes, ("conflict_", "containment_"), ("Conflict", "Containment"), strict=True):
        columns = [c for c in shifts.columns if c.startswith(prefix) and c != f"{prefix}events"]
        means = shifts.groupby("shift", observed=False)[columns].mean().T
        means.index = [c.removeprefix(prefix).replace("_", " ") for c in means.index]
        means.plot.barh(ax=ax, color=["#fdb863", "#b2abd2", "#5e3c99"][: means.shape[1]], width=0.8)
        ax.invert_yaxis()
        ax.set(title=f"{title} events per shift, by kind", xlabel="mean events per shift", ylabel="")
        ax.legend(title="shift", fontsize=8)
    return fig


def client_timeline(
    tables: dict[str, pd.DataFrame],
    client_id: int,
    start_day: float | None = None,
    end_day: float | None = None,
) -> Figure:
    """One stay on a time axis: the client's events (by category) and the feedback they received and sent.

    Reads the ``events``, ``feedback`` and ``stays`` tables; ``start_day`` and
    ``end_day`` (days since the start of the run) zoom in.  Each mark is one
    row of a table; incident marks are sized by severity.
    """
    events = tables["events"]
    feedback = tables["feedback"]
    stays = tables["stays"].set_index("client_id")
    mine = events[events["client_id"] == client_id]
    received = feedback[feedback["receiver_id"] == client_id]
    sent = feedback[(feedback["sender_id"] == client_id) & (feedback["sender_role"].astype(str) == "client")]
    fig, ax = plt.subplots(figsize=(12, 4), constrained_layout=True)
    for row, (_, keys, colour) in enumerate(EVENT_ROWS):
        if keys == ("sent",):
            steps, sizes = sent["step"], None
        elif keys[0] in ("affirmation", "correction"):
            rows = received[received["kind"].astype(str) == keys[0]]
            steps, sizes = rows["step"], None
        else:
            rows = mine[mine["category"].astype(str).isin(keys)]
            steps, sizes = rows["step"], 12 + 14 * rows["severity"].to_numpy()
        days = (steps.to_numpy(dtype=float) - 0.5) / 24.0
        ax.scatter(days, [row] * len(days), s=sizes if sizes is not None else 18, color=colour, alpha=0.75, lw=0)
    ax.set_yticks(range(len(EVENT_ROWS)), [label for label, _, _ in EVENT_ROWS], fontsize=8)
    ax.invert_yaxis()
    title = f"Client {client_id}"
    if client_id in stays.index:
        stay = stays.loc[[client_id]].iloc[-1]  # the latest stay (a readmitted person has several)
        admitted = float(stay["admitted_day"])
        if admitted >= 0:
            ax.axvline(admitted, color="black", linestyle="--", linewidth=1)
        if pd.notna(stay["exit_day"]):
            ax.axvline(float(stay["exit_day"]), color="black", linestyle="--", linewidth=1)
        reason = str(stay["exit_reason"])
        ending = "still on the unit" if reason == "still_present" else reason
        title += f": admitted on day {admitted:.1f}, {ending} after {stay['length_of_stay_days']:.1f} days"
        if admitted >= 0 or pd.notna(stay["exit_day"]):
            title += " (dashed: admission, exit)"
    ax.set(title=title, xlabel="days since the start of the run")
    if start_day is not None or end_day is not None:
        ax.set_xlim(start_day, end_day)
    ax.grid(axis="x", alpha=0.3)
    return fig


def client_states(states: pd.DataFrame, x: str = "day", by: str = "client_id") -> Figure:
    """Small multiples of client states over time: one panel per state, one line per client.

    ``states`` has one row per client and time, e.g. ``Client.state()`` recorded
    every hour, with the column ``x`` (time), ``by`` (the client) and any of
    skill, self_control, agitation, trust, independence, symptoms.
    """
    names = [s for s in STATE_NAMES if s in states.columns]
    columns = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, sharex=True)
    groups = list(states.groupby(by, sort=False)) if by in states.columns else [("", states)]
    for ax, name in zip(axes.flat, names, strict=False):
        for k, (key, frame) in enumerate(groups):
            ax.plot(frame[x], frame[name], color=plt.get_cmap("tab10")(k % 10), linewidth=1.2, label=str(key))
        ax.set(title=name.replace("_", " "), ylim=(0, 1), xlabel=x.replace("_", " "))
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    if 1 < len(groups) <= 10:
        axes.flat[0].legend(title=by, fontsize=7)
    fig.tight_layout()
    return fig


def stay_changes(
    stays: pd.DataFrame, states: tuple[str, ...] = ("skill", "self_control", "trust", "independence")
) -> Figure:
    """Each ended stay's state at admission (x) against at exit (y), coloured by how the stay ended."""
    ended = stays[stays["exit_reason"].astype(str) != "still_present"]
    fig, axes = plt.subplots(1, len(states), figsize=(3.3 * len(states), 3.4), squeeze=False, constrained_layout=True)
    for ax, state in zip(axes.flat, states, strict=True):
        for reason, frame in ended.groupby(ended["exit_reason"].astype(str)):
            ax.scatter(
                frame[f"{state}_at_admission"],
                frame[f"{state}_at_exit"],
                s=22,
                color=EXIT_COLOURS.get(reason, "black"),
                label=reason,
                alpha=0.8,
            )
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set(title=state.replace("_", " "), xlabel="at admission", ylabel="at exit", xlim=(0, 1), ylim=(0, 1))
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Ended stays: admission against exit (above the dotted line: improved)")
    return fig


def feedback_network(graph, title: str = "", seed: int = 1) -> Figure:
    """Draw a feedback graph (:func:`milieu_sim.analysis.network.feedback_graph`).

    Nodes: clients (circles) and staff (squares), sized by feedback received.
    Edges: width by the amount of feedback, colour from green (all
    affirmations) to red (all corrections).  The layout is seeded.
    """
    import networkx as nx

    fig, ax = plt.subplots(figsize=(8, 7), constrained_layout=True)
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no feedback", ha="center", va="center")
        ax.set_axis_off()
        return fig
    position = nx.spring_layout(graph, seed=seed, weight="weight", k=1.5 / max(1, graph.number_of_nodes()) ** 0.5)
    received = dict(graph.in_degree(weight="weight"))
    cmap = plt.get_cmap("RdYlGn_r")
    edges = list(graph.edges(data=True))
    if edges:
        share = [d["corrections"] / max(d["weight"], 1) for _, _, d in edges]
        nx.draw_networkx_edges(
            graph,
            position,
            ax=ax,
            edgelist=[(u, v) for u, v, _ in edges],
            width=[0.6 + 0.6 * d["weight"] for _, _, d in edges],
            edge_color=[cmap(0.1 + 0.8 * s) for s in share],
            arrowsize=9,
            alpha=0.7,
            connectionstyle="arc3,rad=0.12",
            node_size=[60 + 40 * received.get(v, 0) for v in graph],
        )
    for role, shape, colour in (("client", "o", "#80b1d3"), ("staff", "s", "#bebada")):
        nodes = [n for n, r in graph.nodes(data="role") if r == role]
        if nodes:
            nx.draw_networkx_nodes(
                graph,
                position,
                nodelist=nodes,
                node_shape=shape,
                node_color=colour,
                node_size=[60 + 40 * received.get(n, 0) for n in nodes],
                edgecolors="black",
                linewidths=0.5,
                ax=ax,
                label=role,
            )
    nx.draw_networkx_labels(graph, position, font_size=6, ax=ax)
    ax.legend(fontsize=8, loc="upper left", markerscale=0.5)
    ax.set_title(title or "Feedback network (green: affirmations, red: corrections; size: feedback received)")
    ax.set_axis_off()
    return fig


def feedback_balance(balance: pd.DataFrame) -> Figure:
    """Per client: peer feedback sent against received (:func:`milieu_sim.analysis.network.feedback_balance`).

    Left: counts over the stay, coloured by exit reason if the table has it.
    Right: the share of corrections among what each client sent and received.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    ax = axes[0]
    if "exit_reason" in balance.columns:
        for reason, frame in balance.groupby(balance["exit_reason"].astype(str)):
            ax.scatter(frame["sent"], frame["received"], s=26, alpha=0.8, color=EXIT_COLOURS.get(reason), label=reason)
        ax.legend(fontsize=7, title="stay")
    else:
        ax.scatter(balance["sent"], balance["received"], s=26, alpha=0.8)
    top = max(1, int(balance[["sent", "received"]].to_numpy().max()))
    ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1)
    ax.set(title="Feedback sent and received per client", xlabel="sent to peers", ylabel="received")
    ax = axes[1]
    sent = balance["sent"].replace(0, float("nan"))
    received = balance["received"].replace(0, float("nan"))
    shares = [
        (balance["corrections_sent"] / sent).dropna(),
        (balance["corrections_received"] / received).dropna(),
    ]
    ax.boxplot(shares, tick_labels=["sent", "received"])
    ax.set(title="Share of corrections, per client", ylabel="corrections / all feedback", ylim=(-0.05, 1.05))
    return fig


def feedback_over_stay(frame: pd.DataFrame) -> Figure:
    """Feedback sent and received per client-day by time since admission (:func:`network.feedback_over_stay`)."""
    fig, ax = plt.subplots(figsize=(7, 3.8), constrained_layout=True)
    width = float(frame["stay_day"].diff().dropna().iloc[0]) if len(frame) > 1 else 7.0
    middle = frame["stay_day"] + width / 2
    ax.plot(middle, frame["sent_per_client_day"], "o-", label="sent to peers", color="#8da0cb")
    ax.plot(middle, frame["received_per_client_day"], "s-", label="received", color="#fc8d62")
    ax2 = ax.twinx()
    ax2.bar(middle, frame["client_days"], width=width * 0.9, color="grey", alpha=0.15)
    ax2.set_ylabel("client-days observed (bars)", color="grey")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set(title="Peer feedback over the stay", xlabel="days since admission", ylabel="per client-day")
    ax.legend(fontsize=8)
    return fig


def paired_replicates(
    runs: pd.DataFrame, outcome: str, groups: list[str] | None = None, by: str = "policy", pair: str = "seed"
) -> Figure:
    """Common random numbers made visible: one line per seed across the groups (left), and the paired
    differences against the first group next to the spread of the raw values (right)."""
    groups = groups or list(dict.fromkeys(runs[by]))
    wide = runs.pivot_table(index=pair, columns=by, values=outcome, aggfunc="mean").reindex(columns=groups)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    ax = axes[0]
    for _, row in wide.iterrows():
        ax.plot(range(len(groups)), row.to_numpy(dtype=float), color="grey", alpha=0.5, marker="o", markersize=3)
    ax.set_xticks(range(len(groups)), [g.replace("_", "\n") for g in groups], fontsize=8)
    ax.set(title=f"{outcome.replace('_', ' ')}: one line per seed", ylabel=outcome)
    ax = axes[1]
    reference = groups[0]
    data, labels = [], []
    for group in groups[1:]:
        data += [wide[group].dropna().to_numpy(), (wide[group] - wide[reference]).dropna().to_numpy()]
        labels += [f"{group}\nraw", f"{group}\n- {reference}"]
    if data:
        ax.boxplot(data, tick_labels=labels)
        ax.tick_params(axis="x", labelsize=7)
    ax.axhline(0, color="grey", linestyle=":", linewidth=1)
    ax.set(title="raw values against paired differences", ylabel=outcome)
    return fig


def sweep_response(
    runs: pd.DataFrame, x: str, outcomes: list[str], by: str | None = None, level: float = 0.95
) -> Figure:
    """One panel per outcome: mean over replicates with a t-based CI band, against the swept parameter ``x``."""
    from milieu_sim.analysis.statistics import mean_ci

    columns = min(3, max(1, len(outcomes)))
    rows = max(1, -(-len(outcomes) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.3 * columns, 3.1 * rows), squeeze=False, constrained_layout=True)
    groups = list(runs.groupby(by, sort=False, observed=True)) if by else [("", runs)]
    for ax, outcome in zip(axes.flat, outcomes, strict=False):
        for k, (name, frame) in enumerate(groups):
            stats = [(value, *mean_ci(part[outcome], level)) for value, part in frame.groupby(x, sort=True)]
            table = pd.DataFrame(stats, columns=[x, "mean", "low", "high", "n"])
            colour = policy_colour(str(name), k)
            ax.plot(table[x], table["mean"], "o-", color=colour, label=str(name) if by else None)
            ax.fill_between(table[x], table["low"], table["high"], color=colour, alpha=0.2, linewidth=0)
        ax.set(title=outcome.replace("_", " "), xlabel=x)
    for ax in list(axes.flat)[len(outcomes) :]:
        ax.set_visible(False)
    if by:
        axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"Mean over replicates with {level:.0%} CI band")
    return fig


ZONE_COLOURS: dict[str, str] = {
    "wall": "#333333",
    "corridor": "#f0f0f0",
    "day_room": "#fdb462",
    "group_room": "#80b1d3",
    "dining_room": "#b3de69",
    "bedroom": "#fccde5",
    "nurses_station": "#bebada",
    "quiet_room": "#8dd3c7",
    "seclusion_room": "#fb8072",
}


def floor_plan(plan, title: str = "") -> Figure:
    """Draw a ward floor plan (``model.plan`` or :func:`milieu_sim.model.ward.parse_floor_plan`): zones and beds."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from milieu_sim.model.ward import ZONES

    cmap = ListedColormap([ZONE_COLOURS[z] for z in ZONES])
    fig, ax = plt.subplots(figsize=(max(4.0, 0.3 * plan.width + 2.5), max(2.5, 0.3 * plan.height + 0.8)))
    ax.imshow(plan.zone.T, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(ZONES) - 0.5, interpolation="nearest")
    x, y = plan.xy(plan.beds)
    ax.scatter(x, y, marker="s", s=28, color="white", edgecolors="black", linewidths=0.6, zorder=3)
    present = [ZONES[code] for code in sorted(set(plan.zone.reshape(-1).tolist()))]
    handles = [Patch(color=ZONE_COLOURS[z], label=z.replace("_", " ")) for z in present]
    handles.append(Patch(facecolor="white", edgecolor="black", label="bed"))
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"Floor plan '{plan.name}': {plan.width} x {plan.height} cells, {plan.n_beds} beds")
    fig.tight_layout()
    return fig


def morris_plane(indices: pd.DataFrame, outcomes: list[str] | None = None) -> Figure:
    """Morris screening: mu* (overall influence) against sigma (non-linearity and interactions), per outcome.

    ``indices`` has columns outcome, parameter, mu_star, sigma and optionally mu_star_conf (as
    :func:`milieu_sim.analysis.sensitivity.analyse_sensitivity` returns for a Morris design).
    """
    outcomes = outcomes or list(dict.fromkeys(indices["outcome"]))
    fig, axes = plt.subplots(
        1, len(outcomes), figsize=(4.3 * len(outcomes), 4.0), squeeze=False, constrained_layout=True
    )
    for ax, outcome in zip(axes.flat, outcomes, strict=True):
        frame = indices[indices["outcome"] == outcome]
        xerr = frame["mu_star_conf"] if "mu_star_conf" in frame.columns else None
        ax.errorbar(frame["mu_star"], frame["sigma"], xerr=xerr, fmt="o", color="#1b9e77", ecolor="#bbbbbb", capsize=2)
        for _, row in frame.iterrows():
            ax.annotate(
                row["parameter"], (row["mu_star"], row["sigma"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        reach = frame["mu_star"] + (0.0 if xerr is None else xerr.fillna(0.0))
        right = float(max(reach.max(), 1e-12)) * 1.25
        top = float(max(frame["sigma"].max(), 1e-12)) * 1.25
        ax.plot([0, max(right, top)], [0, max(right, top)], color="grey", linestyle=":", linewidth=1)
        ax.set(
            title=outcome.replace("_", " "),
            xlabel="mu* (mean |elementary effect|)",
            ylabel="sigma",
            xlim=(0, right),
            ylim=(0, top),
        )
    fig.suptitle("Morris screening (right: influential; above the dotted line: non-linear or interacting)")
    return fig


# --- a sweep's figures (the report) ---------------------------------------------------------------------------
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
    ax.set_xlabel("rate ratio against the reference (95% CI, paired)")
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
        colours = [policy_colour(str(g), k) for k, g in enumerate(frame[label])]
        _interval_rows(ax, list(frame[label]), frame["difference"], frame["ci_low"], frame["ci_high"], colours)
        ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
        unit = unit_label(outcome)
        ax.set_xlabel(f"difference ({unit})" if unit else "difference", fontsize=8)
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


# --- validation (`milieu-sim validate`) ----------------------------------------------------------------------------
PASS_COLOUR, FAIL_COLOUR, PUBLISHED_COLOUR, BAND_COLOUR = "#1b9e77", "#d95f02", "#333333", "#cccccc"


def _validation_limits(row: pd.Series) -> tuple[float, float]:
    """The y range of one pattern's panel: every finite value shown, with room for the open end of a band."""
    columns = ("target", "simulated", "ci_low", "ci_high", "tolerance_low", "tolerance_high")
    finite = [float(row[c]) for c in columns if pd.notna(row[c]) and np.isfinite(row[c])]
    low, high = min(finite), max(finite)
    span = high - low if high > low else max(abs(high), 1.0)
    open_below, open_above = not np.isfinite(row["tolerance_low"]), not np.isfinite(row["tolerance_high"])
    return low - span * (0.45 if open_below else 0.15), high + span * (0.45 if open_above else 0.15)


def validation_figure(table: pd.DataFrame) -> Figure:
    """One panel per pattern (a row of :func:`milieu_sim.analysis.validation.validate`): the published value, its
    tolerance band, and the simulated mean with its 95% CI over replicates, green within the band, orange outside.

    A band open on one side (``tolerance_low`` of -inf or ``tolerance_high`` of +inf) runs to the edge of the panel
    and is marked "no lower limit" or "no upper limit", so a value that passes is drawn inside its band.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    n = len(table)
    columns = min(4, max(1, n))
    rows = max(1, math.ceil(n / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns, 2.8 * rows + 0.7), squeeze=False, layout="constrained"
    )
    for ax, (_, row) in zip(axes.flat, table.iterrows(), strict=False):
        bottom, top = _validation_limits(row)
        ax.set_ylim(bottom, top)
        low = row["tolerance_low"] if np.isfinite(row["tolerance_low"]) else bottom
        high = row["tolerance_high"] if np.isfinite(row["tolerance_high"]) else top
        ax.axhspan(low, high, color=BAND_COLOUR, alpha=0.6, linewidth=0, gid="tolerance")
        for is_open, y, va, text in (
            (not np.isfinite(row["tolerance_low"]), bottom, "bottom", "no lower limit"),
            (not np.isfinite(row["tolerance_high"]), top, "top", "no upper limit"),
        ):
            if is_open:
                arrow = "\u2193" if va == "bottom" else "\u2191"
                ax.text(-0.5, y, f" {arrow} {text}", va=va, ha="left", fontsize=7, color="#666666", style="italic")
        ax.plot([0], [row["target"]], "s", color=PUBLISHED_COLOUR, markersize=7)
        passed = bool(row["within_tolerance"])
        colour, marker = (PASS_COLOUR, "o") if passed else (FAIL_COLOUR, "X")
        if pd.notna(row["ci_low"]) and np.isfinite(row["ci_low"]):
            error = [[row["simulated"] - row["ci_low"]], [row["ci_high"] - row["simulated"]]]
            ax.errorbar([1], [row["simulated"]], yerr=error, fmt=marker, color=colour, capsize=4, markersize=7)
        else:
            ax.plot([1], [row["simulated"]], marker, color=colour, markersize=7)
        ax.set_xticks([0, 1], ["published", "simulated"])
        ax.set_xlim(-0.6, 1.6)
        ax.set_title(row["pattern"].replace("_", " "), fontsize=9, color=PUBLISHED_COLOUR if passed else FAIL_COLOUR)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles = [
        Patch(color=BAND_COLOUR, alpha=0.6, label="stated tolerance band (an open end runs to the panel's edge)"),
        Line2D([], [], marker="s", linestyle="none", color=PUBLISHED_COLOUR, label="published value"),
        Line2D([], [], marker="o", linestyle="none", color=PASS_COLOUR, label="simulated mean: within tolerance"),
        Line2D([], [], marker="X", linestyle="none", color=FAIL_COLOUR, label="simulated mean: outside tolerance"),
        Line2D(
            [],
            [],
            marker="|",
            markersize=14,
            markeredgewidth=1.5,
            linestyle="none",
            color="#666666",
            label="95% CI of the simulated mean over replicates",
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    passed = int(table["within_tolerance"].sum())
    fig.suptitle(f"Validation: published patterns and the model's defaults ({passed} of {n} within tolerance)")
    return fig

"""The figure helpers: each returns a matplotlib Figure with the expected panels, from tables alone."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from milieu_sim import MilieuModel
from milieu_sim.analysis import figures, network
from milieu_sim.model.agents import Client
from milieu_sim.model.ward import builtin_map_text, parse_floor_plan


@pytest.fixture(scope="module")
def run():
    """A short therapeutic-milieu run (peer feedback on) and one client's states recorded hour by hour."""
    model = MilieuModel(policy="therapeutic_milieu", rng=3, days=14)
    client = model.agents_by_type[Client].to_list()[0]
    states = []
    for _ in range(24 * 14):
        model.step()
        if client in model.agents_by_type[Client]:
            states.append({"day": model.steps / 24, "client_id": client.unique_id, **client.state()})
    return model.tables(), pd.DataFrame(states), client.unique_id


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def test_shift_event_kinds_has_a_bar_per_kind_and_shift(run):
    tables, _, _ = run
    fig = figures.shift_event_kinds(tables["shifts"])
    assert isinstance(fig, Figure)
    conflict, containment = fig.axes[:2]
    assert len(conflict.patches) == 6 * 3 and len(containment.patches) == 5 * 3
    means = tables["shifts"].groupby("shift", observed=False)["conflict_self_harm"].mean()
    heights = sorted(p.get_width() for p in conflict.patches)
    for value in means:
        assert np.isclose(heights, value).any()


def test_client_timeline_marks_every_event_and_feedback_of_the_client(run):
    tables, _, client_id = run
    fig = figures.client_timeline(tables, client_id)
    ax = fig.axes[0]
    marks = sum(len(c.get_offsets()) for c in ax.collections)
    events = tables["events"]
    feedback = tables["feedback"]
    mine = int((events["client_id"] == client_id).sum())
    received = int((feedback["receiver_id"] == client_id).sum())
    sent = int(((feedback["sender_id"] == client_id) & (feedback["sender_role"] == "client")).sum())
    assert marks == mine + received + sent
    assert str(client_id) in ax.get_title()
    zoomed = figures.client_timeline(tables, client_id, start_day=1, end_day=2)
    assert zoomed.axes[0].get_xlim() == (1, 2)


def test_client_states_has_one_panel_per_state_and_one_line_per_client(run):
    _, states, _ = run
    fig = figures.client_states(states)
    axes = _visible_axes(fig)
    assert [ax.get_title() for ax in axes] == [s.replace("_", " ") for s in figures.STATE_NAMES]
    assert all(len(ax.lines) == 1 for ax in axes)
    two = pd.concat([states, states.assign(client_id=-1)])
    assert all(len(ax.lines) == 2 for ax in _visible_axes(figures.client_states(two)))


def test_stay_changes_plots_every_ended_stay(run):
    tables, _, _ = run
    stays = tables["stays"]
    ended = int((stays["exit_reason"] != "still_present").sum())
    fig = figures.stay_changes(stays)
    assert len(fig.axes) == 4
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == ended


def test_feedback_network_draws_every_node_and_edge(run):
    tables, _, _ = run
    graph = network.feedback_graph(tables["feedback"])
    fig = figures.feedback_network(graph)
    ax = fig.axes[0]
    nodes = sum(len(c.get_offsets()) for c in ax.collections if len(c.get_offsets()) and hasattr(c, "get_sizes"))
    assert nodes >= graph.number_of_nodes()
    empty = figures.feedback_network(network.feedback_graph(tables["feedback"].iloc[:0]))
    assert "no feedback" in [t.get_text() for t in empty.axes[0].texts]


def test_feedback_balance_and_over_stay_figures(run):
    tables, _, _ = run
    balance = network.feedback_balance(tables["feedback"], tables["stays"])
    fig = figures.feedback_balance(balance)
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert points == len(balance)
    over = network.feedback_over_stay(tables["feedback"], tables["stays"])
    fig = figures.feedback_over_stay(over)
    sent_line = fig.axes[0].lines[0]
    assert np.allclose(sent_line.get_ydata(), over["sent_per_client_day"], equal_nan=True)


def _paired_runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(3.0, 1.0, size=8)
    rows = []
    for policy, shift in (("usual_care", 0.0), ("therapeutic_milieu", -0.5), ("restrictive", 0.7)):
        for seed, base in enumerate(seed_effect):
            rows.append({"policy": policy, "seed": seed, "conflict_per_shift": base + shift + rng.normal(0, 0.05)})
    return pd.DataFrame(rows)


def test_paired_replicates_draws_a_line_per_seed_and_boxes_of_differences():
    runs = _paired_runs()
    fig = figures.paired_replicates(runs, "conflict_per_shift")
    lines, boxes = fig.axes
    assert len(lines.lines) == 8
    wide = runs.pivot(index="seed", columns="policy", values="conflict_per_shift")
    first = wide.loc[0, ["usual_care", "therapeutic_milieu", "restrictive"]].to_numpy()
    assert np.allclose(lines.lines[0].get_ydata(), first)
    assert [t.get_text() for t in boxes.get_xticklabels()] == [
        "therapeutic_milieu\nraw",
        "therapeutic_milieu\n- usual_care",
        "restrictive\nraw",
        "restrictive\n- usual_care",
    ]


def test_sweep_response_plots_the_mean_at_each_value():
    rows = [{"x": x, "group": g, "y": x * (1 + g) + e} for x in (0.1, 0.2, 0.3) for g in (0, 1) for e in (-0.01, 0.01)]
    runs = pd.DataFrame(rows)
    fig = figures.sweep_response(runs, "x", ["y"], by="group")
    lines = _visible_axes(fig)[0].lines
    assert len(lines) == 2
    assert np.allclose(lines[1].get_ydata(), [0.2, 0.4, 0.6])
    single = figures.sweep_response(runs[runs["group"] == 0], "x", ["y", "y"])
    assert len(_visible_axes(single)) == 2


def test_morris_plane_places_each_parameter_at_mu_star_and_sigma():
    indices = pd.DataFrame(
        {
            "outcome": ["a", "a", "b", "b"],
            "parameter": ["p", "q", "p", "q"],
            "mu_star": [1.0, 0.1, 0.5, 0.2],
            "sigma": [0.2, 0.05, 0.6, 0.1],
            "mu_star_conf": [0.1, 0.02, 0.1, 0.05],
        }
    )
    fig = figures.morris_plane(indices)
    assert len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["p", "q"]
    assert [t.xy for t in fig.axes[0].texts] == [(1.0, 0.2), (0.1, 0.05)]


def test_floor_plan_shows_the_zones_and_every_bed():
    plan = parse_floor_plan(builtin_map_text("default"), "default")
    fig = figures.floor_plan(plan)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    assert np.array_equal(ax.images[0].get_array(), plan.zone.T)
    assert len(ax.collections[0].get_offsets()) == plan.n_beds
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "seclusion room" in legend and "bed" in legend


# --- the figures of `compare` and `validate` -------------------------------------------------------------------
def _band_extent(ax) -> tuple[float, float]:
    """The y extent (data units) of the tolerance band drawn in a validation panel."""
    band = next(p for p in ax.patches if p.get_gid() == "tolerance")
    ys = band.get_patch_transform().transform(band.get_path().vertices)[:, 1]
    return float(ys.min()), float(ys.max())


VALIDATION_COLUMNS = ["pattern", "target", "simulated", "ci_low", "ci_high", "tolerance_low", "tolerance_high"]
VALIDATION_COLUMNS += ["within_tolerance"]


def test_validation_figure_draws_open_bands_to_the_edge_and_a_passing_value_inside():
    inf = float("inf")
    table = pd.DataFrame(
        [  # pattern, target, simulated, CI, tolerance, within
            ("containment_falls_more", -0.102, -0.31, -0.52, -0.10, -inf, 0.0, True),
            ("open_above", 0.6, 2.4, 2.0, 2.8, 0.5, inf, True),
            ("closed_failing", 6.0, 2.0, 1.5, 2.5, 4.0, 8.0, False),
        ],
        columns=VALIDATION_COLUMNS,
    )
    fig = figures.validation_figure(table)
    axes = _visible_axes(fig)
    assert len(axes) == 3
    for ax, (_, row) in zip(axes, table.iterrows(), strict=True):
        low, high = _band_extent(ax)
        bottom, top = ax.get_ylim()
        assert bottom <= row["ci_low"] and row["ci_high"] <= top  # the whole interval is on the panel
        assert (low <= row["simulated"] <= high) == row["within_tolerance"], row["pattern"]
        if np.isinf(row["tolerance_low"]):
            assert low <= bottom and high == row["tolerance_high"]
            assert any("no lower limit" in t.get_text() for t in ax.texts)
        if np.isinf(row["tolerance_high"]):
            assert high >= top and low == row["tolerance_low"]
            assert any("no upper limit" in t.get_text() for t in ax.texts)
    assert _band_extent(axes[2]) == (4.0, 8.0)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert "published value" in labels
    assert any("within tolerance" in label for label in labels) and any("outside" in label for label in labels)
    assert any("95% CI" in label for label in labels)


def _comparison_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    from milieu_sim.analysis.statistics import paired_contrasts, summary_table

    runs = _paired_runs()
    runs["containment_per_shift"] = runs["conflict_per_shift"] * 0.4
    outcomes = ["conflict_per_shift", "containment_per_shift"]
    return summary_table(runs, outcomes), paired_contrasts(runs, outcomes, reference="usual_care")


def test_comparison_figure_has_units_n_run_length_and_a_forest_of_paired_differences():
    means, contrasts = _comparison_tables()
    outcomes = ["conflict_per_shift", "containment_per_shift"]
    fig = figures.comparison(means, outcomes, contrasts=contrasts, days=60, warmup_days=7)
    forests = [ax for ax in fig.axes if ax.get_gid() == "paired_differences"]
    marginal = [ax for ax in fig.axes if ax.get_gid() != "paired_differences"]
    assert len(forests) == len(marginal) == len(outcomes)
    others = ["therapeutic_milieu", "restrictive"]
    for ax, outcome in zip(forests, outcomes, strict=True):
        rows = [t.get_text() for t in ax.get_yticklabels()]
        assert rows == others  # one row per non-reference policy
        assert ax.get_xlabel() == "difference (events per shift)"
        assert ax.get_title() == "paired difference vs usual_care (n = 8 pairs)"
        zero = [line for line in ax.lines if list(line.get_xdata()) == [0.0, 0.0]]
        assert zero, "no zero line"
        drawn = sorted(float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() == "D")
        expected = contrasts[contrasts["outcome"] == outcome]["difference"]
        assert np.allclose(drawn, sorted(expected))
    for ax, outcome in zip(marginal, outcomes, strict=True):
        assert ax.get_title() == f"{outcome.replace('_', ' ')} (n = 8)"
        assert ax.get_xlabel() == "mean (events per shift)"
        assert [t.get_text() for t in ax.get_yticklabels()] == ["usual_care", *others]
    title = fig.get_suptitle()
    assert "8 replicates per policy" in title and "60 days each" in title and "first 7" in title
    # paired differences are tighter than the marginal intervals (the seed effect cancels)
    width = contrasts["ci_high"] - contrasts["ci_low"]
    assert (width < (means["ci_high"] - means["ci_low"]).min()).all()


def test_comparison_figure_without_contrasts_shows_the_means_only():
    means, _ = _comparison_tables()
    fig = figures.comparison(means, ["conflict_per_shift"])
    assert len(fig.axes) == 1 and fig.axes[0].get_gid() != "paired_differences"

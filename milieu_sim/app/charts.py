"""The app's live charts: conflict and containment per shift, mean client states, census and isolation.

The per-shift series are the model's own ``shifts`` table (the same rows, days,
shifts and counts as ``model.tables()["shifts"]``), with the hourly mean states
of the ``steps`` table averaged over the same shifts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from milieu_sim.model.model import MilieuModel
from milieu_sim.model.state import SHIFTS

if TYPE_CHECKING:
    from milieu_sim.app.controls import Comparison

CLIMATE = {"climate_safety": "safety", "climate_cohesion": "cohesion", "climate_hold": "therapeutic hold"}
SERIES_COLOURS = {
    "climate_safety": "#2c7bb6",
    "climate_cohesion": "#1a9641",
    "climate_hold": "#fdae61",
    "conflict": "#d7191c",
    "containment": "#7b3294",
    "skill": "#2c7bb6",
    "self_control": "#fdae61",
    "trust": "#1a9641",
    "census": "#444444",
    "isolated": "#7b3294",
}

# Draw charts as SVG (vega-embed's default is a canvas), so that every marker is an element a test can count.
SVG = {"embedOptions": {"renderer": "svg", "actions": False}}


SHIFT_SERIES_COLUMNS = ("time", "day", "shift", "conflict", "containment", "skill", "self_control", "trust")
SHIFT_SERIES_COLUMNS += ("census", "isolated")


def shift_series(model: MilieuModel) -> pd.DataFrame:
    """Per nursing shift: the ``shifts`` table's conflict and containment events and census (the most clients
    present in any hour of the shift), with the shift's mean skill, self-control and trust and the most clients
    in seclusion at once (from the ``steps`` table); ``time`` is the start of the shift in ward days."""
    tables = model.tables()  # counted on the clock (a warm start's hours are not in them)
    steps, shifts = tables["steps"], tables["shifts"]
    if steps.empty:
        return pd.DataFrame(columns=list(SHIFT_SERIES_COLUMNS))
    # the steps' own day and shift (from the model's clock) name the rows of the shifts table
    states = (
        steps.groupby(["day", "shift"], observed=True, sort=False)
        .agg(
            skill=("mean_skill", "mean"),
            self_control=("mean_self_control", "mean"),
            trust=("mean_trust", "mean"),
            isolated=("n_isolated", "max"),
        )
        .reset_index()
    )
    frame = shifts.merge(states, on=["day", "shift"], how="left", validate="one_to_one", sort=False)
    frame = frame.rename(columns={"conflict_events": "conflict", "containment_events": "containment"})
    frame["time"] = frame["day"] + frame["shift"].cat.codes / len(SHIFTS)
    frame["shift"] = frame["shift"].astype(str)
    climate = [c for c in CLIMATE if c in frame.columns]  # the ward climate, where the model reports it
    return frame[[*SHIFT_SERIES_COLUMNS, *climate]]


def _switch_rules(model: MilieuModel) -> pd.DataFrame:
    """The policy switches of an app ward (its ``policy_log``), at the start of the hour of the switch."""
    log = getattr(model, "policy_log", [])
    rows = [{"time": (step - 1) / 24.0, "policy": name} for step, name in log if step > 0]
    return pd.DataFrame(rows, columns=["time", "policy"])


def _line_chart(data: pd.DataFrame, series: dict[str, str], title: str, y_title: str, rules: pd.DataFrame):
    long = data.melt(id_vars=["time"], value_vars=list(series), var_name="series", value_name="value")
    long["series"] = long["series"].map(series)
    colours = [SERIES_COLOURS[s] for s in series]
    lines = (
        alt.Chart(long)
        .mark_line(interpolate="step-after", strokeWidth=1.8)
        .encode(
            x=alt.X("time:Q", title="ward day"),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=list(series.values()), range=colours),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("time:Q", format=".2f", title="ward day"),
                "series:N",
                alt.Tooltip("value:Q", format=".2f"),
            ],
        )
    )
    layers = [lines]
    if len(rules):
        layers.append(
            alt.Chart(rules)
            .mark_rule(color="#000000", strokeDash=[4, 3])
            .encode(x="time:Q", tooltip=[alt.Tooltip("policy:N", title="switched to")])
        )
    return alt.layer(*layers).properties(title=title, width=430, height=120, usermeta=SVG)


def charts(model: MilieuModel) -> list[alt.LayerChart]:
    """The live charts: conflict and containment per shift; mean states; census and isolation; and the ward
    climate (safety, cohesion, therapeutic hold) where the model's tables have it."""
    data = shift_series(model)
    rules = _switch_rules(model)
    return [
        _line_chart(
            data,
            {"conflict": "conflict events", "containment": "containment events"},
            "Conflict and containment per shift",
            "events per shift",
            rules,
        ),
        _line_chart(
            data,
            {"skill": "skill", "self_control": "self-control", "trust": "trust"},
            "Mean client state",
            "mean (0-1)",
            rules,
        ),
        _line_chart(
            data,
            {"census": "census (most in the shift)", "isolated": "in seclusion (most at once)"},
            "Census and isolation",
            "clients",
            rules,
        ),
    ] + (
        [_line_chart(data, climate, "Ward climate (mean over the shift)", "0-1", rules)]
        if (climate := {c: label for c, label in CLIMATE.items() if c in data.columns})
        else []
    )


def comparison_chart(pair: Comparison) -> alt.VConcatChart:
    """Conflict and containment per day and mean skill, one colour per policy."""
    frames = []
    for name, ward in pair.models.items():
        data = shift_series(ward)
        if data.empty:
            continue
        daily = data.groupby("day").agg(conflict=("conflict", "sum"), containment=("containment", "sum"))
        daily["skill"] = data.groupby("day")["skill"].mean()
        frames.append(daily.reset_index().assign(policy=name))
    data = pd.concat(frames) if frames else pd.DataFrame(columns=["day", "conflict", "containment", "skill", "policy"])
    base = alt.Chart(data).encode(x=alt.X("day:Q", title="ward day"), color=alt.Color("policy:N", title="policy"))
    panels = [("conflict", "conflict events per day"), ("containment", "containment events per day")]
    panels.append(("skill", "mean skill"))
    return alt.vconcat(
        *[
            base.mark_line(point=True).encode(y=alt.Y(f"{column}:Q", title=title)).properties(width=480, height=90)
            for column, title in panels
        ]
    ).properties(usermeta=SVG)


# --- the charts as the browser draws them -------------------------------------------------------------
BUNDLED_VEGA_LITE = "5.2.0"  # the Vega-Lite of Solara's bundled front end (solara-assets; a test checks it)
VEGA_LITE_SCHEMA = f"https://vega.github.io/schema/vega-lite/v{BUNDLED_VEGA_LITE}.json"
NO_SHIFT_YET = "The charts start with the first hour on the clock: press Step, +1 day or Play."


def vega_spec(chart) -> dict:
    """The chart's Vega-Lite spec, labelled with the version the browser has (Altair writes its own, newer one,
    and vega-embed warns about the difference in the console); the charts use nothing newer."""
    spec = chart.to_dict()
    spec["$schema"] = VEGA_LITE_SCHEMA
    return spec


def stay_chart(trace: pd.DataFrame, lines: pd.DataFrame, exit_day: float | None = None) -> alt.LayerChart:
    """One client's state over the stay (from the app's trace), with incidents (red, sized by severity),
    containment (purple) and feedback received (green) as ticks along the bottom."""
    layers = []
    states = {"skill": "skill", "self_control": "self-control", "agitation": "agitation", "trust": "trust"}
    colours = {"skill": "#2c7bb6", "self_control": "#fdae61", "agitation": "#d7191c", "trust": "#1a9641"}
    long = trace.melt(id_vars=["day"], value_vars=list(states), var_name="state", value_name="value")
    long["state"] = long["state"].map(states)
    x = alt.X("day:Q", title="ward day")
    layers.append(
        alt.Chart(long, name="states")
        .mark_line(strokeWidth=1.6)
        .encode(
            x=x,
            y=alt.Y("value:Q", title="state (0-1)", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(states.values()), range=[colours[s] for s in states]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("day:Q", format=".2f", title="ward day"),
                "state:N",
                alt.Tooltip("value:Q", format=".2f"),
            ],
        )
    )
    if len(lines):
        marks = lines.assign(day=(lines["step"] - 1) / 24.0)
        marks["what"] = np.where(
            marks["kind"] == "incident",
            np.where(marks["contained"], "incident, contained", "incident"),
            np.where(marks["kind"] == "feedback", "feedback", "other"),
        )
        marks = marks[marks["what"] != "other"]
        marks["y"] = np.where(marks["what"] == "feedback", 0.02, 0.06)
    if len(lines) and len(marks):  # (an empty layer would give Vega an infinite extent)
        layers.append(
            alt.Chart(marks[["day", "y", "what", "severity", "text"]], name="happenings")
            .mark_point(filled=True, opacity=0.85)
            .encode(
                x=x,
                y=alt.Y("y:Q"),
                shape=alt.Shape("what:N", legend=alt.Legend(title=None, orient="bottom")),
                size=alt.Size("severity:Q", legend=None, scale=alt.Scale(domain=[0, 5], range=[30, 160])),
                tooltip=[alt.Tooltip("text:N", title="what happened")],
            )
        )
    if exit_day is not None and not np.isnan(exit_day):
        layers.append(alt.Chart(pd.DataFrame({"day": [exit_day]})).mark_rule(strokeDash=[4, 3]).encode(x=x))
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent", shape="independent")
        .properties(width="container", height=220, usermeta=SVG)
    )

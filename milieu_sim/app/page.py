"""The ward in the browser: a Mesa SolaraViz app for teaching milieu dynamics.

Run it with ``milieu-sim app``, which serves Solara's front end from the bundled
``solara-assets`` (no internet needed; plain ``solara run milieu_sim.app.page`` would
fetch parts of it from a CDN).  The page shows

* page 0, *the ward*: the floor plan with its zones, clients (circles, coloured
  by a state the user picks) and staff on duty (squares), rings where an
  incident, a de-escalation or a containment happened this hour, the clock
  (day, hour, shift, activity of the routine), the levers in force, a button
  to switch policy now, live charts (conflict and containment per shift, mean
  skill / self-control / trust, census and isolation), and the state and recent
  history of the client clicked on (hovering shows a tooltip);
* page 1, *two wards*: the same seed (the same clients arriving) under two
  policies, side by side.

The sidebar's model controls are generated from :data:`milieu_sim.model.params.SCHEMA`
(:func:`model_params`); they take effect on *Reset*, as in every Mesa app.  A
control left at its schema default does not override the setting or the
policy preset (which usually set their own values); the values in force are
listed beside the ward.  The mid-run switch is a :class:`ScheduledSwitch`
policy hook: it runs the starting preset until the chosen day, then calls
``model.set_policy``.

Importing this module only defines things; a model is built when a browser
session renders :func:`Page`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from milieu_sim.errors import ParameterError
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.params import SCHEMA, SETTING_NAMES, setting_defaults
from milieu_sim.model.policies import POLICY_LEVERS, PRESETS, Policy, resolve_policy
from milieu_sim.model.records import EVENT_KINDS, FEEDBACK_KINDS, KIND_NAMES, OUTCOMES, SENDER_ROLES
from milieu_sim.model.state import SHIFTS
from milieu_sim.model.ward import ZONES

# --- what the page shows ----------------------------------------------------------------------------
ZONE_COLOURS: dict[str, str] = {  # muted, so that the saturated client colours stand out
    "wall": "#555555",
    "corridor": "#f3f0e8",
    "day_room": "#e4d2b2",
    "group_room": "#c2dcb0",
    "dining_room": "#eec0b0",
    "bedroom": "#c6d4ee",
    "nurses_station": "#a4d4d0",
    "quiet_room": "#ddd0ee",
    "seclusion_room": "#9f8fcc",
}
ZONE_LABELS: dict[str, str] = {
    "wall": "wall",
    "corridor": "corridor / door",
    "day_room": "day room",
    "group_room": "group room",
    "dining_room": "dining room",
    "bedroom": "bedrooms",
    "nurses_station": "nurses' station",
    "quiet_room": "quiet room",
    "seclusion_room": "seclusion room",
}
assert set(ZONE_COLOURS) == set(ZONES) == set(ZONE_LABELS), "every zone needs a colour and a label"

# Client states the user can colour clients by: (label, True if a high value is good).
CLIENT_STATES: dict[str, tuple[str, bool]] = {
    "agitation": ("agitation", False),
    "self_control": ("self-control", True),
    "skill": ("skill (mean of the three goal skills)", True),
    "trust": ("trust", True),
}
STATE_SCHEME = "redyellowblue"  # red = a worrying value, blue = a good one, for every state
STAFF_COLOUR = "#1b2f5e"
CLIENT_STROKE = "#222222"
# What happened this hour, drawn as a ring around the client: event category -> (colour, shape, label).
EVENT_MARKERS: dict[str, tuple[str, str, str]] = {
    "conflict": ("#d7191c", "circle", "incident (conflict) this hour"),
    "de_escalation": ("#1a9641", "diamond", "verbal de-escalation this hour"),
    "containment": ("#7b3294", "square", "containment (PRN, observation, time-out, seclusion) this hour"),
}
SERIES_COLOURS = {
    "conflict": "#d7191c",
    "containment": "#7b3294",
    "skill": "#2c7bb6",
    "self_control": "#fdae61",
    "trust": "#1a9641",
    "census": "#444444",
    "isolated": "#7b3294",
}

# --- the controls, generated from the schema ----------------------------------------------------------
WARD_CONTROLS = ("setting", "policy", "staff_early", "staff_late", "staff_night")
LEVER_CONTROLS = (
    "reinforcement_rate",
    "punishment_rate",
    "peer_feedback",
    "de_escalation_skill",
    "isolation_threshold",
)
CONTROLS = WARD_CONTROLS + LEVER_CONTROLS
POLICY_DECIDES = "as the setting and policy set it"
BOOL_CHOICES = {POLICY_DECIDES: None, "on": True, "off": False}
SLIDER_STEPS = 100  # float sliders move in 1/100 of the schema range
SLIDER_WIDE = 50  # integer ranges wider than this get a teaching range (see _int_range)
SLIDER_SPAN = 4  # ... from the schema minimum to SLIDER_SPAN x the largest setting default
DEFAULT_SEED = 0
NO_SWITCH = "no switch"
SWITCH_DAY = 30  # the teaching example: restrictive -> therapeutic milieu on day 30
RECENT_HOURS = 48  # a clicked client's history covers the last two days
CELL_PX = 14  # size of one floor cell on screen
SMALL_CELL_PX = 8
# Draw charts as SVG (vega-embed's default is a canvas), so that every marker is an element a test can count.
SVG = {"embedOptions": {"renderer": "svg", "actions": False}}


def _label(name: str) -> str:
    """A control's label: the parameter's name in words, with its unit (the meaning is shown under the clock)."""
    param = SCHEMA[name]
    unit = f" ({param.unit})" if param.unit and param.unit not in ("0-1", "probability") else ""
    return f"{name.replace('_', ' ').capitalize()}{unit}"


def _int_range(name: str) -> tuple[int, int]:
    """Slider range of an integer parameter: the schema's, narrowed for very wide ranges.

    A slider from 1 to 1000 staff cannot be used in class; wide ranges end at
    ``SLIDER_SPAN`` times the largest default among the settings (the CLI and
    config files still accept the whole schema range).
    """
    param = SCHEMA[name]
    low, high = int(param.low), int(param.high)
    if high - low <= SLIDER_WIDE:
        return low, high
    largest = max(int(setting_defaults(s)[name]) for s in SETTING_NAMES)
    return low, min(high, max(low + 1, SLIDER_SPAN * largest))


def user_param(name: str) -> dict[str, Any]:
    """The Mesa user-parameter dict of one schema parameter (default, range and label from SCHEMA)."""
    param = SCHEMA[name]
    label = _label(name)
    if name == "policy":  # a preset name or a file path in the schema; the app offers the presets
        return {"type": "Select", "value": param.default, "values": list(PRESETS), "label": label}
    if param.choices is not None:
        return {"type": "Select", "value": param.default, "values": list(param.choices), "label": label}
    if param.kind is bool:
        return {"type": "Select", "value": POLICY_DECIDES, "values": list(BOOL_CHOICES), "label": label}
    if param.kind is int:
        low, high = _int_range(name)
        return {"type": "SliderInt", "value": param.default, "min": low, "max": high, "step": 1, "label": label}
    if param.kind is float:
        step = (param.high - param.low) / SLIDER_STEPS
        return {
            "type": "SliderFloat",
            "value": param.default,
            "min": param.low,
            "max": param.high,
            "step": step,
            "label": label,
        }
    raise TypeError(f"no control for parameter {name!r} of kind {param.kind.__name__}")


def model_params() -> dict[str, Any]:
    """The sidebar's model controls: the schema parameters in CONTROLS, the seed and the scheduled switch."""
    params: dict[str, Any] = {
        "seed": {"type": "InputText", "value": str(DEFAULT_SEED), "label": "Seed (same seed = same clients arriving)"},
    }
    params.update({name: user_param(name) for name in CONTROLS})
    last_day = max(int(setting_defaults(s)["days"]) for s in SETTING_NAMES)
    params["switch_to"] = {
        "type": "Select",
        "value": NO_SWITCH,
        "values": [NO_SWITCH, *PRESETS],
        "label": "Teaching scenario: switch to this policy mid-run",
    }
    params["switch_day"] = {
        "type": "SliderInt",
        "value": SWITCH_DAY,
        "min": 1,
        "max": last_day,
        "step": 1,
        "label": "... on this day",
    }
    return params


# --- the model as the app runs it ------------------------------------------------------------------
@dataclass
class ScheduledSwitch(Policy):
    """A policy hook: run this preset until ``switch_day``, then switch the unit to ``switch_to``."""

    switch_to: str = "therapeutic_milieu"
    switch_day: int = SWITCH_DAY

    def before_hour(self, model: MilieuModel) -> None:
        if model.hour.day >= self.switch_day:
            model.set_policy(self.switch_to)


def parse_seed(raw: Any) -> int:
    """The seed typed into the app, as a non-negative integer (one-line error otherwise)."""
    text = str(raw).strip()
    if not text.isdigit():
        raise ParameterError(f"parameter 'seed' = {raw!r} is not allowed; allowed: a non-negative integer")
    return int(text)


def overrides(controls: dict[str, Any]) -> dict[str, Any]:
    """The control values that override the setting and policy (those moved away from the schema default)."""
    chosen = {}
    for name, value in controls.items():
        param = SCHEMA[name]
        if param.kind is bool:
            value = BOOL_CHOICES.get(value, value)
            if value is None:
                continue
        elif value == param.default:
            continue
        chosen[name] = param.check(value)
    return chosen


class AppWard(MilieuModel):
    """MilieuModel built from the app's controls, remembering when its policy changed."""

    def __init__(
        self,
        setting: str = SCHEMA["setting"].default,
        policy: str | Policy = SCHEMA["policy"].default,
        seed: Any = DEFAULT_SEED,
        switch_to: str = NO_SWITCH,
        switch_day: int = SWITCH_DAY,
        scenario: Any = None,
        **controls: Any,
    ) -> None:
        # Mesa's Reset button passes a fresh (empty) mesa Scenario; the seed control decides the random numbers.
        del scenario
        self.policy_log: list[tuple[int, str]] = []  # (step, policy name) at the start and at every switch
        if switch_to != NO_SWITCH:
            start = resolve_policy(policy)
            resolve_policy(switch_to)  # a bad name fails now, not on the day of the switch
            policy = ScheduledSwitch(
                name=start.name, parameters=dict(start.parameters), switch_to=switch_to, switch_day=int(switch_day)
            )
        super().__init__(setting=setting, policy=policy, rng=parse_seed(seed), **overrides(controls))
        self.policy_log.append((0, self.policy.name))

    def set_policy(self, policy: str | Policy) -> None:
        super().set_policy(policy)
        self.policy_log.append((self.steps, self.policy.name))


def make_model(**values: Any) -> AppWard:
    """The model the page starts with: the controls' defaults (as after pressing Reset untouched)."""
    defaults = {name: spec["value"] for name, spec in model_params().items()}
    defaults.update(values)
    return AppWard(**defaults)


# --- data for the drawings ----------------------------------------------------------------------------
def floor_frame(model: MilieuModel) -> pd.DataFrame:
    """One row per floor cell: its position and zone."""
    zone = model.plan.zone
    xs, ys = np.meshgrid(np.arange(model.plan.width), np.arange(model.plan.height), indexing="ij")
    codes = zone.reshape(-1)
    names = np.asarray(ZONES)[codes]
    return pd.DataFrame(
        {
            "x": xs.reshape(-1) - 0.5,
            "x2": xs.reshape(-1) + 0.5,
            "y": ys.reshape(-1) - 0.5,
            "y2": ys.reshape(-1) + 0.5,
            "zone": [ZONE_LABELS[n] for n in names],
        }
    )


def client_frame(model: MilieuModel) -> pd.DataFrame:
    """One row per client on the grid, with the states the app can show."""
    rows = []
    for agent in model.clients_present:
        if agent.cell is None:
            continue
        x, y = agent.cell.coordinate
        state = agent.state()
        rows.append(
            {
                "x": x,
                "y": y,
                "client_id": int(state["client_id"]),
                "phase": state["phase"],
                "days_in_treatment": float(state["days_in_treatment"]),
                "isolated": "yes" if state["isolated"] else "no",
                **{name: round(float(state[name]), 3) for name in CLIENT_STATES},
            }
        )
    columns = ["x", "y", "client_id", "phase", "days_in_treatment", "isolated", *CLIENT_STATES]
    return pd.DataFrame(rows, columns=columns)


def staff_frame(model: MilieuModel) -> pd.DataFrame:
    """One row per member of staff on duty and on the floor."""
    rows = [
        {
            "x": a.cell.coordinate[0],
            "y": a.cell.coordinate[1],
            "staff_id": a.unique_id,
            "role": a.role.replace("_", " "),
            "de_escalation_skill": round(a.de_escalation_skill, 2),
        }
        for a in model.staff_agents
        if a.on_duty and a.cell is not None
    ]
    return pd.DataFrame(rows, columns=["x", "y", "staff_id", "role", "de_escalation_skill"])


def _events(model: MilieuModel, since_step: int) -> pd.DataFrame:
    """Events logged at or after ``since_step`` (from the model's event log)."""
    a = model.records.events.arrays()
    keep = a["step"] >= since_step
    kinds = [KIND_NAMES[k] for k in a["kind"][keep]]
    return pd.DataFrame(
        {
            "step": a["step"][keep],
            "client_id": a["client_id"][keep],
            "kind": kinds,
            "category": [EVENT_KINDS[k] for k in kinds],
            "severity": a["severity"][keep],
            "outcome_code": a["outcome"][keep],
        }
    )


def events_this_hour(model: MilieuModel) -> pd.DataFrame:
    """Incidents, de-escalations and containments of the last hour, placed at the client's cell."""
    columns = ["x", "y", "client_id", "category", "kind"]
    if model.steps == 0:
        return pd.DataFrame(columns=columns)
    events = _events(model, model.steps)
    events = events[events["category"].isin(list(EVENT_MARKERS))]
    where = {a.unique_id: a.cell.coordinate for a in model.clients_present if a.cell is not None}
    rows = [
        {"x": where[c][0], "y": where[c][1], "client_id": int(c), "category": cat, "kind": kind.replace("_", " ")}
        for c, cat, kind in zip(events["client_id"], events["category"], events["kind"], strict=True)
        if int(c) in where
    ]
    return pd.DataFrame(rows, columns=columns).drop_duplicates(["client_id", "category"])


def client_history(model: MilieuModel, client_id: int, hours: int = RECENT_HOURS) -> pd.DataFrame:
    """What happened to one client in the last ``hours`` hours (events and feedback received), newest first."""
    since = max(1, model.steps - hours + 1)
    events = _events(model, since)
    events = events[events["client_id"] == client_id]
    rows = [
        {"step": int(s), "what": f"{k.replace('_', ' ')} ({c.replace('_', ' ')})", "detail": OUTCOMES[o]}
        for s, k, c, o in zip(events["step"], events["kind"], events["category"], events["outcome_code"], strict=True)
    ]
    fb = model.records.feedback.arrays()
    mine = (fb["step"] >= since) & (fb["receiver_id"] == client_id)
    rows += [
        {"step": int(s), "what": f"{FEEDBACK_KINDS[k]} received", "detail": f"from {SENDER_ROLES[r]} {int(sid)}"}
        for s, k, r, sid in zip(
            fb["step"][mine], fb["kind"][mine], fb["sender_role"][mine], fb["sender_id"][mine], strict=True
        )
    ]
    frame = pd.DataFrame(rows, columns=["step", "what", "detail"])
    frame["when"] = [_clock_text(int(s)) for s in frame["step"]]
    return frame.sort_values("step", ascending=False, kind="stable").reset_index(drop=True)


def _clock_text(step: int) -> str:
    hour_abs = 7 + step - 1
    return f"day {(step - 1) // 24}, {hour_abs % 24:02d}:00"


SHIFT_SERIES_COLUMNS = ("time", "day", "shift", "conflict", "containment", "skill", "self_control", "trust")
SHIFT_SERIES_COLUMNS += ("census", "isolated")


def shift_series(model: MilieuModel) -> pd.DataFrame:
    """Per nursing shift: conflict and containment counts, mean states, census and isolation (from the steps log)."""
    steps = model.records.steps.frame(model.routine.activities)
    if steps.empty:
        return pd.DataFrame(columns=list(SHIFT_SERIES_COLUMNS))
    # the ward day starts at 07:00, so a night shift (23-07) already belongs to the day it started
    frame = (
        steps.assign(shift_code=steps["shift"].cat.codes)
        .groupby(["day", "shift_code"], sort=True)
        .agg(
            conflict=("conflict_events", "sum"),
            containment=("containment_events", "sum"),
            skill=("mean_skill", "mean"),
            self_control=("mean_self_control", "mean"),
            trust=("mean_trust", "mean"),
            census=("census", "mean"),
            isolated=("n_isolated", "max"),
        )
        .reset_index()
    )
    frame["time"] = frame["day"] + frame["shift_code"] / 3.0
    frame["shift"] = [SHIFTS[c] for c in frame["shift_code"]]
    return frame[list(SHIFT_SERIES_COLUMNS)]


# --- charts -----------------------------------------------------------------------------------------
def ward_chart(
    model: MilieuModel, colour_by: str, selected: int | None = None, cell_px: int = CELL_PX, legends: bool = True
) -> alt.LayerChart:
    """The floor plan, clients, staff and this hour's events as one layered Altair chart.

    The marks are named (``clients``, ``staff``, ``events_*``) so that a browser
    test can count them in the SVG.
    """
    width, height = model.plan.width, model.plan.height
    x_scale = alt.Scale(domain=[-0.5, width - 0.5], nice=False, zero=False)
    y_scale = alt.Scale(domain=[-0.5, height - 0.5], nice=False, zero=False)
    no_axis = None
    zones = [ZONE_LABELS[z] for z in ZONES]
    floor = (
        alt.Chart(floor_frame(model), name="floor")
        .mark_rect(strokeWidth=0)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=no_axis),
            x2="x2:Q",
            y=alt.Y("y:Q", scale=y_scale, axis=no_axis),
            y2="y2:Q",
            color=alt.Color(
                "zone:N",
                scale=alt.Scale(domain=zones, range=[ZONE_COLOURS[z] for z in ZONES]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("zone:N", title="zone")],
        )
    )
    label, high_is_good = CLIENT_STATES[colour_by]
    clients = client_frame(model)
    state_scale = alt.Scale(domain=[0, 1], scheme=STATE_SCHEME, reverse=not high_is_good)
    client_tooltip = [
        alt.Tooltip("client_id:Q", title="client"),
        alt.Tooltip("phase:N"),
        alt.Tooltip("days_in_treatment:Q", title="days on the ward", format=".1f"),
        *[alt.Tooltip(f"{s}:Q", title=CLIENT_STATES[s][0].split(" (")[0], format=".2f") for s in CLIENT_STATES],
        alt.Tooltip("isolated:N", title="in seclusion"),
    ]
    client_layer = (
        alt.Chart(clients, name="clients")
        .mark_point(shape="circle", filled=True, size=cell_px * cell_px * 0.9, stroke=CLIENT_STROKE, strokeWidth=1.4)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=no_axis),
            y=alt.Y("y:Q", scale=y_scale, axis=no_axis),
            color=alt.Color(
                f"{colour_by}:Q",
                scale=state_scale,
                legend=alt.Legend(title=f"client {label.split(' (')[0]}", orient="bottom", gradientLength=160)
                if legends
                else None,
            ),
            tooltip=client_tooltip,
        )
    )
    staff_layer = (
        alt.Chart(staff_frame(model), name="staff")
        .mark_point(shape="square", filled=True, size=cell_px * cell_px * 0.8, color=STAFF_COLOUR, opacity=1)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=no_axis),
            y=alt.Y("y:Q", scale=y_scale, axis=no_axis),
            tooltip=[
                alt.Tooltip("staff_id:Q", title="staff"),
                alt.Tooltip("role:N"),
                alt.Tooltip("de_escalation_skill:Q", title="de-escalation skill"),
            ],
        )
    )
    layers = [floor, staff_layer, client_layer]
    events = events_this_hour(model)
    for category, (colour, shape, _text) in EVENT_MARKERS.items():
        subset = events[events["category"] == category]
        layers.append(
            alt.Chart(subset, name=f"events_{category}")
            .mark_point(shape=shape, filled=False, size=cell_px * cell_px * 2.6, color=colour, strokeWidth=3)
            .encode(
                x=alt.X("x:Q", scale=x_scale, axis=no_axis),
                y=alt.Y("y:Q", scale=y_scale, axis=no_axis),
                tooltip=[alt.Tooltip("client_id:Q", title="client"), alt.Tooltip("kind:N", title="what")],
            )
        )
    if selected is not None:
        chosen = clients[clients["client_id"] == selected]
        layers.append(
            alt.Chart(chosen, name="selected")
            .mark_point(shape="circle", filled=False, size=cell_px * cell_px * 3.5, color="#000000", strokeWidth=2)
            .encode(x=alt.X("x:Q", scale=x_scale, axis=no_axis), y=alt.Y("y:Q", scale=y_scale, axis=no_axis))
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(width=width * cell_px, height=height * cell_px, usermeta=SVG)
        .configure_view(strokeWidth=0)
    )


def _switch_rules(model: MilieuModel) -> pd.DataFrame:
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
            x=alt.X("time:Q", title="day"),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=list(series.values()), range=colours),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("time:Q", format=".2f", title="day"),
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
    """The live charts: conflict and containment per shift; mean states; census and isolation."""
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
            {"census": "census", "isolated": "in seclusion"},
            "Census and isolation",
            "clients",
            rules,
        ),
    ]


# --- per-session state (solara.reactive values are per browser session) ----------------------------------
colour_by = solara.reactive("agitation")
selected_client: solara.Reactive[int | None] = solara.reactive(None)


@dataclass(eq=False)  # compared by identity, so that a new Comparison always redraws the page
class Comparison:
    """Two wards with the same seed and controls under two policies."""

    models: dict[str, AppWard] = field(default_factory=dict)

    @classmethod
    def start(cls, base: AppWard, policies: tuple[str, str]) -> Comparison:
        user = {k: v for k, v in base.user_parameters.items() if k not in POLICY_LEVERS}
        models = {
            p: AppWard(setting=base.setting, policy=p, seed=base.seed, **_as_controls(user))
            for p in dict.fromkeys(policies)
        }
        return cls(models)


def _as_controls(user: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in user.items():
        if SCHEMA[name].kind is bool:
            value = "on" if value else "off"
        out[name] = value
    return out


comparison: solara.Reactive[Comparison | None] = solara.reactive(None)
comparison_policies = solara.reactive(("restrictive", "therapeutic_milieu"))


def _advance(model: MilieuModel, hours: int) -> None:
    for _ in range(hours):
        if not model.running:
            break
        model.step()


# --- components ----------------------------------------------------------------------------------
@solara.component
def Legend():
    """What the colours and shapes mean."""
    swatch = "display:inline-block;width:14px;height:14px;margin-right:4px;vertical-align:middle;"
    zone_items = "".join(
        f'<span style="margin-right:10px;white-space:nowrap"><span style="{swatch}background:{ZONE_COLOURS[z]};'
        f'border:1px solid #888"></span>{ZONE_LABELS[z]}</span>'
        for z in ZONES
    )
    marks = [
        f'<span style="{swatch}border-radius:50%;background:#fdae61;border:1px solid {CLIENT_STROKE}"></span>'
        f"client (colour: {CLIENT_STATES[colour_by.value][0]}; red = worrying, blue = good)",
        f'<span style="{swatch}background:{STAFF_COLOUR}"></span>staff on duty',
        *[
            f'<span style="{swatch}border:3px solid {c};border-radius:{"50%" if s == "circle" else "0"};'
            f'{"transform:rotate(45deg);" if s == "diamond" else ""}"></span>{text}'
            for c, s, text in EVENT_MARKERS.values()
        ],
    ]
    mark_items = "".join(f'<div style="white-space:nowrap">{m}</div>' for m in marks)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<div class="milieu-legend" style="font-size:13px;line-height:1.7">'
        f"<div>{zone_items}</div><div>{mark_items}</div></div>",
    )


@solara.component
def ClientDetails(model: MilieuModel):
    """State and recent history of the clicked client."""
    client_id = selected_client.value
    if client_id is None:
        solara.Text("Click a client to see their state and recent history; hover for a summary.")
        return
    agent = next((a for a in model.clients_present if a.unique_id == client_id), None)
    if agent is None:
        solara.Text(f"Client {client_id} has left the ward.")
        return
    state = agent.state()
    rows = "".join(
        f"<tr><td>{k.replace('_', ' ')}</td><td>{v:.2f}</td></tr>" if isinstance(v, float) else ""
        for k, v in state.items()
        if k != "days_in_treatment"  # shown in the heading
    )
    history = client_history(model, client_id)
    lines = "".join(
        f"<tr><td>{w}</td><td>{what}</td><td>{detail}</td></tr>"
        for w, what, detail in zip(history["when"], history["what"], history["detail"], strict=True)
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="client-details" style="font-size:13px"><b>Client {client_id}</b>, {state["phase"]} phase, '
            f"{state['days_in_treatment']:.1f} days on the ward"
            f"{', in the seclusion room' if state['isolated'] else ''}"
            f'<table style="margin:4px 0">{rows}</table>'
            f"<b>Last {RECENT_HOURS} hours</b>"
            f'<table style="margin-top:2px">{lines or "<tr><td>nothing recorded</td></tr>"}</table></div>'
        ),
    )


def _clock_lines(model: MilieuModel) -> list[str]:
    h = model.hour
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[h.weekday]
    if model.steps == 0:
        when = "Day 0, 07:00 (not started: press Step or Play)"
        activity = "-"
    else:
        when = f"Day {h.day} · {weekday} {h.hour:02d}:00"
        activity = model.routine.activities[h.activity].replace("_", " ")
    return [
        when,
        f"shift: {SHIFTS[h.shift]} · activity: {activity}",
        f"policy: {model.policy.name}",
        f"census {model.census} · staff on duty {model.staff_on_duty} · in seclusion {model.n_isolated}",
    ]


@solara.component
def WardView(model: MilieuModel):
    """Page 0, left: clock, ward drawing with legend, clicked client."""
    update_counter.get()
    lines = _clock_lines(model)
    with solara.Column(gap="4px", style={"padding": "4px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<div class="ward-clock" style="font-size:20px;font-weight:600">{lines[0]}</div>'
                f'<div class="ward-shift" style="font-size:15px">{lines[1]}</div>'
                f'<div class="ward-policy" style="font-size:15px">{lines[2]}</div>'
                f'<div class="ward-counts" style="font-size:14px">{lines[3]}</div>'
            ),
        )
        solara.ToggleButtonsSingle(
            value=colour_by,
            values=list(CLIENT_STATES),
        )

        def on_click(datum):
            if datum and "client_id" in datum and "phase" in datum:
                selected_client.set(int(datum["client_id"]))

        solara.FigureAltair(ward_chart(model, colour_by.value, selected_client.value), on_click=on_click)
        Legend()
        ClientDetails(model)


def levers_table(model: MilieuModel) -> str:
    """The sidebar's parameters with the values in force and their meaning (from SCHEMA), as HTML."""
    rows = []
    for name in CONTROLS[2:]:
        value = model.p[name]
        shown = ("on" if value else "off") if isinstance(value, bool) else f"{value:g}"
        rows.append(
            f"<tr><td style='white-space:nowrap;padding-right:8px'>{_label(name)}</td>"
            f"<td style='padding-right:8px'><b>{shown}</b></td><td>{SCHEMA[name].meaning}</td></tr>"
        )
    return (
        '<div class="levers" style="font-size:12px"><b>In force</b> (sidebar controls left at their default follow '
        "the setting and the policy; changes apply on Reset)"
        f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>'
    )


@solara.component
def TeachingPanel(model: MilieuModel):
    """Page 0, right: switch policy now, jump ahead, the levers in force, and the live charts."""
    update_counter.get()
    target = solara.use_reactive("therapeutic_milieu")

    def switch_now():
        model.set_policy(target.value)
        force_update()

    def ahead(hours: int):
        _advance(model, hours)
        force_update()

    with solara.Column(gap="4px", style={"padding": "4px"}):
        with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Switch policy to", values=list(PRESETS), value=target, style={"max-width": "220px"})
            solara.Button("Switch now", color="primary", on_click=switch_now, classes=["switch-now"])
            solara.Button("+1 day", on_click=lambda: ahead(24), classes=["plus-day"])
            solara.Button("+1 week", on_click=lambda: ahead(24 * 7), classes=["plus-week"])
        if isinstance(model.policy, ScheduledSwitch):  # until the switch (or a switch by hand) replaces it
            solara.Text(f"Scheduled: switch to {model.policy.switch_to} on day {model.policy.switch_day}.")
        solara.HTML(tag="div", unsafe_innerHTML=levers_table(model))
        for chart in charts(model):
            solara.FigureAltair(chart)


@solara.component
def TwoWards(model: MilieuModel):
    """Page 1: the same seed under two policies, side by side."""
    update_counter.get()
    first, second = comparison_policies.value
    pair = comparison.value

    def start():
        comparison.set(Comparison.start(model, (first, second)))

    def ahead(hours: int):
        if pair is None:
            return
        for ward in pair.models.values():
            _advance(ward, hours)
        comparison.set(Comparison(dict(pair.models)))

    with solara.Column(gap="6px", style={"padding": "4px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML="<b>Two wards, one seed.</b> The same clients arrive on both wards (the main ward's "
            "seed, setting and staffing); only the policy differs.",
        )
        with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select(
                "Left ward",
                values=list(PRESETS),
                value=first,
                on_value=lambda v: comparison_policies.set((v, second)),
                style={"max-width": "200px"},
            )
            solara.Select(
                "Right ward",
                values=list(PRESETS),
                value=second,
                on_value=lambda v: comparison_policies.set((first, v)),
                style={"max-width": "200px"},
            )
            solara.Button("Start both", color="primary", on_click=start, classes=["start-both"])
            solara.Button("+1 day", on_click=lambda: ahead(24), disabled=pair is None, classes=["both-plus-day"])
            solara.Button("+1 week", on_click=lambda: ahead(24 * 7), disabled=pair is None, classes=["both-plus-week"])
        if pair is None:
            solara.Text("Press 'Start both' to build the two wards.")
            return
        with solara.Row(gap="12px", style={"flex-wrap": "nowrap"}):
            for name, ward in pair.models.items():
                with solara.Column(gap="2px", classes=["side-ward"], style={"flex": "0 0 auto", "width": "auto"}):
                    lines = _clock_lines(ward)
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=(
                            f'<div class="side-title" style="font-weight:600">{name}</div>'
                            f'<div class="side-clock">{lines[0]}</div><div>{lines[3]}</div>'
                        ),
                    )
                    solara.FigureAltair(
                        ward_chart(ward, colour_by.value, cell_px=SMALL_CELL_PX, legends=False),
                    )
        solara.FigureAltair(comparison_chart(pair))


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
    base = alt.Chart(data).encode(x=alt.X("day:Q", title="day"), color=alt.Color("policy:N", title="policy"))
    panels = [("conflict", "conflict events per day"), ("containment", "containment events per day")]
    panels.append(("skill", "mean skill"))
    return alt.vconcat(
        *[
            base.mark_line(point=True).encode(y=alt.Y(f"{column}:Q", title=title)).properties(width=480, height=90)
            for column, title in panels
        ]
    ).properties(usermeta=SVG)


@solara.component
def Page():
    """The app: a fresh ward for every browser session, controls and views around it."""
    model = solara.use_memo(make_model, [])
    return SolaraViz(
        model,
        components=[(WardView, 0), (TeachingPanel, 0), (TwoWards, 1)],
        model_params=model_params(),
        name="milieu-sim: the ward",
        play_interval=150,
    )


page = Page

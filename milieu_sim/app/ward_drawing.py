"""Drawing the ward: the floor plan, clients, staff on duty and this hour's events, as one Altair chart.

The data behind the drawing are small tables built from the model's public
state (agents and the event log): :func:`floor_frame`, :func:`client_frame`,
:func:`staff_frame`, :func:`events_this_hour`; :func:`client_history` is what
happened to one client lately.  ``milieu-sim animate`` draws the same tables
with matplotlib.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from milieu_sim.app.charts import SVG
from milieu_sim.app.clock import step_label
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.records import EVENT_KINDS, FEEDBACK_KINDS, KIND_NAMES, OUTCOMES, SENDER_ROLES
from milieu_sim.model.ward import ZONES

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
RECENT_HOURS = 48  # a clicked client's history covers the last two days
CELL_PX = 14  # size of one floor cell on screen
SMALL_CELL_PX = 8


# --- the tables behind the drawing -------------------------------------------------------------------
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
    if model.steps == model.clock_start:
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
    """What happened to one client in the last ``hours`` hours (events and feedback received), newest first.

    ``step`` counts hours on the clock (as in the tables: a warm start's hours are not counted)."""
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
    frame["step"] -= model.clock_start
    frame["when"] = [step_label(int(s)) for s in frame["step"]]
    return frame.sort_values("step", ascending=False, kind="stable").reset_index(drop=True)


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

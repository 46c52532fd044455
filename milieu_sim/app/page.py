"""The ward in the browser: the pages and layout of a Mesa SolaraViz app for teaching milieu dynamics.

Run it with ``milieu-sim app``, which serves Solara's front end from the bundled
``solara-assets`` (no internet needed; plain ``solara run milieu_sim.app.page`` would
fetch parts of it from a CDN).  The page shows

* page 0, *the ward*: the floor plan with its zones, clients (circles, coloured
  by a state the user picks) and staff on duty (squares), rings where an
  incident, a de-escalation or a containment happened this hour
  (:mod:`milieu_sim.app.ward_drawing`), the clock (:mod:`milieu_sim.app.clock`:
  ward day, weekday, hour, shift, activity of the routine), the levers in force,
  a button to switch policy now, live charts (:mod:`milieu_sim.app.charts`:
  conflict and containment per shift, mean skill / self-control / trust, census
  and isolation), and the state and recent history of the client clicked on
  (hovering shows a tooltip);
* page 1, *two wards*: the same seed (the same clients arriving) under two
  policies, side by side.

The sidebar's model controls are generated from the parameter schema
(:mod:`milieu_sim.app.controls`); they take effect on *Reset*, as in every Mesa app.

Importing this module only defines things; a model is built when a browser
session renders :func:`Page`.
"""

from __future__ import annotations

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from milieu_sim.app.charts import charts, comparison_chart
from milieu_sim.app.clock import clock_lines
from milieu_sim.app.controls import Comparison, ScheduledSwitch, levers_table, make_model, model_params
from milieu_sim.app.ward_drawing import (
    CLIENT_STATES,
    CLIENT_STROKE,
    EVENT_MARKERS,
    RECENT_HOURS,
    SMALL_CELL_PX,
    STAFF_COLOUR,
    ZONE_COLOURS,
    ZONE_LABELS,
    client_history,
    ward_chart,
)
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.policies import PRESETS
from milieu_sim.model.ward import ZONES

# --- per-session state (solara.reactive values are per browser session) ----------------------------------
colour_by = solara.reactive("agitation")
selected_client: solara.Reactive[int | None] = solara.reactive(None)
comparison: solara.Reactive[Comparison | None] = solara.reactive(None)
comparison_policies = solara.reactive(("restrictive", "therapeutic_milieu"))


def _advance(model: MilieuModel, hours: int) -> None:
    """Run the ward ``hours`` hours on (fewer if it ends)."""
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


@solara.component
def WardView(model: MilieuModel):
    """Page 0, left: clock, ward drawing with legend, clicked client."""
    update_counter.get()
    lines = clock_lines(model)
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
                    lines = clock_lines(ward)
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

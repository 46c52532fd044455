"""The ward in the browser: the pages and layout of the app for teaching milieu dynamics (Mesa + Solara).

Run it with ``milieu-sim app`` (or ``milieu-sim app --lesson NAME``), which serves Solara's front end
from the bundled ``solara-assets`` (no internet needed).  Four named pages:

* **The ward**: the floor plan with its zones, clients (circles, coloured by a state the user picks)
  and staff on duty (squares), rings where an incident, a de-escalation or a containment happened this
  hour (:mod:`milieu_sim.app.ward_drawing`), the clock (:mod:`milieu_sim.app.clock`), the clicked
  client's state and recent history; the levers in force, a button to switch policy now, +1 day and
  +1 week, live charts (:mod:`milieu_sim.app.charts`); and *the ward's story*: the last happenings in
  plain words (:mod:`milieu_sim.analysis.story`), filterable by client, kind and severity, a click on a
  line showing that client on the map.
* **Two wards**: the same seed (the same clients arriving) under two policies (or a lesson's two
  wards), side by side.
* **A client's stay**: one client's timeline (state hour by hour, incidents, containment, feedback),
  counts and story, how the stay ended, and the client panel with every plan review.

The clicked client's details on the ward page and the page of a stay show the *client panel*
(:mod:`milieu_sim.app.client_panel`): the client's profile (diagnosis, legal status, risk histories,
support outside), their treatment plan (goals, targets, current values, status) and its reviews.
* **Lessons**: the shipped lessons (:mod:`milieu_sim.app.lessons`) and the one opened with
  ``--lesson``; a lesson sets up the ward (and two wards), then steps through its days with text,
  what to watch and questions.

The ward opens already running (a warm start of ``WARM_START_DAYS`` days, a sidebar control): what a
class sees in the first week is the policy, not the start-up.  The sidebar's controls are generated
from the parameter schema (:mod:`milieu_sim.app.controls`) and take effect on *Reset*.  The app bar
has a presenter mode (large type) and exports: the current view as PNG, the run's tables as a zip
(:mod:`milieu_sim.app.export`).

Importing this module only defines things; a model is built when a browser session renders :func:`Page`.
"""

from __future__ import annotations

import json
import os

import markdown
import pandas as pd
import solara
import solara.lab
from mesa.visualization.solara_viz import ModelController, ModelCreator
from mesa.visualization.utils import force_update, update_counter

from milieu_sim.analysis.story import STORY_KINDS, stay_story, story
from milieu_sim.app.charts import NO_SHIFT_YET, charts, comparison_chart, stay_chart, vega_spec
from milieu_sim.app.client_panel import client_panel, client_panel_html
from milieu_sim.app.clock import clock_lines
from milieu_sim.app.controls import (
    AppWard,
    Comparison,
    ScheduledSwitch,
    levers_table,
    make_model,
    model_params,
)
from milieu_sim.app.export import tables_zip, view_png
from milieu_sim.app.lessons import Lesson, lesson_controls, load_lesson, shipped_lessons
from milieu_sim.app.ward_drawing import (
    CLIENT_STATES,
    CLIENT_STROKE,
    EVENT_MARKERS,
    RECENT_HOURS,
    STAFF_COLOUR,
    ZONE_COLOURS,
    ZONE_LABELS,
    client_history,
    ward_chart,
)
from milieu_sim.model.policies import PRESETS
from milieu_sim.model.ward import ZONES

PAGES = ("The ward", "Two wards", "A client's stay", "Lessons")
WARD, TWO_WARDS, STAY, LESSONS = range(len(PAGES))
LESSON_ENV = "MILIEU_SIM_LESSON"  # set by `milieu-sim app --lesson` (cli/app.py)
STORY_HOURS = 72  # the feed covers the last three days on the clock
STORY_LINES = 40
ALL = "everyone"
EVERYTHING = "everything"
PLAY_INTERVAL_MS = 150
NOTHING_YET = "Nothing has happened on the clock yet: press Step, +1 day or Play."

CSS = """
.milieu-app .ward-drawing .vega-embed, .milieu-app .side-ward .vega-embed { width: 100%; }
.milieu-app .ward-drawing svg.marks, .milieu-app .side-ward svg.marks { width: 100% !important; height: auto !important; }
.milieu-app .story-line { text-transform: none !important; letter-spacing: normal !important; white-space: normal;
  height: auto !important; min-height: 24px; justify-content: flex-start; text-align: left; padding: 2px 6px !important;
  font-weight: 400; font-size: 13px; }
.milieu-app .story-line .v-btn__content { white-space: normal; flex: 1 1 auto; justify-content: flex-start; }
.milieu-app .client-panel td, .milieu-app .client-panel th { padding: 0 10px 0 0; text-align: left; }
.milieu-app .client-panel table { margin: 2px 0 6px 0; }
.milieu-app .empty-chart { color: #555; font-style: italic; padding: 8px 0; }
.milieu-app.presenter { font-size: 20px; }
.milieu-app.presenter .ward-clock { font-size: 40px !important; }
.milieu-app.presenter .ward-shift, .milieu-app.presenter .ward-policy, .milieu-app.presenter .ward-counts { font-size: 24px !important; }
.milieu-app.presenter .story-line { font-size: 20px; }
.milieu-app.presenter .client-details, .milieu-app.presenter .milieu-legend, .milieu-app.presenter .levers { font-size: 18px !important; }
.milieu-app.presenter .lesson-text, .milieu-app.presenter .stay-summary { font-size: 22px; }
.milieu-app.presenter .v-tab { font-size: 20px; }
"""  # noqa: E501

# --- per-session state (solara.reactive values are per browser session) ----------------------------------
colour_by = solara.reactive("agitation")
selected_client: solara.Reactive[int | None] = solara.reactive(None)
comparison: solara.Reactive[Comparison | None] = solara.reactive(None)
comparison_policies = solara.reactive(("restrictive", "therapeutic_milieu"))
current_page = solara.reactive(WARD)
presenter = solara.reactive(False)
story_client = solara.reactive(ALL)
story_kind = solara.reactive(EVERYTHING)
story_severity = solara.reactive(0)
open_lesson: solara.Reactive[Lesson | None] = solara.reactive(None)
lesson_step = solara.reactive(0)


def _advance(model: AppWard, hours: int) -> None:
    """Run the ward ``hours`` hours on (fewer if it ends)."""
    for _ in range(hours):
        if not model.running:
            break
        model.step()


@solara.component
def Chart(chart, on_click=None):
    """An Altair chart drawn by the browser's bundled Vega-Lite (labelled with its version: no console warning)."""
    return solara.widgets.VegaLite.element(
        spec=vega_spec(chart), on_click=on_click, listen_to_click=on_click is not None, on_hover=None,
        listen_to_hover=False,
    )  # fmt: skip


def Markdown(text: str):
    """Markdown as HTML (solara.Markdown would load KaTeX from a CDN, which the offline app does not have)."""
    return solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(text), classes=["markdown"])


# --- The ward -------------------------------------------------------------------------------------------
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
def ClientDetails(model: AppWard):
    """State and recent history of the clicked client."""
    update_counter.get()  # (a component whose arguments did not change is redrawn only when this changes)
    client_id = selected_client.value
    if client_id is None:
        solara.Text("Click a client (or a line of the story) to see their state and recent history.")
        return
    agent = next((a for a in model.clients_present if a.unique_id == client_id), None)
    if agent is None:
        solara.Text(f"Client {client_id} is not on the ward now; 'A client's stay' has their whole stay.")
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
    at_home = agent.cell is None and not state["isolated"]
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="client-details" style="font-size:13px"><b>Client {client_id}</b>, {state["phase"]} phase, '
            f"{state['days_in_treatment']:.1f} days in treatment"
            f"{', in the seclusion room' if state['isolated'] else ''}{', at home now' if at_home else ''}"
            f'<table style="margin:4px 0">{rows}</table>'
            f"<b>Last {RECENT_HOURS} hours</b>"
            f'<table style="margin-top:2px">{lines or "<tr><td>nothing recorded</td></tr>"}</table>'
            f"{client_panel_html(client_panel(model, client_id))}</div>"
        ),
    )
    solara.Button("Whole stay", text=True, on_click=lambda: current_page.set(STAY), classes=["open-stay"])


@solara.component
def ClockPanel(model: AppWard):
    update_counter.get()  # (a component whose arguments did not change is redrawn only when this changes)
    lines = clock_lines(model)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="ward-clock" style="font-size:20px;font-weight:600">{lines[0]}</div>'
            f'<div class="ward-shift" style="font-size:15px">{lines[1]}</div>'
            f'<div class="ward-policy" style="font-size:15px">{lines[2]}</div>'
            f'<div class="ward-counts" style="font-size:14px">{lines[3]}</div>'
        ),
    )


@solara.component
def WardView(model: AppWard):
    """The ward, left: clock, ward drawing with legend, clicked client."""
    update_counter.get()
    with solara.Column(gap="4px", style={"padding": "4px"}):
        ClockPanel(model)
        solara.ToggleButtonsSingle(value=colour_by, values=list(CLIENT_STATES))

        def on_click(datum):
            if datum and "client_id" in datum and "phase" in datum:
                selected_client.set(int(datum["client_id"]))

        with solara.Div(classes=["ward-drawing"]):
            Chart(ward_chart(model, colour_by.value, selected_client.value), on_click=on_click)
        Legend()
        ClientDetails(model)


@solara.component
def TeachingPanel(model: AppWard):
    """The ward, right: switch policy now, jump ahead, the levers in force, and the live charts."""
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
        if model.hours_run == 0:
            solara.HTML(tag="div", unsafe_innerHTML=f'<div class="empty-chart">{NO_SHIFT_YET}</div>')
        else:
            for chart in charts(model):
                Chart(chart)
        solara.HTML(tag="div", unsafe_innerHTML=levers_table(model))


@solara.component
def StoryFeed(model: AppWard):
    """The ward's story: the last happenings in plain words, newest first; a click shows the client on the map."""
    update_counter.get()
    tables = model.tables() if model.hours_run else None
    present = sorted(a.unique_id for a in model.clients_present)
    clients = [ALL, *(f"Client {c}" for c in present)]
    if story_client.value not in clients:
        clients.append(story_client.value)
    kinds = {EVERYTHING: None, **{label: key for key, label in STORY_KINDS.items()}}

    def show(client_id: int):
        selected_client.set(client_id)
        current_page.set(WARD)

    with solara.Column(gap="2px", classes=["story-feed"], style={"padding": "4px"}):
        solara.HTML(tag="div", unsafe_innerHTML="<b>The ward's story</b> (the last three days, newest first)")
        with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Client", values=clients, value=story_client, style={"max-width": "160px"})
            solara.Select("What", values=list(kinds), value=story_kind, style={"max-width": "330px"})
            solara.SliderInt("Incidents of severity at least", value=story_severity, min=0, max=5)
        if tables is None:
            solara.HTML(tag="div", unsafe_innerHTML=f'<div class="empty-chart">{NOTHING_YET}</div>')
            return
        client = None if story_client.value == ALL else int(story_client.value.removeprefix("Client "))
        kind = kinds.get(story_kind.value)
        lines = story(
            tables,
            client=client,
            kinds=None if kind is None else (kind,),
            min_severity=int(story_severity.value),
            since_step=max(1, model.hours_run - STORY_HOURS + 1),
            last=STORY_LINES,
        )
        if lines.empty:
            solara.Text("Nothing of this kind in the last three days.")
        for row in lines.iloc[::-1].itertuples():
            solara.Button(
                f"Day {row.day}, {row.text}",
                text=True,
                classes=["story-line", f"story-client-{row.client_id}"],
                on_click=lambda c=int(row.client_id): show(c),
            )


@solara.component
def WardPage(model: AppWard):
    with solara.Row(gap="12px", style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        with solara.Column(style={"flex": "1 1 520px", "min-width": "360px"}):
            WardView(model)
        with solara.Column(style={"flex": "1 1 460px", "min-width": "360px"}):
            TeachingPanel(model)
            StoryFeed(model)


# --- Two wards ------------------------------------------------------------------------------------------
@solara.component
def TwoWards(model: AppWard):
    """The same seed under two policies (or a lesson's two wards), side by side."""
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
            "seed, setting, staffing and warm start); only the policy differs (or what a lesson sets).",
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
                with solara.Column(gap="2px", classes=["side-ward"], style={"flex": "1 1 0", "min-width": "0"}):
                    lines = clock_lines(ward)
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=(
                            f'<div class="side-title" style="font-weight:600">{name}</div>'
                            f'<div class="side-clock">{lines[0]}</div><div>{lines[3]}</div>'
                        ),
                    )
                    Chart(ward_chart(ward, colour_by.value, legends=False))
        if all(ward.hours_run == 0 for ward in pair.models.values()):
            solara.HTML(tag="div", unsafe_innerHTML=f'<div class="empty-chart">{NO_SHIFT_YET}</div>')
        else:
            Chart(comparison_chart(pair))


# --- A client's stay ---------------------------------------------------------------------------------------
STANDARD_TABLES = ("steps", "shifts", "events", "feedback", "stays")


def _stay_label(row) -> str:
    when = f"admitted day {row.admitted_day:.0f}"
    end = "still here" if str(row.exit_reason) == "still_present" else f"{row.exit_reason}, day {row.exit_day:.0f}"
    return f"Client {int(row.client_id)} ({when}, {end})"


@solara.component
def StayPage(model: AppWard):
    """One client's stay: the timeline, the counts, the story, how the stay ended."""
    update_counter.get()
    tables = model.tables()
    stays = tables["stays"].sort_values("admitted_day", ascending=False)
    labels = {_stay_label(row): int(row.client_id) for row in stays.itertuples()}
    by_id = {v: k for k, v in labels.items()}
    chosen = selected_client.value
    with solara.Column(gap="6px", style={"padding": "4px"}, classes=["stay-page"]):
        solara.Select(
            "Client",
            values=list(labels),
            value=by_id.get(chosen),
            on_value=lambda label: selected_client.set(labels[label]),
            style={"max-width": "420px"},
        )
        if chosen is None or chosen not in by_id:
            solara.Text("Pick a client here, or click one on the map or in the ward's story.")
            return
        told = stay_story(tables, chosen, trace=model.trace.frame(chosen))
        summary = " ".join(told["summary"])
        counts = told["counts"]
        solara.HTML(tag="div", unsafe_innerHTML=f'<div class="stay-summary" style="font-size:15px">{summary}</div>')
        count_rows = [
            ("incidents", counts["incidents"]),
            ("containment", counts["containments"]),
            ("talked down by staff", counts["talked_down"]),
            ("affirmations received", counts["affirmations_received"]),
            ("corrections received", counts["corrections_received"]),
            ("feedback given to peers", counts["feedback_given"]),
        ]
        solara.HTML(
            tag="div",
            unsafe_innerHTML='<table class="stay-counts" style="font-size:13px">'
            + "".join(f"<tr><td>{k}</td><td><b>{v}</b></td></tr>" for k, v in count_rows)
            + "</table>",
        )
        trace = told["trace"]
        if trace is not None and len(trace):
            exit_day = told["stay"]["exit_day"]
            Chart(stay_chart(trace, told["lines"], None if pd.isna(exit_day) else float(exit_day)))
        else:
            solara.HTML(tag="div", unsafe_innerHTML='<div class="empty-chart">No hour of this stay was traced.</div>')
        panel = client_panel_html(client_panel(model, chosen), reviews=None)  # the profile, the plan, every review
        solara.HTML(tag="div", unsafe_innerHTML=f'<div class="stay-panel" style="font-size:13px">{panel}</div>')
        for name, frame in tables.items():  # follow-up: whatever other tables the model adds
            if name in STANDARD_TABLES or name == "plans" or "client_id" not in frame.columns:
                continue
            mine = frame[frame["client_id"] == chosen]
            if len(mine):
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f"<b>{name.replace('_', ' ').capitalize()}</b>"
                    + mine.to_html(index=False, classes=f"stay-extra stay-{name}", border=0, float_format="%.2f"),
                )
        lines = told["lines"]
        items = "".join(f"<li>Day {d}, {t}</li>" for d, t in zip(lines["day"], lines["text"], strict=True))
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>What happened</b> ({len(lines)} entries)"
            f'<ul class="stay-lines" style="font-size:13px;max-height:420px;overflow:auto">{items}</ul>',
        )


# --- Lessons ----------------------------------------------------------------------------------------------
def opening_lesson() -> Lesson | None:
    """The lesson `milieu-sim app --lesson` asked for (the command line checked it), or None."""
    raw = os.environ.get(LESSON_ENV)
    if not raw:
        return None
    try:
        return load_lesson(json.loads(raw)["source"])
    except (ValueError, KeyError, OSError):
        return None


def _newest_client(model: AppWard) -> int | None:
    present = model.clients_present
    return min(present, key=lambda a: a.days_in_treatment).unique_id if present else None


def start_lesson(lesson: Lesson, ward: solara.Reactive) -> None:
    """Build the lesson's ward (and two wards), follow its client, show its first page."""
    model = make_model(**lesson_controls(lesson))
    ward.set(model)
    comparison.set(Comparison.of_wards(model, lesson.compare) if lesson.compare else None)
    selected_client.set(_newest_client(model) if lesson.follow == "newest" else None)
    story_client.set(ALL)
    open_lesson.set(lesson)
    lesson_step.set(0)


def take_step(lesson: Lesson, model: AppWard) -> None:
    """The lesson's next step: switch if it says so, run its days (both wards of a comparison too)."""
    step = lesson.steps[lesson_step.value]
    if step.switch_to:
        model.set_policy(step.switch_to)
    _advance(model, 24 * step.days)
    pair = comparison.value
    if pair is not None:
        for ward in pair.models.values():
            _advance(ward, 24 * step.days)
        comparison.set(Comparison(dict(pair.models)))
    lesson_step.set(lesson_step.value + 1)
    force_update()


@solara.component
def LessonsPage(ward: solara.Reactive):
    update_counter.get()
    lesson = open_lesson.value
    with solara.Column(gap="8px", style={"padding": "4px", "max-width": "980px"}, classes=["lessons-page"]):
        if lesson is None:
            Markdown(
                "Each lesson sets up a ward (and sometimes two side by side), then takes the class through its "
                "days, with what to watch and questions. Teachers can write their own (docs/lessons.md)."
            )
            names = shipped_lessons()
            first = opening_lesson()
            listed = [load_lesson(n) for n in names]
            if first is not None and first.name not in names:
                listed.insert(0, first)
            for item in listed:
                with solara.Card(item.title, classes=["lesson-card", f"lesson-{item.name}"]):
                    minutes = f" (about {item.minutes} minutes)" if item.minutes else ""
                    solara.Text(item.summary + minutes)
                    solara.Button(
                        "Open this lesson",
                        color="primary",
                        classes=["open-lesson"],
                        on_click=lambda item=item: start_lesson(item, ward),
                    )
            return
        model = ward.value
        done = lesson_step.value
        with solara.Row(style={"align-items": "center"}):
            solara.HTML(tag="h2", unsafe_innerHTML=lesson.title, classes=["lesson-title"])
            solara.Button("Close lesson", text=True, on_click=lambda: open_lesson.set(None), classes=["close-lesson"])
        with solara.Div(classes=["lesson-text"]):
            Markdown(lesson.text or lesson.summary)
        if lesson.watch:
            Markdown("**What to watch**\n\n" + "\n".join(f"- {w}" for w in lesson.watch))
        for k, step in enumerate(lesson.steps[:done]):
            with solara.Card(f"Step {k + 1}: {step.title}", classes=["lesson-step-done"]):
                Markdown(step.text)
        solara.Text(f"{clock_lines(model)[0]} · {clock_lines(model)[2]}", classes=["lesson-clock"])
        with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
            if done < len(lesson.steps):
                step = lesson.steps[done]
                switch = f", switch to {step.switch_to}" if step.switch_to else ""
                solara.Button(
                    f"Step {done + 1}: {step.title} (+{step.days} days{switch})",
                    color="primary",
                    classes=["lesson-next"],
                    on_click=lambda: take_step(lesson, ward.value),
                )
            else:
                solara.Text("The lesson's steps are done.", classes=["lesson-finished"])
            for page in (WARD, TWO_WARDS, STAY) if lesson.compare else (WARD, STAY):
                solara.Button(f"Go to {PAGES[page]}", text=True, on_click=lambda page=page: current_page.set(page))
        solara.Text(
            "The sidebar's Reset builds a ward from the sidebar's controls, not the lesson's; to start the lesson "
            "again, close it and open it again.",
            style={"font-size": "12px", "color": "#555"},
        )
        if lesson.questions:
            Markdown("**Questions for students**\n\n" + "\n".join(f"1. {q}" for q in lesson.questions))


# --- the app ------------------------------------------------------------------------------------------------
@solara.component
def Exports(model: AppWard):
    """Download the current view as PNG and the run's tables as a zip."""
    update_counter.get()
    page = current_page.value
    hours = model.hours_run

    def png() -> bytes:
        if page == TWO_WARDS and comparison.value is not None:
            return view_png(model, "two", pair=comparison.value)
        if page == STAY and selected_client.value is not None:
            chosen = selected_client.value
            tables = model.tables()
            if chosen in set(tables["stays"]["client_id"]):
                return view_png(model, "stay", told=stay_story(tables, chosen, trace=model.trace.frame(chosen)))
        return view_png(model, "ward")

    view = {TWO_WARDS: "two-wards", STAY: "client-stay"}.get(page, "ward")
    solara.FileDownload(
        png, filename=f"milieu-{view}-hour{hours}.png", label="View as PNG", mime_type="image/png",
        icon_name="mdi-image",
    )  # fmt: skip
    solara.FileDownload(
        lambda: tables_zip(model), filename=f"milieu-tables-hour{hours}.zip", label="Tables (zip)",
        mime_type="application/zip",
    )  # fmt: skip


@solara.component
def Page():
    """The app: a ward for every browser session (already running), controls and four named pages."""
    first_lesson = solara.use_memo(opening_lesson, [])
    initial = solara.use_memo(lambda: make_model(**(lesson_controls(first_lesson) if first_lesson else {})), [])
    ward = solara.use_reactive(initial)
    model_parameters = solara.use_reactive({})
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)

    def open_first():
        if first_lesson is not None and open_lesson.value is None:
            start_lesson(first_lesson, ward)
            current_page.set(LESSONS)

    solara.use_effect(open_first, [])
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle("milieu-sim: the ward")
        solara.Button(
            "Presenter" if not presenter.value else "Normal type",
            text=True,
            icon_name="mdi-presentation",
            on_click=lambda: presenter.set(not presenter.value),
            classes=["presenter-toggle"],
        )
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            ModelController(
                ward,
                model_parameters=model_parameters,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
        with solara.Card("Export"):
            Exports(ward.value)
        with solara.Card("Model parameters"):
            ModelCreator(ward, model_params(), model_parameters=model_parameters)
    classes = ["milieu-app", "presenter"] if presenter.value else ["milieu-app"]
    with solara.Column(classes=classes, style={"width": "100%"}):  # noqa: SIM117 (an element per line)
        with solara.lab.Tabs(value=current_page.value, on_value=current_page.set, lazy=True):
            with solara.lab.Tab(PAGES[WARD]):
                WardPage(ward.value)
            with solara.lab.Tab(PAGES[TWO_WARDS]):
                TwoWards(ward.value)
            with solara.lab.Tab(PAGES[STAY]):
                StayPage(ward.value)
            with solara.lab.Tab(PAGES[LESSONS]):
                LessonsPage(ward)


page = Page

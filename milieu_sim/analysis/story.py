"""The ward's story in plain words, and one client's stay, from a run's tables.

Two readers share this module: the browser app (the story feed, the page of one
client's stay) and ``milieu-sim story --client ID RUN_DIR`` (Markdown and a
figure from a run's saved tables).  Everything here reads the tidy tables of
``MilieuModel.tables()`` (docs/outputs.md), never the model's internals, so a
saved run tells the same story as a live one.

* :func:`story` turns the ``events`` and ``feedback`` tables into one line per
  happening, e.g. ``Tue 14:00, free time: Client 7 shouted at Client 3 (severity
  2). Staff 2 talked them down.``: an incident and the de-escalation and
  containment that answered it (same hour, same client) are one line.
* :func:`stay_story` is one client's stay: the ``stays`` row, the lines of
  :func:`story` about the client (as the actor, the target or the receiver of
  feedback), the feedback given and received, and the state over time where a
  trace of it exists (:class:`StateTrace`, recorded by the app or by a replay of
  the seeded run, since the saved tables hold states only at admission and
  exit).

Columns that other parts of the model may add are read when present: the
incident's ``target_role`` / ``target_id`` (whom it was aimed at) and
``witnesses`` (how many saw it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.model.state import START_HOUR

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # day 0 of a run is a Monday

# What an incident looks like in words: (with a target: "shouted at {target}", without one).
INCIDENT_WORDS: dict[str, tuple[str, str]] = {
    "refusing_rules": ("refused to do as {target} asked", "refused the rules"),
    "verbal_aggression": ("shouted at {target}", "was verbally aggressive"),
    "absconding": ("tried to get past {target} and leave the ward", "tried to leave the ward"),
    "aggression_objects": ("threw things at {target}", "damaged property"),
    "self_harm": ("harmed themself", "harmed themself"),
    "physical_aggression": ("attacked {target}", "attacked someone"),
}
CONTAINMENT_WORDS: dict[str, str] = {
    "prn_medication": "gave them PRN medication",
    "special_observation": "put them on special observation",
    "time_out": "sent them to the quiet room (time-out)",
    "seclusion": "secluded them",
    "restraint": "restrained them",
}
ANTECEDENT_WORDS: dict[str, str] = {
    "limit_setting": "after a limit was set",
    "denied_request": "after a request was denied",
    "peer_conflict": "after a clash with someone",
    "punishment": "after a punishment",
    "crowding": "in a crowded room",
    "turnover": "after a change on the ward",
    "bad_news": "after bad news",
}
# Staff responses and other events, one sentence each ({client}, {staff}).
OTHER_WORDS: dict[str, str] = {
    "praise": "{staff} praised {client}.",
    "token_reward": "{staff} gave {client} a token.",
    "restriction": "{staff} restricted {client}'s privileges (a punishment).",
    "limit_setting": "{staff} set a limit with {client}.",
    "denied_request": "{staff} denied {client} a request.",
    "seclusion_release": "{client} came out of seclusion.",
    "verbal_de_escalation": "{staff} talked {client} down.",
}
# Kinds a reader can filter the feed by (the story's own words for groups of event kinds).
STORY_KINDS: dict[str, str] = {
    "incident": "incidents and what staff did",
    "containment": "containment without an incident (PRN offered, observation continued)",
    "feedback": "peer and staff feedback",
    "reinforcement": "praise and tokens",
    "punishment": "restrictions, limits and denied requests",
    "seclusion_release": "seclusion ended",
}
_KIND_OF_CATEGORY = {
    "conflict": "incident",
    "containment": "containment",
    "de_escalation": "incident",
    "reinforcement": "reinforcement",
    "punishment": "punishment",
    "limit_setting": "punishment",
    "restriction": "punishment",
    "isolation": "seclusion_release",
}
STORY_COLUMNS = ("step", "day", "when", "where", "client_id", "other_id", "kind", "severity", "contained", "text")


def when(step: int) -> str:
    """The clock at the start of hour ``step`` (1-based, as in the tables), e.g. ``Tue 14:00``.

    The weekday is the ward day's (a ward day runs 07:00 to 07:00, docs/outputs.md).
    """
    day = (int(step) - 1) // 24
    hour = (START_HOUR + int(step) - 1) % 24
    weekday = ((START_HOUR + 24 * day) // 24) % 7
    return f"{WEEKDAYS[weekday]} {hour:02d}:00"


def _person(role: Any, ident: Any) -> str:
    if ident is None or pd.isna(ident):
        return "staff" if role == "staff" else "someone"
    return f"{'Staff' if role == 'staff' else 'Client'} {int(ident)}"


def _staff(ident: Any) -> str:
    return "Staff" if ident is None or pd.isna(ident) else f"Staff {int(ident)}"


def _activities(tables: dict[str, pd.DataFrame]) -> dict[int, str]:
    steps = tables.get("steps")
    if steps is None or steps.empty or "activity" not in steps.columns:
        return {}
    return dict(zip(steps["step"].astype(int), steps["activity"].astype(str).str.replace("_", " "), strict=True))


def _witness_words(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        names = [v for v in value.replace(";", ",").split(",") if v.strip()]
        count = len(names)
    else:
        count = int(value)
    if count <= 0:
        return ""
    return f" {count} {'person' if count == 1 else 'people'} saw it."


def _incident_line(rows: list[dict[str, Any]]) -> tuple[str, int, Any, bool]:
    """One incident with its answers (same client, same hour): (text, severity, the target's id, contained).

    ``rows`` are events-table rows as dicts: the de-escalation tried (if any), the incident, the containment.
    """
    first = next(r for r in rows if str(r["category"]) == "conflict")
    answers = [r for r in rows if r is not first]
    kind = str(first["kind"])
    target_id = first.get("target_id")
    target_role = str(first.get("target_role", "client"))
    has_target = (
        target_role in ("client", "staff") and target_id is not None and not pd.isna(target_id) and int(target_id) >= 0
    )
    with_target, alone = INCIDENT_WORDS[kind]
    verb = with_target.format(target=_person(target_role, target_id)) if has_target else alone
    text = f"Client {int(first['client_id'])} {verb} (severity {int(first['severity'])}"
    antecedent = str(first.get("antecedent", "none"))
    if antecedent in ANTECEDENT_WORDS:
        text += f", {ANTECEDENT_WORDS[antecedent]}"
    text += ")."
    if "witnesses" in first:
        text += _witness_words(first["witnesses"])
    for row in answers:
        if str(row["kind"]) == "verbal_de_escalation":
            if str(row["outcome"]) == "resolved":
                text += f" {_staff(row['staff_id'])} talked them down."
            else:
                text += f" {_staff(row['staff_id'])} tried to talk them down, without success."
    contained = [r for r in answers if str(r["category"]) == "containment"]
    if contained:
        acts = [CONTAINMENT_WORDS.get(str(r["kind"]), str(r["kind"]).replace("_", " ")) for r in contained]
        text += f" {_staff(contained[0]['staff_id'])} {', then '.join(acts)}."
    if str(first["outcome"]) == "unobserved":
        text += " No staff member saw it."
    return text, int(first["severity"]), (int(target_id) if has_target else None), bool(contained)


def _event_lines(events: pd.DataFrame) -> list[dict[str, Any]]:
    """Story lines from the events table, in table order (an incident and its answers are one line)."""
    lines: list[dict[str, Any]] = []
    if events.empty:
        return lines
    category = events["category"].astype(str).to_numpy()
    kind = events["kind"].astype(str).to_numpy()
    client = events["client_id"].to_numpy()
    step = events["step"].to_numpy()
    severity = events["severity"].to_numpy()
    staff = events["staff_id"].astype("Int64").to_numpy(dtype=object, na_value=None)
    outcome = events["outcome"].astype(str).to_numpy()
    n = len(events)
    rows = None  # the events as dicts, made at the first incident
    i = 0
    while i < n:
        if category[i] in ("conflict", "de_escalation") and severity[i] > 0:
            # an incident and its answers are adjacent rows of the same hour, client and severity:
            # the de-escalation tried, the incident, the containment that followed
            j, incidents = i, 0
            while (
                j < n
                and step[j] == step[i]
                and client[j] == client[i]
                and severity[j] == severity[i]
                and category[j] in ("de_escalation", "conflict", "containment")
                and not (category[j] in ("conflict", "de_escalation") and incidents)
            ):
                incidents += category[j] == "conflict"
                j += 1
            if incidents:
                if rows is None:
                    rows = events.to_dict("records")
                text, sev, other, contained = _incident_line(rows[i:j])
                lines.append(
                    {"row": i, "kind": "incident", "severity": sev, "other_id": other, "contained": contained,
                     "text": text}
                )  # fmt: skip
                i = j
                continue
        who = f"Client {int(client[i])}"
        if kind[i] in CONTAINMENT_WORDS:
            if kind[i] == "special_observation" and outcome[i] == "continued":
                text = f"{who} is still on special observation as the shift changes."
            elif kind[i] == "prn_medication":
                text = f"{_staff(staff[i])} offered {who} PRN medication (no incident)."
            else:
                text = f"{_staff(staff[i])} {CONTAINMENT_WORDS[kind[i]].replace('them', who)}."
        elif kind[i] in OTHER_WORDS:
            text = OTHER_WORDS[kind[i]].format(staff=_staff(staff[i]), client=who)
            if kind[i] == "denied_request" and staff[i] is None:
                text = f"{who}'s request was denied."
        else:
            text = f"{who}: {kind[i].replace('_', ' ')}."
        story_kind = _KIND_OF_CATEGORY.get(category[i], category[i])
        contained = category[i] == "containment"
        lines.append(
            {"row": i, "kind": story_kind, "severity": int(severity[i]), "other_id": None, "contained": contained,
             "text": text}
        )  # fmt: skip
        i += 1
    for line in lines:
        row = line.pop("row")
        line["step"] = int(step[row])
        line["client_id"] = int(client[row])
    return lines


def _feedback_lines(feedback: pd.DataFrame) -> list[dict[str, Any]]:
    lines = []
    for s, sender, receiver, role, kind in zip(
        feedback["step"],
        feedback["sender_id"],
        feedback["receiver_id"],
        feedback["sender_role"].astype(str),
        feedback["kind"].astype(str),
        strict=True,
    ):
        giver = _person(role, sender)
        if kind == "correction":
            text = f"{giver} pulled up Client {int(receiver)} on something they did (a correction)."
        else:
            text = f"{giver} affirmed Client {int(receiver)} for something they did well."
        lines.append(
            {
                "step": int(s),
                "client_id": int(receiver),
                "other_id": int(sender) if role == "client" else None,
                "kind": "feedback",
                "severity": 0,
                "contained": False,
                "text": text,
            }
        )
    return lines


def story(
    tables: dict[str, pd.DataFrame],
    client: int | None = None,
    kinds: tuple[str, ...] | list[str] | None = None,
    min_severity: int = 0,
    since_step: int | None = None,
    last: int | None = None,
) -> pd.DataFrame:
    """The ward's story: one row per happening, oldest first (columns :data:`STORY_COLUMNS`).

    ``client`` keeps the lines in which that client acts, is aimed at, or gives or receives feedback;
    ``kinds`` keeps those :data:`STORY_KINDS`; ``min_severity`` keeps incidents of at least that
    severity (and drops everything else when above 0); ``since_step`` keeps hours from that one on;
    ``last`` keeps the newest lines.
    """
    events = tables["events"]
    feedback = tables.get("feedback")
    if since_step is not None:
        events = events[events["step"] >= since_step]
        feedback = None if feedback is None else feedback[feedback["step"] >= since_step]
    lines = _event_lines(events.reset_index(drop=True))
    if feedback is not None and (kinds is None or "feedback" in kinds):
        lines += _feedback_lines(feedback)
    frame = pd.DataFrame(lines, columns=["step", "client_id", "other_id", "kind", "severity", "contained", "text"])
    frame["contained"] = frame["contained"].astype(bool)
    frame["other_id"] = frame["other_id"].astype("Int64")
    frame = frame.sort_values("step", kind="stable").reset_index(drop=True)
    if client is not None:
        frame = frame[(frame["client_id"] == client) | (frame["other_id"] == client).fillna(False)]
    if kinds is not None:
        frame = frame[frame["kind"].isin(list(kinds))]
    if min_severity > 0:
        frame = frame[frame["severity"] >= min_severity]
    if last is not None:
        frame = frame.tail(last)
    frame = frame.reset_index(drop=True)
    activities = _activities(tables)
    frame["day"] = (frame["step"] - 1) // 24
    frame["when"] = [when(s) for s in frame["step"]]
    frame["where"] = [activities.get(int(s), "") for s in frame["step"]]
    frame["text"] = [
        f"{w}{', ' + a if a else ''}: {t}" for w, a, t in zip(frame["when"], frame["where"], frame["text"], strict=True)
    ]
    return frame[list(STORY_COLUMNS)]


# --- one client's stay ---------------------------------------------------------------------------------
TRACE_STATES: tuple[str, ...] = ("skill", "self_control", "agitation", "trust")


@dataclass
class StateTrace:
    """Every present client's state, hour by hour: what the saved tables do not keep.

    ``record(step, client_ids, states)`` is called after each hour with the ids of
    the clients present and their :data:`TRACE_STATES` (one row per state);
    :meth:`frame` gives one row per client and hour (``step``, ``day``,
    ``client_id`` and the states).
    """

    states: tuple[str, ...] = TRACE_STATES
    _blocks: list[np.ndarray] = field(default_factory=list)

    def record(self, step: int, client_ids: np.ndarray, values: np.ndarray) -> None:
        block = np.empty((len(client_ids), 2 + len(self.states)))
        block[:, 0] = step
        block[:, 1] = client_ids
        block[:, 2:] = np.asarray(values, dtype=float).T
        self._blocks.append(block)

    def frame(self, client: int | None = None) -> pd.DataFrame:
        data = np.concatenate(self._blocks) if self._blocks else np.empty((0, 2 + len(self.states)))
        if client is not None:
            data = data[data[:, 1] == client]
        frame = pd.DataFrame(data, columns=["step", "client_id", *self.states])
        frame["step"] = frame["step"].astype(np.int64)
        frame["client_id"] = frame["client_id"].astype(np.int64)
        frame.insert(1, "day", (frame["step"] - 1) / 24.0)
        return frame


EXIT_WORDS: dict[str, str] = {
    "completed": "completed treatment (the goals were met)",
    "dropout": "left early (dropped out)",
    "transfer": "was transferred on when the stay limit was reached",
    "still_present": "was still on the ward when the run ended",
}


def stay_row(tables: dict[str, pd.DataFrame], client: int) -> pd.Series:
    """The ``stays`` row of ``client`` (KeyError naming the client if the run has none)."""
    stays = tables["stays"]
    rows = stays[stays["client_id"] == client]
    if rows.empty:
        raise KeyError(client)
    return rows.iloc[-1]


def stay_story(tables: dict[str, pd.DataFrame], client: int, trace: pd.DataFrame | None = None) -> dict[str, Any]:
    """One client's stay from the tables: the stay, the counts, the story lines and the state over time.

    Returns a dict with ``stay`` (the ``stays`` row), ``summary`` (sentences: admission, how the stay
    ended), ``counts`` (from the events and feedback tables: incidents by kind, containments by kind,
    de-escalations, feedback given and received), ``lines`` (:func:`story` for the client) and
    ``trace`` (the client's rows of a :class:`StateTrace` frame, or None).
    """
    stay = stay_row(tables, client)
    events = tables["events"]
    mine = events[events["client_id"] == client]
    feedback = tables.get("feedback", pd.DataFrame(columns=["sender_id", "receiver_id", "sender_role", "kind"]))
    received = feedback[feedback["receiver_id"] == client]
    given = feedback[(feedback["sender_id"] == client) & (feedback["sender_role"].astype(str) == "client")]
    category = mine["category"].astype(str)
    talked_down = int(((mine["kind"].astype(str) == "verbal_de_escalation") & (mine["outcome"] == "resolved")).sum())
    counts = {
        "incidents": int((category == "conflict").sum()),
        "incidents_by_kind": mine[category == "conflict"]["kind"].astype(str).value_counts().to_dict(),
        "containments": int((category == "containment").sum()),
        "containments_by_kind": mine[category == "containment"]["kind"].astype(str).value_counts().to_dict(),
        "talked_down": talked_down,
        "affirmations_received": int((received["kind"].astype(str) == "affirmation").sum()),
        "corrections_received": int((received["kind"].astype(str) == "correction").sum()),
        "feedback_given": len(given),
    }
    admitted = float(stay["admitted_day"])
    reason = str(stay["exit_reason"])
    summary = [
        f"Client {client} was admitted on day {admitted:.1f}"
        + (" (before the run's clock started)" if admitted < 0 else "")
        + f" as admission number {int(stay['admission_number'])}.",
        f"The stay lasted {float(stay['length_of_stay_days']):.1f} days"
        + ("" if reason == "still_present" else f", to day {float(stay['exit_day']):.1f}")
        + f"; the client {EXIT_WORDS.get(reason, reason)}.",
    ]
    if reason != "still_present":
        summary.append(
            f"Skill went from {stay['skill_at_admission']:.2f} to {stay['skill_at_exit']:.2f}, self-control from "
            f"{stay['self_control_at_admission']:.2f} to {stay['self_control_at_exit']:.2f}, trust from "
            f"{stay['trust_at_admission']:.2f} to {stay['trust_at_exit']:.2f}."
        )
    lines = story(tables, client=client)
    client_trace = None
    if trace is not None:
        client_trace = trace[trace["client_id"] == client].reset_index(drop=True)
    return {"stay": stay, "summary": summary, "counts": counts, "lines": lines, "trace": client_trace}


def stay_markdown(told: dict[str, Any], figure_name: str | None = None, max_lines: int = 400) -> str:
    """A stay (from :func:`stay_story`) as a Markdown page."""
    stay, counts = told["stay"], told["counts"]
    client = int(stay["client_id"])
    out = [f"# The stay of Client {client}", "", *told["summary"], ""]
    if figure_name:
        out += [f"![Client {client}: state over the stay, with incidents and containment]({figure_name})", ""]
    out += ["## In numbers", "", "| | count |", "| --- | --- |"]
    out.append(f"| incidents | {counts['incidents']} |")
    for kind, number in counts["incidents_by_kind"].items():
        if number:
            out.append(f"| - {kind.replace('_', ' ')} | {number} |")
    out.append(f"| containment | {counts['containments']} |")
    for kind, number in counts["containments_by_kind"].items():
        if number:
            out.append(f"| - {kind.replace('_', ' ')} | {number} |")
    out.append(f"| talked down by staff | {counts['talked_down']} |")
    out.append(f"| affirmations received | {counts['affirmations_received']} |")
    out.append(f"| corrections received | {counts['corrections_received']} |")
    out.append(f"| feedback given to peers | {counts['feedback_given']} |")
    lines = told["lines"]
    out += ["", "## What happened", ""]
    if lines.empty:
        out.append("Nothing was recorded about this client in the run.")
    shown = lines.tail(max_lines)
    if len(lines) > len(shown):
        out.append(f"(the last {len(shown)} of {len(lines)} lines)")
        out.append("")
    out += [f"- Day {int(d)}, {t}" for d, t in zip(shown["day"], shown["text"], strict=True)]
    return "\n".join(out) + "\n"


STATE_COLOURS = {"skill": "#2c7bb6", "self_control": "#fdae61", "agitation": "#d7191c", "trust": "#1a9641"}


def stay_figure(told: dict[str, Any]):
    """The stay as a figure: the state over time (if traced), incidents by severity, containment and feedback."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stay = told["stay"]
    lines = told["lines"]
    trace = told["trace"]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 2]}, layout="constrained"
    )
    start = max(float(stay["admitted_day"]), float(lines["day"].min()) if len(lines) else 0.0)
    if trace is not None and len(trace):
        for state in TRACE_STATES:
            if state in trace.columns:
                top.plot(trace["day"], trace[state], color=STATE_COLOURS[state], lw=1.3, label=state.replace("_", "-"))
        top.legend(loc="upper left", ncols=4, fontsize=8, frameon=False)
        top.set(ylim=(0, 1), ylabel="state (0-1)")
    else:
        top.text(0.5, 0.5, "no hourly state in the saved tables", ha="center", va="center", transform=top.transAxes)
        top.set(yticks=[])
    top.set_title(f"Client {int(stay['client_id'])}: {EXIT_WORDS.get(str(stay['exit_reason']), '')}", fontsize=11)
    rows = {"incident": 3, "containment": 2, "feedback": 1}
    day = (lines["step"] - 1) / 24.0 if len(lines) else pd.Series(dtype=float)
    incidents = lines["kind"] == "incident"
    if len(lines):
        size = 12 + 14 * lines["severity"][incidents]
        bottom.scatter(day[incidents], np.full(incidents.sum(), rows["incident"]), s=size, color="#d7191c",
                       label="incident (size: severity)")  # fmt: skip
        contained = lines["contained"]
        bottom.scatter(day[contained], np.full(contained.sum(), rows["containment"]), marker="s", s=20,
                       color="#7b3294", label="containment")  # fmt: skip
        fb = lines["kind"] == "feedback"
        bottom.scatter(day[fb], np.full(fb.sum(), rows["feedback"]), marker="|", s=60, color="#1a9641",
                       label="feedback")  # fmt: skip
    bottom.set(yticks=list(rows.values()), yticklabels=list(rows), ylim=(0.5, 3.5), xlabel="ward day")
    if not np.isnan(stay.get("exit_day", np.nan)):
        for ax in (top, bottom):
            ax.axvline(float(stay["exit_day"]), color="#000000", ls="--", lw=1)
    top.set_xlim(left=start)
    return fig


# --- a saved run, read back ----------------------------------------------------------------------------
TABLE_NAMES = ("steps", "shifts", "events", "feedback", "stays")


def read_run(folder) -> dict[str, pd.DataFrame]:
    """The tables ``milieu-sim run --out FOLDER`` wrote (``<name>.parquet``)."""
    from pathlib import Path

    folder = Path(folder)
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLE_NAMES}


def trace_model(model, trace: StateTrace) -> None:
    """Add the hour's state of every client present to ``trace`` (after ``model.step()``)."""
    from milieu_sim.model.state import REPORTED_STATES

    c = model.clients
    present = c.present
    rows = [REPORTED_STATES.index(s) for s in trace.states]
    trace.record(model.steps - model.clock_start, c.client_id[present], c.reported_states()[rows][:, present])


def replay(parameters: dict[str, Any], seed: int, events: pd.DataFrame) -> pd.DataFrame | None:
    """Run the seeded model of a saved run again, tracing every client's state hour by hour.

    ``parameters`` are run.json's resolved parameters.  The trace is returned only if the replay's
    events table equals the saved one (same model version, same parameters); otherwise None.
    """
    from milieu_sim.errors import MilieuInputError
    from milieu_sim.model.model import MilieuModel

    rest = {k: v for k, v in parameters.items() if k not in ("policy", "rng", "setting")}
    try:
        model = MilieuModel(setting=parameters["setting"], policy=parameters["policy"], rng=seed, **rest)
    except (MilieuInputError, KeyError, TypeError):
        return None
    trace = StateTrace()
    while model.running:
        model.step()
        trace_model(model, trace)
    replayed = model.tables()["events"]
    if len(replayed) != len(events) or not replayed[["step", "client_id", "kind"]].astype(str).equals(
        events[["step", "client_id", "kind"]].astype(str)
    ):
        return None
    return trace.frame()

"""The outcome vocabulary: every number measured from one run's tables, declared once.

Each :class:`Outcome` names one quantity with its definition, what it counts over what (numerator and
denominator), its unit, which hours, events or stays count after the warm-up, and how it is weighted.
``milieu-sim run`` (``summary.json``), ``compare``, ``sweep``, ``report``, ``validate`` and ``calibrate``
all measure through :func:`measure` (usually via :func:`milieu_sim.experiments.runner.run_one`), so a name
means the same thing everywhere.  The table in ``docs/outputs.md`` ("Outcome vocabulary") is generated
from :data:`OUTCOMES` (``python -m milieu_sim.experiments.outcomes docs/outputs.md``).

Roles:

- ``summary``: the run's headline numbers (``summary.json``, ``compare``, a sweep's default outcomes);
- ``count``: event counts and their exposure after the warm-up, kept with every run of a sweep for the
  rate-ratio models;
- ``pattern``: quantities that only the validation patterns need (measured on request; a sweep may
  keep them too).

Outcomes are measured from the tidy tables only, never from the model's internals.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from milieu_sim.errors import ParameterError

EARLY_DAYS = 7.0  # "early" dropout: within the first week of a stay (Darke, Campbell & Popple)
ROLES = ("summary", "count", "pattern")

# Warm-up rules (which rows of the tables count), named once and quoted by the outcomes.
HOURS_AFTER_WARM_UP = "hours and shifts of ward days >= warm-up"
STAYS_ENDED_AFTER_WARM_UP = "stays that ended on or after the warm-up day"
ADMISSIONS_JUDGED = f"admissions on or after the warm-up day with at least {EARLY_DAYS:g} days before the run's end"
EVENTS_AFTER_WARM_UP = "events of ward days >= warm-up"
FEEDBACK_AFTER_WARM_UP = "feedback given after the warm-up"

# Weighting: every outcome is one number per run and replicates are averaged with equal weight (per run);
# within a run, each unit of the denominator counts once (a stay, a shift, an hour, a piece of feedback).
PER_RUN = "per run; within the run, each {unit} counts once"
WEIGHTING_UNITS = {  # denominator -> what counts once
    "shifts": "shift",
    "hours": "hour",
    "hours / 24": "hour",
    "stays ended": "ended stay",
    "feedback": "piece of feedback",
    f"admissions with at least {EARLY_DAYS:g} days of follow-up": "admission",
    "client-days (sum of `steps.census` / 24)": "client-day",
    "seclusions started and released after the warm-up": "seclusion",
    "incidents (conflict events)": "incident",
    "pieces of peer feedback": "piece of peer feedback",
    "pieces of staff feedback": "piece of staff feedback",
}
SUMMED = "per run; a sum over the run (the rate ratios use `shifts` as the exposure)"


class MeasuredRun:
    """One run's tables cut to the measured period (after ``warmup_days``): what the outcomes are computed from."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], warmup_days: int = 0) -> None:
        self.tables = tables
        self.warmup_days = warmup_days

    @cached_property
    def steps(self) -> pd.DataFrame:
        steps = self.tables["steps"]
        return steps[steps["day"] >= self.warmup_days]

    @cached_property
    def shifts(self) -> pd.DataFrame:
        shifts = self.tables["shifts"]
        return shifts[shifts["day"] >= self.warmup_days]

    @cached_property
    def events(self) -> pd.DataFrame:
        events = self.tables["events"]
        return events[events["day"] >= self.warmup_days]

    @cached_property
    def feedback(self) -> pd.DataFrame:
        feedback = self.tables["feedback"]
        return feedback[feedback["step"] > self.warmup_days * 24]

    @cached_property
    def ended(self) -> pd.DataFrame:
        """Stays that ended (any reason) on or after the warm-up day."""
        stays = self.tables["stays"]
        return stays[(stays["exit_reason"] != "still_present") & (stays["exit_day"] >= self.warmup_days)]

    @cached_property
    def judged_admissions(self) -> pd.DataFrame:
        """Admissions on or after the warm-up day that could have lasted a week before the run ended."""
        stays = self.tables["stays"]
        run_end = self.tables["steps"]["step"].max() / 24.0
        admitted = stays[stays["admitted_day"] >= self.warmup_days]
        return admitted[admitted["admitted_day"] <= run_end - EARLY_DAYS]


@dataclass(frozen=True)
class Outcome:
    """One named quantity of a run: its meaning, numerator and denominator, unit, warm-up rule and weighting."""

    name: str
    definition: str
    numerator: str
    denominator: str
    unit: str
    warm_up: str
    compute: Callable[[MeasuredRun], float]
    role: str = "summary"
    weighting: str = ""  # default: PER_RUN with the unit of the denominator
    undefined_when: str = ""  # why the value can be NaN (e.g. no stay ended)


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else math.nan


def _isolation_hours_per_day(run: MeasuredRun) -> float:
    days = max(len(run.steps) / 24.0, 1e-9)
    return float(run.steps["n_isolated"].sum()) / days


def _feedback_per_client_day(run: MeasuredRun) -> float:
    client_days = float(run.steps["census"].sum()) / 24.0
    return float(len(run.feedback)) / client_days if client_days else math.nan


def _early_dropout(run: MeasuredRun) -> float:
    judged = run.judged_admissions
    return _share((judged["exit_reason"] == "dropout") & (judged["length_of_stay_days"] <= EARLY_DAYS))


def seclusion_durations(events: pd.DataFrame) -> np.ndarray:
    """Durations (hours) of the seclusions in ``events`` that started and ended there."""
    starts = events[events["kind"] == "seclusion"][["client_id", "step"]]
    ends = events[events["kind"] == "seclusion_release"][["client_id", "step"]]
    durations = []
    for client, group in starts.groupby("client_id"):
        releases = np.sort(ends.loc[ends["client_id"] == client, "step"].to_numpy())
        for start in group["step"].to_numpy():
            later = releases[releases >= start]
            if later.size:
                durations.append(later[0] - start)
    return np.asarray(durations, dtype=float)


def _seclusion_hours_mean(run: MeasuredRun) -> float:
    durations = seclusion_durations(run.events)
    return float(np.mean(durations)) if len(durations) else math.nan


def _minimal_triangle_share(run: MeasuredRun) -> float:
    """Incidents at verbal level (refusing rules, verbal aggression) followed in the same hour, for that
    client, by no containment beyond PRN medication."""
    events = run.events
    conflicts = events[events["category"] == "conflict"]
    if conflicts.empty:
        return math.nan
    verbal = conflicts["kind"].isin(["verbal_aggression", "refusing_rules"])
    coercive = events[events["kind"].isin(["special_observation", "time_out", "seclusion", "restraint"])]
    coercive = coercive[coercive["outcome"] != "continued"]
    hit = set(zip(coercive["client_id"], coercive["step"], strict=True))
    escalated = np.array([(c, s) in hit for c, s in zip(conflicts["client_id"], conflicts["step"], strict=True)])
    return float((verbal.to_numpy() & ~escalated).mean())


def _feedback_change(role: str) -> Callable[[MeasuredRun], float]:
    def change(run: MeasuredRun) -> float:
        sent = run.feedback[run.feedback["sender_role"] == role]
        return _mean(sent["behaviour_change"])

    return change


NO_SHIFT = "no shift after the warm-up"
NO_STAY_ENDED = "no stay ended after the warm-up"

_OUTCOME_LIST: tuple[Outcome, ...] = (
    Outcome("conflict_per_shift", "conflict events (aggression, self-harm, absconding, rule refusal) per nursing shift",
            "`shifts.conflict_events`", "shifts", "events per shift", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.shifts["conflict_events"]), undefined_when=NO_SHIFT),
    Outcome("containment_per_shift",
            "containment events (PRN, special observation, time-out, seclusion, restraint) per nursing shift",
            "`shifts.containment_events`", "shifts", "events per shift", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.shifts["containment_events"]), undefined_when=NO_SHIFT),
    Outcome("isolation_hours_per_day", "client-hours in seclusion per day", "sum of `steps.n_isolated`",
            "hours / 24", "client-hours per day", HOURS_AFTER_WARM_UP, _isolation_hours_per_day),
    Outcome("skill_gain", "mean goal-skill gain from admission to exit",
            "sum of `skill_at_exit - skill_at_admission`", "stays ended", "0-1", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _mean(r.ended["skill_at_exit"] - r.ended["skill_at_admission"]), undefined_when=NO_STAY_ENDED),
    Outcome("completion_share", "share of ended stays that completed treatment", "stays ended `completed`",
            "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _share(r.ended["exit_reason"] == "completed"), undefined_when=NO_STAY_ENDED),
    Outcome("dropout_share", "share of ended stays that ended in dropout", "stays ended `dropout`", "stays ended",
            "share", STAYS_ENDED_AFTER_WARM_UP, lambda r: _share(r.ended["exit_reason"] == "dropout"),
            undefined_when=NO_STAY_ENDED),
    Outcome("transfer_share", "share of ended stays that ended in transfer (stay limit reached)",
            "stays ended `transfer`", "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _share(r.ended["exit_reason"] == "transfer"), undefined_when=NO_STAY_ENDED),
    Outcome("median_stay_days", "median length of ended stays", "median of `length_of_stay_days`", "stays ended",
            "days", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: float(r.ended["length_of_stay_days"].median()) if len(r.ended) else math.nan,
            undefined_when=NO_STAY_ENDED),
    Outcome("early_dropout_share",
            f"share of admissions that dropped out within {EARLY_DAYS:g} days (first-week dropout, as "
            "Darke, Campbell & Popple count it)",
            f"those admissions that ended in `dropout` with `length_of_stay_days` <= {EARLY_DAYS:g}",
            f"admissions with at least {EARLY_DAYS:g} days of follow-up", "share", ADMISSIONS_JUDGED,
            _early_dropout, undefined_when=f"no admission after the warm-up with {EARLY_DAYS:g} days of follow-up"),
    Outcome("violent_client_share",
            "share of clients with at least one physical aggression against people during their stay (what "
            "Iozzino et al. 2015 pooled: violent patients among admitted patients, over whole stays)",
            "stays ended with `violent_incidents` > 0", "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _share(r.ended["violent_incidents"] > 0), undefined_when=NO_STAY_ENDED),
    Outcome("mean_trust", "mean trust of the clients present, over the hours", "sum of `steps.mean_trust`", "hours",
            "0-1", HOURS_AFTER_WARM_UP, lambda r: _mean(r.steps["mean_trust"])),
    Outcome("mean_independence", "mean independence of the clients present, over the hours",
            "sum of `steps.mean_independence`", "hours", "0-1", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.steps["mean_independence"])),
    Outcome("mean_independence_at_exit", "mean independence at exit", "sum of `independence_at_exit`",
            "stays ended", "0-1", STAYS_ENDED_AFTER_WARM_UP, lambda r: _mean(r.ended["independence_at_exit"]),
            undefined_when=NO_STAY_ENDED),
    Outcome("outside_functioning", "mean estimated functioning outside the unit at exit",
            "sum of `outside_functioning`", "stays ended", "0-1", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _mean(r.ended["outside_functioning"]), undefined_when=NO_STAY_ENDED),
    Outcome("feedback_per_client_day", "affirmations and corrections sent per client-day", "rows of `feedback`",
            "client-days (sum of `steps.census` / 24)", "per client-day",
            f"{HOURS_AFTER_WARM_UP}; {FEEDBACK_AFTER_WARM_UP}", _feedback_per_client_day,
            undefined_when="no client present after the warm-up"),
    Outcome("peer_feedback_share", "share of feedback sent by peers", "feedback with `sender_role` = client",
            "feedback", "share", FEEDBACK_AFTER_WARM_UP, lambda r: _share(r.feedback["sender_role"] == "client"),
            undefined_when="no feedback after the warm-up"),
    # counts and exposure for the rate-ratio models
    Outcome("conflict_events", "conflict events after the warm-up", "sum of `shifts.conflict_events`", "(a count)",
            "events", HOURS_AFTER_WARM_UP, lambda r: int(r.shifts["conflict_events"].sum()), role="count",
            weighting=SUMMED),
    Outcome("containment_events", "containment events after the warm-up", "sum of `shifts.containment_events`",
            "(a count)", "events", HOURS_AFTER_WARM_UP, lambda r: int(r.shifts["containment_events"].sum()),
            role="count", weighting=SUMMED),
    Outcome("shifts", "nursing shifts after the warm-up: the exposure of the event counts", "rows of `shifts`",
            "(a count)", "shifts", HOURS_AFTER_WARM_UP, lambda r: len(r.shifts), role="count", weighting=SUMMED),
    # what only the validation patterns need
    Outcome("seclusion_hours_mean", "mean duration of a seclusion, from its start to its release",
            "hours between each seclusion and its release", "seclusions started and released after the warm-up",
            "hours", EVENTS_AFTER_WARM_UP, _seclusion_hours_mean, role="pattern",
            undefined_when="no seclusion started and ended after the warm-up"),
    Outcome("minimal_triangle_share",
            "share of incidents staying inside verbal aggression / rule refusal -> de-escalation -> PRN: "
            "verbal-level and followed in the same hour by no containment beyond PRN",
            "such incidents", "incidents (conflict events)", "share", EVENTS_AFTER_WARM_UP,
            _minimal_triangle_share, role="pattern", undefined_when="no incident after the warm-up"),
    Outcome("peer_feedback_change", "mean behaviour change caused by one piece of peer feedback",
            "sum of `feedback.behaviour_change` from clients", "pieces of peer feedback", "0-1",
            FEEDBACK_AFTER_WARM_UP, _feedback_change("client"), role="pattern",
            undefined_when="no peer feedback after the warm-up"),
    Outcome("staff_feedback_change", "mean behaviour change caused by one piece of staff feedback",
            "sum of `feedback.behaviour_change` from staff", "pieces of staff feedback", "0-1",
            FEEDBACK_AFTER_WARM_UP, _feedback_change("staff"), role="pattern",
            undefined_when="no staff feedback after the warm-up"),
)  # fmt: skip


def _with_weighting(outcome: Outcome) -> Outcome:
    if outcome.weighting:
        return outcome
    return replace(outcome, weighting=PER_RUN.format(unit=WEIGHTING_UNITS[outcome.denominator]))


_OUTCOME_LIST = tuple(_with_weighting(o) for o in _OUTCOME_LIST)
OUTCOMES: dict[str, Outcome] = {o.name: o for o in _OUTCOME_LIST}
SUMMARY_OUTCOMES: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "summary")
COUNTS: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "count")
PATTERN_OUTCOMES: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "pattern")
# The outcomes shown first (compare's printout and figure, a report's tables).
KEY_OUTCOMES: tuple[str, ...] = (
    "conflict_per_shift",
    "containment_per_shift",
    "skill_gain",
    "isolation_hours_per_day",
    "dropout_share",
    "completion_share",
)


def check_names(names: Iterable[str], parameter: str = "outcomes") -> list[str]:
    """The names, in order and without repeats; a one-line error on a name that is not in the vocabulary."""
    names = list(dict.fromkeys(names))
    for name in names:
        if name not in OUTCOMES:
            raise ParameterError(
                f"parameter '{parameter}' names unknown outcome {name!r}; allowed: {', '.join(OUTCOMES)}"
            )
    return names


def measure(
    tables: Mapping[str, pd.DataFrame], warmup_days: int = 0, outcomes: Iterable[str] | None = None
) -> dict[str, float]:
    """The named outcomes (default: the summary outcomes) of one run's tables, after ``warmup_days``."""
    names = SUMMARY_OUTCOMES if outcomes is None else check_names(outcomes)
    run = MeasuredRun(tables, warmup_days)
    return {name: OUTCOMES[name].compute(run) for name in names}


def summarise(tables: Mapping[str, pd.DataFrame], warmup_days: int = 0) -> dict[str, float]:
    """The summary outcomes of one run's tables (what ``summary.json`` holds): :func:`measure` with its default."""
    return measure(tables, warmup_days)


def undefined(values: Mapping[str, float]) -> dict[str, str]:
    """For each NaN outcome in ``values``, the vocabulary's reason why it can be undefined."""
    return {
        name: OUTCOMES[name].undefined_when or "nothing to average"
        for name, value in values.items()
        if name in OUTCOMES and isinstance(value, float) and not np.isfinite(value)
    }


def finite(values: Mapping[str, float]) -> dict[str, float | None]:
    """NaN -> None, for JSON."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}


# --- documentation ---------------------------------------------------------------------------------------
DOC_BEGIN = "<!-- outcome vocabulary: generated by `python -m milieu_sim.experiments.outcomes docs/outputs.md` -->"
DOC_END = "<!-- end of the outcome vocabulary -->"


def vocabulary_markdown() -> str:
    """The vocabulary as the Markdown table of ``docs/outputs.md`` (between :data:`DOC_BEGIN` and :data:`DOC_END`)."""
    lines = [
        "| outcome | role | unit | definition | numerator | denominator | warm-up rule | weighting |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for o in _OUTCOME_LIST:
        cells = (f"`{o.name}`", o.role, o.unit, o.definition, o.numerator, o.denominator, o.warm_up, o.weighting)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def write_vocabulary(path: str | Path) -> None:
    """Replace the generated vocabulary section of a Markdown file (``docs/outputs.md``)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index(DOC_BEGIN) + len(DOC_BEGIN), text.index(DOC_END)
    path.write_text(text[:start] + "\n" + vocabulary_markdown() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if len(sys.argv) == 2:
        write_vocabulary(sys.argv[1])
    else:
        print(vocabulary_markdown())

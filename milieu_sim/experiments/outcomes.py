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
REPEAT_HOURS = 24  # the follow-up of a transgression: the same client's transgressions in the day after it
ANSWERS = ("punished", "seen_unpunished", "unseen")  # how a transgression was answered (transgression_repeats)
ROLES = ("summary", "count", "pattern")

# Warm-up rules (which rows of the tables count), named once and quoted by the outcomes.
HOURS_AFTER_WARM_UP = "hours and shifts of ward days >= warm-up"
STAYS_ENDED_AFTER_WARM_UP = "stays that ended on or after the warm-up day"
ADMISSIONS_JUDGED = f"admissions on or after the warm-up day with at least {EARLY_DAYS:g} days before the run's end"
EVENTS_AFTER_WARM_UP = "events of ward days >= warm-up"
REPEATS_RULE = (
    f"transgressions of ward days >= warm-up with {REPEAT_HOURS} hours of the run after them; their follow-up "
    f"counts the same client's `transgression` events in steps `step` + 1 ... `step` + {REPEAT_HOURS} (a "
    "client discharged within the day has a shorter follow-up)"
)
FEEDBACK_AFTER_WARM_UP = "feedback given after the warm-up"

# Weighting.  A ratio of counts (a rate or a share: ``pooled_from`` names its numerator and denominator counts)
# is pooled over runs by compare and report: sum of numerators / sum of denominators, so each unit of the
# denominator (a stay, a shift, a bed-day, a piece of feedback) counts once whatever run it fell in.  Other
# outcomes are one number per run, averaged over runs with equal weight (per run).
PER_RUN = "per run; within the run, each {unit} counts once"
POOLED = "pooled over runs: sum of `{num}` / sum of `{den}`{scale} (each {unit} counts once)"
WEIGHTING_UNITS = {  # denominator -> what counts once
    "shifts": "shift",
    "hours": "hour",
    "hours / 24": "hour",
    "stays ended": "ended stay",
    "feedback": "piece of feedback",
    f"admissions with at least {EARLY_DAYS:g} days of follow-up": "admission",
    "stays ended with 30 days of follow-up or readmitted sooner": "followed discharge",
    "stays ended with 90 days of follow-up or readmitted sooner": "followed discharge",
    "client-days (sum of `steps.census` / 24)": "client-day",
    "occupied bed-days (sum of `steps.census` / 24)": "occupied bed-day",
    "occupied bed-days in the first week of a stay": "occupied bed-day",
    "occupied bed-days after the first week of a stay": "occupied bed-day",
    "seclusions started and released after the warm-up": "seclusion",
    "incidents (conflict events)": "incident",
    "pieces of peer feedback": "piece of peer feedback",
    "pieces of staff feedback": "piece of staff feedback",
    "punished transgressions": "punished transgression",
    "transgressions seen by staff and not punished": "transgression seen and not punished",
    "transgressions no staff member saw": "unseen transgression",
}
SUMMED = "per run; a sum over the run, kept so that rates and shares can be pooled over runs"


def labels_are(column: pd.Series, label: str) -> np.ndarray:
    """``column == label`` as a NumPy array; a categorical column is compared by its codes (its labels are
    never turned into strings)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = column.cat.categories.tolist()
        if label not in labels:
            return np.zeros(len(column), dtype=bool)
        return column.cat.codes.to_numpy() == labels.index(label)
    return column.to_numpy(dtype=object) == label


def label_counts(column: pd.Series, where: np.ndarray | None = None) -> dict[str, int]:
    """How many rows (of those ``where`` holds, default all) hold each label of ``column``; missing values and
    labels no row holds are not counted."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        codes = codes if where is None else codes[where]
        counts = np.bincount(codes + 1, minlength=len(column.cat.categories) + 1)[1:]
        return {label: int(n) for label, n in zip(column.cat.categories.tolist(), counts, strict=True) if n}
    column = column if where is None else column[where]
    labels, counts = np.unique(column.dropna().to_numpy(dtype=str), return_counts=True)
    return dict(zip(labels.tolist(), counts.tolist(), strict=True))


class MeasuredRun:
    """One run's tables cut to the measured period (after ``warmup_days``): what the outcomes are computed from."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], warmup_days: int = 0) -> None:
        self.tables = tables
        self.warmup_days = warmup_days

    @staticmethod
    def _rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
        """The rows of ``frame`` where ``keep`` holds (the frame itself when every row is kept: no copy)."""
        return frame if keep.all() else frame[keep]

    @cached_property
    def steps(self) -> pd.DataFrame:
        steps = self.tables["steps"]
        return self._rows(steps, steps["day"].to_numpy() >= self.warmup_days)

    @cached_property
    def shifts(self) -> pd.DataFrame:
        shifts = self.tables["shifts"]
        return self._rows(shifts, shifts["day"].to_numpy() >= self.warmup_days)

    @cached_property
    def shifts_with_clients(self) -> pd.DataFrame:
        """Shifts after the warm-up with a client on the unit in some hour (``census`` > 0): what the per-shift
        rates count.  On a ward that is every shift; a day programme's or an outpatient group's shifts with
        everyone at home (nights, weekends, the days between groups) have no conflict to count."""
        return self._rows(self.shifts, self.shifts["census"].to_numpy() > 0)

    @cached_property
    def events(self) -> pd.DataFrame:
        events = self.tables["events"]
        return self._rows(events, events["day"].to_numpy() >= self.warmup_days)

    @cached_property
    def feedback(self) -> pd.DataFrame:
        feedback = self.tables["feedback"]
        return self._rows(feedback, feedback["step"].to_numpy() > self.warmup_days * 24)

    @cached_property
    def ended(self) -> pd.DataFrame:
        """Stays that ended (any reason) on or after the warm-up day."""
        stays = self.tables["stays"]
        still_present = labels_are(stays["exit_reason"], "still_present")
        return self._rows(stays, ~still_present & (stays["exit_day"].to_numpy() >= self.warmup_days))

    @cached_property
    def exit_reasons(self) -> dict[str, int]:
        """How many stays of :attr:`ended` ended for each reason."""
        return label_counts(self.ended["exit_reason"])

    def exit_share(self, reason: str) -> float:
        """The share of :attr:`ended` that ended for ``reason`` (NaN if none ended)."""
        ended = len(self.ended)
        return self.exit_reasons.get(reason, 0) / ended if ended else math.nan

    @cached_property
    def bed_days(self) -> float:
        """Occupied bed-days after the warm-up: client-hours present (``steps.census``) / 24."""
        return float(self.steps["census"].sum()) / 24.0

    @cached_property
    def bed_days_by_phase(self) -> tuple[float, float]:
        """Occupied bed-days after the warm-up in the first week of a stay and later.

        Each stay spans the hours ``admitted_day * 24 <= step < exit_day * 24`` (still present: to the run's
        end), which is what ``steps.census`` counts; its hours are split at day of stay 7.  When the census
        counts fewer hours than the stays span (clients away from the unit, e.g. at home in a day programme),
        the two parts are scaled to the census's total in proportion.
        """
        stays = self.tables["stays"]
        steps = self.tables["steps"]
        if stays.empty or steps.empty:
            return 0.0, 0.0
        first_step = self.warmup_days * 24 + 1
        last_step = int(steps["step"].max())
        start = stays["admitted_day"].to_numpy(dtype=float) * 24.0
        end = np.where(
            stays["exit_reason"].to_numpy() == "still_present",
            last_step + 1.0,
            stays["exit_day"].to_numpy(dtype=float) * 24.0,
        )
        end = np.minimum(np.nan_to_num(end, nan=last_step + 1.0), last_step + 1.0)
        week = start + EARLY_DAYS * 24.0

        def hours(lo: np.ndarray, hi: np.ndarray) -> float:  # whole steps s with lo <= s < hi
            lo = np.maximum(lo, first_step)
            return float(np.maximum(np.ceil(hi) - np.ceil(lo), 0.0).sum())

        first, later = hours(start, np.minimum(end, week)), hours(week, end)
        total = first + later
        if total <= 0:
            return 0.0, 0.0
        census_hours = round(self.bed_days * 24.0)
        first_hours = round(first * min(1.0, census_hours / total))  # whole hours; the two parts sum to the census
        return first_hours / 24.0, (census_hours - first_hours) / 24.0

    @cached_property
    def events_first_week(self) -> np.ndarray:
        """For each event after the warm-up, in the order of :attr:`events`: whether it fell in the first week of
        its client's stay (a readmitted person has several stays under one ``client_id``: the event belongs to the
        last one admitted before it)."""
        admitted = stay_admitted_day(self.tables["stays"], self.events["client_id"], self.events["step"] / 24.0)
        day_of_stay = self.events["step"].to_numpy(dtype=float) / 24.0 - admitted
        return day_of_stay < EARLY_DAYS

    @cached_property
    def run_end_day(self) -> float:
        """The run's end, in days from the clock's start (the last hour's step / 24)."""
        steps = self.tables["steps"]
        return float(steps["step"].max()) / 24.0 if len(steps) else 0.0

    def followed(self, days: float) -> pd.DataFrame:
        """Ended stays (after the warm-up) whose readmission within ``days`` is known: readmitted within them,
        or followed at least that long (a follow-up cut short by the run's end is censored, not counted)."""
        return self.ended[self._followed_rows(days)[0]]

    def readmissions(self, days: float) -> tuple[int, int]:
        """(stays of :meth:`followed`, those readmitted within ``days``), counted without building the table."""
        followed, readmitted = self._followed_rows(days)
        return int(followed.sum()), int(readmitted.sum())

    def _followed_rows(self, days: float) -> tuple[np.ndarray, np.ndarray]:
        """Which stays of :attr:`ended` are followed (:meth:`followed`), and which were readmitted within ``days``
        (all of them followed)."""
        readmitted = self._readmission_days <= days
        return readmitted | (self._followup_days >= days), readmitted

    @cached_property
    def _readmission_days(self) -> np.ndarray:
        return self.ended["days_to_readmission"].to_numpy(dtype=float)

    @cached_property
    def _followup_days(self) -> np.ndarray:
        return self.ended["followup_days"].to_numpy(dtype=float)

    @cached_property
    def readmission_bed_days(self) -> float:
        """Occupied bed-days after the warm-up in the stays of readmitted people (``previous_stays`` >= 1)."""
        stays = self.tables["stays"]
        again = stays[stays["previous_stays"] > 0]
        if again.empty:
            return 0.0
        end = self.run_end_day
        start = np.maximum(again["admitted_day"].to_numpy(dtype=float), float(self.warmup_days))
        stop = np.minimum(np.nan_to_num(again["exit_day"].to_numpy(dtype=float), nan=end), end)
        return float(np.maximum(stop - start, 0.0).sum())

    def phase_count(self, category: str, first_week: bool) -> int:
        """Events of ``category`` after the warm-up in the first week of the stay (or later)."""
        return self._phase_counts.get((category, first_week), 0)

    @cached_property
    def _phase_counts(self) -> dict[tuple[str, bool], int]:
        """:meth:`phase_count` of every category and phase, worked out once (eight outcomes read them)."""
        categories = self.events["category"]
        early = label_counts(categories, self.events_first_week)
        counts = {}
        for category, n in label_counts(categories).items():
            counts[category, True] = early.get(category, 0)
            counts[category, False] = n - counts[category, True]
        return counts

    @cached_property
    def transgression_repeats(self) -> pd.DataFrame:
        """For each transgression after the warm-up with a full day of follow-up before the run's end: how it was
        answered (``answer``: punished, seen_unpunished, unseen) and ``repeats``, the same client's
        transgressions in the :data:`REPEAT_HOURS` hours after it (``step`` + 1 ... ``step`` + 24)."""
        answer, repeats = self._judged_transgressions
        return pd.DataFrame({"answer": np.asarray(ANSWERS, dtype=object)[answer], "repeats": repeats.astype(float)})

    @cached_property
    def _judged_transgressions(self) -> tuple[np.ndarray, np.ndarray]:
        """:attr:`transgression_repeats` as arrays: each answer's place in :data:`ANSWERS`, and the repeats."""
        events = self.events
        done = labels_are(events["kind"], "transgression")
        if not done.any():
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
        last_step = int(self.tables["steps"]["step"].max())
        clients = events["client_id"].to_numpy()[done]
        steps = events["step"].to_numpy()[done]
        order = np.lexsort((steps, clients))
        clients, steps = clients[order], steps[order]
        key = clients.astype(np.int64) * (last_step + REPEAT_HOURS + 2) + steps  # sorted: client, then step
        repeats = np.searchsorted(key, key + REPEAT_HOURS, side="right") - np.searchsorted(key, key, side="right")
        punished = labels_are(events["outcome"], "punished")[done][order]
        seen = events["staff_id"].notna().to_numpy()[done][order]
        answer = np.where(punished, 0, np.where(seen, 1, 2))  # ANSWERS
        judged = steps + REPEAT_HOURS <= last_step
        return answer[judged], repeats[judged]

    def repeats_after(self, answer: str) -> tuple[int, int]:
        """(transgressions answered so, the same clients' transgressions in the day after them)."""
        answers, repeats = self._judged_transgressions
        chosen = answers == ANSWERS.index(answer)
        return int(chosen.sum()), int(repeats[chosen].sum())

    @cached_property
    def judged_admissions(self) -> pd.DataFrame:
        """Admissions on or after the warm-up day that could have lasted a week before the run ended."""
        stays = self.tables["stays"]
        run_end = self.tables["steps"]["step"].max() / 24.0
        admitted = stays["admitted_day"].to_numpy()
        return self._rows(stays, (admitted >= self.warmup_days) & (admitted <= run_end - EARLY_DAYS))


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
    weighting: str = ""  # default: POOLED (with pooled_from) or PER_RUN, with the unit of the denominator
    undefined_when: str = ""  # why the value can be NaN (e.g. no stay ended)
    pooled_from: tuple[str, str] | None = None  # (numerator count, denominator count): pooled over runs
    pooled_scale: float = 1.0  # units of the denominator count per unit of the denominator (24 bed-hours a bed-day)


def stay_admitted_day(stays: pd.DataFrame, client_id: pd.Series, day: pd.Series) -> np.ndarray:
    """For each (client_id, day): the ``admitted_day`` of that client's last stay admitted on or before the day
    (NaN if none).  A person readmitted has several stays under one id.

    The stays are sorted by client, then day; each query starts at its client's last stay and steps back over
    those admitted after its day (a person has a few stays: a few steps)."""
    if len(client_id) == 0 or stays.empty:
        return np.full(len(client_id), np.nan)
    stay_clients = stays["client_id"].to_numpy()
    stay_days = stays["admitted_day"].to_numpy(dtype=float)
    order = np.lexsort((stay_days, stay_clients))
    stay_clients, stay_days = stay_clients[order], stay_days[order]
    clients, days = np.asarray(client_id), np.asarray(day, dtype=float)
    first = np.searchsorted(stay_clients, clients, side="left")
    last = np.searchsorted(stay_clients, clients, side="right") - 1  # the client's last stay (< first: none)
    later = (last >= first) & (stay_days[np.maximum(last, 0)] > days)
    while later.any():
        last = last - later
        later = (last >= first) & (stay_days[np.maximum(last, 0)] > days)
    return np.where(last >= first, stay_days[np.maximum(last, 0)], np.nan)


def _readmitted(days: float) -> Callable[[MeasuredRun], int]:
    return lambda r: r.readmissions(days)[1]


def _readmission_share(days: float) -> Callable[[MeasuredRun], float]:
    def share(run: MeasuredRun) -> float:
        followed, readmitted = run.readmissions(days)
        return readmitted / followed if followed else math.nan

    return share


def _per_year(value: Callable[[MeasuredRun], float]) -> Callable[[MeasuredRun], float]:
    def rate(run: MeasuredRun) -> float:
        days = len(run.steps) / 24.0
        return float(value(run)) * 365.0 / days if days > 0 else math.nan

    return rate


def _admissions(run: MeasuredRun) -> int:
    stays = run.tables["stays"]
    return int((stays["admitted_day"] >= run.warmup_days).sum())


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


def _per(count: Callable[[MeasuredRun], float], exposure: Callable[[MeasuredRun], float]) -> Callable:
    def rate(run: MeasuredRun) -> float:
        days = exposure(run)
        return float(count(run)) / days if days > 0 else math.nan

    return rate


def _conflicts(run: MeasuredRun) -> int:
    return int(run.shifts["conflict_events"].sum())


def _containments(run: MeasuredRun) -> int:
    return int(run.shifts["containment_events"].sum())


def _phase(category: str, first_week: bool) -> Callable[[MeasuredRun], int]:
    return lambda r: r.phase_count(category, first_week)


def _first_week_days(run: MeasuredRun) -> float:
    return run.bed_days_by_phase[0]


def _later_days(run: MeasuredRun) -> float:
    return run.bed_days_by_phase[1]


def _ended(reason: str) -> Callable[[MeasuredRun], int]:
    return lambda r: r.exit_reasons.get(reason, 0)


def _transgressions(run: MeasuredRun) -> int:
    return int((run.events["kind"] == "transgression").sum())


def _answered(answer: str) -> Callable[[MeasuredRun], int]:
    return lambda r: r.repeats_after(answer)[0]


def _repeats(answer: str) -> Callable[[MeasuredRun], int]:
    return lambda r: r.repeats_after(answer)[1]


def _repeats_per(answer: str) -> Callable[[MeasuredRun], float]:
    def mean(run: MeasuredRun) -> float:
        answered, repeats = run.repeats_after(answer)
        return repeats / answered if answered else math.nan

    return mean


def _early_dropouts(run: MeasuredRun) -> int:
    judged = run.judged_admissions
    return int(((judged["exit_reason"] == "dropout") & (judged["length_of_stay_days"] <= EARLY_DAYS)).sum())


NO_SHIFT = "no shift with clients on the unit after the warm-up"
NO_BED_DAY = "no occupied bed-day after the warm-up"
BED_DAYS = "occupied bed-days (sum of `steps.census` / 24)"
FIRST_WEEK_DAYS = "occupied bed-days in the first week of a stay"
LATER_DAYS = "occupied bed-days after the first week of a stay"
PHASE_RULE = (
    f"{EVENTS_AFTER_WARM_UP}; phase by the client's day of stay at the event (`step` / 24 - `admitted_day`, "
    f"first week: < {EARLY_DAYS:g}); bed-days split the same way"
)
NO_STAY_ENDED = "no stay ended after the warm-up"
OUTSIDE_DAY = 90  # the day of follow-up at which `outside_functioning` is read (processes.aftercare.OUTSIDE_DAY)
FOLLOWED_RULE = (
    STAYS_ENDED_AFTER_WARM_UP + ", readmitted within {days} days or followed at least {days} days (`followup_days`): "
    "a follow-up the run's end cut short is censored, not counted as no readmission"
)
FOLLOWED_RULE_30, FOLLOWED_RULE_90 = FOLLOWED_RULE.format(days=30), FOLLOWED_RULE.format(days=90)
FOLLOWED_30 = "stays ended with 30 days of follow-up or readmitted sooner"
FOLLOWED_90 = "stays ended with 90 days of follow-up or readmitted sooner"
NOT_FOLLOWED = (
    "no stay ended after the warm-up with {days} days of follow-up (a run too short, or followup_days < {days})"
)
ADMISSIONS_AFTER_WARM_UP = "stays admitted on or after the warm-up day"

_OUTCOME_LIST: tuple[Outcome, ...] = (
    Outcome("conflict_per_shift",
            "conflict events (aggression, self-harm, absconding, rule refusal) per nursing shift with clients on the "
            "unit (`census` > 0: every shift of a ward; a day programme's or outpatient group's shifts with everyone "
            "at home do not count)",
            "`shifts.conflict_events`", "shifts", "events per shift", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.shifts_with_clients["conflict_events"]), undefined_when=NO_SHIFT,
            pooled_from=("conflict_events", "shifts")),
    Outcome("containment_per_shift",
            "containment events (PRN, special observation, time-out, seclusion, restraint) per nursing shift with "
            "clients on the unit",
            "`shifts.containment_events`", "shifts", "events per shift", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.shifts_with_clients["containment_events"]), undefined_when=NO_SHIFT,
            pooled_from=("containment_events", "shifts")),
    Outcome("conflict_per_bed_day", "conflict events per occupied bed-day (client-day present on the unit)",
            "`shifts.conflict_events`", BED_DAYS, "events per bed-day", HOURS_AFTER_WARM_UP,
            _per(_conflicts, lambda r: r.bed_days), undefined_when=NO_BED_DAY,
            pooled_from=("conflict_events", "bed_hours"), pooled_scale=24.0),
    Outcome("containment_per_bed_day", "containment events per occupied bed-day",
            "`shifts.containment_events`", BED_DAYS, "events per bed-day", HOURS_AFTER_WARM_UP,
            _per(_containments, lambda r: r.bed_days), undefined_when=NO_BED_DAY,
            pooled_from=("containment_events", "bed_hours"), pooled_scale=24.0),
    Outcome("conflict_per_bed_day_first_week",
            f"conflict events per occupied bed-day in the first {EARLY_DAYS:g} days of a stay",
            "conflict events of clients in their first week", FIRST_WEEK_DAYS, "events per bed-day", PHASE_RULE,
            _per(_phase("conflict", True), _first_week_days), undefined_when=NO_BED_DAY + " in a first week",
            pooled_from=("conflict_events_first_week", "bed_hours_first_week"), pooled_scale=24.0),
    Outcome("conflict_per_bed_day_later", f"conflict events per occupied bed-day after day {EARLY_DAYS:g} of a stay",
            "conflict events of clients after their first week", LATER_DAYS, "events per bed-day", PHASE_RULE,
            _per(_phase("conflict", False), _later_days), undefined_when=NO_BED_DAY + " after a first week",
            pooled_from=("conflict_events_later", "bed_hours_later"), pooled_scale=24.0),
    Outcome("containment_per_bed_day_first_week",
            f"containment events per occupied bed-day in the first {EARLY_DAYS:g} days of a stay",
            "containment events of clients in their first week", FIRST_WEEK_DAYS, "events per bed-day",
            PHASE_RULE, _per(_phase("containment", True), _first_week_days),
            undefined_when=NO_BED_DAY + " in a first week",
            pooled_from=("containment_events_first_week", "bed_hours_first_week"), pooled_scale=24.0),
    Outcome("containment_per_bed_day_later",
            f"containment events per occupied bed-day after day {EARLY_DAYS:g} of a stay",
            "containment events of clients after their first week", LATER_DAYS, "events per bed-day", PHASE_RULE,
            _per(_phase("containment", False), _later_days), undefined_when=NO_BED_DAY + " after a first week",
            pooled_from=("containment_events_later", "bed_hours_later"), pooled_scale=24.0),
    Outcome("isolation_hours_per_day", "client-hours in seclusion per day", "sum of `steps.n_isolated`",
            "hours / 24", "client-hours per day", HOURS_AFTER_WARM_UP, _isolation_hours_per_day,
            pooled_from=("isolation_client_hours", "measured_hours"), pooled_scale=24.0),
    Outcome("skill_gain", "mean goal-skill gain from admission to exit",
            "sum of `skill_at_exit - skill_at_admission`", "stays ended", "0-1", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _mean(r.ended["skill_at_exit"] - r.ended["skill_at_admission"]), undefined_when=NO_STAY_ENDED),
    Outcome("completion_share", "share of ended stays that completed treatment", "stays ended `completed`",
            "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: r.exit_share("completed"), undefined_when=NO_STAY_ENDED,
            pooled_from=("completed_stays", "stays_ended")),
    Outcome("dropout_share", "share of ended stays that ended in dropout", "stays ended `dropout`", "stays ended",
            "share", STAYS_ENDED_AFTER_WARM_UP, lambda r: r.exit_share("dropout"),
            undefined_when=NO_STAY_ENDED, pooled_from=("dropout_stays", "stays_ended")),
    Outcome("transfer_share", "share of ended stays that ended in transfer (stay limit reached)",
            "stays ended `transfer`", "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: r.exit_share("transfer"), undefined_when=NO_STAY_ENDED,
            pooled_from=("transfer_stays", "stays_ended")),
    Outcome("median_stay_days", "median length of ended stays", "median of `length_of_stay_days`", "stays ended",
            "days", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: float(r.ended["length_of_stay_days"].median()) if len(r.ended) else math.nan,
            undefined_when=NO_STAY_ENDED),
    Outcome("early_dropout_share",
            f"share of admissions that dropped out within {EARLY_DAYS:g} days (first-week dropout, as "
            "Darke, Campbell & Popple count it)",
            f"those admissions that ended in `dropout` with `length_of_stay_days` <= {EARLY_DAYS:g}",
            f"admissions with at least {EARLY_DAYS:g} days of follow-up", "share", ADMISSIONS_JUDGED,
            _early_dropout, undefined_when=f"no admission after the warm-up with {EARLY_DAYS:g} days of follow-up",
            pooled_from=("early_dropouts", "admissions_judged")),
    Outcome("violent_client_share",
            "share of clients with at least one physical aggression against people during their stay (what "
            "Iozzino et al. 2015 pooled: violent patients among admitted patients, over whole stays)",
            "stays ended with `violent_incidents` > 0", "stays ended", "share", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: _share(r.ended["violent_incidents"] > 0), undefined_when=NO_STAY_ENDED,
            pooled_from=("violent_stays", "stays_ended")),
    Outcome("mean_trust", "mean trust of the clients present, over the hours", "sum of `steps.mean_trust`", "hours",
            "0-1", HOURS_AFTER_WARM_UP, lambda r: _mean(r.steps["mean_trust"])),
    Outcome("mean_norm", "mean strength of the community's norms, over the hours", "sum of `steps.community_norm`",
            "hours", "0-1", HOURS_AFTER_WARM_UP, lambda r: _mean(r.steps["community_norm"])),
    Outcome("mean_independence", "mean independence of the clients present, over the hours",
            "sum of `steps.mean_independence`", "hours", "0-1", HOURS_AFTER_WARM_UP,
            lambda r: _mean(r.steps["mean_independence"])),
    Outcome("mean_independence_at_exit", "mean independence at exit", "sum of `independence_at_exit`",
            "stays ended", "0-1", STAYS_ENDED_AFTER_WARM_UP, lambda r: _mean(r.ended["independence_at_exit"]),
            undefined_when=NO_STAY_ENDED),
    Outcome("outside_functioning",
            f"mean functioning outside (mean skill x (1 - symptoms)) on day {OUTSIDE_DAY} after discharge, or at "
            "readmission if sooner (the community model, processes.aftercare)",
            "sum of known `outside_functioning`", "stays ended", "0-1",
            f"{STAYS_ENDED_AFTER_WARM_UP}, with {OUTSIDE_DAY} days of follow-up or readmitted sooner",
            lambda r: _mean(r.ended["outside_functioning"].dropna()),
            undefined_when=f"no stay ended after the warm-up with {OUTSIDE_DAY} days of follow-up"),
    Outcome("readmission_30d", "share of discharges readmitted within 30 days (the community model: relapse, "
            "referral, a bed)", "those with `days_to_readmission` <= 30", FOLLOWED_30, "share", FOLLOWED_RULE_30,
            _readmission_share(30.0), undefined_when=NOT_FOLLOWED.format(days=30),
            pooled_from=("readmitted_30d", "followed_30d")),
    Outcome("readmission_90d", "share of discharges readmitted within 90 days", "those with `days_to_readmission` "
            "<= 90", FOLLOWED_90, "share", FOLLOWED_RULE_90, _readmission_share(90.0),
            undefined_when=NOT_FOLLOWED.format(days=90), pooled_from=("readmitted_90d", "followed_90d")),
    Outcome("bed_days_per_year", "occupied bed-days per year (client-days on the unit, per 365 days)",
            "sum of `steps.census` / 24 x 365", "hours / 24", "bed-days per year", HOURS_AFTER_WARM_UP,
            _per_year(lambda r: r.bed_days)),
    Outcome("readmission_bed_days_per_year",
            "bed-days per year spent in the stays of readmitted people (`previous_stays` >= 1): the revolving door",
            "days of stays with `previous_stays` >= 1 (clipped to the measured period)", "hours / 24",
            "bed-days per year", HOURS_AFTER_WARM_UP, _per_year(lambda r: r.readmission_bed_days)),
    Outcome("admissions_per_year", "admissions (new people and readmissions) per year", "rows of `stays` admitted "
            "after the warm-up", "hours / 24", "admissions per year", ADMISSIONS_AFTER_WARM_UP,
            _per_year(_admissions)),
    Outcome("feedback_per_client_day", "affirmations and corrections sent per client-day", "rows of `feedback`",
            "client-days (sum of `steps.census` / 24)", "per client-day",
            f"{HOURS_AFTER_WARM_UP}; {FEEDBACK_AFTER_WARM_UP}", _feedback_per_client_day,
            undefined_when="no client present after the warm-up", pooled_from=("feedback_given", "bed_hours"),
            pooled_scale=24.0),
    Outcome("peer_feedback_share", "share of feedback sent by peers", "feedback with `sender_role` = client",
            "feedback", "share", FEEDBACK_AFTER_WARM_UP, lambda r: _share(r.feedback["sender_role"] == "client"),
            undefined_when="no feedback after the warm-up", pooled_from=("peer_feedback", "feedback_given")),
    Outcome("transgressions_per_bed_day", "minor transgressions (rule breaking short of an incident) per occupied "
            "bed-day", "`transgression` rows of `events`", BED_DAYS, "per bed-day", EVENTS_AFTER_WARM_UP,
            _per(_transgressions, lambda r: r.bed_days), undefined_when=NO_BED_DAY,
            pooled_from=("transgression_events", "bed_hours"), pooled_scale=24.0),
    Outcome("repeats_after_punished",
            f"the short-term effect of punishment: mean number of the same client's transgressions in the "
            f"{REPEAT_HOURS} h after a punished transgression",
            "those later transgressions", "punished transgressions", "transgressions", REPEATS_RULE,
            _repeats_per("punished"), undefined_when="no punished transgression with a day of follow-up",
            pooled_from=("repeats_after_punished_count", "punished_transgressions")),
    Outcome("repeats_after_seen_unpunished",
            f"mean number of the same client's transgressions in the {REPEAT_HOURS} h after a transgression staff "
            "saw and did not punish (a limit, settled, or left)",
            "those later transgressions", "transgressions seen by staff and not punished", "transgressions",
            REPEATS_RULE, _repeats_per("seen_unpunished"),
            undefined_when="no seen, unpunished transgression with a day of follow-up",
            pooled_from=("repeats_after_seen_unpunished_count", "seen_unpunished_transgressions")),
    Outcome("repeats_after_unseen",
            f"mean number of the same client's transgressions in the {REPEAT_HOURS} h after a transgression no "
            "staff member saw",
            "those later transgressions", "transgressions no staff member saw", "transgressions", REPEATS_RULE,
            _repeats_per("unseen"), undefined_when="no unseen transgression with a day of follow-up",
            pooled_from=("repeats_after_unseen_count", "unseen_transgressions")),
    # counts and exposure for the rate-ratio models
    Outcome("conflict_events", "conflict events after the warm-up", "sum of `shifts.conflict_events`", "(a count)",
            "events", HOURS_AFTER_WARM_UP, lambda r: int(r.shifts["conflict_events"].sum()), role="count",
            weighting=SUMMED),
    Outcome("containment_events", "containment events after the warm-up", "sum of `shifts.containment_events`",
            "(a count)", "events", HOURS_AFTER_WARM_UP, lambda r: int(r.shifts["containment_events"].sum()),
            role="count", weighting=SUMMED),
    Outcome("shifts", "nursing shifts after the warm-up with clients on the unit: the exposure of the event counts",
            "rows of `shifts` with `census` > 0", "(a count)", "shifts", HOURS_AFTER_WARM_UP,
            lambda r: len(r.shifts_with_clients), role="count", weighting=SUMMED),
    Outcome("measured_hours", "hours after the warm-up", "rows of `steps`", "(a count)", "hours",
            HOURS_AFTER_WARM_UP, lambda r: len(r.steps), role="count", weighting=SUMMED),
    Outcome("isolation_client_hours", "client-hours in seclusion after the warm-up", "sum of `steps.n_isolated`",
            "(a count)", "client-hours", HOURS_AFTER_WARM_UP, lambda r: int(r.steps["n_isolated"].sum()),
            role="count", weighting=SUMMED),
    Outcome("bed_hours", "occupied bed-hours after the warm-up: client-hours present on the unit (bed-days x 24)",
            "sum of `steps.census`", "(a count)", "client-hours", HOURS_AFTER_WARM_UP,
            lambda r: round(r.bed_days * 24), role="count", weighting=SUMMED),
    Outcome("conflict_events_first_week", f"conflict events in the first {EARLY_DAYS:g} days of the client's stay",
            "conflict rows of `events` by day of stay", "(a count)", "events", PHASE_RULE,
            _phase("conflict", True), role="count", weighting=SUMMED),
    Outcome("conflict_events_later", f"conflict events after day {EARLY_DAYS:g} of the client's stay",
            "conflict rows of `events` by day of stay", "(a count)", "events", PHASE_RULE,
            _phase("conflict", False), role="count", weighting=SUMMED),
    Outcome("containment_events_first_week",
            f"containment events in the first {EARLY_DAYS:g} days of the client's stay",
            "containment rows of `events` by day of stay", "(a count)", "events", PHASE_RULE,
            _phase("containment", True), role="count", weighting=SUMMED),
    Outcome("containment_events_later", f"containment events after day {EARLY_DAYS:g} of the client's stay",
            "containment rows of `events` by day of stay", "(a count)", "events", PHASE_RULE,
            _phase("containment", False), role="count", weighting=SUMMED),
    Outcome("bed_hours_first_week", f"occupied bed-hours in the first {EARLY_DAYS:g} days of a stay",
            "stay-hours with day of stay < 7 (scaled to the census when clients are away)", "(a count)",
            "client-hours", PHASE_RULE, lambda r: round(_first_week_days(r) * 24), role="count", weighting=SUMMED),
    Outcome("bed_hours_later", f"occupied bed-hours after day {EARLY_DAYS:g} of a stay",
            "stay-hours with day of stay >= 7 (scaled to the census when clients are away)", "(a count)",
            "client-hours", PHASE_RULE, lambda r: round(_later_days(r) * 24), role="count", weighting=SUMMED),
    Outcome("stays_ended", "stays that ended after the warm-up: the denominator of the exit shares",
            "rows of `stays` ended", "(a count)", "stays", STAYS_ENDED_AFTER_WARM_UP, lambda r: len(r.ended),
            role="count", weighting=SUMMED),
    Outcome("completed_stays", "stays ended after the warm-up that completed treatment", "stays ended `completed`",
            "(a count)", "stays", STAYS_ENDED_AFTER_WARM_UP, _ended("completed"), role="count", weighting=SUMMED),
    Outcome("dropout_stays", "stays ended after the warm-up in dropout", "stays ended `dropout`", "(a count)",
            "stays", STAYS_ENDED_AFTER_WARM_UP, _ended("dropout"), role="count", weighting=SUMMED),
    Outcome("transfer_stays", "stays ended after the warm-up in transfer", "stays ended `transfer`", "(a count)",
            "stays", STAYS_ENDED_AFTER_WARM_UP, _ended("transfer"), role="count", weighting=SUMMED),
    Outcome("violent_stays", "stays ended after the warm-up with at least one physical aggression",
            "stays ended with `violent_incidents` > 0", "(a count)", "stays", STAYS_ENDED_AFTER_WARM_UP,
            lambda r: int((r.ended["violent_incidents"] > 0).sum()), role="count", weighting=SUMMED),
    Outcome("admissions_judged", f"admissions after the warm-up with at least {EARLY_DAYS:g} days of follow-up",
            "rows of `stays`", "(a count)", "admissions", ADMISSIONS_JUDGED, lambda r: len(r.judged_admissions),
            role="count", weighting=SUMMED),
    Outcome("early_dropouts", f"of those, dropouts within {EARLY_DAYS:g} days", "rows of `stays`", "(a count)",
            "admissions", ADMISSIONS_JUDGED, _early_dropouts, role="count", weighting=SUMMED),
    Outcome("followed_30d", "ended stays whose readmission within 30 days is known (the denominator)",
            "rows of `stays`", "(a count)", "stays", FOLLOWED_RULE_30, lambda r: r.readmissions(30.0)[0],
            role="count", weighting=SUMMED),
    Outcome("readmitted_30d", "of those, readmitted within 30 days", "rows of `stays`", "(a count)", "stays",
            FOLLOWED_RULE_30, _readmitted(30.0), role="count", weighting=SUMMED),
    Outcome("followed_90d", "ended stays whose readmission within 90 days is known (the denominator)",
            "rows of `stays`", "(a count)", "stays", FOLLOWED_RULE_90, lambda r: r.readmissions(90.0)[0],
            role="count", weighting=SUMMED),
    Outcome("readmitted_90d", "of those, readmitted within 90 days", "rows of `stays`", "(a count)", "stays",
            FOLLOWED_RULE_90, _readmitted(90.0), role="count", weighting=SUMMED),
    Outcome("feedback_given", "affirmations and corrections sent after the warm-up", "rows of `feedback`",
            "(a count)", "pieces of feedback", FEEDBACK_AFTER_WARM_UP, lambda r: len(r.feedback), role="count",
            weighting=SUMMED),
    Outcome("peer_feedback", "feedback sent by peers after the warm-up", "feedback with `sender_role` = client",
            "(a count)", "pieces of feedback", FEEDBACK_AFTER_WARM_UP,
            lambda r: int((r.feedback["sender_role"] == "client").sum()), role="count", weighting=SUMMED),
    Outcome("transgression_events", "minor transgressions after the warm-up", "`transgression` rows of `events`",
            "(a count)", "transgressions", EVENTS_AFTER_WARM_UP, _transgressions, role="count", weighting=SUMMED),
    Outcome("punished_transgressions", "punished transgressions with a day of follow-up",
            "`transgression` rows with outcome `punished`", "(a count)", "transgressions", REPEATS_RULE,
            _answered("punished"), role="count", weighting=SUMMED),
    Outcome("repeats_after_punished_count", f"the same clients' transgressions in the {REPEAT_HOURS} h after those",
            "`transgression` rows", "(a count)", "transgressions", REPEATS_RULE, _repeats("punished"), role="count",
            weighting=SUMMED),
    Outcome("seen_unpunished_transgressions", "transgressions staff saw and did not punish, with a day of follow-up",
            "`transgression` rows with a `staff_id` and outcome other than `punished`", "(a count)", "transgressions",
            REPEATS_RULE, _answered("seen_unpunished"), role="count", weighting=SUMMED),
    Outcome("repeats_after_seen_unpunished_count",
            f"the same clients' transgressions in the {REPEAT_HOURS} h after those", "`transgression` rows",
            "(a count)", "transgressions", REPEATS_RULE, _repeats("seen_unpunished"), role="count", weighting=SUMMED),
    Outcome("unseen_transgressions", "transgressions no staff member saw, with a day of follow-up",
            "`transgression` rows without a `staff_id`", "(a count)", "transgressions", REPEATS_RULE,
            _answered("unseen"), role="count", weighting=SUMMED),
    Outcome("repeats_after_unseen_count", f"the same clients' transgressions in the {REPEAT_HOURS} h after those",
            "`transgression` rows", "(a count)", "transgressions", REPEATS_RULE, _repeats("unseen"), role="count",
            weighting=SUMMED),
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
    unit = WEIGHTING_UNITS[outcome.denominator]
    if outcome.pooled_from:
        num, den = outcome.pooled_from
        scale = f" / {outcome.pooled_scale:g}" if outcome.pooled_scale != 1 else ""
        return replace(outcome, weighting=POOLED.format(num=num, den=den, scale=scale, unit=unit))
    return replace(outcome, weighting=PER_RUN.format(unit=unit))


_OUTCOME_LIST = tuple(_with_weighting(o) for o in _OUTCOME_LIST)
OUTCOMES: dict[str, Outcome] = {o.name: o for o in _OUTCOME_LIST}
SUMMARY_OUTCOMES: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "summary")
COUNTS: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "count")
PATTERN_OUTCOMES: tuple[str, ...] = tuple(o.name for o in _OUTCOME_LIST if o.role == "pattern")
# The outcomes shown first (compare's printout and figure, a report's tables).
KEY_OUTCOMES: tuple[str, ...] = (
    "conflict_per_shift",
    "containment_per_shift",
    "conflict_per_bed_day",
    "containment_per_bed_day",
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

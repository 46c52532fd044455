"""Logs of what happens on the ward, and the tidy tables built from them.

The processes append to the logs in batches (numpy arrays per hour); the
tables are built only when asked for (``MilieuModel.tables()``), so recording
costs little in the hourly step.  Column lists are documented in
``docs/outputs.md``; :data:`TABLE_COLUMNS` is the contract the tests check.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.model.state import (
    ANTECEDENTS,
    CLIMATE_SCALES,
    DIAGNOSES,
    PLAN_GOALS,
    REPORTED_STATES,
    SHIFTS,
    TARGET_ROLES,
    clock_hour,
    shift_of_hour,
)


@functools.cache
def labels(names: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical type of a column whose labels are ``names`` (made once per vocabulary)."""
    return pd.CategoricalDtype(list(names))


def coded(codes: np.ndarray, names: tuple[str, ...]) -> pd.Categorical:
    """A categorical column from its codes (-1: missing) and its vocabulary."""
    return pd.Categorical.from_codes(codes, dtype=labels(names))


CONFLICT_KINDS: tuple[str, ...] = (
    "refusing_rules",
    "verbal_aggression",
    "absconding",
    "aggression_objects",
    "self_harm",
    "physical_aggression",
)
CONTAINMENT_KINDS: tuple[str, ...] = (
    "prn_medication",
    "special_observation",
    "time_out",
    "seclusion",
    "restraint",
)
# Every event kind with its category; the order is the code used in the logs.
EVENT_KINDS: dict[str, str] = {
    **{kind: "conflict" for kind in CONFLICT_KINDS},
    **{kind: "containment" for kind in CONTAINMENT_KINDS},
    "verbal_de_escalation": "de_escalation",
    "praise": "reinforcement",
    "token_reward": "reinforcement",
    "restriction": "punishment",
    "limit_setting": "limit_setting",
    "denied_request": "restriction",
    "seclusion_release": "isolation",
    "calm_down": "de_escalation",
    "check_in": "prevention",
    "transgression": "transgression",  # a minor transgression, with how it was answered (consequences)
}
KIND_NAMES: tuple[str, ...] = tuple(EVENT_KINDS)
KIND = {name: code for code, name in enumerate(KIND_NAMES)}
CATEGORIES: tuple[str, ...] = tuple(sorted(set(EVENT_KINDS.values())))
CATEGORY_CODE = np.array([CATEGORIES.index(EVENT_KINDS[kind]) for kind in KIND_NAMES])  # by kind code
OUTCOMES: tuple[str, ...] = (
    "none",
    "resolved",
    "failed",
    "contained",
    "unobserved",
    "started",
    "continued",
    "ended",
    "punished",  # a transgression staff punished
    "addressed",  # a transgression limited, settled by clear expectations, or corrected by feedback
    "unaddressed",  # a transgression nobody answered
)
OUTCOME = {name: code for code, name in enumerate(OUTCOMES)}
# the columns of the events log (the `events` table adds day, shift and category)
EVENT_COLUMNS: tuple[str, ...] = (
    "step",
    "client_id",
    "staff_id",
    "kind",
    "severity",
    "antecedent",
    "outcome",
    "target_role",
    "target_id",
    "witnesses",
)
#: The ward climate's columns in `steps` (at the end of each hour) and `shifts` (mean over the shift's hours).
CLIMATE_COLUMNS: tuple[str, ...] = tuple(f"climate_{scale}" for scale in CLIMATE_SCALES)
#: The community's norm strength (processes.norms), after the climate in `steps` and (shift mean) `shifts`.
NORM_COLUMNS: tuple[str, ...] = ("community_norm",)
FEEDBACK_KINDS = ("affirmation", "correction")
SENDER_ROLES = ("client", "staff", "community")  # community: a community meeting (processes.norms)
EXIT_REASONS = ("completed", "dropout", "transfer", "still_present")
# per-stay counters of ClientArrays, reported as they are in the `stays` table
STAY_COUNTERS: tuple[str, ...] = (
    "incidents",
    "violent_incidents",
    "containments",
    "times_isolated",
    "isolation_hours",
    "affirmations_received",
    "corrections_received",
    "feedback_sent",
    "transgressions",
    "punishments",
)

#: The `followup` table (life after discharge, processes.aftercare): one row per discharged client per week.
FOLLOWUP_COLUMNS: tuple[str, ...] = ("client_id", "exit_day", "week", "symptoms", "skill", "in_aftercare", "readmitted")
# its log: ints (client_id, week, in_aftercare, readmitted) and floats (exit step, symptoms, skill)
FOLLOWUP_LOG = ("client_id", "week", "in_aftercare", "readmitted", "exit_step", "symptoms", "skill")

STEP_COLUMNS: tuple[str, ...] = (
    "step",
    "day",
    "hour",
    "shift",
    "activity",
    "census",
    "staff_on_duty",
    *(f"{stat}_{state}" for state in REPORTED_STATES for stat in ("mean", "sd")),
    "n_isolated",
    "conflict_events",
    "containment_events",
    *CLIMATE_COLUMNS,
    *NORM_COLUMNS,
)

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "steps": STEP_COLUMNS,
    "shifts": (
        "day",
        "shift",
        "census",
        "staff_on_duty",
        "conflict_events",
        "containment_events",
        *(f"conflict_{kind}" for kind in CONFLICT_KINDS),
        *(f"containment_{kind}" for kind in CONTAINMENT_KINDS),
        *CLIMATE_COLUMNS,
        *NORM_COLUMNS,
    ),
    "events": (
        "step",
        "day",
        "shift",
        "client_id",
        "staff_id",
        "kind",
        "category",
        "severity",
        "antecedent",
        "outcome",
        "target_role",
        "target_id",
        "witnesses",
    ),
    "feedback": ("step", "sender_id", "receiver_id", "sender_role", "kind", "behaviour_change"),
    "stays": (
        "client_id",
        "admission_number",
        "admitted_day",
        "exit_day",
        "exit_reason",
        "length_of_stay_days",
        "diagnosis",  # issue 13: the profile and the plan at exit (processes.flow.stay_row)
        "detained",
        "plan_goals",
        "plan_goals_met",
        "bed_pressure",
        *(f"{state}_at_admission" for state in REPORTED_STATES),
        *(f"{state}_at_exit" for state in REPORTED_STATES),
        *STAY_COUNTERS,
        "external_share",
        "outside_functioning",
        "outside_gain",
        # life after discharge (processes.aftercare)
        "previous_stays",
        "days_to_readmission",
        "followup_days",
    ),
    # one row per discharged client per complete week of follow-up (processes.aftercare)
    "followup": FOLLOWUP_COLUMNS,
}

# --- issue 13: the treatment plans (processes.planning); the order of each vocabulary is its code ---------------
PLAN_PARTS: tuple[str, ...] = ("groups", "one_to_one", "medication_review", "leave", "discharge_planning")
PLAN_ITEMS: tuple[str, ...] = (*PLAN_GOALS, *PLAN_PARTS)  # the `plans` table's `goal`: a goal or a part
PLAN_STATUSES: tuple[str, ...] = ("open", "met", "in_plan", "ended")
PLAN_CHANGES: tuple[str, ...] = ("set", "met", "reopened", "lowered", "added", "removed")
PLAN_REASONS: tuple[str, ...] = (
    "admission",
    "target reached",
    "below target again",
    "progress stalled",
    "still stalled",
    "symptoms not falling",
    "symptom target met",
    "risk history",
    "support below target",
    "symptoms allow groups",
    "symptoms too high for groups",
    "safe and able for leave",
    "leave no longer safe",
)
PLAN_ITEM, PLAN_STATUS, PLAN_CHANGE, PLAN_REASON = (
    {name: code for code, name in enumerate(names)} for names in (PLAN_ITEMS, PLAN_STATUSES, PLAN_CHANGES, PLAN_REASONS)
)
TABLE_COLUMNS["plans"] = ("client_id", "day", "goal", "target", "status", "change", "reason")
# (end of issue 13 plans)

_N_STATE_COLS = 2 * len(REPORTED_STATES)
HOURS_PER_SHIFT = 8
# the `shifts` table's count columns, and for each event kind code its column there (-1: not counted)
SHIFT_COUNT_COLUMNS: tuple[str, ...] = TABLE_COLUMNS["shifts"][6 : -len(CLIMATE_COLUMNS) - len(NORM_COLUMNS)]
SHIFT_COUNT_COLUMN = np.array(
    [
        SHIFT_COUNT_COLUMNS.index(f"{category}_{kind}") if f"{category}_{kind}" in SHIFT_COUNT_COLUMNS else -1
        for kind, category in EVENT_KINDS.items()
    ]
)


class BatchLog:
    """A column store that takes whole blocks of rows per append.

    Appends are kept as blocks (one integer matrix, and one float matrix when
    the log has float columns) and joined into one matrix only when the columns
    are asked for, so logging costs one list append per call in the hourly step
    and reading the columns again costs only the blocks added since.
    """

    def __init__(self, columns: tuple[str, ...], floats: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.int_columns = tuple(c for c in columns if c not in floats)
        self.float_columns = tuple(c for c in columns if c in floats)
        self._ints = np.zeros((len(self.int_columns), 0), dtype=np.int64)
        self._floats = np.zeros((len(self.float_columns), 0))
        self._pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        self.rows = 0

    def add_rows(self, ints: np.ndarray, floats: np.ndarray | None = None) -> None:
        """Append rows: ``ints`` (rows x integer columns, in column order), ``floats`` (rows x float columns)."""
        if len(ints):
            self._pending.append((ints.T, None if floats is None else floats.reshape(len(ints), -1).T))
            self.rows += len(ints)

    def add(self, n: int, **values: Any) -> None:
        """Append ``n`` rows given column by column (arrays of length n, or scalars repeated)."""
        if n == 0:
            return
        ints = np.empty((n, len(self.int_columns)), dtype=np.int64)
        for k, column in enumerate(self.int_columns):
            ints[:, k] = values[column]
        floats = np.empty((n, len(self.float_columns)))
        for k, column in enumerate(self.float_columns):
            floats[:, k] = values[column]
        self.add_rows(ints, floats)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column as one array (read-only views; valid until the next append)."""
        if self._pending:
            self._ints = np.concatenate([self._ints, *(ints for ints, _ in self._pending)], axis=1)
            if self.float_columns:
                self._floats = np.concatenate([self._floats, *(floats for _, floats in self._pending)], axis=1)
            self._pending = []
        out = {c: self._ints[k] for k, c in enumerate(self.int_columns)}
        out.update({c: self._floats[k] for k, c in enumerate(self.float_columns)})
        return {c: out[c] for c in self.columns}


class StepLog:
    """Hourly model-level series in a preallocated, growing float matrix."""

    CAPACITY = 1024  # rows to start with when the run's length is not known

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._data = np.zeros((capacity, len(STEP_COLUMNS)))
        self.rows = 0

    def add(self, row: np.ndarray) -> None:
        """Append one hour's row."""
        self._make_room(1)
        self._data[self.rows] = row
        self.rows += 1

    def add_rows(self, rows: np.ndarray) -> None:
        """Append several hours' rows (hours x STEP_COLUMNS) at once."""
        self._make_room(len(rows))
        self._data[self.rows : self.rows + len(rows)] = rows
        self.rows += len(rows)

    def _make_room(self, n: int) -> None:
        """Double the matrix until ``n`` more rows fit."""
        while self.rows + n > self._data.shape[0]:
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])

    def array(self) -> np.ndarray:
        """The rows so far, a (rows, STEP_COLUMNS) view of the log (read it, do not write it)."""
        return self._data[: self.rows]

    def frame(self, activities: tuple[str, ...]) -> pd.DataFrame:
        data = self._data[: self.rows]
        columns: dict[str, Any] = {}
        for k, name in enumerate(STEP_COLUMNS):
            if name == "shift":
                columns[name] = coded(data[:, k].astype(np.int64), SHIFTS)
            elif name == "activity":
                columns[name] = coded(data[:, k].astype(np.int64), tuple(activities))
            elif name in STEP_COUNT_COLUMNS:
                columns[name] = data[:, k].astype(np.int64)
            else:  # the means and the climate stay float
                columns[name] = data[:, k].copy()
        return pd.DataFrame(columns)


#: The steps table's whole-number columns (the rest but shift and activity are floats).
STEP_COUNT_COLUMNS = (
    "step",
    "day",
    "hour",
    "census",
    "staff_on_duty",
    "n_isolated",
    "conflict_events",
    "containment_events",
)


class Records:
    """All logs of one run."""

    def __init__(self, hours: int = 0) -> None:
        """``hours``: the hours the run is to log, when known (the steps log is made that long at once)."""
        self.steps = StepLog(max(hours, StepLog.CAPACITY))
        self.events = BatchLog(EVENT_COLUMNS)
        self.feedback = BatchLog(
            ("step", "sender_id", "receiver_id", "sender_role", "kind", "behaviour_change"),
            floats=("behaviour_change",),
        )
        self.stays: list[dict[str, Any]] = []
        self.followup = BatchLog(FOLLOWUP_LOG, floats=("exit_step", "symptoms", "skill"))  # processes.aftercare
        # one row per plan goal or part set, met or changed (processes.planning); `step` becomes `day`
        self.plans = BatchLog(("step", "client_id", "goal", "target", "status", "change", "reason"), floats=("target",))

    # --- tables ---------------------------------------------------------------
    def events_frame(self) -> pd.DataFrame:
        a = self.events.arrays()
        shift = shift_of_hour(clock_hour(a["step"]))
        staff = a["staff_id"]
        return pd.DataFrame(
            {
                "step": a["step"],
                "day": (a["step"] - 1) // 24,
                "shift": coded(shift, SHIFTS),
                "client_id": a["client_id"],
                "staff_id": pd.arrays.IntegerArray(np.where(staff >= 0, staff, 0), staff < 0),
                "kind": coded(a["kind"], KIND_NAMES),
                "category": coded(CATEGORY_CODE[a["kind"]], CATEGORIES),
                "severity": a["severity"],
                "antecedent": coded(a["antecedent"], ANTECEDENTS),
                "outcome": coded(a["outcome"], OUTCOMES),
                "target_role": coded(a["target_role"], TARGET_ROLES),
                "target_id": a["target_id"],
                "witnesses": a["witnesses"],
            }
        )

    def feedback_frame(self) -> pd.DataFrame:
        a = self.feedback.arrays()
        return pd.DataFrame(
            {
                "step": a["step"],
                "sender_id": a["sender_id"],
                "receiver_id": a["receiver_id"],
                "sender_role": coded(a["sender_role"], SENDER_ROLES),
                "kind": coded(a["kind"], FEEDBACK_KINDS),
                "behaviour_change": a["behaviour_change"],
            }
        )

    def shifts_frame(self, steps: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
        """One row per nursing shift; the 'day' of a night shift is the day it started.

        Step s (1 = Monday 07:00) falls in the run's shift number (s - 1) // 8: early, late and
        night of day 0, then of day 1, and so on.
        """
        if steps.empty:
            return pd.DataFrame(columns=list(TABLE_COLUMNS["shifts"]))
        block = (steps["step"].to_numpy() - 1) // HOURS_PER_SHIFT
        starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        first = block[starts]
        columns: dict[str, Any] = {"day": first // 3, "shift": coded(first % 3, SHIFTS)}
        for column, reduce in (("census", np.maximum), ("staff_on_duty", np.maximum)):
            columns[column] = reduce.reduceat(steps[column].to_numpy(), starts)
        for column in ("conflict_events", "containment_events"):
            columns[column] = np.add.reduceat(steps[column].to_numpy(), starts)
        counts = np.zeros((len(starts), len(SHIFT_COUNT_COLUMNS)), dtype=np.int64)
        column = SHIFT_COUNT_COLUMN[events["kind"].cat.codes.to_numpy()]
        counted = column >= 0
        row = np.searchsorted(first, (events["step"].to_numpy()[counted] - 1) // HOURS_PER_SHIFT)
        np.add.at(counts, (row, column[counted]), 1)
        columns.update({name: counts[:, k] for k, name in enumerate(SHIFT_COUNT_COLUMNS)})
        hours = np.diff(np.r_[starts, len(block)])
        for column in (*CLIMATE_COLUMNS, *NORM_COLUMNS):  # the mean over the shift's hours
            columns[column] = np.add.reduceat(steps[column].to_numpy(), starts) / hours
        return pd.DataFrame({name: columns[name] for name in TABLE_COLUMNS["shifts"]})

    def plans_frame(self) -> pd.DataFrame:
        """The `plans` table: one row per goal or part of a treatment plan set, met or changed."""
        a = self.plans.arrays()
        return pd.DataFrame(
            {
                "client_id": a["client_id"],
                "day": (np.maximum(a["step"], 1) - 1) // 24,
                "goal": coded(a["goal"], PLAN_ITEMS),
                "target": a["target"],
                "status": coded(a["status"], PLAN_STATUSES),
                "change": coded(a["change"], PLAN_CHANGES),
                "reason": coded(a["reason"], PLAN_REASONS),
            }
        )

    def stays_frame(self, still_present: list[dict[str, Any]]) -> pd.DataFrame:
        rows = self.stays + still_present
        if not rows:
            frame = pd.DataFrame(columns=list(TABLE_COLUMNS["stays"]))
            frame["exit_reason"] = pd.Categorical(frame["exit_reason"], dtype=labels(EXIT_REASONS))
            frame["diagnosis"] = pd.Categorical(frame["diagnosis"], dtype=labels(DIAGNOSES))
            frame["previous_stays"] = frame["previous_stays"].astype(np.int64)
            return frame
        # a person's stays share their admission_number (the readmitted keep it): then by admission
        order = np.lexsort(([r["admitted_day"] for r in rows], [r["admission_number"] for r in rows]))
        rows = [rows[i] for i in order.tolist()]
        columns: dict[str, Any] = {}
        for name in TABLE_COLUMNS["stays"]:
            values = [r.get(name, math.nan) for r in rows]  # a key a row lacks is missing (NaN)
            if name == "exit_reason":
                columns[name] = pd.Categorical(values, dtype=labels(EXIT_REASONS))
            elif name == "diagnosis":
                columns[name] = pd.Categorical(values, dtype=labels(DIAGNOSES))
            elif name == "previous_stays":
                columns[name] = np.array(values, dtype=np.int64)
            else:
                columns[name] = np.array(values)
        return pd.DataFrame(columns)

    def followup_frame(self) -> pd.DataFrame:
        """The `followup` table: one row per discharged client per complete week of follow-up (and the week
        of a readmission), ordered by the stay it follows (exit time, client) and week."""
        a = self.followup.arrays()
        exit_day = a["exit_step"] / 24.0
        order = np.lexsort((a["week"], a["client_id"], exit_day))
        return pd.DataFrame(
            {
                "client_id": a["client_id"][order],
                "exit_day": exit_day[order],
                "week": a["week"][order],
                "symptoms": a["symptoms"][order],
                "skill": a["skill"][order],
                "in_aftercare": a["in_aftercare"][order].astype(bool),
                "readmitted": a["readmitted"][order].astype(bool),
            }
        )

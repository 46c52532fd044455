"""Logs of what happens on the ward, and the tidy tables built from them.

The processes append to the logs in batches (numpy arrays per hour); the
tables are built only when asked for (``MilieuModel.tables()``), so recording
costs little in the hourly step.  Column lists are documented in
``docs/outputs.md``; :data:`TABLE_COLUMNS` is the contract the tests check.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.state import ANTECEDENTS, REPORTED_STATES, SHIFTS

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
}
KIND_NAMES: tuple[str, ...] = tuple(EVENT_KINDS)
KIND = {name: code for code, name in enumerate(KIND_NAMES)}
OUTCOMES: tuple[str, ...] = (
    "none",
    "resolved",
    "failed",
    "contained",
    "unobserved",
    "started",
    "continued",
    "ended",
)
OUTCOME = {name: code for code, name in enumerate(OUTCOMES)}
# the columns of the events log (the `events` table adds day, shift and category)
EVENT_COLUMNS: tuple[str, ...] = ("step", "client_id", "staff_id", "kind", "severity", "antecedent", "outcome")
FEEDBACK_KINDS = ("affirmation", "correction")
SENDER_ROLES = ("client", "staff")
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
)

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
    ),
    "feedback": ("step", "sender_id", "receiver_id", "sender_role", "kind", "behaviour_change"),
    "stays": (
        "client_id",
        "admission_number",
        "admitted_day",
        "exit_day",
        "exit_reason",
        "length_of_stay_days",
        *(f"{state}_at_admission" for state in REPORTED_STATES),
        *(f"{state}_at_exit" for state in REPORTED_STATES),
        *STAY_COUNTERS,
        "external_share",
        "outside_functioning",
        "outside_gain",
    ),
}

_N_STATE_COLS = 2 * len(REPORTED_STATES)


class BatchLog:
    """A column store that takes whole arrays (or scalars, broadcast) per append.

    Appends are kept as tuples and only turned into columns when a table is
    asked for, so logging costs one tuple per call in the hourly step.
    """

    def __init__(self, columns: tuple[str, ...], floats: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.dtypes = {c: (np.float64 if c in floats else np.int64) for c in columns}
        self._batches: list[tuple[int, tuple[Any, ...]]] = []
        self.rows = 0

    def add(self, n: int, **values: Any) -> None:
        if n == 0:
            return
        self._batches.append((n, tuple(values[c] for c in self.columns)))
        self.rows += n

    def add_rows(self, rows: np.ndarray) -> None:
        """Append a (rows x columns) integer matrix, columns in column order (from a compiled kernel)."""
        if len(rows):
            self._batches.append((len(rows), rows.T))
            self.rows += len(rows)

    def add_row(self, *values: Any) -> None:
        """Append one row, values in column order (the fast path for single events)."""
        self._batches.append((1, values))
        self.rows += 1

    def arrays(self) -> dict[str, np.ndarray]:
        if not self._batches:
            return {c: np.zeros(0, dtype=self.dtypes[c]) for c in self.columns}
        out = {}
        for k, column in enumerate(self.columns):
            out[column] = np.concatenate(
                [np.broadcast_to(np.asarray(values[k], dtype=self.dtypes[column]), (n,)) for n, values in self._batches]
            )
        return out


class StepLog:
    """Hourly model-level series in a preallocated, growing float matrix."""

    def __init__(self, capacity: int = 1024) -> None:
        self._data = np.zeros((capacity, len(STEP_COLUMNS)))
        self.rows = 0

    def add(self, row: np.ndarray) -> None:
        if self.rows == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self.rows] = row
        self.rows += 1

    def frame(self, activities: tuple[str, ...]) -> pd.DataFrame:
        data = self._data[: self.rows]
        frame = pd.DataFrame(data, columns=list(STEP_COLUMNS))
        for column in (
            "step",
            "day",
            "hour",
            "census",
            "staff_on_duty",
            "n_isolated",
            "conflict_events",
            "containment_events",
        ):
            frame[column] = frame[column].astype(np.int64)
        frame["shift"] = pd.Categorical.from_codes(data[:, 3].astype(np.int64), categories=list(SHIFTS))
        frame["activity"] = pd.Categorical.from_codes(data[:, 4].astype(np.int64), categories=list(activities))
        return frame


class Records:
    """All logs of one run."""

    def __init__(self) -> None:
        self.steps = StepLog()
        self.events = BatchLog(EVENT_COLUMNS)
        self.feedback = BatchLog(
            ("step", "sender_id", "receiver_id", "sender_role", "kind", "behaviour_change"),
            floats=("behaviour_change",),
        )
        self.stays: list[dict[str, Any]] = []

    # --- tables ---------------------------------------------------------------
    def events_frame(self) -> pd.DataFrame:
        a = self.events.arrays()
        hour_abs = a["step"] - 1 + 7
        shift = _shift_of_hour(hour_abs % 24)
        frame = pd.DataFrame(
            {
                "step": a["step"],
                "day": (a["step"] - 1) // 24,
                "shift": pd.Categorical.from_codes(shift, categories=list(SHIFTS)),
                "client_id": a["client_id"],
                "staff_id": pd.array(np.where(a["staff_id"] >= 0, a["staff_id"], 0), dtype="Int64"),
                "kind": pd.Categorical.from_codes(a["kind"], categories=list(KIND_NAMES)),
                "category": pd.Categorical(
                    [EVENT_KINDS[KIND_NAMES[k]] for k in a["kind"]],
                    categories=sorted(set(EVENT_KINDS.values())),
                ),
                "severity": a["severity"],
                "antecedent": pd.Categorical.from_codes(a["antecedent"], categories=list(ANTECEDENTS)),
                "outcome": pd.Categorical.from_codes(a["outcome"], categories=list(OUTCOMES)),
            }
        )
        frame.loc[a["staff_id"] < 0, "staff_id"] = pd.NA
        return frame

    def feedback_frame(self) -> pd.DataFrame:
        a = self.feedback.arrays()
        return pd.DataFrame(
            {
                "step": a["step"],
                "sender_id": a["sender_id"],
                "receiver_id": a["receiver_id"],
                "sender_role": pd.Categorical.from_codes(a["sender_role"], categories=list(SENDER_ROLES)),
                "kind": pd.Categorical.from_codes(a["kind"], categories=list(FEEDBACK_KINDS)),
                "behaviour_change": a["behaviour_change"],
            }
        )

    def shifts_frame(self, steps: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
        """One row per nursing shift; the 'day' of a night shift is the day it started."""
        keys = ["day", "shift"]
        if steps.empty:
            return pd.DataFrame(columns=list(TABLE_COLUMNS["shifts"]))
        grouped = steps.groupby(keys, observed=True, sort=False)
        frame = grouped.agg(
            census=("census", "max"),
            staff_on_duty=("staff_on_duty", "max"),
            conflict_events=("conflict_events", "sum"),
            containment_events=("containment_events", "sum"),
        )
        counted = events[events["category"].isin(["conflict", "containment"])]
        counts = (
            counted.assign(column=counted["category"].astype(str) + "_" + counted["kind"].astype(str))
            .groupby(["day", "shift", "column"], observed=True)
            .size()
            .unstack("column", fill_value=0)
        )
        frame = frame.join(counts, how="left")
        for column in TABLE_COLUMNS["shifts"][6:]:
            frame[column] = frame[column].fillna(0).astype(np.int64) if column in frame else 0
        frame = frame.reset_index()
        frame["shift"] = pd.Categorical(frame["shift"].astype(str), categories=list(SHIFTS))
        return frame[list(TABLE_COLUMNS["shifts"])].sort_values(["day", "shift"], kind="stable").reset_index(drop=True)

    def stays_frame(self, still_present: list[dict[str, Any]]) -> pd.DataFrame:
        rows = self.stays + still_present
        frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS["stays"]))
        frame["exit_reason"] = pd.Categorical(frame["exit_reason"], categories=list(EXIT_REASONS))
        return frame.sort_values(["admission_number"], kind="stable").reset_index(drop=True)


def _shift_of_hour(hour: np.ndarray) -> np.ndarray:
    """Shift code of clock hours: early 07-15, late 15-23, night 23-07."""
    return np.where((hour >= 7) & (hour < 15), 0, np.where((hour >= 15) & (hour < 23), 1, 2))


def shift_of_hour(hour: int) -> int:
    return 0 if 7 <= hour < 15 else (1 if 15 <= hour < 23 else 2)

"""The ward clock as the app shows it: one convention, the model's ward day.

The model counts time in *ward days* (``hour.day``, the ``day`` column of every
table): ward day *d* runs from 07:00 to 07:00 the next morning, so a night shift
belongs to the day it started (docs/outputs.md, "Time conventions").  The app
names a ward day by the weekday on which it began: 06:00 on a Tuesday morning is
the end of Monday's ward day and reads ``Day 0 · Mon 06:00``; an hour later
``Day 1 · Tue 07:00``.  (The routine's own weekday, ``hour.weekday``, is the
calendar weekday; it differs from the ward day's only between 00:00 and 07:00.)
"""

from __future__ import annotations

from milieu_sim.model.model import MilieuModel
from milieu_sim.model.state import SHIFTS, START_HOUR

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # day 0 of a run is a Monday


def ward_weekday(day: int) -> int:
    """The weekday (0 = Monday) on which ward day ``day`` began (at START_HOUR)."""
    return ((START_HOUR + 24 * day) // 24) % 7


def clock_label(day: int, hour: int) -> str:
    """The clock of ward day ``day`` at clock hour ``hour``, e.g. ``Day 6 · Sun 06:00``."""
    return f"Day {day} · {WEEKDAYS[ward_weekday(day)]} {hour:02d}:00"


def step_label(step: int) -> str:
    """The clock at the start of hour ``step`` (1-based, as in the tables)."""
    return clock_label((step - 1) // 24, (START_HOUR + step - 1) % 24)


def clock_lines(model: MilieuModel) -> list[str]:
    """The clock panel: the clock, the shift and the routine's activity, the policy, and the counts of the hour."""
    h = model.hour
    if model.steps == model.clock_start:  # nothing on the clock yet (a warm start ran before it)
        when = f"{clock_label(0, START_HOUR)} (not started: press Step or Play)"
        activity = "-"
    else:
        when = clock_label(h.day, h.hour)
        activity = model.routine.activities[h.activity].replace("_", " ")
    return [
        when,
        f"shift: {SHIFTS[h.shift]} · activity: {activity}",
        f"policy: {model.policy.name}",
        f"census {model.census} · staff on duty {model.staff_on_duty} · in seclusion {model.n_isolated}",
    ]

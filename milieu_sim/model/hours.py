"""The ward's hours in compiled code: the clock, the hour's counts, and runs of quiet hours as one call.

An hour of :meth:`MilieuModel.step <milieu_sim.model.model.MilieuModel.step>` is the clock, the phases of the
schedule, and the hour's counts.  Most hours of a run hold nothing but compiled parts
(:mod:`milieu_sim.model.compiled_hour`): no admission is due, it is not the hour of the ward round, and no
phase or hook of one's own is in the hour.  :meth:`MilieuModel.run` hands each run
of such *quiet hours* to ``run_hours`` (:mod:`milieu_sim.model.processes.stretch`), one compiled call that does,
hour after hour, exactly what ``step`` does: :func:`set_clock`, the parts the hour's conditions call for, and
:func:`count_hour`.  ``step`` calls the same two kernels, so the clock and the counts are written once; a run's
tables are the same bit for bit either way (tests/test_quiet_hours.py checks this).

When an hour is quiet is worked out in Python, from the schedule (:meth:`Schedule.quiet_plan
<milieu_sim.model.schedule.Schedule.quiet_plan>`): the phases that are not parts either run only at certain
clock hours (``When.hours``: the ward round, the community model's day) or say until which step they have
nothing to do (``quiet_until``: admission, until the next admission is due).  A run may end with an hour of the
first kind whose phases all come after the schedule's last part (``QuietPlan.tails``): the call runs its parts,
and :meth:`MilieuModel._run_quiet <milieu_sim.model.model.MilieuModel._run_quiet>` the rest of the hour; and it may
begin with an hour of the second kind, the phases up to it run from Python first (``Schedule.head``).  A phase
of the first kind may also say that its work can be done after later hours' parts (a ``later(model, step)``
attribute: the community model's day, ``aftercare.follow_up``): a run goes through its hour, and ``_run_quiet``
does that work right after the compiled call, with the hour's step (``QuietPlan.later``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from milieu_sim.model.compiled_hour import (
    ACTIVITY,
    AWAKE,
    AWAY,
    CONFLICT_EVENTS,
    CONTAINMENT_EVENTS,
    DAY,
    HOUR,
    KIND_CODE,
    KIND_OF,
    NEW_BLOCK,
    NEW_SHIFT,
    SHIFT,
    STEP,
    STRUCTURED,
    TRAINS,
    WEEKDAY,
    ZONE,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.records import STEP_COLUMNS
from milieu_sim.model.state import NORM, START_HOUR

SLEEP_KIND, AWAY_KIND = KIND_OF["sleep"], KIND_OF["away"]
N_ISOLATED, CLIMATE = STEP_COLUMNS.index("n_isolated"), STEP_COLUMNS.index("climate_safety")  # `steps` positions
COMMUNITY_NORM = STEP_COLUMNS.index("community_norm")


@kernel(inline=True)
def set_clock(clock, step, clock_start, week, shift_of_hour, addressed, punished, active):
    """The clock of hour ``step`` (1-based; a warm start's hours come first, ``clock_start`` of them).

    The user's clock hour is ``START_HOUR + step - 1 - clock_start`` (negative in a warm-up); from it the clock hour,
    ward day and weekday; from the routine's week (``week``: one row per hour of the week, Monday 00:00 first:
    activity, kind code, zone, structured, trained skill) the hour's activity; the shift from the clock hour.  A
    new shift starts when the shift changes (and in the first hour), a new block when the activity changes or a
    shift starts.  Clients are awake unless the routine's kind is sleep or away.  The hour's tallies start at 0;
    nobody has been addressed or punished yet; asleep or away, nobody is active."""
    hour_abs = START_HOUR + step - 1 - clock_start
    hour = hour_abs % 24
    weekday = (hour_abs // 24) % 7
    row = weekday * 24 + hour
    activity, kind = week[row, 0], week[row, 1]
    shift = shift_of_hour[hour]
    new_shift = shift != clock[SHIFT] or step == 1
    new_block = activity != clock[ACTIVITY] or new_shift  # the clock still holds the last hour's activity
    away = kind == AWAY_KIND
    awake = kind != SLEEP_KIND and not away
    # step, day, hour, weekday, shift, activity, kind, zone, structured, trains, awake, away, new_block,
    # new_shift (state.CLOCK_FIELDS order); then the hour's tallies start at 0
    clock[STEP] = step
    clock[DAY] = (step - 1 - clock_start) // 24
    clock[HOUR] = hour
    clock[WEEKDAY] = weekday
    clock[SHIFT] = shift
    clock[ACTIVITY] = activity
    clock[KIND_CODE] = kind
    clock[ZONE] = week[row, 2]
    clock[STRUCTURED] = week[row, 3]
    clock[TRAINS] = week[row, 4]
    clock[AWAKE] = awake
    clock[AWAY] = away
    clock[NEW_BLOCK] = new_block
    clock[NEW_SHIFT] = new_shift
    clock[CONFLICT_EVENTS:] = 0.0
    addressed[:] = False
    punished[:] = False
    if not awake:
        active[:] = False


@kernel(inline=True)
def count_hour(row, clock, x, present, on_unit, isolated, on_duty, climate, community):
    """Fill a `steps` row: the clock (step, day, hour, shift, activity), census (clients on the unit: a day
    programme's clients at home are off it), staff on duty, mean and SD of each reported state over the clients
    present (sums in slot order), n_isolated, the hour's conflict and containment events, the ward climate and
    the community's norm at the end of the hour.  One pass over the slots: each state's sums are its own, added
    in slot order."""
    row[0], row[1], row[2], row[3], row[4] = clock[STEP], clock[DAY], clock[HOUR], clock[SHIFT], clock[ACTIVITY]
    census = on = n_isolated = 0  # clients with a bed (the states' denominator), on the unit, isolated
    # skill (mean of rows 0-2), then rows 3-7: self-control ... symptoms
    t0 = t1 = t2 = t3 = t4 = t5 = 0.0
    s0 = s1 = s2 = s3 = s4 = s5 = 0.0
    for i in range(present.size):
        on += on_unit[i]
        n_isolated += isolated[i]
        if present[i]:
            census += 1
            v = (x[0, i] + x[1, i] + x[2, i]) / 3.0
            t0, s0 = t0 + v, s0 + v * v
            v = x[3, i]
            t1, s1 = t1 + v, s1 + v * v
            v = x[4, i]
            t2, s2 = t2 + v, s2 + v * v
            v = x[5, i]
            t3, s3 = t3 + v, s3 + v * v
            v = x[6, i]
            t4, s4 = t4 + v, s4 + v * v
            v = x[7, i]
            t5, s5 = t5 + v, s5 + v * v
    row[5] = on
    row[6] = np.count_nonzero(on_duty)
    k = 7
    for total, squares in ((t0, s0), (t1, s1), (t2, s2), (t3, s3), (t4, s4), (t5, s5)):
        mean = total / census if census else 0.0
        row[k] = mean
        row[k + 1] = np.sqrt(max(squares / census - mean * mean, 0.0)) if census else 0.0
        k += 2
    row[N_ISOLATED] = n_isolated
    row[N_ISOLATED + 1], row[N_ISOLATED + 2] = clock[CONFLICT_EVENTS], clock[CONTAINMENT_EVENTS]
    for k in range(climate.size):
        row[CLIMATE + k] = climate[k]
    row[COMMUNITY_NORM] = community[NORM]


# --- Mesa's clock over a run of quiet hours ------------------------------------------------------------------------
def can_skip_steps(model: Any) -> bool:
    """Whether Mesa's clock can be moved on over a run of hours without calling ``step``: Mesa's event list holds
    nothing but the next call of the default step schedule (one step per time unit, no end), so that no event of
    one's own falls in the run."""
    generator = getattr(model, "_default_schedule", None)
    event = getattr(generator, "_current_event", None)
    events = getattr(getattr(model, "_event_list", None), "_events", None)
    try:
        schedule = generator.schedule  # type: ignore[union-attr]
        return (
            events is not None
            and len(events) == 1
            and events[0] is event
            and not event.CANCELED
            and event.time == model.time + 1
            and generator._active  # type: ignore[union-attr]
            and not generator._paused  # type: ignore[union-attr]
            and schedule.interval == 1
            and schedule.count is None
            and schedule.end is None
        )
    except AttributeError:  # a Mesa whose event loop is laid out otherwise: hour by hour
        return False


def skip_steps(model: Any, n: int) -> None:
    """Move Mesa's clock on by ``n`` steps, as ``n`` calls of ``model.step()`` would (``model.steps``,
    ``model.time``, the default schedule's count and its next event); only where :func:`can_skip_steps`."""
    generator = model._default_schedule
    model.steps += n
    model.time += n
    generator._current_event.time += n  # the only event in the list: moving it keeps the heap in order
    generator._execution_count += n

"""Stretches of the compiled hour: consecutive phases that are compiled parts, run as one call.

Written by ``python -m milieu_sim.model.docs`` from the default schedule; do not edit by hand.
:func:`run_hours` calls the parts of :func:`parts_in_order` (the schedule's order): through a run of
quiet hours, with each hour's clock and counts (``MilieuModel.run``; milieu_sim.model.hours), or once,
those its mask marks: ``Schedule.run`` hands ``compiled_hour.CompiledHour`` each run of consecutive
phases of an hour that are all parts.
"""

from __future__ import annotations

import numpy as np

from milieu_sim.model.compiled_hour import AWAKE, MOVED, NEW_SHIFT, Part, unowned
from milieu_sim.model.hours import count_hour, set_clock
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes import (
    climate,
    consequences,
    escalation,
    facilitation,
    feedback,
    flashpoints,
    home,
    initiative,
    insight,
    interaction,
    isolation,
    modeling,
    movement,
    norms,
    observation,
    prevention,
    recovery,
    staff_response,
)


def parts_in_order() -> tuple[Part, ...]:
    """The parts :func:`run_hours` takes, in its (the schedule's) order."""
    return (
        movement.SHIFT_PART,  # shift_change
        movement.PART,  # movement
        facilitation.PART,  # facilitation
        observation.PART,  # observation
        home.PART,  # home
        interaction.PART,  # interaction
        modeling.PART,  # modeling
        feedback.PART,  # feedback
        staff_response.PART,  # staff_response
        consequences.PART,  # consequences
        initiative.PART,  # initiative
        norms.MEETING_PART,  # community_meeting
        flashpoints.PART,  # flashpoints
        prevention.PART,  # prevention
        isolation.DRAW_PART,  # seclusion_draws
        escalation.PART,  # escalation
        isolation.ISOLATE_PART,  # isolation
        climate.PART,  # climate
        norms.NORM_PART,  # norms
        insight.PART,  # insight
        recovery.PART,  # recovery
    )


@kernel(inline=True)
def _room(rows, filled, more):
    """``rows`` (a buffer of logged rows, its first ``filled`` taken) with room for ``more`` rows:
    itself, or a buffer twice as large as needed with the rows taken copied into it."""
    if filled + more <= rows.shape[0]:
        return rows
    grown = np.empty((2 * (filled + more), rows.shape[1]), dtype=rows.dtype)
    grown[:filled] = rows[:filled]
    return grown


@kernel
def _log(logs, part_logs):
    """Append one part's logged rows to the stretch's (called only when there are some: a call
    between compiled functions costs about 10 ns for each array it passes).  ``logs``: the buffers of
    event, feedback and feedback-change rows and how many rows of events and of feedback they hold;
    a buffer too small for the new rows is replaced by one twice as large as they need (:func:`_room`),
    so that a run of hours copies each row about twice, not once per later append."""
    events, feedback, change, n_events, n_feedback = logs
    more_events, more_feedback, more_change = part_logs
    m = more_events.shape[0]
    if m:
        events = _room(events, n_events, m)
        events[n_events : n_events + m] = more_events
        n_events += m
    m = more_feedback.shape[0]
    if m:
        grown = _room(feedback, n_feedback, m)
        if grown.shape[0] != feedback.shape[0]:  # the change of each feedback row, alongside
            longer = np.empty(grown.shape[0], dtype=change.dtype)
            longer[:n_feedback] = change[:n_feedback]
            change = longer
        feedback = grown
        feedback[n_feedback : n_feedback + m] = more_feedback
        change[n_feedback : n_feedback + m] = more_change
        n_feedback += m
    return events, feedback, change, n_events, n_feedback


@kernel
def run_hours(clock, masks, held, first_step, rows, started):
    """Run the parts of :func:`parts_in_order` through ``rows.shape[0]`` quiet hours from step
    ``first_step`` on, each as ``MilieuModel.step`` runs it: the clock (hours.set_clock), the parts that
    the hour's conditions call for (``masks[2 * awake + new_shift]``), the hour's counts into its row of
    ``rows`` (hours.count_hour).  ``started``: the first hour was begun in Python (its clock set, its
    phases before the run's first part run: ``Schedule.head``); it goes on from there
    (``masks[4 + 2 * awake + new_shift]``: those parts only).  With ``rows`` of no hours: the parts that
    ``masks[0]`` marks, once, in the hour the clock holds (a stretch of an hour run from Python:
    ``Schedule.run``).  ``held.args``
    (compiled_hour.held) holds the parts' arguments, then the hour's (``MilieuModel.hour_arguments``:
    the clock's start, the routine's week, the shift of each clock hour, the hour's addressed, punished
    and active arrays, what count_hour reads), then :data:`NOTHING` (no rows logged: what the stretch
    returns when no part logged any, handed back to Python as the same arrays).  Returns the rows the
    parts logged, in order (events, feedback, feedback change), and whether anyone moved."""
    (
        a_shift_change,
        a_movement,
        a_facilitation,
        a_observation,
        a_home,
        a_interaction,
        a_modeling,
        a_feedback,
        a_staff_response,
        a_consequences,
        a_initiative,
        a_community_meeting,
        a_flashpoints,
        a_prevention,
        a_seclusion_draws,
        a_escalation,
        a_isolation,
        a_climate,
        a_norms,
        a_insight,
        a_recovery,
    ) = held.args[0]
    clock_start, week, shift_of_hour, (addressed, punished, active), counted = held.args[1]
    x, present, on_unit, isolated, on_duty, climate_values, community_values = counted
    clock, masks, rows = unowned((clock, masks, rows))  # the caller keeps them: no counts in the hours
    nothing = held.args[2]
    logs = (nothing[0], nothing[1], nothing[2], np.int64(0), np.int64(0))  # the rows logged: see _log
    moved = False
    hours = rows.shape[0]
    for k in range(max(hours, 1)):
        mask = masks[0]
        if hours:
            begun = started and k == 0
            if not begun:
                step = first_step + k
                set_clock(clock, step, clock_start, week, shift_of_hour, addressed, punished, active)
            clock[MOVED] = 0.0
            mask = masks[2 * int(clock[AWAKE]) + int(clock[NEW_SHIFT]) + (4 if begun else 0)]
        if mask[0]:
            logged = movement._shift_hour(clock, a_shift_change)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[1]:
            logged = movement._hour(clock, a_movement)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[2]:
            logged = facilitation._hour(clock, a_facilitation)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[3]:
            logged = observation._hour(clock, a_observation)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[4]:
            logged = home._hour(clock, a_home)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[5]:
            logged = interaction._hour(clock, a_interaction)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[6]:
            logged = modeling._hour(clock, a_modeling)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[7]:
            logged = feedback._hour(clock, a_feedback)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[8]:
            logged = staff_response._hour(clock, a_staff_response)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[9]:
            logged = consequences._hour(clock, a_consequences)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[10]:
            logged = initiative._hour(clock, a_initiative)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[11]:
            logged = norms._meeting_hour(clock, a_community_meeting)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[12]:
            logged = flashpoints._hour(clock, a_flashpoints)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[13]:
            logged = prevention._hour(clock, a_prevention)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[14]:
            logged = isolation._draw_hour(clock, a_seclusion_draws)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[15]:
            logged = escalation._hour(clock, a_escalation)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[16]:
            logged = isolation._isolate_hour(clock, a_isolation)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[17]:
            logged = climate._hour(clock, a_climate)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[18]:
            logged = norms._norm_hour(clock, a_norms)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[19]:
            logged = insight._hour(clock, a_insight)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        if mask[20]:
            logged = recovery._hour(clock, a_recovery)
            if logged[0].shape[0] or logged[1].shape[0]:
                logs = _log(logs, logged)
        moved = moved or clock[MOVED] != 0.0
        if hours:
            count_hour(rows[k], clock, x, present, on_unit, isolated, on_duty, climate_values, community_values)
    events, feedback_rows, change, n_events, n_feedback = logs  # (the module feedback is a part's)
    return events[:n_events], feedback_rows[:n_feedback], change[:n_feedback], moved

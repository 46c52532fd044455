"""Treatment plans and the multidisciplinary team (docs/ODD.md 6.23, "Treatment plans and the multidisciplinary team").

A team of five roles sets each client's plan at admission (:func:`set_plan`, called by ``flow.admit_client``) and
reviews it at the weekly ward round (:func:`review`, the phase ``plan_review``, on :data:`REVIEW_WEEKDAY` at the
ward-round hour).  The plan's goals replace the one shared ``skill_goal``: each client has their own skills,
targets and thresholds, and the plan's parts decide their routine.

At admission (S_k skill k, Y symptoms, V support outside, from the client's profile):

* psychologist and occupational therapist (OT): skill k is a goal when S_k < ``skill_goal`` (the service's
  standard); its target is ``min(skill_goal, S_k + plan_skill_gain)``, never lowered below
  ``S_k + plan_min_gain`` (the floor).  The psychologist offers one-to-one sessions at once to a client with a
  history of violence or self-harm, practising the goal skill furthest from its target.
* psychiatrist: a symptom target ``discharge_symptoms``; medication review is added when symptoms stall.
* nurse: a risk target: at most ``plan_risk_target`` incidents in the last 7 days.
* social worker: a support goal (target ``support_target``) when V < ``support_target``, with discharge
  planning (work with family, housing and services) from admission; otherwise discharge planning starts when
  the symptom target is met.
* groups: the team puts structured groups in the plan when Y <= ``plan_group_symptoms``; a client whose plan
  has groups attends structured activities ``1 + plan_group_attendance`` times as readily (movement reads
  ``clients.plan_attendance``).

Every ward round (:func:`daily`, the phase ``plan_sessions``): the incidents of the last 7 days are counted; on
weekdays a client on the unit (not at home) with one-to-one sessions has one, practising the focus skill f::

    S_f += one_to_one_learning * (0.5 + 0.5 T) * (1 - Y / 2) * (1 - S_f)

and a client on leave spends part of the day outside: ``I += leave_independence * (1 - I)``.

At the weekly review (a goal is *met* while its value is at its target; each change is a `plans` row with its
reason):

* a goal reached is marked met (and reopened if it slips back);
* a skill goal whose skill rose by less than ``plan_stall_gain`` since the last review is stalled: the
  psychologist adds one-to-one sessions for it (reason "progress stalled"); stalled again with sessions, its
  target is lowered by ``plan_target_step``, not below its floor (reason "still stalled");
* symptoms above target that fell by less than ``plan_stall_gain``: the psychiatrist adds medication review
  (reason "symptoms not falling"); a client under review has ``Y *= 1 - medication_review_effect`` at each
  weekly review until the symptom target is met, when the review ends;
* the OT grants leave while the daily-living goal (if any) and the risk target are met and
  Y <= ``leave_symptoms``, and withdraws it otherwise;
* the social worker, while discharge planning, raises support below its target: ``V += social_work_gain * (1 - V)``;
* groups are added or ended as symptoms allow.

Discharge reads the plan (``processes.flow``): see docs/ODD.md 6.2.  Team members are not agents on the grid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.records import PLAN_CHANGE, PLAN_ITEM, PLAN_REASON, PLAN_STATUS
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    DAILY_LIVING,
    GOAL_RISK,
    GOAL_SUPPORT,
    GOAL_SYMPTOMS,
    INDEPENDENCE,
    PLAN_GOALS,
    SYMPTOMS,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "skill_goal",
        "discharge_symptoms",
        "plan_skill_gain",
        "plan_min_gain",
        "plan_stall_gain",
        "plan_target_step",
        "plan_risk_target",
        "plan_group_symptoms",
        "plan_group_attendance",
        "one_to_one_learning",
        "medication_review_effect",
        "leave_symptoms",
        "leave_independence",
        "support_target",
        "social_work_gain",
    ),
    reads=(
        "hour.weekday",
        "clients.present",
        "clients.isolated",
        "clients.client_id",
        "clients.incidents",
        "clients.trust",
        "clients.violence_history",
        "clients.self_harm_history",
    ),
    writes=(
        "clients.skills",
        "clients.symptoms",
        "clients.independence",
        "clients.support",
        "clients.plan_skill",
        "clients.plan_support",
        "clients.skill_target",
        "clients.skill_floor",
        "clients.symptom_target",
        "clients.risk_target",
        "clients.plan_attendance",
        "clients.plan_groups",
        "clients.one_to_one",
        "clients.medication_review",
        "clients.leave",
        "clients.discharge_planning",
        "clients.plan_focus",
        "clients.goal_met",
        "clients.review_skills",
        "clients.review_symptoms",
        "clients.incident_log",
        "clients.incidents_week",
    ),
    columns=tuple(f"plans.{name}" for name in ("client_id", "day", "goal", "target", "status", "change", "reason")),
)

#: The weekday of the weekly review ward round (0 = Monday; the clock's day 0 is a Monday): structure, not a
#: quantity, like the ward round's hour (``flow.WARD_ROUND_HOUR``).
REVIEW_WEEKDAY = 1
#: Which team member sets each goal and part (for the plan's summary).
ROLE = {
    "coping_skill": "psychologist",
    "social_skill": "psychologist",
    "daily_living_skill": "occupational therapist",
    "symptoms": "psychiatrist",
    "risk": "nurse",
    "support": "social worker",
    "groups": "team",
    "one_to_one": "psychologist",
    "medication_review": "psychiatrist",
    "leave": "occupational therapist",
    "discharge_planning": "social worker",
}
PARTS = ("groups", "one_to_one", "medication_review", "leave", "discharge_planning")
SKILL_GOALS = PLAN_GOALS[:3]


# --- writing the plans log ------------------------------------------------------------------------------------------
# the `plans` codes (records.PLAN_ITEMS ...: a goal's item code is its index in PLAN_GOALS)
GROUPS, ONE_TO_ONE, MEDICATION_REVIEW, LEAVE, DISCHARGE_PLANNING = (PLAN_ITEM[part] for part in PARTS)
OPEN, MET, IN_PLAN, ENDED = (PLAN_STATUS[s] for s in ("open", "met", "in_plan", "ended"))
SET, CHANGE_MET, REOPENED, LOWERED, ADDED, REMOVED = (
    PLAN_CHANGE[c] for c in ("set", "met", "reopened", "lowered", "added", "removed")
)
ADMISSION, SUPPORT_BELOW, RISK_HISTORY = (PLAN_REASON[r] for r in ("admission", "support below target", "risk history"))
(TARGET_REACHED, BELOW_AGAIN, STALLED, STILL_STALLED, NOT_FALLING, SYMPTOM_TARGET_MET, GROUPS_ALLOWED, GROUPS_ENDED,
 LEAVE_SAFE, LEAVE_UNSAFE) = (PLAN_REASON[r] for r in (
    "target reached", "below target again", "progress stalled", "still stalled", "symptoms not falling",
    "symptom target met", "symptoms allow groups", "symptoms too high for groups", "safe and able for leave",
    "leave no longer safe"))  # fmt: skip


@kernel
def _plan_row(ints, targets, row, step, client, item, target, status, change, reason):
    """Write one `plans` row into ``ints`` (step, client_id, goal, status, change, reason) and ``targets``;
    returns the next row.  An admission or a review writes its rows to ``records.plans`` in one block."""
    ints[row, 0], ints[row, 1], ints[row, 2] = step, client, item
    ints[row, 3], ints[row, 4], ints[row, 5] = status, change, reason
    targets[row] = target
    return row + 1


@kernel
def _part(flags, i, on, ints, targets, row, step, client, item, reason):
    """Add or end a part of the plan (``flags[i]``), with a `plans` row when it changes; returns the next row."""
    if flags[i] != on:
        flags[i] = on
        row = _plan_row(ints, targets, row, step, client, item, np.nan, IN_PLAN if on else ENDED,
                        ADDED if on else REMOVED, reason)  # fmt: skip
    return row


# --- the plan at admission ------------------------------------------------------------------------------------------
def set_plan(model: MilieuModel, slot: int) -> None:
    """The team's plan for a newly admitted client (rules in the module docstring); logs a row per goal and part."""
    ints, targets = _set_plan(model.clients.packed(AdmissionPlanClients), slot, model.steps, PLAN_PARAMETERS(model.p))
    model.records.plans.add_rows(ints, targets)


class AdmissionPlanClients(NamedTuple):
    """The client arrays the plan at admission reads and writes."""

    values: np.ndarray
    client_id: np.ndarray
    support: np.ndarray
    violence_history: np.ndarray
    self_harm_history: np.ndarray
    plan_skill: np.ndarray
    plan_support: np.ndarray
    skill_target: np.ndarray
    skill_floor: np.ndarray
    symptom_target: np.ndarray
    risk_target: np.ndarray
    goal_met: np.ndarray
    review_skills: np.ndarray
    review_symptoms: np.ndarray
    incident_log: np.ndarray
    incidents_week: np.ndarray
    pressure_discharge: np.ndarray
    plan_focus: np.ndarray
    plan_attendance: np.ndarray
    plan_groups: np.ndarray
    one_to_one: np.ndarray
    medication_review: np.ndarray
    leave: np.ndarray
    discharge_planning: np.ndarray


_PLAN_READS = ("skill_goal", "plan_skill_gain", "plan_min_gain", "discharge_symptoms", "plan_risk_target",
               "support_target", "plan_group_symptoms", "plan_group_attendance")  # fmt: skip
PLAN_PARAMETERS = ParameterRecord(_PLAN_READS, {name: int if name == "plan_risk_target" else float
                                                for name in _PLAN_READS})  # fmt: skip


@kernel
def _smaller(a, b):
    """NumPy's ``minimum(a, b)`` of two floats: a if a < b or a is NaN, else b."""
    return a if a < b or a != a else b


@kernel
def _set_plan(clients, i, step, parameters):
    """The plan at admission of the client in slot i (rules in the module docstring): targets and thresholds,
    the parts reset, the focus skill (the goal skill furthest from its target, -1 without skill goals), then a
    `plans` row per goal and part set (see ``_plan_row``)."""
    q = parameters[0]
    c = AdmissionPlanClients(*clients)
    x = c.values
    client = c.client_id[i]
    ints = np.empty((len(PLAN_GOALS) + 3, 6), dtype=np.int64)
    targets = np.empty(len(PLAN_GOALS) + 3)
    for k in range(3):
        c.plan_skill[k, i] = x[k, i] < q.skill_goal
        c.skill_target[k, i] = _smaller(q.skill_goal, x[k, i] + q.plan_skill_gain)
        c.skill_floor[k, i] = _smaller(c.skill_target[k, i], x[k, i] + q.plan_min_gain)
    c.symptom_target[i] = q.discharge_symptoms
    c.risk_target[i] = q.plan_risk_target
    c.goal_met[:, i] = False
    for k in range(3):
        c.review_skills[k, i] = x[k, i]
    c.review_symptoms[i] = x[SYMPTOMS, i]
    c.incident_log[:, i] = 0
    c.incidents_week[i] = 0
    c.pressure_discharge[i] = False
    c.plan_groups[i] = c.one_to_one[i] = c.medication_review[i] = c.leave[i] = c.discharge_planning[i] = False
    c.plan_attendance[i] = 1.0
    # the focus: the goal skill furthest from its target (ties: the first; -1 without skill goals)
    focus, best_gap = -1, -np.inf
    for k in range(3):
        gap = c.skill_target[k, i] - x[k, i]
        if c.plan_skill[k, i] and gap > best_gap:
            focus, best_gap = k, gap
    c.plan_focus[i] = focus
    row = 0
    for k in range(3):
        if c.plan_skill[k, i]:
            row = _plan_row(ints, targets, row, step, client, k, c.skill_target[k, i], OPEN, SET, ADMISSION)
    row = _plan_row(ints, targets, row, step, client, GOAL_SYMPTOMS, c.symptom_target[i], OPEN, SET, ADMISSION)
    row = _plan_row(ints, targets, row, step, client, GOAL_RISK, float(c.risk_target[i]), OPEN, SET, ADMISSION)
    c.plan_support[i] = c.support[i] < q.support_target
    if c.plan_support[i]:
        row = _plan_row(ints, targets, row, step, client, GOAL_SUPPORT, q.support_target, OPEN, SET, ADMISSION)
        row = _part(c.discharge_planning, i, True, ints, targets, row, step, client, DISCHARGE_PLANNING,
                    SUPPORT_BELOW)  # fmt: skip
    if c.violence_history[i] or c.self_harm_history[i]:
        row = _part(c.one_to_one, i, focus >= 0, ints, targets, row, step, client, ONE_TO_ONE, RISK_HISTORY)
    groups = x[SYMPTOMS, i] <= q.plan_group_symptoms
    row = _part(c.plan_groups, i, groups, ints, targets, row, step, client, GROUPS, GROUPS_ALLOWED)
    c.plan_attendance[i] = 1.0 + q.plan_group_attendance * (1.0 if groups else 0.0)
    return ints[:row].copy(), targets[:row].copy()


# --- every ward round -----------------------------------------------------------------------------------------------
def daily(model: MilieuModel) -> None:
    """At the daily ward round: count the last 7 days' incidents; one-to-one sessions (weekdays) and leave."""
    p = model.p
    _daily(model.clients.packed(DailyPlanClients), (model.steps // 24) % model.clients.incident_log.shape[0],
           model.hour.weekday < 5, p["one_to_one_learning"], p["leave_independence"])  # fmt: skip


class DailyPlanClients(NamedTuple):
    """The client arrays the daily ward round's part of the plan reads and writes."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    on_unit: np.ndarray
    one_to_one: np.ndarray
    plan_focus: np.ndarray
    leave: np.ndarray
    incidents: np.ndarray
    incident_log: np.ndarray
    incidents_week: np.ndarray


@kernel
def _daily(clients, ring, working_day, one_to_one_learning, leave_independence):
    """The daily ward round (rules in the module docstring): each slot's incidents in the last 7 days (0 for a free
    bed; ``incident_log[ring]`` holds the count 7 days ago and takes today's), then for each client on the unit
    (present, not secluded, not at home) a one-to-one session on weekdays when the plan has them and a focus,
    and a day on leave when the plan grants it."""
    c = DailyPlanClients(*clients)
    x = c.values
    for i in range(c.present.size):
        c.incidents_week[i] = c.incidents[i] - c.incident_log[ring, i] if c.present[i] else 0
        c.incident_log[ring, i] = c.incidents[i]
    for i in range(c.present.size):
        if not c.present[i] or c.isolated[i] or not c.on_unit[i]:
            continue
        if working_day and c.one_to_one[i] and c.plan_focus[i] >= 0:
            f = c.plan_focus[i]
            gain = one_to_one_learning * (0.5 + 0.5 * x[TRUST, i]) * (1.0 - x[SYMPTOMS, i] / 2.0)
            x[f, i] += gain * (1.0 - x[f, i])
        if c.leave[i]:
            x[INDEPENDENCE, i] += leave_independence * (1.0 - x[INDEPENDENCE, i])


# --- the weekly review ----------------------------------------------------------------------------------------------
def goals_now(model: MilieuModel, slot: int) -> list[tuple[bool, float, float, bool]]:
    """Each plan goal of the client in a slot (PLAN_GOALS order): (in the plan, present value, target, at its
    target now), by :func:`goals_of`."""
    in_plan, value, target, met = goal_arrays()
    _goals_now(*goal_inputs(model), slot, in_plan, value, target, met)
    return list(zip(in_plan.tolist(), value.tolist(), target.tolist(), met.tolist(), strict=True))


class GoalClients(NamedTuple):
    """The client arrays a plan's goals are read from (:func:`goals_of`)."""

    values: np.ndarray
    plan_skill: np.ndarray
    plan_support: np.ndarray
    skill_target: np.ndarray
    symptom_target: np.ndarray
    risk_target: np.ndarray
    incidents_week: np.ndarray
    support: np.ndarray


def goal_inputs(model: MilieuModel) -> tuple[tuple, float]:
    """What :func:`goals_of` reads, for a kernel of another process: the clients' goal arrays (packed, see
    :class:`GoalClients`) and the support target."""
    return model.clients.packed(GoalClients), float(model.p["support_target"])


@kernel(inline=True)
def goal_arrays():
    """Empty (in the plan, value, target, met) arrays, one entry per goal, for :func:`goals_of` to fill."""
    n = len(PLAN_GOALS)
    return np.empty(n, dtype=np.bool_), np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_)


@kernel(inline=True)
def goals_of(c, i, support_target, in_plan, value, target, met):
    """Each plan goal of the client in slot i (PLAN_GOALS order), into the arrays: whether it is in the plan, its
    present value, its target, and whether it is at its target now.  The plan has the chosen skills, symptoms,
    risk, and support if set; a goal is at its target when skills and support are at or above it (to within
    1e-12), symptoms and risk (incidents in the last 7 days) at or below.  ``c``: a record with the fields of
    :class:`GoalClients`."""
    x = c.values
    for k in range(3):
        in_plan[k], value[k], target[k] = c.plan_skill[k, i], x[k, i], c.skill_target[k, i]
        met[k] = x[k, i] >= target[k] - 1e-12
    in_plan[GOAL_SYMPTOMS], in_plan[GOAL_RISK], in_plan[GOAL_SUPPORT] = True, True, c.plan_support[i]
    value[GOAL_SYMPTOMS] = x[SYMPTOMS, i]
    value[GOAL_RISK] = float(c.incidents_week[i])
    value[GOAL_SUPPORT] = c.support[i]
    target[GOAL_SYMPTOMS], target[GOAL_RISK] = c.symptom_target[i], float(c.risk_target[i])
    target[GOAL_SUPPORT] = support_target
    met[GOAL_SYMPTOMS] = value[GOAL_SYMPTOMS] <= target[GOAL_SYMPTOMS]
    met[GOAL_RISK] = value[GOAL_RISK] <= target[GOAL_RISK]
    met[GOAL_SUPPORT] = value[GOAL_SUPPORT] >= target[GOAL_SUPPORT] - 1e-12


@kernel
def _goals_now(clients, support_target, i, in_plan, value, target, met):
    goals_of(GoalClients(*clients), i, support_target, in_plan, value, target, met)


def review(model: MilieuModel) -> None:
    """The weekly review of every present client's plan (rules in the module docstring)."""
    ints, targets = _review(model.clients.packed(ReviewClients), model.steps, REVIEW_PARAMETERS(model.p))
    if len(ints):
        model.records.plans.add_rows(ints, targets)


class ReviewClients(NamedTuple):
    """The client arrays the weekly review reads and writes."""

    values: np.ndarray
    present: np.ndarray
    client_id: np.ndarray
    incidents_week: np.ndarray
    support: np.ndarray
    plan_skill: np.ndarray
    plan_support: np.ndarray
    skill_target: np.ndarray
    skill_floor: np.ndarray
    symptom_target: np.ndarray
    risk_target: np.ndarray
    goal_met: np.ndarray
    review_skills: np.ndarray
    review_symptoms: np.ndarray
    plan_focus: np.ndarray
    plan_attendance: np.ndarray
    plan_groups: np.ndarray
    one_to_one: np.ndarray
    medication_review: np.ndarray
    leave: np.ndarray
    discharge_planning: np.ndarray


_REVIEW_READS = ("medication_review_effect", "plan_stall_gain", "plan_target_step", "leave_symptoms",
                 "plan_group_symptoms", "plan_group_attendance", "support_target", "social_work_gain")  # fmt: skip
REVIEW_PARAMETERS = ParameterRecord(_REVIEW_READS, dict.fromkeys(_REVIEW_READS, float))
#: At most this many `plans` rows per client and review: a row per goal, per stalled skill, and per part.
ROWS_PER_REVIEW = len(PLAN_GOALS) + len(SKILL_GOALS) + 5


@kernel
def _review(clients, step, parameters):
    """Review every present client's plan, in slot order (rules in the module docstring): mark goals met (as
    :func:`goals_of` reads them), change what stalled (with the reason), update the parts.  Returns the `plans` rows
    (see ``_plan_row``), in the order the rules are applied."""
    q = parameters[0]
    c = ReviewClients(*clients)
    x = c.values
    n = c.present.size
    ints = np.empty((ROWS_PER_REVIEW * n, 6), dtype=np.int64)
    targets = np.empty(ROWS_PER_REVIEW * n)
    row = 0
    n_goals = len(PLAN_GOALS)
    in_plan, value, target, met = goal_arrays()
    for i in range(n):
        if not c.present[i]:
            continue
        client = c.client_id[i]
        if c.medication_review[i]:
            x[SYMPTOMS, i] *= 1.0 - q.medication_review_effect
        goals_of(c, i, q.support_target, in_plan, value, target, met)
        for g in range(n_goals):
            if in_plan[g] and met[g] != c.goal_met[g, i]:
                c.goal_met[g, i] = met[g]
                status, change = (MET, CHANGE_MET) if met[g] else (OPEN, REOPENED)
                reason = TARGET_REACHED if met[g] else BELOW_AGAIN
                row = _plan_row(ints, targets, row, step, client, g, target[g], status, change, reason)
        # stalled skill goals: one-to-one sessions first, then a lower target
        for k in range(3):
            progress = x[k, i] - c.review_skills[k, i]
            if not c.plan_skill[k, i] or met[k] or progress >= q.plan_stall_gain:
                continue
            if not c.one_to_one[i]:
                c.plan_focus[i] = k
                row = _part(c.one_to_one, i, True, ints, targets, row, step, client, ONE_TO_ONE, STALLED)
            elif c.skill_target[k, i] > c.skill_floor[k, i]:
                lowered = c.skill_target[k, i] - q.plan_target_step
                floor = c.skill_floor[k, i]
                c.skill_target[k, i] = floor if floor > lowered else lowered  # Python's max(lowered, floor)
                row = _plan_row(ints, targets, row, step, client, k, c.skill_target[k, i], OPEN, LOWERED,
                                STILL_STALLED)  # fmt: skip
        if c.one_to_one[i] and (c.plan_focus[i] < 0 or met[c.plan_focus[i]]):
            # the open goal skill furthest from its target (-1 without one: sessions end)
            focus, best_gap = -1, -np.inf
            for k in range(3):
                gap = c.skill_target[k, i] - x[k, i]
                if c.plan_skill[k, i] and not met[k] and gap > best_gap:
                    focus, best_gap = k, gap
            if focus < 0:
                row = _part(c.one_to_one, i, False, ints, targets, row, step, client, ONE_TO_ONE, TARGET_REACHED)
            c.plan_focus[i] = focus
        # symptoms: medication review when they stall above target, ended at target; discharge planning from then
        symptoms_fell = c.review_symptoms[i] - x[SYMPTOMS, i]
        if met[GOAL_SYMPTOMS]:
            row = _part(c.medication_review, i, False, ints, targets, row, step, client, MEDICATION_REVIEW,
                        SYMPTOM_TARGET_MET)  # fmt: skip
            row = _part(c.discharge_planning, i, True, ints, targets, row, step, client, DISCHARGE_PLANNING,
                        SYMPTOM_TARGET_MET)  # fmt: skip
        elif symptoms_fell < q.plan_stall_gain:
            row = _part(c.medication_review, i, True, ints, targets, row, step, client, MEDICATION_REVIEW,
                        NOT_FALLING)  # fmt: skip
        # leave (OT) and groups
        living_ok = not c.plan_skill[DAILY_LIVING, i] or met[DAILY_LIVING]
        allowed = living_ok and met[GOAL_RISK] and x[SYMPTOMS, i] <= q.leave_symptoms
        row = _part(c.leave, i, allowed, ints, targets, row, step, client, LEAVE,
                    LEAVE_SAFE if allowed else LEAVE_UNSAFE)  # fmt: skip
        groups = x[SYMPTOMS, i] <= q.plan_group_symptoms
        row = _part(c.plan_groups, i, groups, ints, targets, row, step, client, GROUPS,
                    GROUPS_ALLOWED if groups else GROUPS_ENDED)  # fmt: skip
        c.plan_attendance[i] = 1.0 + q.plan_group_attendance * (1.0 if groups else 0.0)
        # the social worker's work on support outside
        if c.discharge_planning[i] and c.support[i] < q.support_target:
            c.support[i] += q.social_work_gain * (1.0 - c.support[i])
        for k in range(3):
            c.review_skills[k, i] = x[k, i]
        c.review_symptoms[i] = x[SYMPTOMS, i]
    return ints[:row].copy(), targets[:row].copy()


# --- what the app and the discharge rule read -----------------------------------------------------------------------
def plan_summary(model: MilieuModel, slot: int) -> list[dict[str, Any]]:
    """The current plan of the client in a bed slot: one dict per goal (goal, role, target, current, status) and
    per part in the plan (target and current None, status ``in_plan``)."""
    c = model.clients
    rows: list[dict[str, Any]] = []
    for g, (name, (in_plan, value, target, met)) in enumerate(zip(PLAN_GOALS, goals_now(model, slot),
                                                                     strict=True)):  # fmt: skip
        if in_plan:
            current: float | int = int(value) if g == GOAL_RISK else value
            rows.append({"goal": name, "role": ROLE[name], "target": target, "current": current,
                         "status": "met" if met else "open"})  # fmt: skip
    for part in PARTS:
        if getattr(c, "plan_groups" if part == "groups" else part)[slot]:
            label = part
            if part == "one_to_one" and c.plan_focus[slot] >= 0:
                label = f"one_to_one ({SKILL_GOALS[int(c.plan_focus[slot])]})"
            rows.append({"goal": label, "role": ROLE[part], "target": None, "current": None, "status": "in_plan"})
    return rows


def carry_over(model: MilieuModel, warm: Any) -> None:
    """After a warm start: keep the `plans` rows (from the old records ``warm``) of the clients still present,
    so their plans' history stays readable (its days before the clock's start are negative)."""
    a = warm.plans.arrays()
    keep = np.isin(a["client_id"], model.clients.client_id[model.clients.present])
    if keep.any():
        ints = np.column_stack([a[name][keep] for name in model.records.plans.int_columns])
        model.records.plans.add_rows(ints, a["target"][keep])


def plan_history(model: MilieuModel, client_id: int) -> pd.DataFrame:
    """The `plans` rows of one client (counted on the clock, like ``model.tables()``)."""
    frame = model.records.plans_frame()
    if model.clock_start:
        frame["day"] -= model.clock_start // 24
    return frame[frame["client_id"] == int(client_id)].reset_index(drop=True)

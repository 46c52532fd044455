"""Ward climate: experienced safety, patients' cohesion and therapeutic hold, built up and worn down by events.

The three scales of the EssenCES (Schalast et al. 2008) as ward-level states in [0, 1]
(``model.climate``, :class:`milieu_sim.model.state.WardClimate`).  Rules (docs/ODD.md, "Ward climate"),
every hour, with N the census, X0 = ``climate_baseline`` and k = 1 / (24 ``climate_days``)::

    safety   += k (X0 - safety)   - safety_incident_loss * safety * E / N
    cohesion += k (X0 - cohesion) + (1 - cohesion) * (cohesion_group_gain * G + cohesion_encounter_gain * (1 + ke) * P
                                                      + cohesion_affirmation_gain * F) / N
                                  - cohesion_conflict_loss * cohesion * (Q + V_c) / N
    hold     += k (X0 - hold)     + hold_staff_gain * (1 - hold) * S / N
                                  - hold_coercion_loss * hold * (K + V_s) / N

where this hour's E = sum over incidents of severity / 5 * (1 + witnesses) (escalation), G the clients
attending a structured activity, P the peaceful peer encounters and S the peaceful staff-client
encounters (interaction; waking hours only), F the affirmations received (feedback and staff
reinforcement are not counted: affirmations only), Q the conflictual peer encounters, V_c and V_s the
incidents against clients and against staff, K the summed coerciveness of the hour's containments, and
ke = ``know_each_other * know_each_other_effect`` (Safewards know each other).  Then, from the Safewards
interventions: at the daily ward round hour a mutual help meeting is held with probability
``mutual_help_meeting`` (one uniform of the ``climate`` stream each hour), ``cohesion += meeting_cohesion_gain
* (attending / N) * (1 - cohesion)`` with every active client attending; at each shift handover
after the first hour, positive words: ``hold += positive_words * hold_handover_gain * (1 - hold)``.
Each scale is clipped to [0, 1].

The climate acts on nothing directly: behaviour reads it, through factors written here once
(:func:`attendance_factor`, :func:`feedback_factor`, :func:`dropout_factor`) and in recovery: the
chance of attending a structured activity (movement) is multiplied by
``max(0, 1 + hold_attendance_effect * (hold - X0))``, a peer's chance of giving feedback (feedback) by
``max(0, 1 + cohesion_feedback_effect * (cohesion - X0))``, the dropout hazard (flow) by
``exp(-cohesion_dropout_effect * (cohesion - X0))``; agitation and learning read safety and hold
(recovery).  That a
better climate goes with less aggression is an observational association (Schalast et al. 2008) and is
not a rule here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import (
    AWAKE,
    COERCION,
    HOUR,
    INCIDENT_EXPOSURE,
    INCIDENTS_ON_CLIENTS,
    INCIDENTS_ON_STAFF,
    NEW_SHIFT,
    STEP,
    STRUCTURED,
    Part,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import CLIENT_PARTNER, COHESION, HOLD, SAFETY, STAFF_PARTNER
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "climate_baseline",
        "climate_days",
        "safety_incident_loss",
        "cohesion_group_gain",
        "cohesion_encounter_gain",
        "cohesion_affirmation_gain",
        "cohesion_conflict_loss",
        "hold_staff_gain",
        "hold_coercion_loss",
        "hold_handover_gain",
        "meeting_cohesion_gain",
        "know_each_other",
        "know_each_other_effect",
        "positive_words",
        "mutual_help_meeting",
        "hold_attendance_effect",
        "cohesion_feedback_effect",
        "cohesion_dropout_effect",
    ),
    reads=(
        "clients.present",
        "clients.attending",
        "clients.isolated",
        "clients.affirmations_received",
        "hour.active",
        "hour.partner_kind",
        "hour.conflictual",
        "hour.awake",
        "hour.structured",
        "hour.new_shift",
        "hour.hour",
        "hour.incident_exposure",
        "hour.incidents_on_clients",
        "hour.incidents_on_staff",
        "hour.coercion",
    ),
    writes=("model.climate",),
    streams={"climate": ("meeting",)},
    columns=(
        "steps.climate_safety",
        "steps.climate_cohesion",
        "steps.climate_hold",
        "shifts.climate_safety",
        "shifts.climate_cohesion",
        "shifts.climate_hold",
    ),
)
#: The clock hour of the daily mutual help meeting: the ward round's (``flow.WARD_ROUND_HOUR``), part of the routine.
MEETING_HOUR = 11


class ClimateInputs(NamedTuple):
    """The client and hour arrays the climate counts."""

    present: np.ndarray
    attending: np.ndarray
    isolated: np.ndarray
    affirmations_received: np.ndarray
    active: np.ndarray
    partner_kind: np.ndarray
    conflictual: np.ndarray


def _derive(p: dict) -> dict:
    return {
        "baseline": p["climate_baseline"],
        "relax": 1.0 / (24.0 * p["climate_days"]),
        "safety_incident_loss": p["safety_incident_loss"],
        "cohesion_group_gain": p["cohesion_group_gain"],
        "cohesion_encounter_gain": p["cohesion_encounter_gain"]
        * (1.0 + p["know_each_other"] * p["know_each_other_effect"]),
        "cohesion_affirmation_gain": p["cohesion_affirmation_gain"],
        "cohesion_conflict_loss": p["cohesion_conflict_loss"],
        "hold_staff_gain": p["hold_staff_gain"],
        "hold_coercion_loss": p["hold_coercion_loss"],
        "handover_gain": p["positive_words"] * p["hold_handover_gain"],
        "meeting_cohesion_gain": p["meeting_cohesion_gain"],
        "mutual_help_meeting": p["mutual_help_meeting"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    dict.fromkeys(
        (
            "baseline",
            "relax",  # 1 / (24 climate_days)
            "safety_incident_loss",
            "cohesion_group_gain",
            "cohesion_encounter_gain",  # times 1 + know_each_other * know_each_other_effect
            "cohesion_affirmation_gain",
            "cohesion_conflict_loss",
            "hold_staff_gain",
            "hold_coercion_loss",
            "handover_gain",  # positive_words * hold_handover_gain
            "meeting_cohesion_gain",
            "mutual_help_meeting",
        ),
        float,
    ),
    _derive,
)


def update_climate(model: MilieuModel) -> None:
    """Advance the ward climate by one hour (rule in the module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, climate = model.clients, model.hour, model.climate
    if climate.affirmations_seen.size != c.n:
        climate.affirmations_seen = np.zeros(c.n, dtype=np.int64)  # taken at the climate's first hour (_hour)
    inputs = (c.present, c.attending, c.isolated, c.affirmations_received, h.active, h.partner_kind, h.conflictual)
    return (climate.values, climate.affirmations_seen, climate.counting, inputs, float(model.p["mutual_help_meeting"]),
            PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The climate's hour: the day's mutual help meeting (a draw every hour), the handover, then ``_update``.  At
    its first hour the climate starts counting affirmations: those received so far are taken as seen."""
    draws, values, seen, counting, inputs, mutual_help_meeting, parameters, nothing = arguments
    if not counting[0]:
        seen[:] = inputs[3]  # the affirmations received so far
        counting[0] = True
    u = take(draws[0][0], draws[0][1], 1, 1)[0, 0]
    awake = clock[AWAKE] != 0.0
    meeting = clock[HOUR] == MEETING_HOUR and awake and u < mutual_help_meeting
    handover = clock[NEW_SHIFT] != 0.0 and clock[STEP] > 1.0
    _update(values, seen, inputs, awake, clock[STRUCTURED] != 0.0, meeting, handover, clock[INCIDENT_EXPOSURE],
            clock[INCIDENTS_ON_CLIENTS], clock[INCIDENTS_ON_STAFF], clock[COERCION], parameters)  # fmt: skip
    return nothing


PART = Part(_hour, _inputs, streams=(("climate", 1, "one", UNIFORM),))
update_climate.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _update(climate, seen, inputs, awake, structured, meeting, handover, exposure, on_clients, on_staff, coercion,
            parameters):  # fmt: skip
    """The equations of the module docstring; ``seen``: each slot's affirmations received at the last hour."""
    q = parameters[0]
    present, attending, isolated, received, active, partner_kind, conflictual = inputs
    census = groups = peer = staff_time = conflicts = affirmations = meeting_share = 0.0
    for i in range(present.size):
        if received[i] > seen[i]:
            affirmations += received[i] - seen[i]
        seen[i] = received[i]
        if not present[i]:
            continue
        census += 1.0
        if awake:
            if structured and attending[i] and not isolated[i]:
                groups += 1.0
            if active[i]:
                meeting_share += 1.0
            if partner_kind[i] == CLIENT_PARTNER:
                if conflictual[i]:
                    conflicts += 1.0
                else:
                    peer += 1.0
            elif partner_kind[i] == STAFF_PARTNER and not conflictual[i]:
                staff_time += 1.0
    safety, cohesion, hold = climate[SAFETY], climate[COHESION], climate[HOLD]
    safety += q.relax * (q.baseline - safety)
    cohesion += q.relax * (q.baseline - cohesion)
    hold += q.relax * (q.baseline - hold)
    if census > 0:
        safety -= q.safety_incident_loss * safety * exposure / census
        cohesion += (
            (1.0 - cohesion)
            * (
                q.cohesion_group_gain * groups
                + q.cohesion_encounter_gain * peer
                + q.cohesion_affirmation_gain * affirmations
            )
            / census
        )
        cohesion -= q.cohesion_conflict_loss * cohesion * (conflicts + on_clients) / census
        hold += q.hold_staff_gain * (1.0 - hold) * staff_time / census
        hold -= q.hold_coercion_loss * hold * (coercion + on_staff) / census
        if meeting:
            cohesion += q.meeting_cohesion_gain * meeting_share / census * (1.0 - cohesion)
    if handover:
        hold += q.handover_gain * (1.0 - hold)
    climate[SAFETY] = min(max(safety, 0.0), 1.0)
    climate[COHESION] = min(max(cohesion, 0.0), 1.0)
    climate[HOLD] = min(max(hold, 0.0), 1.0)


# --- what behaviour reads of the climate (each read by the process named; the rule is written here once) -----
def attendance_factor(model: MilieuModel) -> float:
    """Factor on the chance of attending a structured activity (movement): :func:`attendance_factor_of` of the
    ward's therapeutic hold."""
    p = model.p
    return float(attendance_factor_of(model.climate.values[HOLD], p["climate_baseline"], p["hold_attendance_effect"]))


@kernel(inline=True)
def attendance_factor_of(hold, baseline, effect):
    """Factor on the chance of attending a structured activity for the ward's ``hold``, ``climate_baseline`` and
    ``hold_attendance_effect``: max(0, 1 + effect * (hold - baseline))."""
    return max(0.0, 1.0 + effect * (hold - baseline))


def feedback_factor(model: MilieuModel) -> float:
    """Factor on a peer's chance of giving feedback (feedback): :func:`feedback_factor_of` of the ward's cohesion."""
    p = model.p
    return float(
        feedback_factor_of(model.climate.values[COHESION], p["climate_baseline"], p["cohesion_feedback_effect"])
    )


@kernel(inline=True)
def feedback_factor_of(cohesion, baseline, effect):
    """Factor on a peer's chance of giving feedback for the ward's ``cohesion``, ``climate_baseline`` and
    ``cohesion_feedback_effect``: max(0, 1 + effect * (cohesion - baseline))."""
    return max(0.0, 1.0 + effect * (cohesion - baseline))


def dropout_factor(model: MilieuModel) -> float:
    """Factor on the dropout hazard (flow): exp(-cohesion_dropout_effect * (cohesion - climate_baseline))."""
    p = model.p
    return math.exp(-p["cohesion_dropout_effect"] * (model.climate.values[COHESION] - p["climate_baseline"]))

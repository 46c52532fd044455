"""Recovery: the slow dynamics of self-control, trust, independence, symptoms and skill.

Rules (docs/ODD.md, "Self-control, trust and independence"), every hour for
present clients (Y symptoms, R resentment, T0 trust at admission)::

    A  += agitation_decay * (A0 - A) * (sleep_calming_factor if asleep) + resentment_agitation * R
          + agitation_noise * eps,
          A0 = agitation_baseline + agitation_symptom_baseline * Y + fear_agitation * F
               + unsafe_ward_agitation * (1 - safety),  eps ~ N(0, 1)
    R  *= exp(-1 / (24 resentment_days));  suppression *= exp(-1 / suppression_hours)
    M_aff, M_cor decay with their memory time constants
    F  *= exp(-1 / (24 fear_days));  M_inc, M_sh *= exp(-1 / (24 risk_memory_days))
    C  += self_control_learning * h * L * (0.5 + 0.5 T) * (1 - C)    if attending a structured activity
    T  += trust_recovery * (T0 - T)
    Y  *= 1 - symptom_recovery / 24;  Y += agitation_symptom_push * A
    S_k += therapy_learning * (0.5 + 0.5 T) * (1 - Y / 2) * (1 - S_k) * f
          * h * L for the skill k the attended activity trains, with f = 1 - custodial_care
          for daily-living practice (staff doing tasks for clients) and f = 1 otherwise

with the ward climate (``processes.climate``) read by behaviour: the ward's experienced safety
(``safety``) raises everyone's agitation baseline as it falls, and therapeutic hold scales
learning in activities, h = max(0, 1 + hold_learning_effect * (hold - climate_baseline)).  In a structured
activity learning also depends on who leads it: L = ``hour.facilitation`` (``processes.facilitation``; L = 1
outside structured activities), which multiplies the self-control term and the skill practice of structured
activities.
F (fear) is each client's own felt unsafety after incidents they suffered or saw (escalation).

"Asleep": the routine's sleep hours on the unit, or the home's night for a day programme's clients at
home (``home.awake_at_home``). Independence has its own process (``processes.initiative``); recovery only
clips it with the other states at the end of the hour.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.compiled_hour import AWAKE, AWAY, FACILITATION, HOUR, STRUCTURED, TRAINS, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.processes.home import home_awake
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AFFIRMATION_MEMORY,
    AGITATION,
    BASELINE_TRUST,
    CORRECTION_MEMORY,
    DAILY_LIVING,
    EMPATHY,
    FEAR,
    HOLD,
    INCENTIVE,
    INCIDENT_MEMORY,
    INSIGHT,
    RESENTMENT,
    SAFETY,
    SELF_CONTROL,
    SELF_HARM_MEMORY,
    SUPPRESSION,
    SYMPTOMS,
    TRUST,
)
from milieu_sim.model.streams import NORMAL, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

CLIPPED_ROWS = 10  # rows 0-9 (skills ... suppression) are kept in [0, 1], and so are insight, empathy, incentive


OWNS = Owns(
    parameters=(
        "agitation_decay",
        "sleep_calming_factor",
        "agitation_baseline",
        "agitation_symptom_baseline",
        "resentment_agitation",
        "agitation_noise",
        "resentment_days",
        "suppression_hours",
        "affirmation_memory_days",
        "correction_memory_days",
        "self_control_learning",
        "trust_recovery",
        "custodial_care",
        "symptom_recovery",
        "agitation_symptom_push",
        "therapy_learning",
        "fear_days",
        "fear_agitation",
        "risk_memory_days",
        "unsafe_ward_agitation",
        "hold_learning_effect",
        "climate_baseline",
    ),
    reads=(
        "clients.present",
        "clients.attending",
        "clients.isolated",
        "clients.baseline_trust",
        "model.climate",
        "hour.awake",
        "hour.away",
        "hour.hour",
        "hour.structured",
        "hour.facilitation",
        "hour.trains",
    ),
    writes=(
        "clients.agitation",
        "clients.resentment",
        "clients.suppression",
        "clients.affirmation_memory",
        "clients.correction_memory",
        "clients.self_control",
        "clients.trust",
        "clients.independence",
        "clients.symptoms",
        "clients.skills",
        "clients.fear",
        "clients.incident_memory",
        "clients.self_harm_memory",
    ),
    streams={"recovery": ("agitation_noise",)},
)


def _derive(p: dict) -> dict:
    return {
        "decay_awake": p["agitation_decay"] * 1.0,
        "decay_asleep": p["agitation_decay"] * p["sleep_calming_factor"],
        "agitation_baseline": p["agitation_baseline"],
        "agitation_symptom_baseline": p["agitation_symptom_baseline"],
        "resentment_agitation": p["resentment_agitation"],
        "noise": p["agitation_noise"],
        "resentment_decay": math.exp(-1.0 / (24.0 * p["resentment_days"])),
        "suppression_decay": math.exp(-1.0 / p["suppression_hours"]),
        "affirmation_decay": math.exp(-1.0 / (24.0 * p["affirmation_memory_days"])),
        "correction_decay": math.exp(-1.0 / (24.0 * p["correction_memory_days"])),
        "self_control_learning": p["self_control_learning"],
        "trust_recovery": p["trust_recovery"],
        "symptom_persistence": 1.0 - p["symptom_recovery"] / 24.0,
        "agitation_symptom_push": p["agitation_symptom_push"],
        "practice_learning": p["therapy_learning"] * 1.0,
        "daily_living_learning": p["therapy_learning"] * (1.0 - p["custodial_care"]),
        "fear_decay": math.exp(-1.0 / (24.0 * p["fear_days"])),
        "fear_agitation": p["fear_agitation"],
        "risk_decay": math.exp(-1.0 / (24.0 * p["risk_memory_days"])),
        "unsafe_ward_agitation": p["unsafe_ward_agitation"],
        "hold_learning_effect": p["hold_learning_effect"],
        "climate_baseline": p["climate_baseline"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    dict.fromkeys(
        (
            "decay_awake",  # agitation_decay
            "decay_asleep",  # agitation_decay * sleep_calming_factor
            "agitation_baseline",
            "agitation_symptom_baseline",
            "resentment_agitation",
            "noise",
            "resentment_decay",  # exp(-1 / (24 resentment_days)), per hour
            "suppression_decay",  # exp(-1 / suppression_hours)
            "affirmation_decay",
            "correction_decay",
            "self_control_learning",
            "trust_recovery",
            "symptom_persistence",  # 1 - symptom_recovery / 24
            "agitation_symptom_push",
            "practice_learning",  # therapy_learning
            "daily_living_learning",  # therapy_learning * (1 - custodial_care)
            "fear_decay",  # exp(-1 / (24 fear_days))
            "fear_agitation",
            "risk_decay",  # exp(-1 / (24 risk_memory_days))
            "unsafe_ward_agitation",
            "hold_learning_effect",
            "climate_baseline",
        ),
        float,
    ),
    _derive,
)


def recover(model: MilieuModel) -> None:
    """Advance the slow state variables by one hour."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c = model.clients
    return c.values, c.present, c.attending, c.isolated, model.climate.values, PARAMETERS(model.p)


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of recovery: one standard normal per slot (the noise), then ``_recover``."""
    draws, x, present, attending, isolated, climate, parameters, nothing = arguments
    eps = take(draws[0][0], draws[0][1], 1, present.size)[0]
    awake, structured = clock[AWAKE] != 0.0, clock[STRUCTURED] != 0.0
    trains = np.int64(clock[TRAINS]) if awake else -1
    lead = clock[FACILITATION] if structured else 1.0  # who leads a structured activity (processes.facilitation)
    _recover(x, eps, present, attending, isolated, awake, home_awake(clock[AWAY] != 0.0, clock[HOUR]), structured,
             lead, trains, climate, parameters)  # fmt: skip
    return nothing


PART = Part(_hour, _inputs, streams=(("recovery", 1, "clients", NORMAL),))
recover.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _recover(x, eps, present, attending, isolated, awake, home_awake, structured, lead, trains, climate, parameters):
    """The equations of the module docstring for every bed slot (the state of empty slots is never read)."""
    q = parameters[0]
    ward_tension = q.unsafe_ward_agitation * (1.0 - climate[SAFETY])
    hold = max(0.0, 1.0 + q.hold_learning_effect * (climate[HOLD] - q.climate_baseline))
    led = hold * lead  # the hold of the climate times how well a structured activity is led (1 outside one)
    decay = q.decay_awake if awake or home_awake else q.decay_asleep  # awake at home: not sleep (processes.home)
    practice_learning = q.daily_living_learning if trains == DAILY_LIVING else q.practice_learning
    A, T, Y = x[AGITATION], x[TRUST], x[SYMPTOMS]
    C = x[SELF_CONTROL]
    for i in range(present.size):
        A[i] += (
            decay
            * (
                q.agitation_baseline
                + q.agitation_symptom_baseline * Y[i]
                + q.fear_agitation * x[FEAR, i]
                + ward_tension
                - A[i]
            )
            + q.resentment_agitation * x[RESENTMENT, i]
            + q.noise * eps[i]
        )
        x[RESENTMENT, i] *= q.resentment_decay
        x[SUPPRESSION, i] *= q.suppression_decay
        x[AFFIRMATION_MEMORY, i] *= q.affirmation_decay
        x[CORRECTION_MEMORY, i] *= q.correction_decay
        x[FEAR, i] = min(max(x[FEAR, i] * q.fear_decay, 0.0), 1.0)
        x[INCIDENT_MEMORY, i] *= q.risk_decay
        x[SELF_HARM_MEMORY, i] *= q.risk_decay
        practising = attending[i] and present[i] and not isolated[i]
        if practising and structured:
            C[i] += q.self_control_learning * led * (0.5 + 0.5 * T[i]) * (1.0 - C[i])
        T[i] += q.trust_recovery * (x[BASELINE_TRUST, i] - T[i])
        Y[i] *= q.symptom_persistence
        Y[i] += q.agitation_symptom_push * A[i]
        if trains >= 0 and practising:
            S = x[trains]
            S[i] += practice_learning * led * (0.5 + 0.5 * T[i]) * (1.0 - Y[i] / 2.0) * (1.0 - S[i])
        # the clip of the hour: processes before this one may leave states outside [0, 1] (only the costs of
        # containment are bounded where applied: docs/ODD.md, "Updating")
        for row in range(CLIPPED_ROWS):
            x[row, i] = min(max(x[row, i], 0.0), 1.0)
        for row in (INSIGHT, EMPATHY, INCENTIVE):
            x[row, i] = min(max(x[row, i], 0.0), 1.0)

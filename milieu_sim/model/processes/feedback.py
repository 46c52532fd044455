"""Peer and staff feedback: affirmations after good behaviour, corrections ("pull-ups") after bad.

Rules (docs/ODD.md, "Peer feedback"), for each client i whose act this hour
(prosocial or transgression) is seen by their encounter partner j:

* A peer j (only when the policy has ``peer_feedback``) sends feedback with
  probability ``min(1, peer_feedback_rate * (1 + a_aff * M_aff_j + a_cor * M_cor_j) * f_c * f_phase * f_norm)``,
  where M_aff and M_cor are j's decaying memories of affirmations and
  corrections received (``affirmation_sending_boost`` and
  ``correction_sending_boost``; memories fade with time constants
  ``affirmation_memory_days`` ~ 8 weeks and ``correction_memory_days``, shorter:
  Warren et al. 2013; Warren, Doogan & Doherty 2021); f_c the community's cohesion
  (:func:`milieu_sim.model.processes.climate.feedback_factor`, its rule written once there,
  ``climate.feedback_factor_of``); f_phase j's phase of stay:
  ``orientation_sending_factor`` for a newcomer, 1 in the primary phase, ``senior_sending_factor`` for a
  senior (De Leon 2000); f_norm, for a correction only, the community's norm N / ``norm_baseline``
  (:func:`confrontation_factor`; the norm is processes.norms's: a strong norm, peers confront).
  A staff partner sends feedback with probability ``staff_feedback_rate``.
* An affirmation (after a prosocial act) with weight w (``peer_feedback_weight``
  or the smaller ``staff_feedback_weight``: Doogan & Warren 2017) raises the
  skill the current activity trains by ``g w (1 - S)`` (outside such an
  activity each of the three skills by ``g w / 3 (1 - S_k)``), trust by
  ``g w / 2 (1 - T)``, and the receiver's affirmation memory by 1, where
  g = ``feedback_learning``.
* A correction (after a transgression) raises self-control by ``g w T (1 - C)``
  (a pull-up works through trust), adds ``g w / 2 (1 - T)`` agitation, and
  raises the correction memory by 1; the transgression counts as addressed (``hour.addressed``, which
  the consequences read).
* The two rules (:func:`affirm_act`, :func:`correct`) are written once here; the community meeting
  (processes.norms) confronts and affirms in public by them.
* The feedback table records each piece of feedback with ``behaviour_change``:
  the gain in skill (affirmation) or self-control (correction) it caused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import STEP, TRAINS, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.climate import feedback_factor_of
from milieu_sim.model.processes.common import ParameterRecord, practise_skills
from milieu_sim.model.records import TABLE_COLUMNS
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AFFIRMATION_MEMORY,
    AGITATION,
    CLIENT_PARTNER,
    COHESION,
    CORRECTION_MEMORY,
    NO_ACT,
    NO_PARTNER,
    NORM,
    ORIENTATION,
    PROSOCIAL,
    SELF_CONTROL,
    SENIOR,
    STAFF_PARTNER,
    TRANSGRESSION,
    TRUST,
)
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

AFFIRMATION, CORRECTION = 0, 1
CLIENT_SENDER, STAFF_SENDER, COMMUNITY_SENDER = 0, 1, 2  # records.SENDER_ROLES


OWNS = Owns(
    parameters=(
        "peer_feedback",
        "peer_feedback_rate",
        "affirmation_sending_boost",
        "correction_sending_boost",
        "staff_feedback_rate",
        "feedback_learning",
        "peer_feedback_weight",
        "staff_feedback_weight",
        "orientation_sending_factor",
        "senior_sending_factor",
        "norm_baseline",
        "climate_baseline",
        "cohesion_feedback_effect",
    ),
    reads=(
        "hour.behaviour",
        "hour.partner_kind",
        "hour.partner",
        "hour.trains",
        "clients.client_id",
        "clients.phase",
        "staff.staff_id",
        "model.community",
        "model.climate",
    ),
    writes=(
        "clients.skills",
        "clients.trust",
        "clients.self_control",
        "clients.agitation",
        "clients.affirmation_memory",
        "clients.correction_memory",
        "clients.affirmations_received",
        "clients.corrections_received",
        "clients.feedback_sent",
        "hour.addressed",
    ),
    streams={"feedback": ("send",)},
    columns=tuple(f"feedback.{name}" for name in TABLE_COLUMNS["feedback"]),
)


class FeedbackClients(NamedTuple):
    """The client arrays the feedback rule reads and writes."""

    values: np.ndarray
    affirmations_received: np.ndarray
    corrections_received: np.ndarray
    feedback_sent: np.ndarray
    client_id: np.ndarray
    phase: np.ndarray


def _derive(p: dict) -> dict:
    return {
        "peer_feedback": p["peer_feedback"],
        "peer_rate": p["peer_feedback_rate"],
        "affirmation_boost": p["affirmation_sending_boost"],
        "correction_boost": p["correction_sending_boost"],
        "staff_rate": p["staff_feedback_rate"],
        "peer_gain": p["feedback_learning"] * p["peer_feedback_weight"],
        "staff_gain": p["feedback_learning"] * p["staff_feedback_weight"],
        "orientation_factor": p["orientation_sending_factor"],
        "senior_factor": p["senior_sending_factor"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {
        "peer_feedback": bool,
        "peer_rate": float,
        "affirmation_boost": float,
        "correction_boost": float,
        "staff_rate": float,
        "peer_gain": float,  # feedback_learning * peer_feedback_weight
        "staff_gain": float,  # feedback_learning * staff_feedback_weight
        "orientation_factor": float,  # orientation_sending_factor
        "senior_factor": float,  # senior_sending_factor
    },
    _derive,
)


def give_feedback(model: MilieuModel) -> None:
    """Send and receive affirmations and corrections for this hour's acts."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, p = model.clients, model.hour, model.p
    return (c.packed(FeedbackClients), h.behaviour, h.partner_kind, h.partner, model.staff.staff_id, h.addressed,
            model.climate.values, model.community.values, float(p["climate_baseline"]),
            float(p["cohesion_feedback_effect"]), float(p["norm_baseline"]), PARAMETERS(p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of feedback: one uniform per slot, the climate's and the norm's factors on sending
    (:func:`feedback_factor_of`, :func:`confrontation_factor_of`), then ``_feedback``; logs its feedback rows."""
    (draws, clients, behaviour, partner_kind, partner, staff_id, addressed, climate, community, climate_baseline,
     cohesion_effect, norm_baseline, parameters, nothing) = arguments  # fmt: skip
    u = take(draws[0][0], draws[0][1], 1, FeedbackClients(*clients).client_id.size)[0]
    climate_factor = feedback_factor_of(climate[COHESION], climate_baseline, cohesion_effect)
    norm_factor = confrontation_factor_of(community[NORM], norm_baseline)
    rows, change = _feedback(u, clients, behaviour, partner_kind, partner, np.int64(clock[TRAINS]),
                             np.int64(clock[STEP]), staff_id, climate_factor, norm_factor, addressed,
                             parameters)  # fmt: skip
    return nothing[0], rows, change


PART = Part(_hour, _inputs, streams=(("feedback", 1, "clients", UNIFORM),))
give_feedback.part = PART  # type: ignore[attr-defined]


def confrontation_factor(model: MilieuModel) -> float:
    """Factor on a peer's chance of sending a correction: the community's norm N / ``norm_baseline`` (1 when the
    baseline is 0)."""
    return confrontation_factor_of(model.community.values.item(NORM), float(model.p["norm_baseline"]))


@kernel(inline=True)
def confrontation_factor_of(norm, baseline):
    """Factor on a peer's chance of sending a correction: the community's norm N / ``norm_baseline`` (1 when the
    baseline is 0)."""
    return norm / baseline if baseline > 0.0 else 1.0


@kernel(inline=True)
def _feedback(u, clients, behaviour, partner_kind, partner, trains, step, staff_id, climate_factor, norm_factor,
              addressed, parameters):  # fmt: skip
    """Who sends feedback (every chance read before anyone receives), then its effects.

    Returns (rows of step, sender_id, receiver_id, sender_role, kind; behaviour_change), receivers in slot order.
    """
    q = parameters[0]
    clients = FeedbackClients(*clients)
    x, client_id = clients.values, clients.client_id
    n = u.size
    sent = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if behaviour[i] == NO_ACT or partner_kind[i] == NO_PARTNER:
            continue
        chance = 0.0
        if partner_kind[i] == CLIENT_PARTNER:
            if q.peer_feedback:
                j = partner[i]
                propensity = (
                    1.0 + q.affirmation_boost * x[AFFIRMATION_MEMORY, j] + q.correction_boost * x[CORRECTION_MEMORY, j]
                )
                chance = q.peer_rate * propensity * climate_factor  # cohesion (processes.climate)
                if clients.phase[j] == ORIENTATION:
                    chance *= q.orientation_factor
                elif clients.phase[j] == SENIOR:
                    chance *= q.senior_factor
                if behaviour[i] == TRANSGRESSION:
                    chance *= norm_factor  # the community's norm (processes.norms)
                chance = min(1.0, chance)
        elif partner_kind[i] == STAFF_PARTNER:
            chance = q.staff_rate
        sent[i] = u[i] < chance
    receivers = np.flatnonzero(sent)
    rows = np.zeros((receivers.size, 5), dtype=np.int64)
    change = np.zeros(receivers.size)
    for a in range(receivers.size):
        i = receivers[a]
        j = partner[i]
        by_peer = partner_kind[i] == CLIENT_PARTNER
        gain = q.peer_gain if by_peer else q.staff_gain
        affirm = behaviour[i] == PROSOCIAL
        rows[a, 0] = step
        rows[a, 1] = client_id[j] if by_peer else staff_id[j]
        rows[a, 2] = client_id[i]
        rows[a, 3] = CLIENT_SENDER if by_peer else STAFF_SENDER
        rows[a, 4] = AFFIRMATION if affirm else CORRECTION
        if affirm:
            change[a] = affirm_act(x, clients.affirmations_received, i, trains, gain)
        elif behaviour[i] == TRANSGRESSION:
            change[a] = correct(x, clients.corrections_received, i, gain)
            addressed[i] = True
        if by_peer:
            clients.feedback_sent[j] += 1
    return rows, change


# --- the two rules of feedback, written once (also the community meeting's: processes.norms) ---------------
@kernel(inline=True)
def affirm_act(x, affirmations_received, i, trains, gain):
    """An affirmation of client i's act with gain g (= g w): practice of the trained skill (common.practise_skills),
    trust += g / 2 (1 - T), affirmation memory += 1, one more affirmation received.  Returns the skill gained."""
    change = practise_skills(x, i, trains, gain)
    x[TRUST, i] += gain / 2.0 * (1.0 - x[TRUST, i])
    x[AFFIRMATION_MEMORY, i] += 1.0
    affirmations_received[i] += 1
    return change


@kernel(inline=True)
def correct(x, corrections_received, i, gain):
    """A correction of client i's transgression with gain g: self-control += g T (1 - C) (it works through trust),
    agitation += g / 2 (1 - T), correction memory += 1, one more correction received.  Returns the self-control
    gained."""
    change = gain * x[TRUST, i] * (1.0 - x[SELF_CONTROL, i])
    x[SELF_CONTROL, i] += change
    x[AGITATION, i] += gain / 2.0 * (1.0 - x[TRUST, i])
    x[CORRECTION_MEMORY, i] += 1.0
    corrections_received[i] += 1
    return change

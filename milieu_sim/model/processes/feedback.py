"""Peer and staff feedback: affirmations after good behaviour, corrections ("pull-ups") after bad.

Rules (docs/ODD.md, "Peer feedback"), for each client i whose act this hour
(prosocial or transgression) is seen by their encounter partner j:

* A peer j (only when the policy has ``peer_feedback``) sends feedback with
  probability ``min(1, peer_feedback_rate * (1 + a_aff * M_aff_j + a_cor * M_cor_j))``,
  where M_aff and M_cor are j's decaying memories of affirmations and
  corrections received (``affirmation_sending_boost`` and
  ``correction_sending_boost``; memories fade with time constants
  ``affirmation_memory_days`` ~ 8 weeks and ``correction_memory_days``, shorter:
  Warren et al. 2013; Warren, Doogan & Doherty 2021).
  A staff partner sends feedback with probability ``staff_feedback_rate``.
* An affirmation (after a prosocial act) with weight w (``peer_feedback_weight``
  or the smaller ``staff_feedback_weight``: Doogan & Warren 2017) raises the
  skill the current activity trains by ``g w (1 - S)`` (outside such an
  activity each of the three skills by ``g w / 3 (1 - S_k)``), trust by
  ``g w / 2 (1 - T)``, and the receiver's affirmation memory by 1, where
  g = ``feedback_learning``.
* A correction (after a transgression) raises self-control by ``g w T (1 - C)``
  (a pull-up works through trust), adds ``g w / 2 (1 - T)`` agitation, and
  raises the correction memory by 1.
* The feedback table records each piece of feedback with ``behaviour_change``:
  the gain in skill (affirmation) or self-control (correction) it caused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.climate import feedback_factor
from milieu_sim.model.processes.common import ParameterRecord, practise_skills
from milieu_sim.model.records import TABLE_COLUMNS
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AFFIRMATION_MEMORY,
    AGITATION,
    CLIENT_PARTNER,
    CORRECTION_MEMORY,
    NO_ACT,
    NO_PARTNER,
    PROSOCIAL,
    SELF_CONTROL,
    STAFF_PARTNER,
    TRANSGRESSION,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

AFFIRMATION, CORRECTION = 0, 1
CLIENT_SENDER, STAFF_SENDER = 0, 1


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
    ),
    reads=("hour.behaviour", "hour.partner_kind", "hour.partner", "hour.trains", "clients.client_id", "staff.staff_id"),
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


def _derive(p: dict) -> dict:
    return {
        "peer_feedback": p["peer_feedback"],
        "peer_rate": p["peer_feedback_rate"],
        "affirmation_boost": p["affirmation_sending_boost"],
        "correction_boost": p["correction_sending_boost"],
        "staff_rate": p["staff_feedback_rate"],
        "peer_gain": p["feedback_learning"] * p["peer_feedback_weight"],
        "staff_gain": p["feedback_learning"] * p["staff_feedback_weight"],
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
    },
    _derive,
)


def give_feedback(model: MilieuModel) -> None:
    """Send and receive affirmations and corrections for this hour's acts."""
    c, h = model.clients, model.hour
    u = model.streams["feedback"].random(c.n)
    rows, change = _feedback(u, c.packed(FeedbackClients), h.behaviour, h.partner_kind, h.partner, h.trains, h.step,
                             model.staff.staff_id, feedback_factor(model), PARAMETERS(model.p))  # fmt: skip
    model.records.feedback.add_rows(rows, change)


@kernel
def _feedback(u, clients, behaviour, partner_kind, partner, trains, step, staff_id, climate_factor, parameters):
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
                chance = min(1.0, q.peer_rate * propensity * climate_factor)  # cohesion (processes.climate)
        elif partner_kind[i] == STAFF_PARTNER:
            chance = q.staff_rate
        sent[i] = u[i] < chance
    receivers = np.flatnonzero(sent)
    rows = np.zeros((receivers.size, 5), dtype=np.int64)
    change = np.zeros(receivers.size)
    T = x[TRUST]
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
            change[a] = practise_skills(x, i, trains, gain)
            T[i] += gain / 2.0 * (1.0 - T[i])
            x[AFFIRMATION_MEMORY, i] += 1.0
            clients.affirmations_received[i] += 1
        elif behaviour[i] == TRANSGRESSION:
            change[a] = gain * T[i] * (1.0 - x[SELF_CONTROL, i])
            x[SELF_CONTROL, i] += change[a]
            x[AGITATION, i] += gain / 2.0 * (1.0 - T[i])
            x[CORRECTION_MEMORY, i] += 1.0
            clients.corrections_received[i] += 1
        if by_peer:
            clients.feedback_sent[j] += 1
    return rows, change

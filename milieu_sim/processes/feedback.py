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

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.state import CLIENT_PARTNER, PROSOCIAL, STAFF_PARTNER, TRANSGRESSION

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel

AFFIRMATION, CORRECTION = 0, 1
CLIENT_SENDER, STAFF_SENDER = 0, 1


def give_feedback(model: MilieuModel) -> None:
    """Send and receive affirmations and corrections for this hour's acts."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    u = model.streams["feedback"].random(c.n)
    seen = (h.behaviour != 0) & (h.partner_kind != 0)
    if not seen.any():
        return
    peer = seen & (h.partner_kind == CLIENT_PARTNER)
    staff = seen & (h.partner_kind == STAFF_PARTNER)
    j = np.maximum(h.partner, 0)  # a client slot for peers, a staff index for staff
    jc = np.where(peer, j, 0)
    propensity = (
        1.0
        + p["affirmation_sending_boost"] * c.affirmation_memory[jc]
        + p["correction_sending_boost"] * c.correction_memory[jc]
    )
    chance = np.where(
        peer,
        np.minimum(1.0, p["peer_feedback_rate"] * propensity) if p["peer_feedback"] else 0.0,
        np.where(staff, p["staff_feedback_rate"], 0.0),
    )
    sent = seen & (u < chance)
    if not sent.any():
        return
    receivers = np.flatnonzero(sent)
    by_peer = peer[receivers]
    weight = np.where(by_peer, p["peer_feedback_weight"], p["staff_feedback_weight"])
    gain = p["feedback_learning"] * weight
    affirm = h.behaviour[receivers] == PROSOCIAL
    correct = h.behaviour[receivers] == TRANSGRESSION

    change = np.zeros(receivers.size)  # how far each piece of feedback moved the receiver's behaviour
    a = receivers[affirm]
    if a.size:
        ga = gain[affirm]
        if h.trains >= 0:
            row = c.skills[h.trains]
            change[affirm] = ga * (1.0 - row[a])
            row[a] += change[affirm]
        else:
            step = ga[None, :] / 3.0 * (1.0 - c.skills[:, a])
            change[affirm] = step.sum(axis=0)
            c.skills[:, a] += step
        c.trust[a] += ga / 2.0 * (1.0 - c.trust[a])
        c.affirmation_memory[a] += 1.0
        c.affirmations_received[a] += 1
    k = receivers[correct]
    if k.size:
        gk = gain[correct]
        change[correct] = gk * c.trust[k] * (1.0 - c.self_control[k])
        c.self_control[k] += change[correct]
        c.agitation[k] += gk / 2.0 * (1.0 - c.trust[k])
        c.correction_memory[k] += 1.0
        c.corrections_received[k] += 1
    senders = j[receivers]
    np.add.at(c.feedback_sent, senders[by_peer], 1)

    sender_ids = np.where(
        by_peer, c.client_id[np.where(by_peer, senders, 0)], s.staff_id[np.where(by_peer, 0, senders)]
    )
    model.records.feedback.add(
        receivers.size,
        step=h.step,
        sender_id=sender_ids,
        receiver_id=c.client_id[receivers],
        sender_role=np.where(by_peer, CLIENT_SENDER, STAFF_SENDER),
        kind=np.where(affirm, AFFIRMATION, CORRECTION),
        behaviour_change=change,
    )

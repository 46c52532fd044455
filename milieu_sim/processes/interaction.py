"""Interaction between neighbours, and each client's behaviour this hour.

Rules (docs/ODD.md, "Interaction"), for every *active* client i (present,
awake, not secluded, not in time-out):

* i turns to one other person j drawn uniformly from the active clients and
  on-duty staff, and with probability ``interaction_rate`` they meet if j is in
  the same zone and within ``interaction_radius`` cells (Chebyshev): so clients
  meet more often when the routine gathers them in one room.  A client in orientation with
  a senior buddy meets the buddy instead with probability 0.5 (senior
  induction, De Leon et al. 2000).
* The encounter is conflictual with probability
  ``P(conflict) = conflict_rate * (A_i + A_j) * (1 - (C_i + C_j) / 2)``
  (staff count as A = 0, C = 1).  A conflict adds ``conflict_agitation`` to both
  clients' agitation, costs trust (``T -= 0.01 T``) and marks ``peer_conflict``
  as the antecedent of anything that follows within two hours.  A peaceful
  encounter practises social skill (``S_social += 0.002 (1 - S_social)``) and
  builds trust (``T += 0.002 (1 - T)``).
* Behaviour, from one uniform draw u per client: a prosocial act if u < P(pro), a
  minor transgression if u > 1 - P(tr) (so each has its own unconditional
  probability, and they exclude each other while P(pro) + P(tr) <= 1), where
  ``P(pro) = prosocial_rate * (S_i + C_i) / 2 * (1 - A_i) * (1 + token_rewards * reinforcement_rate)``
  (tokens are an external incentive that raises on-ward adaptive behaviour,
  Dickerson et al. 2005) and
  ``P(tr) = transgression_rate * (1 - C_i) * (A_i + Y_i) / 2 * (1 - suppression_i)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.state import (
    CLIENT_PARTNER,
    NO_ACT,
    NO_PARTNER,
    ORIENTATION,
    PEER_CONFLICT,
    PROSOCIAL,
    STAFF_PARTNER,
    TRANSGRESSION,
)

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel


def active_clients(model: MilieuModel) -> np.ndarray:
    """Clients who take part in ward life this hour."""
    c, h = model.clients, model.hour
    if not h.awake:
        return np.zeros(c.n, dtype=bool)
    return c.present & ~c.isolated & (c.time_out_until <= h.step) & (c.cell >= 0)


def interact(model: MilieuModel) -> None:
    """Form encounters, decide which are conflictual, and draw each client's behaviour."""
    c, s, h, p = model.clients, model.staff, model.hour, model.p
    n = c.n
    u = model.streams["interaction"].random((n, 5))
    active = active_clients(model)
    h.active = active
    partner_kind = np.zeros(n, dtype=np.int64)
    partner = np.full(n, -1, dtype=np.int64)

    on = np.flatnonzero(s.on_duty & (s.cell >= 0))
    act = np.flatnonzero(active)
    k = act.size
    people = k + on.size
    if k and people > 1:
        # each active client looks at one other person (active client or on-duty staff) at random;
        # they meet if that person is in the same zone and within reach
        ua = u[act]
        other = (ua[:, 1] * (people - 1)).astype(np.int64)
        other += other >= np.arange(k)
        cells = np.concatenate((c.cell[act], s.cell[on]))
        height = model.plan.height
        x, y = np.divmod(cells, height)
        zone = model.plan.zone.reshape(-1)[cells]
        met = (
            (ua[:, 0] < p["interaction_rate"])
            & (zone[:k] == zone[other])
            & (np.maximum(np.abs(x[:k] - x[other]), np.abs(y[:k] - y[other])) <= p["interaction_radius"])
        )
        is_staff = other >= k
        partner_kind[act] = np.where(met, np.where(is_staff, STAFF_PARTNER, CLIENT_PARTNER), NO_PARTNER)
        partner[act] = np.where(met, np.concatenate((act, on))[other], -1)
        # senior induction: a new client meets their buddy
        if p["senior_induction"]:
            buddy = c.buddy[act]
            with_buddy = (c.phase[act] == ORIENTATION) & (buddy >= 0)
            with_buddy &= active[np.maximum(buddy, 0)] & (ua[:, 4] < 0.5)
            partner_kind[act[with_buddy]] = CLIENT_PARTNER
            partner[act[with_buddy]] = buddy[with_buddy]

    h.partner_kind, h.partner = partner_kind, partner
    A, C = c.agitation, c.self_control
    with_client = partner_kind == CLIENT_PARTNER
    with_staff = partner_kind == STAFF_PARTNER
    j = np.where(with_client, partner, 0)  # client partners only (staff indices are another roster)
    A_j = np.where(with_client, A[j], 0.0)
    C_j = np.where(with_client, C[j], 1.0)
    p_conflict = p["conflict_rate"] * (A + A_j) * (1.0 - (C + C_j) / 2.0)
    conflictual = (with_client | with_staff) & (u[:, 2] < p_conflict)
    h.conflictual = conflictual
    if conflictual.any():
        hit = np.flatnonzero(conflictual)
        both = np.concatenate((hit, partner[hit][with_client[hit]]))
        np.add.at(A, both, p["conflict_agitation"])
        c.trust[both] -= 0.01 * c.trust[both]
        c.antecedent[both] = PEER_CONFLICT
        c.antecedent_step[both] = h.step
    peaceful = (with_client | with_staff) & ~conflictual
    if peaceful.any():
        c.social_skill[peaceful] += 0.002 * (1.0 - c.social_skill[peaceful])
        c.trust[peaceful] += 0.002 * (1.0 - c.trust[peaceful])

    skill = (c.skills[0] + c.skills[1] + c.skills[2]) / 3.0
    incentive = 1.0 + p["token_rewards"] * p["reinforcement_rate"]
    p_pro = p["prosocial_rate"] * (skill + C) / 2.0 * (1.0 - A) * incentive
    p_tr = p["transgression_rate"] * (1.0 - C) * (A + c.symptoms) / 2.0 * (1.0 - c.suppression)
    behaviour = np.where(u[:, 3] < p_pro, PROSOCIAL, np.where(u[:, 3] > 1.0 - p_tr, TRANSGRESSION, NO_ACT))
    h.behaviour = np.where(active, behaviour, NO_ACT)

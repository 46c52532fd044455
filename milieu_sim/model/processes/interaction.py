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

from milieu_sim.model.kernels import kernel
from milieu_sim.model.state import (
    AGITATION,
    CLIENT_PARTNER,
    COPING,
    DAILY_LIVING,
    NO_ACT,
    NO_PARTNER,
    ORIENTATION,
    PEER_CONFLICT,
    PROSOCIAL,
    SELF_CONTROL,
    SOCIAL,
    STAFF_PARTNER,
    SUPPRESSION,
    SYMPTOMS,
    TRANSGRESSION,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel


def interact(model: MilieuModel) -> None:
    """Form encounters, decide which are conflictual, and draw each client's behaviour."""
    c, s, h, p = model.clients, model.staff, model.hour, model.p
    u = model.streams["interaction"].random((c.n, 5))
    _interact(
        u,
        h.active,
        h.partner_kind,
        h.partner,
        h.conflictual,
        h.behaviour,
        c.values,
        c.present,
        c.isolated,
        c.time_out_until,
        c.cell,
        c.phase,
        c.buddy,
        c.antecedent,
        c.antecedent_step,
        s.on_duty,
        s.cell,
        model.plan.zone_flat,
        model.plan.height,
        h.step,
        p["interaction_rate"],
        p["interaction_radius"],
        p["senior_induction"],
        p["conflict_rate"],
        p["conflict_agitation"],
        p["prosocial_rate"],
        1.0 + p["token_rewards"] * p["reinforcement_rate"],
        p["transgression_rate"],
    )


@kernel
def _interact(
    u, active, partner_kind, partner, conflictual, behaviour, x, present, isolated, time_out_until, cell, phase,
    buddy, antecedent, antecedent_step, on_duty, staff_cell, zone, height, step, interaction_rate, radius,
    senior_induction, conflict_rate, conflict_agitation, prosocial_rate, incentive, transgression_rate,
):  # fmt: skip
    """The rules of the module docstring; fills active, partner_kind, partner, conflictual and behaviour."""
    n = present.size
    for i in range(n):
        active[i] = present[i] and not isolated[i] and time_out_until[i] <= step and cell[i] >= 0
        partner_kind[i] = NO_PARTNER
        partner[i] = -1
    act = np.flatnonzero(active)
    on = np.flatnonzero(on_duty & (staff_cell >= 0))
    k = act.size
    people = k + on.size
    if k > 0 and people > 1:
        # each active client looks at one other person (active client or on-duty staff) at random;
        # they meet if that person is in the same zone and within reach
        for a in range(k):
            i = act[a]
            other = int(u[i, 1] * (people - 1))
            if other >= a:
                other += 1
            here = cell[i]
            there = cell[act[other]] if other < k else staff_cell[on[other - k]]
            near = max(abs(here // height - there // height), abs(here % height - there % height)) <= radius
            if u[i, 0] < interaction_rate and zone[here] == zone[there] and near:
                if other < k:
                    partner_kind[i] = CLIENT_PARTNER
                    partner[i] = act[other]
                else:
                    partner_kind[i] = STAFF_PARTNER
                    partner[i] = on[other - k]
            # senior induction: a new client meets their buddy
            b = buddy[i]
            if senior_induction and phase[i] == ORIENTATION and b >= 0 and active[b] and u[i, 4] < 0.5:
                partner_kind[i] = CLIENT_PARTNER
                partner[i] = b

    A, C = x[AGITATION], x[SELF_CONTROL]
    for i in range(n):
        conflictual[i] = False
        if partner_kind[i] == NO_PARTNER:
            continue
        A_j, C_j = 0.0, 1.0  # staff
        if partner_kind[i] == CLIENT_PARTNER:
            A_j, C_j = A[partner[i]], C[partner[i]]
        conflictual[i] = u[i, 2] < conflict_rate * (A[i] + A_j) * (1.0 - (C[i] + C_j) / 2.0)
    # both parties of a conflict: agitation rises once per conflict, trust falls once per hour
    in_conflict = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if conflictual[i]:
            A[i] += conflict_agitation
            in_conflict[i] = True
            if partner_kind[i] == CLIENT_PARTNER:
                A[partner[i]] += conflict_agitation
                in_conflict[partner[i]] = True
    T = x[TRUST]
    for i in range(n):
        if in_conflict[i]:
            T[i] -= 0.01 * T[i]
            antecedent[i] = PEER_CONFLICT
            antecedent_step[i] = step
    S = x[SOCIAL]
    for i in range(n):
        if partner_kind[i] != NO_PARTNER and not conflictual[i]:
            S[i] += 0.002 * (1.0 - S[i])
            T[i] += 0.002 * (1.0 - T[i])

    for i in range(n):
        behaviour[i] = NO_ACT
        if not active[i]:
            continue
        skill = (x[COPING, i] + x[SOCIAL, i] + x[DAILY_LIVING, i]) / 3.0
        p_pro = prosocial_rate * (skill + C[i]) / 2.0 * (1.0 - A[i]) * incentive
        p_tr = transgression_rate * (1.0 - C[i]) * (A[i] + x[SYMPTOMS, i]) / 2.0 * (1.0 - x[SUPPRESSION, i])
        if u[i, 3] < p_pro:
            behaviour[i] = PROSOCIAL
        elif u[i, 3] > 1.0 - p_tr:
            behaviour[i] = TRANSGRESSION

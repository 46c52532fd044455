"""Interaction between neighbours, and each client's behaviour this hour.

Rules (docs/ODD.md, "Interaction"), for every *active* client i (present,
awake, not secluded, not in time-out):

* i turns to one other person j drawn uniformly from the active clients and
  on-duty staff, and with probability ``interaction_rate`` they meet if j is in
  the same zone and within ``interaction_radius`` cells (Chebyshev): so clients
  meet more often when the routine gathers them in one room.  A client in orientation with
  a senior buddy meets the buddy instead with probability ``buddy_meeting_chance`` (senior
  induction, De Leon et al. 2000).
* The encounter is conflictual with probability
  ``P(conflict) = conflict_rate * (A_i + A_j) * (1 - (C_i + C_j) / 2) * (1 - empathy_restraint * (E_i + E_j) / 2)``
  (staff count as A = 0, C = 1, and the empathy factor applies to client-client encounters only: feeling for
  a peer restrains aggression towards them; E = empathy, processes.insight).  A conflict adds
  ``conflict_agitation`` to both
  clients' agitation, costs both trust (``T -= conflict_trust_loss * T``; a client in several conflicts
  in one hour pays each) and marks ``peer_conflict``
  as the antecedent of anything that follows within ``antecedent_window_hours``.  A peaceful
  encounter practises social skill (``S_social += encounter_social_gain * (1 - S_social)``) and
  builds trust (``T += encounter_trust_gain * (1 + ke) * (1 - T)``, ke = ``know_each_other *
  know_each_other_effect``: under Safewards *know each other* staff and patients have shared their
  interests, so an encounter builds more trust).  Each party of a conflict notes the other as the
  one who set the antecedent off (``antecedent_source``, ``antecedent_source_kind``), whom an
  incident that follows may target (escalation).
* Behaviour, from one uniform draw u per client: a prosocial act if u < P(pro), a
  minor transgression if u > 1 - P(tr) (so each has its own unconditional
  probability, and they exclude each other while P(pro) + P(tr) <= 1), where
  ``P(pro) = prosocial_rate * (S_i + C_i) / 2 * (1 - A_i) * (1 + incentive_effect * N_i)``
  (N_i = ``incentive``: the client's own learned expectation of reward, raised by the tokens and praise
  they received and fading when rewards stop, staff_response and consequences; so rewards shape the
  behaviour of those who got them, Dickerson et al. 2005) and
  ``P(tr) = transgression_rate * (1 - C_i) * (A_i + Y_i) / 2 * (1 - suppression_i) * f_norm``
  (f_norm = ``norms.transgression_factor(model)``, the pull of the community's norm, one number an hour; its
  rule is written once, in norms: ``norms.transgression_factor_of``).
  What a transgression costs its target (the encounter partner) is applied by consequences, once staff and
  peers have answered it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import STEP, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, mean_skill
from milieu_sim.model.processes.norms import transgression_factor_of
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    CLIENT_PARTNER,
    EMPATHY,
    INCENTIVE,
    NO_ACT,
    NO_PARTNER,
    NORM,
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
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel


OWNS = Owns(
    parameters=(
        "interaction_rate",
        "interaction_radius",
        "senior_induction",
        "buddy_meeting_chance",
        "conflict_rate",
        "conflict_agitation",
        "conflict_trust_loss",
        "encounter_social_gain",
        "encounter_trust_gain",
        "know_each_other",
        "know_each_other_effect",
        "prosocial_rate",
        "incentive_effect",
        "transgression_rate",
        "empathy_restraint",
        "norm_baseline",
        "norm_transgression_effect",
    ),
    reads=(
        "clients.present",
        "clients.isolated",
        "clients.time_out_until",
        "clients.cell",
        "clients.phase",
        "clients.buddy",
        "clients.skills",
        "clients.self_control",
        "clients.symptoms",
        "clients.suppression",
        "clients.incentive",
        "clients.empathy",
        "staff.on_duty",
        "staff.cell",
        "hour.step",
        "model.community",
    ),
    writes=(
        "hour.active",
        "hour.partner_kind",
        "hour.partner",
        "hour.conflictual",
        "hour.behaviour",
        "clients.agitation",
        "clients.trust",
        "clients.social_skill",
        "clients.antecedent",
        "clients.antecedent_step",
        "clients.antecedent_source",
        "clients.antecedent_source_kind",
    ),
    streams={"interaction": ("meet", "partner", "conflict", "behaviour", "buddy")},
)
# columns of the interaction block (OWNS.streams order)
MEET, PARTNER, CONFLICT, BEHAVIOUR, BUDDY = range(5)


class InteractionClients(NamedTuple):
    """The client arrays the interaction rule reads and writes."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    time_out_until: np.ndarray
    cell: np.ndarray
    phase: np.ndarray
    buddy: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    antecedent_source: np.ndarray
    antecedent_source_kind: np.ndarray


class InteractionStaff(NamedTuple):
    """Where the staff are."""

    on_duty: np.ndarray
    cell: np.ndarray


class Encounters(NamedTuple):
    """The hour's encounters and behaviour, which the interaction rule fills."""

    active: np.ndarray
    partner_kind: np.ndarray
    partner: np.ndarray
    conflictual: np.ndarray
    behaviour: np.ndarray


def _derive(p: dict) -> dict:
    return {
        **p,
        "encounter_trust_gain": p["encounter_trust_gain"] * (1.0 + p["know_each_other"] * p["know_each_other_effect"]),
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {
        "interaction_rate": float,
        "interaction_radius": int,
        "senior_induction": bool,
        "buddy_meeting_chance": float,
        "conflict_rate": float,
        "conflict_agitation": float,
        "conflict_trust_loss": float,
        "encounter_social_gain": float,
        "encounter_trust_gain": float,  # times 1 + know_each_other * know_each_other_effect
        "prosocial_rate": float,
        "incentive_effect": float,
        "transgression_rate": float,
        "empathy_restraint": float,
    },
    _derive,
)


def interact(model: MilieuModel) -> None:
    """Form encounters, decide which are conflictual, and draw each client's behaviour."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, p = model.clients, model.hour, model.p
    return (c.packed(InteractionClients), model.staff.packed(InteractionStaff), h.packed(Encounters),
            model.plan.zone_flat, model.plan.height, model.community.values, float(p["norm_baseline"]),
            float(p["norm_transgression_effect"]), PARAMETERS(p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of interaction: the interaction block (five uniforms per slot), the norm's pull on
    transgressions (:func:`transgression_factor_of`), then ``_interact``."""
    draws, clients, staff, hour, zone, height, community, norm_baseline, norm_effect, parameters, nothing = arguments
    u = take(draws[0][0], draws[0][1], InteractionClients(*clients).present.size, 5)
    norm_factor = transgression_factor_of(community[NORM], norm_baseline, norm_effect)
    _interact(u, clients, staff, hour, zone, height, np.int64(clock[STEP]), norm_factor, parameters)
    return nothing


PART = Part(_hour, _inputs, streams=(("interaction", 5, "clients", UNIFORM),))
interact.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _interact(u, clients, staff, hour, zone, height, step, norm_factor, parameters):
    """The rules of the module docstring; fills the hour's active, partner_kind, partner, conflictual and
    behaviour (``u``: the interaction block, columns MEET ... BUDDY; ``norm_factor``: f_norm)."""
    q = parameters[0]
    clients, staff, hour = InteractionClients(*clients), InteractionStaff(*staff), Encounters(*hour)
    x, present, isolated, cell = clients.values, clients.present, clients.isolated, clients.cell
    buddy, phase, antecedent, antecedent_step = (
        clients.buddy,
        clients.phase,
        clients.antecedent,
        clients.antecedent_step,
    )
    active, partner_kind, partner = hour.active, hour.partner_kind, hour.partner
    conflictual, behaviour = hour.conflictual, hour.behaviour
    on_duty, staff_cell = staff.on_duty, staff.cell
    n = present.size
    for i in range(n):
        active[i] = present[i] and not isolated[i] and clients.time_out_until[i] <= step and cell[i] >= 0
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
            other = int(u[i, PARTNER] * (people - 1))
            if other >= a:
                other += 1
            here = cell[i]
            there = cell[act[other]] if other < k else staff_cell[on[other - k]]
            near = (
                max(abs(here // height - there // height), abs(here % height - there % height)) <= q.interaction_radius
            )
            if u[i, MEET] < q.interaction_rate and zone[here] == zone[there] and near:
                if other < k:
                    partner_kind[i] = CLIENT_PARTNER
                    partner[i] = act[other]
                else:
                    partner_kind[i] = STAFF_PARTNER
                    partner[i] = on[other - k]
            # senior induction: a new client meets their buddy
            b = buddy[i]
            if (
                q.senior_induction
                and phase[i] == ORIENTATION
                and b >= 0
                and active[b]
                and u[i, BUDDY] < q.buddy_meeting_chance
            ):
                partner_kind[i] = CLIENT_PARTNER
                partner[i] = b

    A, C = x[AGITATION], x[SELF_CONTROL]
    for i in range(n):
        conflictual[i] = False
        if partner_kind[i] == NO_PARTNER:
            continue
        A_j, C_j, restraint = 0.0, 1.0, 1.0  # staff
        if partner_kind[i] == CLIENT_PARTNER:
            j = partner[i]
            A_j, C_j = A[j], C[j]
            restraint = 1.0 - q.empathy_restraint * (x[EMPATHY, i] + x[EMPATHY, j]) / 2.0
        chance = q.conflict_rate * (A[i] + A_j) * (1.0 - (C[i] + C_j) / 2.0) * restraint
        conflictual[i] = u[i, CONFLICT] < chance
    # both parties of a conflict: agitation rises and trust falls once per conflict
    in_conflict = np.zeros(n, dtype=np.int64)  # the conflicts each client is in this hour
    source, source_kind = clients.antecedent_source, clients.antecedent_source_kind
    for i in range(n):
        if conflictual[i]:
            A[i] += q.conflict_agitation
            in_conflict[i] += 1
            source[i], source_kind[i] = partner[i], partner_kind[i]
            if partner_kind[i] == CLIENT_PARTNER:
                A[partner[i]] += q.conflict_agitation
                in_conflict[partner[i]] += 1
                source[partner[i]], source_kind[partner[i]] = i, CLIENT_PARTNER
    T = x[TRUST]
    for i in range(n):
        if in_conflict[i] > 0:
            T[i] *= (1.0 - q.conflict_trust_loss) ** in_conflict[i]  # T -= conflict_trust_loss T, per conflict
            antecedent[i] = PEER_CONFLICT
            antecedent_step[i] = step
    S = x[SOCIAL]
    for i in range(n):
        if partner_kind[i] != NO_PARTNER and not conflictual[i]:
            S[i] += q.encounter_social_gain * (1.0 - S[i])
            T[i] += q.encounter_trust_gain * (1.0 - T[i])

    for i in range(n):
        behaviour[i] = NO_ACT
        if not active[i]:
            continue
        skill = mean_skill(x, i)
        p_pro = q.prosocial_rate * (skill + C[i]) / 2.0 * (1.0 - A[i]) * (1.0 + q.incentive_effect * x[INCENTIVE, i])
        p_tr = (
            q.transgression_rate
            * (1.0 - C[i])
            * (A[i] + x[SYMPTOMS, i])
            / 2.0
            * (1.0 - x[SUPPRESSION, i])
            * norm_factor
        )
        if u[i, BEHAVIOUR] < p_pro:
            behaviour[i] = PROSOCIAL
        elif u[i, BEHAVIOUR] > 1.0 - p_tr:
            behaviour[i] = TRANSGRESSION

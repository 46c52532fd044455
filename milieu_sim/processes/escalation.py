"""Escalation and de-escalation: agitation that self-control cannot hold becomes an incident.

Rules (docs/ODD.md, "Escalation and de-escalation"):

* Every present client who is not secluded (and not away) has an incident this
  hour with probability::

      P(incident) = min(1, incident_rate * 2 * logistic(incident_steepness * (A - C))) * (0.3 if asleep)

  so that at A = C the chance is ``incident_rate``.
* Its kind is drawn with weights ``w_k = base_k * exp(2 * e * (severity_k - 1))``
  (base: refusing_rules 0.32, verbal_aggression 0.40, absconding 0.07,
  aggression_objects 0.09, self_harm 0.07, physical_aggression ``violence_weight``),
  e = max(A - C, 0), so more excess makes severe kinds likelier, but every kind,
  physical aggression included, can happen at any excess: escalation can jump
  steps (Bowers et al. 2013).  Self-harm weights scale with symptoms
  (0.5 + Y) and absconding with distrust (1.5 - T).  Kinds and severities:
  refusing_rules 1, verbal_aggression 2, absconding 2, aggression_objects 3,
  self_harm 4, physical_aggression 5.
* The antecedent is what staff or peers did to the client in this hour or the
  two hours before (limit_setting, denied_request, peer_conflict, punishment) or ``none``.
* Response: the client's observer (or, for severity >= 3, the nearest on-duty
  staff member wherever they are) responds; an unobserved minor incident
  discharges some agitation (A *= 0.8) and goes unanswered (as does any
  incident when no staff member is on the ward floor).  The responder
  first talks the client down with probability ``de_escalation_first``;
  verbal de-escalation succeeds with probability
  ``skill_j * (0.5 + 0.5 T) * (1 - 0.15 (severity - 1))`` and then removes a
  share ``de_escalation_calm`` of agitation and builds trust (+0.02 (1 - T)).
  Verbal de-escalation is not containment.
* If it was not tried or failed: self-harm and absconding lead to special
  observation; physical aggression to restraint; then severity >=
  ``isolation_threshold`` leads to seclusion, and otherwise aggression (against
  objects or people) to time-out in the quiet room and refusing rules or verbal
  aggression to PRN medication (the "minimal triangle": verbal aggression ->
  de-escalation -> PRN, Bowers et al. 2013).
* Containment costs trust ``containment_trust_loss * coerciveness`` and adds
  resentment ``resentment_gain * coerciveness`` (coerciveness: PRN 0.3, special
  observation 0.3, time-out 0.4, seclusion 1, restraint 1).  Its direct
  effects: PRN medication A *= 0.4 and I -= 0.005; time-out puts the client in
  the quiet room for 2 hours and A *= 0.7; restraint A *= 0.5; seclusion see
  ``processes.isolation``; special observation keeps the client in the sight
  of the nearest on-duty staff member (see ``movement.observers``) for
  ``special_observation_hours``.
* A nurse offers PRN medication unprompted to an active client they observe
  whose agitation is at or above ``prn_threshold`` and who had no incident this
  hour (probability ``prn_offer_rate`` per hour); support workers do not give medication.
* Special observation counts as one containment event in every shift it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.processes import isolation
from milieu_sim.processes.movement import nearest_staff_of, observers
from milieu_sim.records import CONFLICT_KINDS, KIND, OUTCOME
from milieu_sim.state import NO_ANTECEDENT, ROLE_NURSE

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel

SEVERITY = np.array([1, 2, 2, 3, 4, 5])
BASE_WEIGHT = np.array([0.32, 0.40, 0.07, 0.09, 0.07, 0.03])
ABSCONDING, OBJECTS, SELF_HARM, PHYSICAL = 2, 3, 4, 5
COERCIVENESS = {"prn_medication": 0.3, "special_observation": 0.3, "time_out": 0.4, "seclusion": 1.0, "restraint": 1.0}
TIME_OUT_HOURS = 2
INCIDENT_CODES = [KIND[kind] for kind in CONFLICT_KINDS]
DE_ESCALATION = KIND["verbal_de_escalation"]
UNOBSERVED, RESOLVED, FAILED, CONTAINED = (OUTCOME[o] for o in ("unobserved", "resolved", "failed", "contained"))
ANTECEDENT_WINDOW = 2


def incident_probability(model: MilieuModel) -> np.ndarray:
    """Hourly incident chance of every slot (0 for absent, secluded or away clients)."""
    c, h, p = model.clients, model.hour, model.p
    excess = c.agitation - c.self_control
    chance = np.minimum(1.0, p["incident_rate"] * 2.0 / (1.0 + np.exp(-p["incident_steepness"] * excess)))
    if not h.awake:
        chance *= 0.3
    eligible = c.present & ~c.isolated & (c.cell >= 0)
    return np.where(eligible, chance, 0.0)


def escalate(model: MilieuModel) -> None:
    """Incidents, their response, unprompted PRN and ongoing special observation."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    u = model.streams["escalation"].random((c.n, 2))
    v = model.streams["de_escalation"].random((c.n, 3))
    isolation.draw(model)
    if h.new_shift:
        _count_special_observation(model)
    incident = np.flatnonzero(u[:, 0] < incident_probability(model))
    if incident.size or h.awake:
        observers(model)
    if incident.size:
        _incidents(model, incident, incident_kinds(model, incident, u[incident, 1]), v[incident])
    if h.awake:
        observer = h.observer
        nurse = s.role[np.maximum(observer, 0)] == ROLE_NURSE
        prn = h.active & (observer >= 0) & nurse & (c.agitation >= p["prn_threshold"]) & (v[:, 2] < p["prn_offer_rate"])
        prn[incident] = False
        if prn.any():
            _offer_prn(model, np.flatnonzero(prn))


def _antecedent(model: MilieuModel, slot: int) -> int:
    c = model.clients
    if model.hour.step - c.antecedent_step[slot] <= ANTECEDENT_WINDOW:
        return int(c.antecedent[slot])
    return NO_ANTECEDENT


def incident_kinds(model: MilieuModel, slots: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices into CONFLICT_KINDS of incidents of clients ``slots``, drawn from uniforms ``u``."""
    c = model.clients
    excess = np.maximum(c.agitation[slots] - c.self_control[slots], 0.0)
    base = BASE_WEIGHT.copy()
    base[PHYSICAL] = model.p["violence_weight"]
    weights = base[None, :] * np.exp(2.0 * excess[:, None] * (SEVERITY[None, :] - 1))
    weights[:, SELF_HARM] *= 0.5 + c.symptoms[slots]
    weights[:, ABSCONDING] *= 1.5 - c.trust[slots]
    cumulative = np.cumsum(weights, axis=1)
    kinds = (cumulative <= (u * cumulative[:, -1])[:, None]).sum(axis=1)
    return np.minimum(kinds, len(SEVERITY) - 1)


def incident_kind(model: MilieuModel, slot: int, u: float) -> int:
    """Index into CONFLICT_KINDS of one client's incident, drawn from uniform ``u``."""
    return int(incident_kinds(model, np.array([slot]), np.array([u]))[0])


def _incidents(model: MilieuModel, slots: np.ndarray, kinds: np.ndarray, v: np.ndarray) -> None:
    """This hour's incidents (clients ``slots``, kinds ``kinds``, de-escalation uniforms ``v``): response and log.

    Everything an incident's response depends on is computed for all incidents at once (each client
    has at most one incident an hour, so no incident changes what another one sees); the events are
    then logged incident by incident, in the order de-escalation, incident, containment.
    """
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    severity = SEVERITY[kinds]
    recent = h.step - c.antecedent_step[slots] <= ANTECEDENT_WINDOW
    antecedent = np.where(recent, c.antecedent[slots], NO_ANTECEDENT)
    c.incidents[slots] += 1
    c.violent_incidents[slots] += kinds == PHYSICAL
    h.conflict_events += slots.size
    staff = h.observer[slots].copy()
    called = (staff < 0) & (severity >= 3)  # a severe incident brings the nearest staff member
    if called.any():
        staff[called] = nearest_staff_of(model, slots[called])
    seen = staff >= 0
    member = np.maximum(staff, 0)
    staff_id = np.where(seen, s.staff_id[member], -1)
    chance = s.de_escalation_skill[member] * (0.5 + 0.5 * c.trust[slots]) * (1.0 - 0.15 * (severity - 1))
    tried = seen & (v[:, 0] < p["de_escalation_first"])
    resolved = tried & (v[:, 1] < chance)
    c.agitation[slots[~seen]] *= 0.8
    calmed = slots[resolved]
    c.agitation[calmed] *= 1.0 - p["de_escalation_calm"]
    c.trust[calmed] += 0.02 * (1.0 - c.trust[calmed])

    add = model.records.events.add_row
    step = h.step
    columns = (slots, kinds, severity, antecedent, staff, staff_id, c.client_id[slots], seen, tried, resolved)
    for slot, kind, sev, ante, member_, sid, cid, is_seen, is_tried, is_resolved in zip(
        *(column.tolist() for column in columns), strict=True
    ):
        code = INCIDENT_CODES[kind]
        if not is_seen:
            add(step, cid, -1, code, sev, ante, UNOBSERVED)
            continue
        if is_tried:
            add(step, cid, sid, DE_ESCALATION, sev, ante, RESOLVED if is_resolved else FAILED)
            if is_resolved:
                add(step, cid, sid, code, sev, ante, RESOLVED)
                continue
        add(step, cid, sid, code, sev, ante, CONTAINED)
        if kind in (SELF_HARM, ABSCONDING):
            contain(model, slot, "special_observation", member_, sev, ante)
            continue
        if kind == PHYSICAL:
            contain(model, slot, "restraint", member_, sev, ante)
        if sev >= p["isolation_threshold"]:
            contain(model, slot, "seclusion", member_, sev, ante)
        elif kind in (OBJECTS, PHYSICAL):
            contain(model, slot, "time_out", member_, sev, ante)
        else:
            contain(model, slot, "prn_medication", member_, sev, ante)


def contain(model: MilieuModel, slot: int, kind: str, staff: int, severity: int, antecedent: int) -> None:
    """Apply one containment measure to a client and log it."""
    if kind == "prn_medication":
        give_prn(model, np.array([slot]), staff, severity, antecedent)
        return
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    coercion = COERCIVENESS[kind]
    c.trust[slot] = max(0.0, c.trust[slot] - p["containment_trust_loss"] * coercion)
    c.resentment[slot] = min(1.0, c.resentment[slot] + p["resentment_gain"] * coercion)
    c.containments[slot] += 1
    h.containment_events += 1
    outcome = OUTCOME["started"]
    if kind == "special_observation":
        c.observation_until[slot] = h.step + int(p["special_observation_hours"])
    elif kind == "time_out":
        c.time_out_until[slot] = h.step + TIME_OUT_HOURS
        c.agitation[slot] *= 0.7
    elif kind == "restraint":
        c.agitation[slot] *= 0.5
        outcome = OUTCOME["contained"]
    elif kind == "seclusion":
        isolation.start_seclusion(model, slot)
    staff_id = int(s.staff_id[staff]) if staff >= 0 else -1
    model.records.events.add_row(h.step, int(c.client_id[slot]), staff_id, KIND[kind], severity, antecedent, outcome)


def _offer_prn(model: MilieuModel, slots: np.ndarray) -> None:
    """Unprompted PRN medication for many clients at once, from their observers."""
    c, h = model.clients, model.hour
    recent = h.step - c.antecedent_step[slots] <= ANTECEDENT_WINDOW
    give_prn(model, slots, h.observer[slots], 0, np.where(recent, c.antecedent[slots], NO_ANTECEDENT))


def give_prn(model: MilieuModel, slots: np.ndarray, staff, severity, antecedent) -> None:
    """PRN medication (containment, coerciveness 0.3): A *= 0.4, I -= 0.005, trust and resentment costs, logged."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    coercion = COERCIVENESS["prn_medication"]
    c.trust[slots] = np.maximum(0.0, c.trust[slots] - p["containment_trust_loss"] * coercion)
    c.resentment[slots] = np.minimum(1.0, c.resentment[slots] + p["resentment_gain"] * coercion)
    c.containments[slots] += 1
    h.containment_events += slots.size
    c.agitation[slots] *= 0.4
    c.independence[slots] = np.maximum(0.0, c.independence[slots] - 0.005)
    staff = np.asarray(staff)
    staff_id = np.where(staff >= 0, s.staff_id[np.maximum(staff, 0)], -1)
    model.records.events.add(slots.size, step=h.step, client_id=c.client_id[slots], staff_id=staff_id,
                             kind=KIND["prn_medication"], severity=severity, antecedent=antecedent,
                             outcome=OUTCOME["contained"])  # fmt: skip


def _count_special_observation(model: MilieuModel) -> None:
    """Each shift a special observation runs into counts as one containment event."""
    c, h = model.clients, model.hour
    ongoing = np.flatnonzero(c.present & (c.observation_until > h.step))
    if ongoing.size:
        h.containment_events += ongoing.size
        c.containments[ongoing] += 1
        model.records.events.add(
            ongoing.size,
            step=h.step,
            client_id=c.client_id[ongoing],
            staff_id=-1,
            kind=KIND["special_observation"],
            severity=0,
            antecedent=0,
            outcome=OUTCOME["continued"],
        )

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

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes import isolation
from milieu_sim.model.processes.isolation import _seclude
from milieu_sim.model.processes.movement import _nearest, nearest_staff_of, observers
from milieu_sim.model.records import CONFLICT_KINDS, EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.state import (
    AGITATION,
    INDEPENDENCE,
    NO_ANTECEDENT,
    RESENTMENT,
    ROLE_NURSE,
    SELF_CONTROL,
    SYMPTOMS,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

SEVERITY = np.array([1, 2, 2, 3, 4, 5])
BASE_WEIGHT = np.array([0.32, 0.40, 0.07, 0.09, 0.07, 0.03])
ABSCONDING, OBJECTS, SELF_HARM, PHYSICAL = 2, 3, 4, 5
COERCIVENESS = {"prn_medication": 0.3, "special_observation": 0.3, "time_out": 0.4, "seclusion": 1.0, "restraint": 1.0}
TIME_OUT_HOURS = 2
ANTECEDENT_WINDOW = 2
# codes the kernels write into event rows
INCIDENT_CODES = np.array([KIND[kind] for kind in CONFLICT_KINDS])
DE_ESCALATION = KIND["verbal_de_escalation"]
PRN, OBSERVATION, TIME_OUT, SECLUSION, RESTRAINT = (
    KIND[k] for k in ("prn_medication", "special_observation", "time_out", "seclusion", "restraint")
)
UNOBSERVED, RESOLVED, FAILED, CONTAINED, STARTED, CONTINUED = (
    OUTCOME[o] for o in ("unobserved", "resolved", "failed", "contained", "started", "continued")
)
PRN_COERCION, OBSERVATION_COERCION, TIME_OUT_COERCION, SECLUSION_COERCION, RESTRAINT_COERCION = (
    COERCIVENESS[k] for k in ("prn_medication", "special_observation", "time_out", "seclusion", "restraint")
)
ROWS_PER_INCIDENT = 4  # at most: de-escalation, the incident, restraint, seclusion


def incident_probability(model: MilieuModel) -> np.ndarray:
    """Hourly incident chance of every slot (0 for absent, secluded or away clients)."""
    c, h, p = model.clients, model.hour, model.p
    return _chances(c.values, c.present, c.isolated, c.cell, h.awake, p["incident_rate"], p["incident_steepness"])


@kernel
def _chances(x, present, isolated, cell, awake, incident_rate, steepness):
    """P(incident) = min(1, incident_rate * 2 * logistic(steepness * (A - C))) * (0.3 if asleep), per slot."""
    chance = np.zeros(present.size)
    for i in range(present.size):
        if present[i] and not isolated[i] and cell[i] >= 0:
            excess = x[AGITATION, i] - x[SELF_CONTROL, i]
            chance[i] = min(1.0, incident_rate * 2.0 / (1.0 + np.exp(-steepness * excess)))
            if not awake:
                chance[i] *= 0.3
    return chance


def escalate(model: MilieuModel) -> None:
    """Incidents, their response, unprompted PRN and ongoing special observation."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    u = model.streams["escalation"].random((c.n, 2))
    v = model.streams["de_escalation"].random((c.n, 3))
    isolation.draw(model)
    base = BASE_WEIGHT.copy()
    base[PHYSICAL] = p["violence_weight"]
    events, secluded, conflicts, containments = _escalate(
        u,
        v,
        c.values,
        c.present,
        c.isolated,
        c.cell,
        c.client_id,
        c.antecedent,
        c.antecedent_step,
        c.containments,
        c.observation_until,
        h.active,
        observers(model),
        s.on_duty,
        s.cell,
        s.role,
        s.staff_id,
        model.plan.height,
        base,
        h.step,
        h.awake,
        h.new_shift,
        p["incident_rate"],
        p["incident_steepness"],
        p["containment_trust_loss"],
        p["resentment_gain"],
        p["prn_threshold"],
        p["prn_offer_rate"],
        _response_state(model),
    )
    h.conflict_events += conflicts
    h.containment_events += containments
    model.records.events.add_rows(events)
    _move_secluded(model, secluded)


def _move_secluded(model: MilieuModel, secluded: np.ndarray) -> None:
    """Put the Mesa agents of newly secluded clients in their seclusion-room cell."""
    for slot in secluded.tolist():
        agent = model.client_agents[slot]
        if agent is not None:
            agent.cell = model.cells[model.clients.cell[slot]]


@kernel
def _escalate(u, v, x, present, isolated, cell, client_id, antecedent, antecedent_step, containments,
              observation_until, active, observer, on_duty, staff_cell, role, staff_id, height, base, step, awake,
              new_shift, incident_rate, steepness, trust_loss, resentment_gain, prn_threshold, prn_offer_rate,
              response):  # fmt: skip
    """The hour of the module docstring, in this order: special observations running into a new shift,
    incidents (chance, kind, response, containment), unprompted PRN.

    Returns (event rows, slots newly secluded, conflict events, containment events).
    """
    ongoing = np.zeros(0, dtype=np.int64)
    if new_shift:  # each shift a special observation runs into counts as one containment event
        ongoing = np.flatnonzero(present & (observation_until > step))
    continued = np.zeros((ongoing.size, len(EVENT_COLUMNS)), dtype=np.int64)
    for a in range(ongoing.size):
        containments[ongoing[a]] += 1
        _row(continued, a, step, client_id[ongoing[a]], -1, OBSERVATION, 0, 0, CONTINUED)
    slots = np.flatnonzero(u[:, 0] < _chances(x, present, isolated, cell, awake, incident_rate, steepness))
    kinds = _incident_kinds(x, slots, u[slots, 1], base)
    nearest = np.empty(slots.size, dtype=np.int64)
    for a in range(slots.size):
        nearest[a] = _nearest(cell[slots[a]], on_duty, staff_cell, height)
    responses, secluded, contained = _respond_to_incidents(slots, kinds, v[slots], observer[slots], nearest, *response)
    prn = np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64)
    if awake:
        prn = _unprompted_prn(v[:, 2], x, active, observer, role, slots, antecedent, antecedent_step, containments,
                              client_id, staff_id, step, prn_threshold, prn_offer_rate, trust_loss,
                              resentment_gain)  # fmt: skip
    events = np.concatenate((continued, responses, prn))
    return events, secluded, slots.size, ongoing.size + contained + len(prn)


@kernel
def _unprompted_prn(v, x, active, observer, role, incident, antecedent, antecedent_step, containments, client_id,
                    staff_id, step, prn_threshold, prn_offer_rate, trust_loss, resentment_gain):  # fmt: skip
    """A nurse offers PRN to an active client they observe with A >= prn_threshold and no incident this hour
    (probability prn_offer_rate); returns the event rows (containment, outcome contained)."""
    offered = active.copy()
    offered[incident] = False
    for i in range(v.size):
        if offered[i]:
            offered[i] = (
                observer[i] >= 0
                and role[observer[i]] == ROLE_NURSE
                and x[AGITATION, i] >= prn_threshold
                and v[i] < prn_offer_rate
            )
    slots = np.flatnonzero(offered)
    events = np.zeros((slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    for a in range(slots.size):
        i = slots[a]
        ante = antecedent[i] if step - antecedent_step[i] <= ANTECEDENT_WINDOW else NO_ANTECEDENT
        _prn(x, i, trust_loss, resentment_gain, containments)
        _row(events, a, step, client_id[i], staff_id[observer[i]], PRN, 0, ante, CONTAINED)
    return events


def incident_kinds(model: MilieuModel, slots: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices into CONFLICT_KINDS of incidents of clients ``slots``, drawn from uniforms ``u``."""
    base = BASE_WEIGHT.copy()
    base[PHYSICAL] = model.p["violence_weight"]
    return _incident_kinds(model.clients.values, slots, u, base)


@kernel
def _incident_kinds(x, slots, u, base):
    """w_k = base_k exp(2 e (severity_k - 1)), self-harm x (0.5 + Y), absconding x (1.5 - T); kind by inversion."""
    kinds = np.empty(slots.size, dtype=np.int64)
    weights = np.empty(SEVERITY.size)
    for a in range(slots.size):
        i = slots[a]
        excess = max(x[AGITATION, i] - x[SELF_CONTROL, i], 0.0)
        for k in range(SEVERITY.size):
            weights[k] = base[k] * np.exp(2.0 * excess * (SEVERITY[k] - 1))
        weights[SELF_HARM] *= 0.5 + x[SYMPTOMS, i]
        weights[ABSCONDING] *= 1.5 - x[TRUST, i]
        cumulative = np.cumsum(weights)
        threshold = u[a] * cumulative[-1]
        kind = 0
        for k in range(SEVERITY.size):
            kind += cumulative[k] <= threshold
        kinds[a] = min(kind, SEVERITY.size - 1)
    return kinds


def incident_kind(model: MilieuModel, slot: int, u: float) -> int:
    """Index into CONFLICT_KINDS of one client's incident, drawn from uniform ``u``."""
    return int(incident_kinds(model, np.array([slot]), np.array([u]))[0])


def _incidents(model: MilieuModel, slots: np.ndarray, kinds: np.ndarray, v: np.ndarray) -> None:
    """This hour's incidents (clients ``slots``, kinds ``kinds``, de-escalation uniforms ``v``): response and log.

    Each client has at most one incident an hour and every response depends only on that client's
    state, so incidents are handled one after another; the events are logged incident by incident,
    in the order de-escalation, incident, containment.
    """
    h = model.hour
    events, secluded, contained = _respond_to_incidents(
        slots, kinds, v, h.observer[slots], nearest_staff_of(model, slots), *_response_state(model)
    )
    h.conflict_events += slots.size
    h.containment_events += contained
    model.records.events.add_rows(events)
    _move_secluded(model, secluded)


def _response_state(model: MilieuModel) -> tuple:
    """What ``_respond_to_incidents`` takes after the incidents themselves (in its argument order)."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    return (
        model._isolation_draws,
        c.values,
        c.client_id,
        c.antecedent,
        c.antecedent_step,
        c.incidents,
        c.violent_incidents,
        c.containments,
        c.observation_until,
        c.time_out_until,
        c.isolated,
        c.isolated_until,
        c.times_isolated,
        c.cell,
        model.plan.zone_cells[isolation.SECLUSION],
        s.staff_id,
        s.de_escalation_skill,
        h.step,
        p["de_escalation_first"],
        p["de_escalation_calm"],
        p["isolation_threshold"],
        p["containment_trust_loss"],
        p["resentment_gain"],
        int(p["special_observation_hours"]),
        p["seclusion_hours"],
    )


@kernel
def _contain(x, i, coercion, trust_loss, resentment_gain, containments):
    """The cost of any containment: T -= containment_trust_loss * c, R += resentment_gain * c (c: coerciveness)."""
    x[TRUST, i] = max(0.0, x[TRUST, i] - trust_loss * coercion)
    x[RESENTMENT, i] = min(1.0, x[RESENTMENT, i] + resentment_gain * coercion)
    containments[i] += 1


@kernel
def _prn(x, i, trust_loss, resentment_gain, containments):
    """PRN medication (coerciveness 0.3): A *= 0.4, I -= 0.005, plus the containment cost."""
    _contain(x, i, PRN_COERCION, trust_loss, resentment_gain, containments)
    x[AGITATION, i] *= 0.4
    x[INDEPENDENCE, i] = max(0.0, x[INDEPENDENCE, i] - 0.005)


@kernel
def _row(events, row, step, client, staff, kind, severity, antecedent, outcome):
    """Write one event row (EVENT_COLUMNS order)."""
    events[row, 0], events[row, 1], events[row, 2], events[row, 3] = step, client, staff, kind
    events[row, 4], events[row, 5], events[row, 6] = severity, antecedent, outcome


@kernel
def _respond_to_incidents(slots, kinds, v, observer, nearest, w, x, client_id, antecedent, antecedent_step, incidents,
                          violent_incidents, containments, observation_until, time_out_until, isolated, isolated_until,
                          times_isolated, cell, seclusion_cells, staff_id, de_escalation_skill, step,
                          de_escalation_first, de_escalation_calm, isolation_threshold, trust_loss, resentment_gain,
                          observation_hours, seclusion_hours):  # fmt: skip
    """Respond to each incident (rules in the module docstring).

    Returns (event rows in EVENT_COLUMNS order, slots newly secluded, number of containments).
    """
    events = np.zeros((ROWS_PER_INCIDENT * slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    secluded = np.zeros(slots.size, dtype=np.int64)
    rows = n_secluded = contained = 0
    T = x[TRUST]
    A = x[AGITATION]
    for a in range(slots.size):
        i, kind = slots[a], kinds[a]
        severity = SEVERITY[kind]
        ante = antecedent[i] if step - antecedent_step[i] <= ANTECEDENT_WINDOW else NO_ANTECEDENT
        incidents[i] += 1
        violent_incidents[i] += kind == PHYSICAL
        j = observer[a]
        if j < 0 and severity >= 3:  # a severe incident brings the nearest staff member
            j = nearest[a]
        code = INCIDENT_CODES[kind]
        if j < 0:  # unobserved: some agitation discharges, nobody answers
            A[i] *= 0.8
            _row(events, rows, step, client_id[i], -1, code, severity, ante, UNOBSERVED)
            rows += 1
            continue
        sid = staff_id[j]
        if v[a, 0] < de_escalation_first:
            chance = de_escalation_skill[j] * (0.5 + 0.5 * T[i]) * (1.0 - 0.15 * (severity - 1))
            resolved = v[a, 1] < chance
            _row(events, rows, step, client_id[i], sid, DE_ESCALATION, severity, ante, RESOLVED if resolved else FAILED)
            rows += 1
            if resolved:
                A[i] *= 1.0 - de_escalation_calm
                T[i] += 0.02 * (1.0 - T[i])
                _row(events, rows, step, client_id[i], sid, code, severity, ante, RESOLVED)
                rows += 1
                continue
        _row(events, rows, step, client_id[i], sid, code, severity, ante, CONTAINED)
        rows += 1
        contained += 1  # one containment measure follows (two for physical aggression)
        if kind in (SELF_HARM, ABSCONDING):
            _contain(x, i, OBSERVATION_COERCION, trust_loss, resentment_gain, containments)
            observation_until[i] = step + observation_hours
            _row(events, rows, step, client_id[i], sid, OBSERVATION, severity, ante, STARTED)
            rows += 1
            continue
        if kind == PHYSICAL:
            _contain(x, i, RESTRAINT_COERCION, trust_loss, resentment_gain, containments)
            A[i] *= 0.5
            _row(events, rows, step, client_id[i], sid, RESTRAINT, severity, ante, CONTAINED)
            rows += 1
            contained += 1
        if severity >= isolation_threshold:
            _contain(x, i, SECLUSION_COERCION, trust_loss, resentment_gain, containments)
            _seclude(i, w[i], isolated, isolated_until, times_isolated, time_out_until, cell, seclusion_cells, step,
                     seclusion_hours)  # fmt: skip
            secluded[n_secluded] = i
            n_secluded += 1
            _row(events, rows, step, client_id[i], sid, SECLUSION, severity, ante, STARTED)
        elif kind in (OBJECTS, PHYSICAL):
            _contain(x, i, TIME_OUT_COERCION, trust_loss, resentment_gain, containments)
            time_out_until[i] = step + TIME_OUT_HOURS
            A[i] *= 0.7
            _row(events, rows, step, client_id[i], sid, TIME_OUT, severity, ante, STARTED)
        else:
            _prn(x, i, trust_loss, resentment_gain, containments)
            _row(events, rows, step, client_id[i], sid, PRN, severity, ante, CONTAINED)
        rows += 1
    return events[:rows], secluded[:n_secluded], contained

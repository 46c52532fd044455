"""Escalation and de-escalation: agitation that self-control cannot hold becomes an incident.

Rules (docs/ODD.md, "Escalation and de-escalation"):

* Every present client who is not secluded (and not away) has an incident this
  hour with probability::

      P(incident) = min(1, incident_rate * 2 * logistic(incident_steepness * (A - C)))
                    * (incident_sleep_factor if asleep)

  so that at A = C the chance is ``incident_rate``.
* Its kind is drawn with weights ``w_k = base_k * exp(severity_excess_effect * e * (severity_k - 1))``
  (base: ``weight_refusing_rules``, ``weight_verbal_aggression``, ``weight_absconding``,
  ``weight_aggression_objects``, ``weight_self_harm``, physical_aggression ``violence_weight``),
  e = max(A - C, 0), so more excess makes severe kinds likelier, but every kind,
  physical aggression included, can happen at any excess: escalation can jump
  steps (Bowers et al. 2013).  Self-harm weights scale with symptoms
  (0.5 + Y) and absconding with distrust (1.5 - T).  Kinds and severities:
  refusing_rules 1, verbal_aggression 2, absconding 2, aggression_objects 3,
  self_harm 4, physical_aggression 5.
* The antecedent is what staff or peers did to the client in this hour or the
  ``antecedent_window_hours`` before (limit_setting, denied_request, peer_conflict, punishment) or
  ``none`` (``common.recent_antecedent``).
* Response: the client's observer (or, for severity >= ``nearest_responder_severity``, the
  nearest on-duty staff member wherever they are, ``movement.nearest_on_duty``) responds; an
  unobserved minor incident discharges some agitation (``A *= unanswered_agitation_kept``) and
  goes unanswered (as does any
  incident when no staff member is on the ward floor).  The responder
  first talks the client down with probability ``de_escalation_first``;
  verbal de-escalation succeeds with probability
  ``skill_j * (0.5 + 0.5 T) * (1 - de_escalation_severity_penalty (severity - 1))`` and then
  removes a share ``de_escalation_calm`` of agitation and builds trust
  (``+de_escalation_trust_gain (1 - T)``).
  Verbal de-escalation is not containment.
* If it was not tried or failed: self-harm and absconding lead to special
  observation; physical aggression to restraint; then severity >=
  ``isolation_threshold`` leads to seclusion, and otherwise aggression (against
  objects or people) to time-out in the quiet room and refusing rules or verbal
  aggression to PRN medication (the "minimal triangle": verbal aggression ->
  de-escalation -> PRN, Bowers et al. 2013).
* Containment costs trust ``containment_trust_loss * coerciveness`` and adds
  resentment ``resentment_gain * coerciveness`` (``coerciveness_prn``,
  ``coerciveness_special_observation``, ``coerciveness_time_out``, ``coerciveness_seclusion``,
  ``coerciveness_restraint``).  Its direct effects: PRN medication ``A *= prn_agitation_kept``
  and ``I -= prn_independence_loss``; time-out puts the client in the quiet room for
  ``time_out_hours`` and ``A *= time_out_agitation_kept``; restraint ``A *= restraint_agitation_kept``;
  seclusion see ``processes.isolation`` (``isolation.seclude``, from the hour's isolation draws,
  ``hour.seclusion_draws``); special observation keeps the client in the sight
  of the nearest on-duty staff member (see ``movement.observers``) for
  ``special_observation_hours``.
* A nurse offers PRN medication unprompted to an active client they observe
  whose agitation is at or above ``prn_threshold`` and who had no incident this
  hour (probability ``prn_offer_rate`` per hour); support workers do not give medication.
* Special observation counts as one containment event in every shift it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes import isolation
from milieu_sim.model.processes.common import ParameterRecord, recent_antecedent, write_event
from milieu_sim.model.processes.isolation import seclude
from milieu_sim.model.processes.movement import nearest_on_duty, nearest_staff_of, observers
from milieu_sim.model.records import CONFLICT_KINDS, CONTAINMENT_KINDS, EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, INDEPENDENCE, RESENTMENT, ROLE_NURSE, SELF_CONTROL, SYMPTOMS, TRUST

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "incident_rate",
        "incident_steepness",
        "incident_sleep_factor",
        "severity_excess_effect",
        "weight_refusing_rules",
        "weight_verbal_aggression",
        "weight_absconding",
        "weight_aggression_objects",
        "weight_self_harm",
        "violence_weight",
        "antecedent_window_hours",
        "nearest_responder_severity",
        "unanswered_agitation_kept",
        "de_escalation_first",
        "de_escalation_severity_penalty",
        "de_escalation_calm",
        "de_escalation_trust_gain",
        "isolation_threshold",
        "containment_trust_loss",
        "resentment_gain",
        "coerciveness_prn",
        "coerciveness_special_observation",
        "coerciveness_time_out",
        "coerciveness_seclusion",
        "coerciveness_restraint",
        "prn_agitation_kept",
        "prn_independence_loss",
        "time_out_hours",
        "time_out_agitation_kept",
        "restraint_agitation_kept",
        "special_observation_hours",
        "seclusion_hours",
        "prn_threshold",
        "prn_offer_rate",
    ),
    reads=(
        "clients.present",
        "clients.self_control",
        "clients.symptoms",
        "clients.antecedent",
        "clients.antecedent_step",
        "clients.client_id",
        "hour.active",
        "hour.observer",
        "hour.step",
        "hour.awake",
        "hour.new_shift",
        "hour.seclusion_draws",
        "staff.on_duty",
        "staff.cell",
        "staff.role",
        "staff.staff_id",
        "staff.de_escalation_skill",
    ),
    writes=(
        "clients.agitation",
        "clients.trust",
        "clients.resentment",
        "clients.independence",
        "clients.incidents",
        "clients.violent_incidents",
        "clients.containments",
        "clients.observation_until",
        "clients.time_out_until",
        "clients.isolated",
        "clients.isolated_until",
        "clients.times_isolated",
        "clients.cell",
        "hour.conflict_events",
        "hour.containment_events",
    ),
    streams={
        "escalation": ("incident", "incident_kind"),
        "de_escalation": ("talk_first", "talk_success", "prn_offer"),
    },
    events=(*CONFLICT_KINDS, *CONTAINMENT_KINDS, "verbal_de_escalation"),
)
# columns of the escalation and de_escalation blocks (OWNS.streams order)
INCIDENT, INCIDENT_KIND = range(2)
TALK_FIRST, TALK_SUCCESS, PRN_OFFER = range(3)

#: Severity of each incident kind (CONFLICT_KINDS order): an ordinal scale, structure rather than a quantity.
SEVERITY = np.array([1, 2, 2, 3, 4, 5])
REFUSING, VERBAL, ABSCONDING, OBJECTS, SELF_HARM, PHYSICAL = range(6)
# codes the kernels write into event rows
INCIDENT_CODES = np.array([KIND[kind] for kind in CONFLICT_KINDS])
DE_ESCALATION = KIND["verbal_de_escalation"]
PRN, OBSERVATION, TIME_OUT, SECLUSION, RESTRAINT = (
    KIND[k] for k in ("prn_medication", "special_observation", "time_out", "seclusion", "restraint")
)
UNOBSERVED, RESOLVED, FAILED, CONTAINED, STARTED, CONTINUED = (
    OUTCOME[o] for o in ("unobserved", "resolved", "failed", "contained", "started", "continued")
)
ROWS_PER_INCIDENT = 4  # at most: de-escalation, the incident, restraint, seclusion


class EscalationClients(NamedTuple):
    """The client arrays the escalation rules read and write (a superset of ``isolation.SeclusionClients``)."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    cell: np.ndarray
    client_id: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    incidents: np.ndarray
    violent_incidents: np.ndarray
    containments: np.ndarray
    observation_until: np.ndarray
    time_out_until: np.ndarray
    isolated_until: np.ndarray
    times_isolated: np.ndarray


class EscalationStaff(NamedTuple):
    """The staff arrays the escalation rules read."""

    on_duty: np.ndarray
    cell: np.ndarray
    role: np.ndarray
    staff_id: np.ndarray
    de_escalation_skill: np.ndarray


def _derive(p: dict) -> dict:
    return {**p, "special_observation_hours": int(p["special_observation_hours"])}


_FIELD_TYPES = {
    "nearest_responder_severity": int,
    "isolation_threshold": int,
    "time_out_hours": int,
    "antecedent_window_hours": int,
    "special_observation_hours": int,  # whole hours
}
PARAMETERS = ParameterRecord(
    OWNS.parameters, {name: _FIELD_TYPES.get(name, float) for name in OWNS.parameters}, _derive
)


def incident_probability(model: MilieuModel) -> np.ndarray:
    """Hourly incident chance of every slot (0 for absent, secluded or away clients)."""
    c = model.clients
    return _chances(c.values, c.present, c.isolated, c.cell, model.hour.awake, PARAMETERS(model.p))


@kernel
def _chances(x, present, isolated, cell, awake, parameters):
    """P(incident) = min(1, incident_rate * 2 * logistic(incident_steepness * (A - C))) * (incident_sleep_factor
    if asleep), per slot."""
    q = parameters[0]
    chance = np.zeros(present.size)
    for i in range(present.size):
        if present[i] and not isolated[i] and cell[i] >= 0:
            excess = x[AGITATION, i] - x[SELF_CONTROL, i]
            chance[i] = min(1.0, q.incident_rate * 2.0 / (1.0 + np.exp(-q.incident_steepness * excess)))
            if not awake:
                chance[i] *= q.incident_sleep_factor
    return chance


def escalate(model: MilieuModel) -> None:
    """Incidents, their response, unprompted PRN and ongoing special observation."""
    c, h, s = model.clients, model.hour, model.staff
    u = model.streams["escalation"].random((c.n, 2))
    v = model.streams["de_escalation"].random((c.n, 3))
    events, secluded, conflicts, containments = _escalate(
        u,
        v,
        h.seclusion_draws,
        c.packed(EscalationClients),
        s.packed(EscalationStaff),
        h.active,
        observers(model),
        model.plan.zone_cells[isolation.SECLUSION],
        model.plan.height,
        h.step,
        h.awake,
        h.new_shift,
        PARAMETERS(model.p),
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
def _escalate(u, v, draws, clients, staff, active, observer, seclusion_cells, height, step, awake, new_shift,
              parameters):  # fmt: skip
    """The hour of the module docstring, in this order: special observations running into a new shift,
    incidents (chance, kind, response, containment), unprompted PRN.  ``u``: the escalation block (columns
    INCIDENT, INCIDENT_KIND), ``v``: the de_escalation block (TALK_FIRST, TALK_SUCCESS, PRN_OFFER), ``draws``:
    the hour's isolation draws.

    Returns (event rows, slots newly secluded, conflict events, containment events).
    """
    clients, staff = EscalationClients(*clients), EscalationStaff(*staff)
    x, present = clients.values, clients.present
    ongoing = np.zeros(0, dtype=np.int64)
    if new_shift:  # each shift a special observation runs into counts as one containment event
        ongoing = np.flatnonzero(present & (clients.observation_until > step))
    continued = np.zeros((ongoing.size, len(EVENT_COLUMNS)), dtype=np.int64)
    for a in range(ongoing.size):
        clients.containments[ongoing[a]] += 1
        write_event(continued, a, step, clients.client_id[ongoing[a]], -1, OBSERVATION, 0, 0, CONTINUED)
    chance = _chances(x, present, clients.isolated, clients.cell, awake, parameters)
    slots = np.flatnonzero(u[:, INCIDENT] < chance)
    kinds = _incident_kinds(x, slots, u[slots, INCIDENT_KIND], parameters)
    nearest = np.empty(slots.size, dtype=np.int64)
    for a in range(slots.size):
        nearest[a] = nearest_on_duty(clients.cell[slots[a]], staff.on_duty, staff.cell, height)
    responses, secluded, contained = _respond_to_incidents(
        slots, kinds, v[slots], observer[slots], nearest, draws, clients, staff.staff_id, staff.de_escalation_skill,
        seclusion_cells, step, parameters,
    )  # fmt: skip
    prn = np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64)
    if awake:
        prn = _unprompted_prn(v[:, PRN_OFFER], clients, active, observer, staff.role, staff.staff_id, slots, step,
                              parameters)  # fmt: skip
    events = np.concatenate((continued, responses, prn))
    return events, secluded, slots.size, ongoing.size + contained + len(prn)


@kernel
def _unprompted_prn(v, clients, active, observer, role, staff_id, incident, step, parameters):
    """A nurse offers PRN to an active client they observe with A >= prn_threshold and no incident this hour
    (probability prn_offer_rate); returns the event rows (containment, outcome contained)."""
    q = parameters[0]
    x = clients.values
    offered = active.copy()
    offered[incident] = False
    for i in range(v.size):
        if offered[i]:
            offered[i] = (
                observer[i] >= 0
                and role[observer[i]] == ROLE_NURSE
                and x[AGITATION, i] >= q.prn_threshold
                and v[i] < q.prn_offer_rate
            )
    slots = np.flatnonzero(offered)
    events = np.zeros((slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    for a in range(slots.size):
        i = slots[a]
        ante = recent_antecedent(clients.antecedent, clients.antecedent_step, i, step, q.antecedent_window_hours)
        _prn(x, i, q, clients.containments)
        write_event(events, a, step, clients.client_id[i], staff_id[observer[i]], PRN, 0, ante, CONTAINED)
    return events


def incident_kinds(model: MilieuModel, slots: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices into CONFLICT_KINDS of incidents of clients ``slots``, drawn from uniforms ``u``."""
    return _incident_kinds(model.clients.values, slots, u, PARAMETERS(model.p))


@kernel
def _incident_kinds(x, slots, u, parameters):
    """w_k = base_k exp(severity_excess_effect e (severity_k - 1)), self-harm x (0.5 + Y), absconding x (1.5 - T);
    kind by inversion."""
    q = parameters[0]
    base = np.empty(SEVERITY.size)
    base[REFUSING], base[VERBAL], base[ABSCONDING] = (
        q.weight_refusing_rules,
        q.weight_verbal_aggression,
        q.weight_absconding,
    )
    base[OBJECTS], base[SELF_HARM], base[PHYSICAL] = q.weight_aggression_objects, q.weight_self_harm, q.violence_weight
    kinds = np.empty(slots.size, dtype=np.int64)
    weights = np.empty(SEVERITY.size)
    for a in range(slots.size):
        i = slots[a]
        excess = max(x[AGITATION, i] - x[SELF_CONTROL, i], 0.0)
        for k in range(SEVERITY.size):
            weights[k] = base[k] * np.exp(q.severity_excess_effect * excess * (SEVERITY[k] - 1))
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


def answer_incidents(model: MilieuModel, slots: np.ndarray, kinds: np.ndarray, v: np.ndarray) -> None:
    """Answer given incidents (clients ``slots``, kinds ``kinds``, de_escalation uniforms ``v``, one row each)
    as the hourly rule does, and log them; the seclusion draws are the hour's (``isolation.draw``).

    Each client has at most one incident an hour and every response depends only on that client's
    state, so incidents are handled one after another; the events are logged incident by incident,
    in the order de-escalation, incident, containment.
    """
    c, h, s = model.clients, model.hour, model.staff
    events, secluded, contained = _respond_to_incidents(
        slots, kinds, v, h.observer[slots], nearest_staff_of(model, slots), h.seclusion_draws,
        c.view(EscalationClients), s.staff_id, s.de_escalation_skill, model.plan.zone_cells[isolation.SECLUSION],
        h.step, PARAMETERS(model.p),
    )  # fmt: skip
    h.conflict_events += slots.size
    h.containment_events += contained
    model.records.events.add_rows(events)
    _move_secluded(model, secluded)


@kernel
def _contain(x, i, coerciveness, q, containments):
    """The cost of any containment: T -= containment_trust_loss * c, R += resentment_gain * c (c: coerciveness)."""
    x[TRUST, i] = max(0.0, x[TRUST, i] - q.containment_trust_loss * coerciveness)
    x[RESENTMENT, i] = min(1.0, x[RESENTMENT, i] + q.resentment_gain * coerciveness)
    containments[i] += 1


@kernel
def _prn(x, i, q, containments):
    """PRN medication: A *= prn_agitation_kept, I -= prn_independence_loss, plus the containment cost."""
    _contain(x, i, q.coerciveness_prn, q, containments)
    x[AGITATION, i] *= q.prn_agitation_kept
    x[INDEPENDENCE, i] = max(0.0, x[INDEPENDENCE, i] - q.prn_independence_loss)


@kernel
def _respond_to_incidents(slots, kinds, v, observer, nearest, draws, clients, staff_id, de_escalation_skill,
                          seclusion_cells, step, parameters):  # fmt: skip
    """Respond to each incident (rules in the module docstring); ``v`` holds the incidents' rows of the
    de_escalation block, ``draws`` the hour's isolation draws of every slot.

    Returns (event rows in EVENT_COLUMNS order, slots newly secluded, number of containments).
    """
    q = parameters[0]
    x = clients.values
    events = np.zeros((ROWS_PER_INCIDENT * slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    secluded = np.zeros(slots.size, dtype=np.int64)
    rows = n_secluded = contained = 0
    T = x[TRUST]
    A = x[AGITATION]
    for a in range(slots.size):
        i, kind = slots[a], kinds[a]
        severity = SEVERITY[kind]
        ante = recent_antecedent(clients.antecedent, clients.antecedent_step, i, step, q.antecedent_window_hours)
        client = clients.client_id[i]
        clients.incidents[i] += 1
        clients.violent_incidents[i] += kind == PHYSICAL
        j = observer[a]
        if j < 0 and severity >= q.nearest_responder_severity:  # a severe incident brings the nearest staff member
            j = nearest[a]
        code = INCIDENT_CODES[kind]
        if j < 0:  # unobserved: some agitation discharges, nobody answers
            A[i] *= q.unanswered_agitation_kept
            write_event(events, rows, step, client, -1, code, severity, ante, UNOBSERVED)
            rows += 1
            continue
        sid = staff_id[j]
        if v[a, TALK_FIRST] < q.de_escalation_first:
            chance = (
                de_escalation_skill[j] * (0.5 + 0.5 * T[i]) * (1.0 - q.de_escalation_severity_penalty * (severity - 1))
            )
            resolved = v[a, TALK_SUCCESS] < chance
            write_event(
                events, rows, step, client, sid, DE_ESCALATION, severity, ante, RESOLVED if resolved else FAILED
            )
            rows += 1
            if resolved:
                A[i] *= 1.0 - q.de_escalation_calm
                T[i] += q.de_escalation_trust_gain * (1.0 - T[i])
                write_event(events, rows, step, client, sid, code, severity, ante, RESOLVED)
                rows += 1
                continue
        write_event(events, rows, step, client, sid, code, severity, ante, CONTAINED)
        rows += 1
        contained += 1  # one containment measure follows (two for physical aggression)
        if kind in (SELF_HARM, ABSCONDING):
            _contain(x, i, q.coerciveness_special_observation, q, clients.containments)
            clients.observation_until[i] = step + q.special_observation_hours
            write_event(events, rows, step, client, sid, OBSERVATION, severity, ante, STARTED)
            rows += 1
            continue
        if kind == PHYSICAL:
            _contain(x, i, q.coerciveness_restraint, q, clients.containments)
            A[i] *= q.restraint_agitation_kept
            write_event(events, rows, step, client, sid, RESTRAINT, severity, ante, CONTAINED)
            rows += 1
            contained += 1
        if severity >= q.isolation_threshold:
            _contain(x, i, q.coerciveness_seclusion, q, clients.containments)
            seclude(clients, i, draws[i], seclusion_cells, step, q.seclusion_hours)
            secluded[n_secluded] = i
            n_secluded += 1
            write_event(events, rows, step, client, sid, SECLUSION, severity, ante, STARTED)
        elif kind in (OBJECTS, PHYSICAL):
            _contain(x, i, q.coerciveness_time_out, q, clients.containments)
            clients.time_out_until[i] = step + q.time_out_hours
            A[i] *= q.time_out_agitation_kept
            write_event(events, rows, step, client, sid, TIME_OUT, severity, ante, STARTED)
        else:
            _prn(x, i, q, clients.containments)
            write_event(events, rows, step, client, sid, PRN, severity, ante, CONTAINED)
        rows += 1
    return events[:rows], secluded[:n_secluded], contained

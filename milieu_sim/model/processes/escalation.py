"""Escalation and de-escalation: agitation that self-control cannot hold becomes an incident.

Rules (docs/ODD.md, "Escalation and de-escalation"):

* Every present client who is not secluded (and not away) has an incident this
  hour with probability::

      P(incident) = min(1, incident_rate * 2 * logistic(incident_steepness * (A - C')))
                    * (incident_sleep_factor if asleep)

  so that at A = C' the chance is ``incident_rate``.  C' is the self-control the client brings to bear:
  C' = C, or, when provoked (a recent antecedent, see below, is not ``none``), C' = C + ``insight_control``
  * X * (1 - C) with X the client's insight (processes.insight): insight holds under provocation.
* Its kind is drawn with weights ``w_k = base_k * exp(severity_excess_effect * e * (severity_k - 1))``
  (base: ``weight_refusing_rules``, ``weight_verbal_aggression``, ``weight_absconding``,
  ``weight_aggression_objects``, ``weight_self_harm``, physical_aggression ``violence_weight``),
  e = max(A - C, 0), so more excess makes severe kinds likelier, but every kind,
  physical aggression included, can happen at any excess: escalation can jump
  steps (Bowers et al. 2013).  Self-harm weights scale with symptoms
  (0.5 + Y) and absconding with distrust (1.5 - T); each weight has the client's profile factor
  (``clients.kind_factor``: absconding x ``detained_absconding_factor`` when detained, physical aggression x
  ``violence_history_factor``, self-harm x ``self_harm_history_factor``; docs/ODD.md 6.22).  Kinds and severities:
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
* If it was not tried or failed: physical aggression leads to restraint; then severity >=
  ``isolation_threshold`` leads to seclusion (self-harm included: the threshold is read
  before anything else, so every value of it changes what happens); otherwise self-harm and
  absconding lead to special observation (``processes.observation``: the client's observation
  level rises at once to at least ``within_sight`` and holds for ``special_observation_hours``),
  aggression (against objects or people) to time-out in the quiet room, and refusing rules or
  verbal aggression to PRN medication (the "minimal triangle": verbal aggression ->
  de-escalation -> PRN, Bowers et al. 2013).  What a unit lacks is not used: without
  ``restraint_available`` physical aggression goes straight to the next step; on a floor plan
  without a seclusion room, severity >= ``isolation_threshold`` leads to time-out; without
  ``prn_available`` refusing rules and verbal aggression lead to time-out and no PRN is offered
  unprompted (a residential community's default, ``SETTINGS``).
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
  Agitation is compared as clipped to [0, 1] (it may be above 1 before the hour's clip), so
  ``prn_threshold`` above 1 switches unprompted PRN off.
* Calm-down methods (Safewards ``calm_down_methods``, probability c): before any PRN (after an
  incident or unprompted) staff first offer calm-down methods with probability c; they work with
  probability ``calm_down_success``: ``A *= calm_down_agitation_kept``, no medication, no
  containment (event ``calm_down``, ``resolved``; an incident so settled is ``resolved``).
* **Targets** (no random draw; the events' ``target_role`` and ``target_id``): self-harm targets the
  client (``self``), aggression against objects ``property``, absconding nobody (``none``).
  Refusing rules, verbal and physical aggression target whoever set the antecedent off, if they are
  there (on duty or present, in the same zone within ``witness_radius``): the staff member who set
  the limit, denied the request or punished (the client's observer in that hour), the peer of a
  peer conflict.  Otherwise refusing rules targets the client's observer (else nobody); verbal and
  physical aggression the nearest person in the same zone within ``witness_radius`` (client or
  on-duty staff; ties: clients first, lowest index), else physical aggression the nearest on-duty
  staff member (the one who comes), else nobody.
* **Witnesses**: in waking hours, every other present client not secluded, in the same zone as the
  incident and within ``witness_radius`` cells (Chebyshev; the victim is not counted).  With
  severity share s = severity / 5 and relief r (r = ``reassurance_relief`` if staff talk with the
  witnesses afterwards: Safewards ``reassurance``, probability per answered incident; else 0)::

      A_w += witness_agitation * s * (1 - r)             (contagion: the next hours' incident chance)
      F_w += witness_fear * s * (1 - r) * (1 - F_w)      (fear F: felt safety 1 - F; fades in recovery)
      X_w += witness_insight * s * (1 - X_w)              (insight X from watching another's struggle)

  A client target: ``A += victim_agitation``, ``F += victim_fear (1 - F)``, ``T -= victim_trust_loss T``.
  Each incident adds 1 to the client's ``incident_memory`` (self-harm and absconding also to
  ``self_harm_memory``), the risk the observation levels read.
* The hour's tallies for the ward climate (``processes.climate``): incident exposure
  ``sum s (1 + witnesses)``, incidents against clients and against staff, and the coerciveness of
  the containments.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import (
    AWAKE,
    COERCION,
    CONFLICT_EVENTS,
    CONTAINMENT_EVENTS,
    INCIDENT_EXPOSURE,
    INCIDENTS_ON_CLIENTS,
    INCIDENTS_ON_STAFF,
    MOVED,
    STEP,
    Part,
    no_events,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes import isolation
from milieu_sim.model.processes.common import (
    ParameterRecord,
    numpy_sum,
    place,
    places,
    recent_antecedent,
    unplace,
    write_event,
)
from milieu_sim.model.processes.isolation import seclude
from milieu_sim.model.processes.movement import (
    nearest_around,
    not_located,
    observers,
    observers_now,
    sight,
    staff_blocks,
    worth_locating,
)
from milieu_sim.model.records import CONFLICT_KINDS, CONTAINMENT_KINDS, EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    CLIENT_PARTNER,
    DENIED_REQUEST,
    FEAR,
    INCIDENT_MEMORY,
    INDEPENDENCE,
    INSIGHT,
    LIMIT_SETTING,
    NO_ANTECEDENT,
    NO_PARTNER,
    PEER_CONFLICT,
    PUNISHMENT,
    RESENTMENT,
    ROLE_NURSE,
    SELF_CONTROL,
    SELF_HARM_MEMORY,
    STAFF_PARTNER,
    SYMPTOMS,
    TARGET_CLIENT,
    TARGET_NONE,
    TARGET_PROPERTY,
    TARGET_SELF,
    TARGET_STAFF,
    TRUST,
    WITHIN_SIGHT,
)
from milieu_sim.model.streams import UNIFORM, take

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
        "prn_available",
        "restraint_available",
        "witness_radius",
        "witness_agitation",
        "witness_fear",
        "witness_insight",
        "insight_control",
        "victim_agitation",
        "victim_fear",
        "victim_trust_loss",
        "reassurance",
        "reassurance_relief",
        "calm_down_methods",
        "calm_down_success",
        "calm_down_agitation_kept",
    ),
    reads=(
        "clients.present",
        "clients.kind_factor",
        "clients.self_control",
        "clients.symptoms",
        "clients.insight",
        "clients.antecedent",
        "clients.antecedent_step",
        "clients.antecedent_source",
        "clients.antecedent_source_kind",
        "clients.client_id",
        "clients.cell",
        "hour.active",
        "hour.observer",
        "hour.step",
        "hour.awake",
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
        "clients.fear",
        "clients.insight",
        "clients.incident_memory",
        "clients.self_harm_memory",
        "clients.antecedent_source",
        "clients.antecedent_source_kind",
        "clients.observation_level",
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
        "hour.incident_exposure",
        "hour.incidents_on_clients",
        "hour.incidents_on_staff",
        "hour.coercion",
    ),
    streams={
        "escalation": ("incident", "incident_kind"),
        "de_escalation": ("talk_first", "talk_success", "prn_offer"),
        "aftermath": ("reassured", "calm_offer", "calm_success"),
    },
    events=(*CONFLICT_KINDS, *CONTAINMENT_KINDS, "verbal_de_escalation", "calm_down"),
    columns=("events.target_role", "events.target_id", "events.witnesses"),
)
# columns of the escalation and de_escalation blocks (OWNS.streams order)
INCIDENT, INCIDENT_KIND = range(2)
TALK_FIRST, TALK_SUCCESS, PRN_OFFER = range(3)
REASSURED, CALM_OFFER, CALM_SUCCESS = range(3)

#: Severity of each incident kind (CONFLICT_KINDS order): an ordinal scale, structure rather than a quantity.
SEVERITY = np.array([1, 2, 2, 3, 4, 5])
REFUSING, VERBAL, ABSCONDING, OBJECTS, SELF_HARM, PHYSICAL = range(6)
# codes the kernels write into event rows
INCIDENT_CODES = np.array([KIND[kind] for kind in CONFLICT_KINDS])
DE_ESCALATION, CALM_DOWN = KIND["verbal_de_escalation"], KIND["calm_down"]
PRN, OBSERVATION, TIME_OUT, SECLUSION, RESTRAINT = (
    KIND[k] for k in ("prn_medication", "special_observation", "time_out", "seclusion", "restraint")
)
UNOBSERVED, RESOLVED, FAILED, CONTAINED, STARTED, CONTINUED = (
    OUTCOME[o] for o in ("unobserved", "resolved", "failed", "contained", "started", "continued")
)
ROWS_PER_INCIDENT = 4  # at most: de-escalation, the incident, restraint and seclusion, or calm-down and PRN
#: The events' columns of an incident's target and witnesses (records.EVENT_COLUMNS).
TARGET_ROLE_COLUMN, TARGET_ID_COLUMN, WITNESSES_COLUMN = (
    EVENT_COLUMNS.index(c) for c in ("target_role", "target_id", "witnesses")
)
CONTAINMENT_CODES = np.array([PRN, OBSERVATION, TIME_OUT, SECLUSION, RESTRAINT])
NO_ROOM = np.zeros(0, dtype=np.int64)  # the seclusion cells of a floor plan without a seclusion room


class EscalationClients(NamedTuple):
    """The client arrays the escalation rules read and write (a superset of ``isolation.SeclusionClients``)."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    cell: np.ndarray
    client_id: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    antecedent_source: np.ndarray
    antecedent_source_kind: np.ndarray
    observation_level: np.ndarray
    incidents: np.ndarray
    violent_incidents: np.ndarray
    containments: np.ndarray
    observation_until: np.ndarray
    time_out_until: np.ndarray
    isolated_until: np.ndarray
    times_isolated: np.ndarray
    kind_factor: np.ndarray  # the profile's factor on each conflict kind's weight (model.casemix, flow)


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
    "prn_available": bool,
    "restraint_available": bool,
}
PARAMETERS = ParameterRecord(
    OWNS.parameters, {name: _FIELD_TYPES.get(name, float) for name in OWNS.parameters}, _derive
)


def incident_probability(model: MilieuModel) -> np.ndarray:
    """Hourly incident chance of every slot (0 for absent, secluded or away clients)."""
    c, h = model.clients, model.hour
    return _chances(c.values, c.present, c.isolated, c.cell, c.antecedent, c.antecedent_step, h.step, h.awake,
                    PARAMETERS(model.p))  # fmt: skip


@kernel  # called from Python only (incident_probability); the hour uses _incidents
def _chances(x, present, isolated, cell, antecedent, antecedent_step, step, awake, parameters):
    """P(incident) = min(1, incident_rate * 2 * logistic(incident_steepness * (A - C'))) * (incident_sleep_factor
    if asleep), per slot; C' = C + insight_control * X * (1 - C) when provoked (a recent antecedent), else C."""
    q = parameters[0]
    chance = np.zeros(present.size)
    for i in range(present.size):
        if present[i] and not isolated[i] and cell[i] >= 0:
            chance[i] = _chance(x, antecedent, antecedent_step, i, step, awake, q)
    return chance


@kernel(inline=True)
def _chance(x, antecedent, antecedent_step, i, step, awake, q):
    """The incident chance of slot ``i`` (present, on the grid, not secluded): :func:`_chances`."""
    control = x[SELF_CONTROL, i]
    if recent_antecedent(antecedent, antecedent_step, i, step, q.antecedent_window_hours) != NO_ANTECEDENT:
        control += q.insight_control * x[INSIGHT, i] * (1.0 - control)
    excess = x[AGITATION, i] - control
    chance = min(1.0, q.incident_rate * 2.0 / (1.0 + np.exp(-q.incident_steepness * excess)))
    if not awake:
        chance *= q.incident_sleep_factor
    return chance


@kernel(inline=True)
def _incidents(u, x, present, isolated, cell, antecedent, antecedent_step, step, awake, parameters):
    """The slots with an incident this hour: ``u[i] <`` :func:`_chances`'s ``chance[i]``, in slot order.  The chance
    is worked out only where ``u[i]`` is below its ceiling, ``min(1, 2 incident_rate)`` (times
    ``incident_sleep_factor`` if asleep): the logistic is at most 1, and rounding keeps a quotient by a number of 1
    or more, and a product with a factor of 0 or more, on the same side of the ceiling, so the slots are the
    same as comparing every chance."""
    q = parameters[0]
    ceiling = min(1.0, q.incident_rate * 2.0)
    if not awake:
        ceiling *= q.incident_sleep_factor
    slots = np.empty(present.size, dtype=np.int64)
    k = 0
    for i in range(present.size):
        eligible = u[i] < ceiling and present[i] and not isolated[i] and cell[i] >= 0
        if eligible and u[i] < _chance(x, antecedent, antecedent_step, i, step, awake, q):
            slots[k] = i
            k += 1
    return slots[:k]


def escalate(model: MilieuModel) -> None:
    """Incidents, their targets, witnesses and response, and unprompted PRN."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, s, plan = model.clients, model.hour, model.staff, model.plan
    return (h.seclusion_draws, c.packed(EscalationClients), s.packed(EscalationStaff), h.active, sight(model),
            plan.zone_cells.get(isolation.SECLUSION, NO_ROOM), plan.zone_flat, plan.height, PARAMETERS(model.p),
            _coercion_weights(_coerciveness(model.p)),
            scratch(plan.zone_flat.size, c.cell.size, s.cell.size))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of escalation: the escalation, de_escalation and aftermath blocks (every hour, in that order), the
    hour's observers (``movement.observers_now``), ``_escalate``, then the hour's tallies (conflicts,
    containments, incident exposure, incidents against clients and staff, the containments' coerciveness:
    ``weights``, see :func:`coercion`); the newly secluded have moved.  ``near``: scratch for who is where
    (:func:`scratch`)."""
    (draws, seclusion_draws, clients, staff, active, seen, seclusion_cells, zone, height, parameters, weights,
     near, nothing) = arguments  # fmt: skip
    n = active.size
    u = take(draws[0][0], draws[0][1], n, 2)
    v = take(draws[1][0], draws[1][1], n, 3)
    w = take(draws[2][0], draws[2][1], n, 3)
    observer = observers_now(clock, seen)
    events, secluded, conflicts, containments, tallies = _escalate(
        u, v, w, seclusion_draws, clients, staff, active, observer, seclusion_cells, zone, height,
        np.int64(clock[STEP]), clock[AWAKE] != 0.0, parameters, near,
    )  # fmt: skip
    add_to_hour(clock, events, conflicts, containments, tallies, weights)
    if secluded.size:
        clock[MOVED] = 1.0
    return events, nothing[1], nothing[2]


@kernel(inline=True)
def add_to_hour(clock, events, conflicts, containments, tallies, weights):
    """Add incidents' tallies to the hour (``clock``): conflict and containment events, incident exposure,
    incidents against clients and against staff, and the coerciveness of the containments in ``events``
    (:func:`coercion`), which the ward climate reads."""
    clock[CONFLICT_EVENTS] += conflicts
    clock[CONTAINMENT_EVENTS] += containments
    clock[INCIDENT_EXPOSURE] += tallies[0]
    clock[INCIDENTS_ON_CLIENTS] += tallies[1]
    clock[INCIDENTS_ON_STAFF] += tallies[2]
    clock[COERCION] += coercion(events, weights)


PART = Part(
    _hour,
    _inputs,
    streams=(("escalation", 2, "clients", UNIFORM), ("de_escalation", 3, "clients", UNIFORM),
             ("aftermath", 3, "clients", UNIFORM)),
)  # fmt: skip
escalate.part = PART  # type: ignore[attr-defined]


@kernel
def coercion(events, weights):
    """The summed coerciveness of the rows of ``events`` (``weights``: each event kind's coerciveness, 0 for all
    but the containment kinds, :func:`_coercion_weights`), summed as numpy sums ``weights[kinds]``: 0 plus the
    pairwise sum (``common.numpy_sum``), so the same to the last bit."""
    if events.shape[0] == 0:
        return 0.0  # 0 plus numpy's sum of nothing (-0.0)
    values = np.empty(events.shape[0])
    for r in range(events.shape[0]):
        values[r] = weights[events[r, _KIND_COLUMN]]
    return 0.0 + numpy_sum(values)


@functools.lru_cache(maxsize=64)
def _coercion_weights(coerciveness: tuple[float, ...]) -> np.ndarray:
    """The coerciveness of each event kind (0 for all but the containment kinds), built once per set of values."""
    weights = np.zeros(len(KIND))
    weights[_COERCION_CODES] = coerciveness
    weights.flags.writeable = False
    return weights


#: The containment kinds' event codes and the parameters giving their coerciveness, in the same order.
_COERCION_CODES = np.array([KIND[kind] for kind in CONTAINMENT_KINDS])
_COERCION_PARAMETERS = tuple(f"coerciveness_{kind.removesuffix('_medication')}" for kind in CONTAINMENT_KINDS)
_coerciveness = operator.itemgetter(*_COERCION_PARAMETERS)
_KIND_COLUMN = EVENT_COLUMNS.index("kind")


def _move_secluded(model: MilieuModel, secluded: np.ndarray) -> None:
    """Newly secluded clients are in their seclusion-room cell (``clients.cell``): Mesa's view follows when read."""
    if secluded.size:
        model.positions.moved()


@kernel(inline=True)
def note_antecedent_sources(clients, observer, step):
    """Who set this hour's antecedents: for a limit, a denied request or a punishment set this hour (staff
    response), the staff member who acted (the client's observer in this hour); a peer conflict keeps the
    partner interaction noted; any other antecedent of this hour (a flashpoint) has no one behind it."""
    for i in range(clients.antecedent.size):
        if clients.antecedent_step[i] != step:
            continue
        ante = clients.antecedent[i]
        if ante in (LIMIT_SETTING, DENIED_REQUEST, PUNISHMENT):
            clients.antecedent_source[i] = observer[i]
            clients.antecedent_source_kind[i] = STAFF_PARTNER if observer[i] >= 0 else NO_PARTNER
        elif ante != PEER_CONFLICT:
            clients.antecedent_source[i] = -1
            clients.antecedent_source_kind[i] = NO_PARTNER


@kernel(inline=True)
def _escalate(u, v, w, draws, clients, staff, active, observer, seclusion_cells, zone, height, step, awake,
              parameters, near):  # fmt: skip
    """The hour of the module docstring, in this order: who set this hour's antecedents, incidents (chance,
    kind, response, target, witnesses, containment), unprompted PRN.  ``u``: the escalation block (columns
    INCIDENT, INCIDENT_KIND), ``v``: the de_escalation block (TALK_FIRST, TALK_SUCCESS, PRN_OFFER), ``w``: the
    aftermath block (REASSURED, CALM_OFFER, CALM_SUCCESS), ``draws``: the hour's isolation draws, ``near``:
    scratch for who is where (:func:`scratch`).

    Returns (event rows, slots newly secluded, conflict events, containment events, tallies).
    """
    clients, staff = EscalationClients(*clients), EscalationStaff(*staff)
    x, present = clients.values, clients.present
    note_antecedent_sources(clients, observer, step)
    slots = _incidents(u[:, INCIDENT], x, present, clients.isolated, clients.cell, clients.antecedent,
                       clients.antecedent_step, step, awake, parameters)  # fmt: skip
    if slots.size:
        events, secluded, contained, tallies = _answer(
            slots,
            u,
            v,
            w,
            draws,
            clients,
            staff,
            observer,
            seclusion_cells,
            zone,
            height,
            step,
            awake,
            parameters,
            near,
        )
    else:  # no incident this hour: nothing to answer (what _answer gives for none)
        events, secluded, contained, tallies = no_events(), slots, 0, np.zeros(3)
    if awake and parameters[0].prn_available:
        prn, n_prn = _unprompted_prn(v[:, PRN_OFFER], w, clients, active, observer, staff.role, staff.staff_id,
                                     slots, step, parameters)  # fmt: skip
        if n_prn or prn.shape[0]:
            events = np.concatenate((events, prn)) if events.shape[0] else prn
        contained += n_prn
    return events, secluded, slots.size, contained, tallies


@kernel
def _answer(slots, u, v, w, draws, clients, staff, observer, seclusion_cells, zone, height, step, awake, parameters,
            near):  # fmt: skip
    """The hour's incidents (clients ``slots``): their kinds, who is where (into the scratch ``near``, emptied
    again after) and, when many incidents will look for the nearest staff (:func:`needs_nearest`), where the
    staff are (``movement.staff_blocks``), then ``_respond_to_incidents``; returns its (event rows, slots newly
    secluded, containments, tallies)."""
    kinds = _incident_kinds(clients.values, slots, u[slots, INCIDENT_KIND], parameters, clients.kind_factor)
    who_is_where(clients.cell, staff.cell, near)
    searches = 0
    for a in range(slots.size):
        searches += needs_nearest(observer[slots[a]], kinds[a], parameters[0])
    located = not_located()
    if worth_locating(searches, staff.cell.size, zone.size):
        located = staff_blocks(staff.cell, zone.size // height, height)
    answered = _respond_to_incidents(
        slots, kinds, v[slots], w[slots], observer, located, draws, clients, staff, seclusion_cells, zone, height,
        step, awake, parameters, near,
    )  # fmt: skip
    unplace(near[0])
    unplace(near[1])
    return answered


@kernel(inline=True)
def _unprompted_prn(v, w, clients, active, observer, role, staff_id, incident, step, parameters):
    """A nurse offers PRN to an active client they observe with A >= prn_threshold and no incident this hour
    (probability prn_offer_rate), after calm-down methods if offered (probability calm_down_methods) and not
    enough (``w``: the aftermath block); returns (event rows, number of PRN doses)."""
    q = parameters[0]
    x = clients.values
    offered = active.copy()
    offered[incident] = False
    n_offered = 0
    for i in range(v.size):
        if offered[i]:
            offered[i] = (
                observer[i] >= 0
                and role[observer[i]] == ROLE_NURSE
                and min(x[AGITATION, i], 1.0) >= q.prn_threshold  # A as clipped: a threshold above 1 is never met
                and v[i] < q.prn_offer_rate
            )
            n_offered += offered[i]
    if n_offered == 0:
        return no_events(), 0
    slots = np.flatnonzero(offered)
    events = np.zeros((2 * slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    rows = doses = 0
    for a in range(slots.size):
        i = slots[a]
        ante = recent_antecedent(clients.antecedent, clients.antecedent_step, i, step, q.antecedent_window_hours)
        sid = staff_id[observer[i]]
        if w[i, CALM_OFFER] < q.calm_down_methods:
            calmed = w[i, CALM_SUCCESS] < q.calm_down_success
            write_event(
                events, rows, step, clients.client_id[i], sid, CALM_DOWN, 0, ante, RESOLVED if calmed else FAILED
            )
            rows += 1
            if calmed:
                x[AGITATION, i] *= q.calm_down_agitation_kept
                continue
        _prn(x, i, q, clients.containments)
        write_event(events, rows, step, clients.client_id[i], sid, PRN, 0, ante, CONTAINED)
        rows += 1
        doses += 1
    return events[:rows], doses


def incident_kinds(model: MilieuModel, slots: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices into CONFLICT_KINDS of incidents of clients ``slots``, drawn from uniforms ``u``."""
    return _incident_kinds(model.clients.values, slots, u, PARAMETERS(model.p), model.clients.kind_factor)


@kernel
def _incident_kinds(x, slots, u, parameters, kind_factor):
    """w_k = base_k f_k exp(severity_excess_effect e (severity_k - 1)), self-harm x (0.5 + Y), absconding x
    (1.5 - T), f_k the client's profile factor (``clients.kind_factor``); kind by inversion."""
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
    cumulative = np.empty(SEVERITY.size)  # the running sums of the weights (np.cumsum's, filled in place)
    for a in range(slots.size):
        i = slots[a]
        excess = max(x[AGITATION, i] - x[SELF_CONTROL, i], 0.0)
        for k in range(SEVERITY.size):
            weights[k] = base[k] * kind_factor[k, i] * np.exp(q.severity_excess_effect * excess * (SEVERITY[k] - 1))
        weights[SELF_HARM] *= 0.5 + x[SYMPTOMS, i]
        weights[ABSCONDING] *= 1.5 - x[TRUST, i]
        total = 0.0
        for k in range(SEVERITY.size):
            total += weights[k]
            cumulative[k] = total
        threshold = u[a] * cumulative[-1]
        kind = 0
        for k in range(SEVERITY.size):
            kind += cumulative[k] <= threshold
        kinds[a] = min(kind, SEVERITY.size - 1)
    return kinds


def incident_kind(model: MilieuModel, slot: int, u: float) -> int:
    """Index into CONFLICT_KINDS of one client's incident, drawn from uniform ``u``."""
    return int(incident_kinds(model, np.array([slot]), np.array([u]))[0])


def answer_incidents(model: MilieuModel, slots: np.ndarray, kinds: np.ndarray, v: np.ndarray,
                     w: np.ndarray | None = None) -> None:  # fmt: skip
    """Answer given incidents (clients ``slots``, kinds ``kinds``, de_escalation uniforms ``v``, one row each;
    aftermath uniforms ``w``, one row each, drawn from the aftermath stream if not given) as the hourly rule
    does, with their targets and witnesses, and log them; the seclusion draws are the hour's (``isolation.draw``).

    Each client has at most one incident an hour and every response depends only on that client's
    state (and who is around), so incidents are handled one after another; the events are logged incident
    by incident, in the order de-escalation, incident, containment.
    """
    c, h, s = model.clients, model.hour, model.staff
    if w is None:
        w = model.streams["aftermath"].random((c.n, 3))[slots]
    events, secluded, contained, tallies = _respond_to_incidents(
        slots, kinds, v, w, observers(model), not_located(), h.seclusion_draws,
        c.view(EscalationClients), s.view(EscalationStaff), model.plan.zone_cells.get(isolation.SECLUSION, NO_ROOM),
        model.plan.zone_flat, model.plan.height, h.step, h.awake, PARAMETERS(model.p),
        who_is_where(c.cell, s.cell, scratch(model.plan.zone_flat.size, c.cell.size, s.cell.size)),
    )  # fmt: skip
    add_to_hour(h.clock, events, slots.size, contained, tallies, _coercion_weights(_coerciveness(model.p)))
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
def _within(cell, other, zone, height, radius):
    """Whether cell ``other`` is in the same zone as ``cell`` and within ``radius`` cells (Chebyshev)."""
    if cell < 0 or other < 0 or zone[cell] != zone[other]:
        return False
    return max(abs(cell // height - other // height), abs(cell % height - other % height)) <= radius


@kernel
def _target(i, kind, ante, observer, nearest, clients, staff, zone, height, radius, near):
    """(target role, slot or staff index or -1) of client i's incident of ``kind`` (rule in the module docstring)."""
    if kind == SELF_HARM:
        return TARGET_SELF, i
    if kind == ABSCONDING:
        return TARGET_NONE, -1
    if kind == OBJECTS:
        return TARGET_PROPERTY, -1
    here = clients.cell[i]
    source, source_kind = clients.antecedent_source[i], clients.antecedent_source_kind[i]
    if ante != 0 and source >= 0:  # whoever set it off, if they are there
        if source_kind == STAFF_PARTNER and staff.on_duty[source] and _within(here, staff.cell[source], zone, height,
                                                                              radius):  # fmt: skip
            return TARGET_STAFF, source
        if (
            source_kind == CLIENT_PARTNER
            and source != i
            and clients.present[source]
            and not clients.isolated[source]
            and _within(here, clients.cell[source], zone, height, radius)
        ):
            return TARGET_CLIENT, source
    if kind == REFUSING:
        return (TARGET_STAFF, observer) if observer >= 0 else (TARGET_NONE, -1)
    # the nearest person in sight (ties: the lowest index; a staff member only if nearer than every client),
    # looked up in the cells around the incident (``near``: who is where, :func:`who_is_where`)
    best, role, who = radius + 1, TARGET_NONE, -1
    best_staff, staff_who = radius + 1, -1
    client_first, client_following = near[0][0], near[0][1]
    staff_first, staff_following = near[1][0], near[1][1]
    x0, y0 = here // height, here % height
    width = zone.size // height
    for cx in range(max(0, x0 - radius), min(width, x0 + radius + 1)):
        for cy in range(max(0, y0 - radius), min(height, y0 + radius + 1)):
            c = cx * height + cy
            if zone[c] != zone[here]:
                continue
            d = max(abs(cx - x0), abs(cy - y0))
            k = client_first[c]
            while k >= 0:
                if k != i and clients.present[k] and not clients.isolated[k] and (d < best or (d == best and k < who)):
                    best, role, who = d, TARGET_CLIENT, k
                k = client_following[k]
            j = staff_first[c]
            while j >= 0:
                if staff.on_duty[j] and (d < best_staff or (d == best_staff and j < staff_who)):
                    best_staff, staff_who = d, j
                j = staff_following[j]
    if staff_who >= 0 and best_staff < best:
        best, role, who = best_staff, TARGET_STAFF, staff_who
    if role == TARGET_NONE and kind == PHYSICAL and nearest >= 0:
        return TARGET_STAFF, nearest
    return role, who


@kernel
def _witness(i, victim, severity, relief, clients, zone, height, awake, q, client_first, client_following):
    """Count the witnesses of client i's incident and give them its agitation and fear (module docstring)."""
    if not awake:
        return 0
    x = clients.values
    seen_share = severity / 5.0
    share = seen_share * (1.0 - relief)
    here = clients.cell[i]
    if here < 0:
        return 0
    seen = 0
    radius = int(q.witness_radius)
    x0, y0 = here // height, here % height
    width = zone.size // height
    for cx in range(max(0, x0 - radius), min(width, x0 + radius + 1)):  # the cells in sight of the incident
        for cy in range(max(0, y0 - radius), min(height, y0 + radius + 1)):
            c = cx * height + cy
            if zone[c] != zone[here]:
                continue
            k = client_first[c]
            while k >= 0:
                if k not in (i, victim) and clients.present[k] and not clients.isolated[k]:
                    seen += 1
                    x[AGITATION, k] += q.witness_agitation * share
                    x[FEAR, k] += q.witness_fear * share * (1.0 - x[FEAR, k])
                    x[INSIGHT, k] += q.witness_insight * seen_share * (1.0 - x[INSIGHT, k])
                k = client_following[k]
    return seen


def scratch(n_cells: int, n_clients: int, n_staff: int) -> tuple:
    """The scratch arrays :func:`who_is_where` fills (``common.places``, clients then staff), kept between hours."""
    return places(n_cells, n_clients), places(n_cells, n_staff)


@kernel
def who_is_where(client_cell, staff_cell, near):
    """Who is in which cell, clients then staff (``common.place`` into ``near``, :func:`scratch`), for finding the
    people around an incident; ``common.unplace`` each when done.  Returns ``near``."""
    place(client_cell, near[0])
    place(staff_cell, near[1])
    return near


@kernel
def _respond_to_incidents(slots, kinds, v, w, observer, located, draws, clients, staff, seclusion_cells, zone, height,
                          step, awake, parameters, near):  # fmt: skip
    """Respond to each incident (rules in the module docstring); ``v`` and ``w`` hold the incidents' rows of the
    de_escalation and aftermath blocks, ``observer`` every slot's observer, ``located`` where the staff are, to
    find an incident's nearest on-duty staff member (``movement.staff_blocks`` or ``not_located``), ``draws`` the
    hour's isolation draws of every slot, ``near`` who is where (:func:`who_is_where`: cells do not change while
    incidents are answered; seclusion moves after).

    Returns (event rows in EVENT_COLUMNS order, slots newly secluded, number of containments,
    tallies: incident exposure, incidents against clients, incidents against staff).
    """
    q = parameters[0]
    x = clients.values
    events = np.zeros((ROWS_PER_INCIDENT * slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    secluded = np.zeros(slots.size, dtype=np.int64)
    tallies = np.zeros(3)
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
        x[INCIDENT_MEMORY, i] += 1.0
        if kind in (SELF_HARM, ABSCONDING):
            x[SELF_HARM_MEMORY, i] += 1.0
        j = observer[i]
        nearest = -1  # the nearest on-duty staff member, looked for only when the rules read it
        if needs_nearest(j, kind, q):
            nearest = nearest_around(clients.cell[i], staff.on_duty, staff.cell, zone.size // height, height, located)
        if j < 0 and severity >= q.nearest_responder_severity:  # a severe incident brings the nearest staff member
            j = nearest
        # whom it targets, who saw it (reassured by staff afterwards if answered), and what it does to them
        role, who = _target(
            i, kind, ante, observer[i], nearest, clients, staff, zone, height, int(q.witness_radius), near
        )
        victim = who if role == TARGET_CLIENT else -1
        relief = q.reassurance_relief if j >= 0 and w[a, REASSURED] < q.reassurance else 0.0
        witnesses = _witness(i, victim, severity, relief, clients, zone, height, awake, q, near[0][0], near[0][1])
        if victim >= 0:
            A[victim] += q.victim_agitation
            x[FEAR, victim] += q.victim_fear * (1.0 - x[FEAR, victim])
            T[victim] -= q.victim_trust_loss * T[victim]
            tallies[1] += 1
        if role == TARGET_STAFF:
            tallies[2] += 1.0
        tallies[0] += severity / 5.0 * (1.0 + witnesses)
        target_id = -1
        if role in (TARGET_CLIENT, TARGET_SELF):
            target_id = clients.client_id[who]
        elif role == TARGET_STAFF:
            target_id = staff.staff_id[who]
        incident_row = rows
        code = INCIDENT_CODES[kind]
        if j < 0:  # unobserved: some agitation discharges, nobody answers
            A[i] *= q.unanswered_agitation_kept
            write_event(events, rows, step, client, -1, code, severity, ante, UNOBSERVED)
            rows += 1
            _mark_target(events, incident_row, role, target_id, witnesses)
            continue
        sid = staff.staff_id[j]
        if v[a, TALK_FIRST] < q.de_escalation_first:
            chance = (
                staff.de_escalation_skill[j]
                * (0.5 + 0.5 * T[i])
                * (1.0 - q.de_escalation_severity_penalty * (severity - 1))
            )
            resolved = v[a, TALK_SUCCESS] < chance
            write_event(
                events, rows, step, client, sid, DE_ESCALATION, severity, ante, RESOLVED if resolved else FAILED
            )
            rows += 1
            if resolved:
                A[i] *= 1.0 - q.de_escalation_calm
                T[i] += q.de_escalation_trust_gain * (1.0 - T[i])
                incident_row = rows
                write_event(events, rows, step, client, sid, code, severity, ante, RESOLVED)
                rows += 1
                _mark_target(events, incident_row, role, target_id, witnesses)
                continue
        incident_row = rows
        write_event(events, rows, step, client, sid, code, severity, ante, CONTAINED)
        _mark_target(events, incident_row, role, target_id, witnesses)
        rows += 1
        contained += 1  # one containment measure follows (two for physical aggression)
        if kind == PHYSICAL and q.restraint_available:
            _contain(x, i, q.coerciveness_restraint, q, clients.containments)
            A[i] *= q.restraint_agitation_kept
            write_event(events, rows, step, client, sid, RESTRAINT, severity, ante, CONTAINED)
            rows += 1
            contained += 1
        if severity >= q.isolation_threshold and seclusion_cells.size > 0:
            _contain(x, i, q.coerciveness_seclusion, q, clients.containments)
            seclude(clients, i, draws[i], seclusion_cells, step, q.seclusion_hours)
            secluded[n_secluded] = i
            n_secluded += 1
            write_event(events, rows, step, client, sid, SECLUSION, severity, ante, STARTED)
        elif kind in (SELF_HARM, ABSCONDING):
            _contain(x, i, q.coerciveness_special_observation, q, clients.containments)
            clients.observation_level[i] = max(clients.observation_level[i], WITHIN_SIGHT)
            clients.observation_until[i] = max(clients.observation_until[i], step + q.special_observation_hours)
            write_event(events, rows, step, client, sid, OBSERVATION, severity, ante, STARTED)
        elif kind in (OBJECTS, PHYSICAL) or severity >= q.isolation_threshold or not q.prn_available:
            _contain(x, i, q.coerciveness_time_out, q, clients.containments)
            clients.time_out_until[i] = step + q.time_out_hours
            A[i] *= q.time_out_agitation_kept
            write_event(events, rows, step, client, sid, TIME_OUT, severity, ante, STARTED)
        else:
            if w[a, CALM_OFFER] < q.calm_down_methods:  # calm-down methods before PRN
                calmed = w[a, CALM_SUCCESS] < q.calm_down_success
                write_event(events, rows, step, client, sid, CALM_DOWN, severity, ante, RESOLVED if calmed else FAILED)
                rows += 1
                if calmed:
                    A[i] *= q.calm_down_agitation_kept
                    events[incident_row, 6] = RESOLVED
                    contained -= 1
                    continue
            _prn(x, i, q, clients.containments)
            write_event(events, rows, step, client, sid, PRN, severity, ante, CONTAINED)
        rows += 1
    return events[:rows], secluded[:n_secluded], contained, tallies


@kernel
def needs_nearest(observer, kind, q):
    """Whether an incident of ``kind`` by a client with ``observer`` reads the nearest on-duty staff member: a
    severe one nobody observes (the responder), physical aggression (its target when nobody is near)."""
    return (observer < 0 and SEVERITY[kind] >= q.nearest_responder_severity) or kind == PHYSICAL


@kernel
def _mark_target(events, row, role, target_id, witnesses):
    """Write an incident's target and witnesses into its event row."""
    events[row, TARGET_ROLE_COLUMN] = role
    events[row, TARGET_ID_COLUMN] = target_id
    events[row, WITNESSES_COLUMN] = witnesses

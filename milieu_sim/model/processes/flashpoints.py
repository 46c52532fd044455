"""Flashpoints: the everyday events on a ward that set conflict off (the Safewards model).

Bowers' Safewards model (Bowers 2014): originating factors in six domains give rise to
*flashpoints*, and flashpoints to conflict.  Limit-setting and denied requests are
flashpoints of the regulatory framework and live in ``processes.staff_response``; this
process adds three more families, each an event stream of its own.  Rules (docs/ODD.md,
"Flashpoints"), every waking hour, for each *active* client i (present, awake, on the
unit, not secluded nor in time-out; ``hour.active``):

* **Crowding and waiting** (physical environment, staff team): queues form at meals
  (every active client attending the meal) and at the medication rounds
  (:data:`MEDICATION_ROUND_HOURS`, every active client), served by the staff on duty
  (meals) or the nurses on duty (medication) at ``queue_service_rate`` clients an hour
  each.  A client's expected wait is half the time the queue takes::

      W_i = attending_meal_i * n_meal / (2 k_staff r) + at_round * n_active / (2 k_nurses r)
      P(crowding flashpoint) = 1 - exp(-queue_flashpoint_rate * W_i)

  So occupancy acts through the length of the queues and the staff who serve them,
  never as a rule "occupancy -> incidents" (Ng et al. 2001 is an association).
* **Turnover** (patient community, staff team): the hour's turnover events are the
  admissions of this hour, the departures (discharge, dropout, transfer) of the
  previous hour's ward round, and a handover of shifts (``hour.new_shift``, after the first
  hour); with m events, P(turnover flashpoint) = 1 - (1 - turnover_flashpoint_chance)^m.
* **Bad news from outside** (outside hospital): a visit, a call, leave refused or a legal
  decision, with probability ``bad_news_rate`` an hour.  Under ``bad_news_mitigation``
  (Safewards: staff anticipate bad news and talk it through) it is mitigated with that
  probability, which leaves a share ``bad_news_mitigated_kept`` of its agitation.

A flashpoint raises agitation, by less the more the client trusts staff and community
(the same form as a limit's, Papadopoulos et al. 2012)::

    dA = a_k * (1 - T / 2) * m_k * b_k,   a_k: crowding_agitation, turnover_agitation, bad_news_agitation
                                          m_k: bad_news_mitigated_kept for mitigated bad news, else 1
                                          b_k: 1 - staff_presence_buffer for crowding and bad news when a
                                               staff member is on the floor in the client's zone, else 1

Staff with clients buffer the two flashpoints they can do something about as they happen: a staff member
on the floor (on duty, not in the office, the nurses' station, not escorting a client 1:1:
``prevention.on_floor``) in the client's zone explains the wait and keeps the queue moving, and is there
to talk bad news through when it arrives; the flashpoint still happens (and is still the antecedent), it
stirs less.  Staff in the office (``staff_engagement``, processes.movement) buffer nothing.

and is the incident's antecedent (``crowding``, ``turnover``, ``bad_news``) for
``antecedent_window_hours`` (``common.recent_antecedent``); when several strike in one
hour the last in that order is kept.  Every column of the stream is drawn every waking
hour for every bed slot, so the stream's draws do not depend on what happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import HOUR, KIND_CODE, KIND_OF, NEW_SHIFT, STEP, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.processes.prevention import on_floor
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, BAD_NEWS, CROWDING, ROLE_NURSE, TRUST, TURNOVER
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "queue_service_rate",
        "queue_flashpoint_rate",
        "crowding_agitation",
        "turnover_flashpoint_chance",
        "turnover_agitation",
        "bad_news_rate",
        "bad_news_agitation",
        "bad_news_mitigation",
        "bad_news_mitigated_kept",
        "staff_presence_buffer",
    ),
    reads=(
        "hour.active",
        "hour.kind",
        "hour.hour",
        "hour.step",
        "hour.new_shift",
        "clients.attending",
        "clients.present",
        "clients.admitted_step",
        "clients.vacated_step",
        "clients.cell",
        "staff.on_duty",
        "staff.role",
        "staff.cell",
        "staff.escorting",
    ),
    writes=("clients.agitation", "clients.antecedent", "clients.antecedent_step"),
    streams={"flashpoints": ("queue", "unsettled", "news", "mitigated")},
)
# columns of the flashpoints block (OWNS.streams order)
QUEUE, UNSETTLED, NEWS, MITIGATED = range(4)
#: The families, in the order of ``model.flashpoint_counts``.
FAMILIES = ("crowding", "turnover", "bad_news")

#: Clock hours of the medication rounds (part of the routine, like the ward round: structure, not a quantity).
MEDICATION_ROUND_HOURS = (9, 13, 18, 22)
MEAL = KIND_OF["meal"]  # the routine's code of a meal (compiled_hour.KIND_OF)

PARAMETERS = ParameterRecord(OWNS.parameters, dict.fromkeys(OWNS.parameters, float))


class FlashpointClients(NamedTuple):
    """The client arrays the flashpoint rule reads and writes."""

    values: np.ndarray
    present: np.ndarray
    attending: np.ndarray
    admitted_step: np.ndarray
    vacated_step: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    cell: np.ndarray


class FlashpointStaff(NamedTuple):
    """The staff arrays the queues and the staff's presence read."""

    on_duty: np.ndarray
    role: np.ndarray
    cell: np.ndarray
    escorting: np.ndarray


def turnover_events(model: MilieuModel) -> int:
    """The hour's turnover events: admissions this hour, departures at the previous hour's ward round,
    and a handover of shifts (not in the first hour)."""
    c, h = model.clients, model.hour
    return int(_turnover(c.packed(FlashpointClients), h.step, h.new_shift))


def queue_waits(model: MilieuModel) -> tuple[float, float]:
    """Expected waits (hours) of this hour's queues: (at the meal, per client attending; at the medication
    round, per active client); 0 where there is no queue."""
    c, h, s = model.clients, model.hour, model.staff
    meal, round_ = _waits(c.packed(FlashpointClients), s.packed(FlashpointStaff), h.active, h.kind == "meal",
                          h.hour in MEDICATION_ROUND_HOURS, model.p["queue_service_rate"])  # fmt: skip
    return float(meal), float(round_)


def strike(model: MilieuModel) -> None:
    """This hour's flashpoints (rules in the module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    totals = getattr(model, "flashpoint_counts", None)
    if totals is None:
        totals = model.flashpoint_counts = np.zeros(len(FAMILIES), dtype=np.int64)
    c, s = model.clients, model.staff
    return (c.packed(FlashpointClients), s.packed(FlashpointStaff), model.hour.active, model.plan.zone_flat, totals,
            PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of flashpoints: the flashpoints block (every hour it runs), ``_strike`` with the hour's meal,
    medication round, handover and step, its counts added to ``model.flashpoint_counts`` (``totals``)."""
    draws, clients, staff, active, zone, totals, parameters, nothing = arguments
    u = take(draws[0][0], draws[0][1], active.size, 4)
    at_round = np.int64(clock[HOUR]) in MEDICATION_ROUND_HOURS
    counts = _strike(u, clients, staff, active, clock[KIND_CODE] == MEAL, at_round, clock[NEW_SHIFT] != 0.0,
                     np.int64(clock[STEP]), zone, parameters)  # fmt: skip
    totals += counts
    return nothing


PART = Part(_hour, _inputs, streams=(("flashpoints", 4, "clients", UNIFORM),))
strike.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _turnover(clients, step, new_shift):
    """Admissions this hour + departures at the previous hour + 1 at a handover after the first hour."""
    clients = FlashpointClients(*clients)
    events = 1 if new_shift and step > 1 else 0
    for i in range(clients.present.size):
        if clients.present[i] and clients.admitted_step[i] == step:
            events += 1
        if clients.vacated_step[i] == step - 1:
            events += 1
    return events


@kernel(inline=True)
def _waits(clients, staff, active, is_meal, at_round, rate):
    """(meal wait, medication-round wait): queue length / (2 servers rate), servers at least 1."""
    clients, staff = FlashpointClients(*clients), FlashpointStaff(*staff)
    n_meal = n_active = servers = nurses = 0
    for i in range(active.size):
        if active[i]:
            n_active += 1
            n_meal += clients.attending[i]
    for j in range(staff.on_duty.size):
        if staff.on_duty[j]:
            servers += 1
            nurses += staff.role[j] == ROLE_NURSE
    meal = n_meal / (2.0 * max(servers, 1) * rate) if is_meal else 0.0
    round_ = n_active / (2.0 * max(nurses, 1) * rate) if at_round else 0.0
    return meal, round_


@kernel(inline=True)
def _flare(x, i, size, antecedent, antecedent_step, code, step):
    """One flashpoint: dA = size * (1 - T / 2); it becomes the client's latest antecedent."""
    x[AGITATION, i] += size * (1.0 - x[TRUST, i] / 2.0)
    antecedent[i], antecedent_step[i] = code, step


@kernel(inline=True)
def _strike(u, clients, staff, active, is_meal, at_round, new_shift, step, zone, parameters):
    """The rules of the module docstring; returns the flashpoints of each family (FAMILIES order)."""
    q = parameters[0]
    meal_wait, round_wait = _waits(clients, staff, active, is_meal, at_round, q.queue_service_rate)
    turnover = _turnover(clients, step, new_shift)
    clients, staff = FlashpointClients(*clients), FlashpointStaff(*staff)
    # the zones with a staff member on the floor (engaged with clients)
    staffed = np.zeros(zone.max() + 1, dtype=np.bool_)
    for j in range(staff.on_duty.size):
        if on_floor(staff.on_duty[j], staff.cell[j], staff.escorting[j], zone):
            staffed[zone[staff.cell[j]]] = True
    x, attending = clients.values, clients.attending
    antecedent, antecedent_step = clients.antecedent, clients.antecedent_step
    counts = np.zeros(3, dtype=np.int64)
    turnover_chance = 1.0 - (1.0 - q.turnover_flashpoint_chance) ** turnover
    for i in range(active.size):
        if not active[i]:
            continue
        buffer = 1.0 - q.staff_presence_buffer if clients.cell[i] >= 0 and staffed[zone[clients.cell[i]]] else 1.0
        wait = round_wait + (meal_wait if attending[i] else 0.0)
        if wait > 0.0 and u[i, QUEUE] < 1.0 - np.exp(-q.queue_flashpoint_rate * wait):
            _flare(x, i, q.crowding_agitation * buffer, antecedent, antecedent_step, CROWDING, step)
            counts[0] += 1
        if u[i, UNSETTLED] < turnover_chance:
            _flare(x, i, q.turnover_agitation, antecedent, antecedent_step, TURNOVER, step)
            counts[1] += 1
        if u[i, NEWS] < q.bad_news_rate:
            kept = q.bad_news_mitigated_kept if u[i, MITIGATED] < q.bad_news_mitigation else 1.0
            _flare(x, i, q.bad_news_agitation * kept * buffer, antecedent, antecedent_step, BAD_NEWS, step)
            counts[2] += 1
    return counts

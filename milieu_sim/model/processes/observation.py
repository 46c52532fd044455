"""Risk-based observation levels: general, intermittent, within sight, within arm's length.

Rules (docs/ODD.md, "Observation levels"):

* **Review** at every shift change (``hour.new_shift``, the handover): a client at home (off the grid:
  a day programme's or an outpatient group's clients in their away hours) is at the general level, not
  observed by the unit; each present client on the unit has the risk::

      risk = max(A - C, 0) + observation_incident_weight * M_inc + observation_self_harm_weight * M_sh

  (M_inc, M_sh: the client's decaying counts of own incidents and of own self-harm or absconding,
  time constant ``risk_memory_days``, kept by escalation and recovery).  The level is ``arms_length``
  from ``observation_arms_length_risk``, ``within_sight`` from ``observation_within_sight_risk``,
  ``intermittent`` from ``observation_intermittent_risk``, else ``general``; a level raised by an
  incident (escalation: self-harm or absconding, at least ``within_sight``) holds until
  ``observation_until`` whatever the risk.  A client on intermittent observation or above is on
  *special observation*, which is containment: one ``special_observation`` event per client per shift
  (outcome ``started`` when raised from general, which costs trust ``containment_trust_loss`` and adds
  resentment ``resentment_gain``, both times ``coerciveness_special_observation``; else ``continued``),
  as in the published per-shift counts.  Secluded clients are counted as secluded, not observed.
  While on special observation the client is always in a staff member's sight
  (``clients.observation_until``, read by ``movement.observers``).
* **Staff time**, every hour: a client kept within sight or within arm's length has a staff member of
  their own (the one already assigned, else the nearest free on-duty staff member; arm's length
  first, then within sight, each in slot order; if nobody is free the client goes without), who
  stands with the client wherever the routine takes them, so is not where the routine would have put
  them; at arm's length that staff member watches only their client (field of view 0 cells), so sees
  no one else's acts and answers no one else's minor incidents.  Everyone else's field of view is
  ``staff_observe_radius``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import (
    COERCION,
    CONTAINMENT_EVENTS,
    MOVED,
    NEW_SHIFT,
    OBSERVER_STEP,
    STEP,
    Part,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, numpy_sum, write_event
from milieu_sim.model.processes.movement import nearest_around, not_located, staff_blocks, worth_locating
from milieu_sim.model.records import EVENT_COLUMNS, HOURS_PER_SHIFT, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    ARMS_LENGTH,
    GENERAL,
    INCIDENT_MEMORY,
    INTERMITTENT,
    RESENTMENT,
    SELF_CONTROL,
    SELF_HARM_MEMORY,
    TRUST,
    WITHIN_SIGHT,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "observation_incident_weight",
        "observation_self_harm_weight",
        "observation_intermittent_risk",
        "observation_within_sight_risk",
        "observation_arms_length_risk",
        "containment_trust_loss",
        "resentment_gain",
        "coerciveness_special_observation",
        "staff_observe_radius",
    ),
    reads=(
        "clients.present",
        "clients.isolated",
        "clients.cell",
        "clients.self_control",
        "clients.incident_memory",
        "clients.self_harm_memory",
        "clients.client_id",
        "staff.on_duty",
        "hour.step",
        "hour.new_shift",
    ),
    writes=(
        "clients.observation_level",
        "clients.observation_until",
        "clients.observation_escort",
        "clients.trust",
        "clients.resentment",
        "clients.containments",
        "staff.escorting",
        "staff.cell",
        "staff.observe_radius",
        "hour.containment_events",
        "hour.coercion",
    ),
    events=("special_observation",),
)
OBSERVATION = KIND["special_observation"]
STARTED, CONTINUED = OUTCOME["started"], OUTCOME["continued"]


class ObservationClients(NamedTuple):
    """The client arrays the observation rules read and write."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    cell: np.ndarray
    client_id: np.ndarray
    containments: np.ndarray
    observation_level: np.ndarray
    observation_until: np.ndarray
    observation_escort: np.ndarray


class ObservationStaff(NamedTuple):
    """The staff arrays the observation rules read and write."""

    on_duty: np.ndarray
    cell: np.ndarray
    escorting: np.ndarray
    observe_radius: np.ndarray


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {name: int if name == "staff_observe_radius" else float for name in OWNS.parameters},
)


def observe(model: MilieuModel) -> None:
    """Review observation levels at a shift change; every hour, put each 1:1 observer with their client."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    return (model.clients.packed(ObservationClients), model.staff.packed(ObservationStaff), model.plan.height,
            model.plan.zone_flat.size, PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of observation: at a shift change the review (its events, containments and their coerciveness:
    summed as ``escalation.coercion`` sums them), then the 1:1 observers; who sees whom is worked out afresh."""
    _draws, clients, staff, height, n_cells, parameters, nothing = arguments
    q = parameters[0]
    events = nothing[0]
    if clock[NEW_SHIFT] != 0.0:
        events = _review(clients, np.int64(clock[STEP]), parameters)
        clock[CONTAINMENT_EVENTS] += events.shape[0]
        # every row is a special observation: its coerciveness, coerciveness_special_observation, once per row
        clock[COERCION] += numpy_sum(np.full(events.shape[0], q.coerciveness_special_observation))
    moved = _escort(clients, staff, height, n_cells, parameters)
    if moved.size:
        clock[MOVED] = 1.0
    clock[OBSERVER_STEP] = -1.0  # who sees whom is worked out afresh
    return events, nothing[1], nothing[2]


PART = Part(_hour, _inputs)
observe.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def risk_levels(x, q):
    """Every slot's risk (module docstring) and the observation level it calls for."""
    n = x.shape[1]
    risk = np.empty(n)
    level = np.zeros(n, dtype=np.int64)
    for i in range(n):
        risk[i] = (
            max(x[AGITATION, i] - x[SELF_CONTROL, i], 0.0)
            + q.observation_incident_weight * x[INCIDENT_MEMORY, i]
            + q.observation_self_harm_weight * x[SELF_HARM_MEMORY, i]
        )
        if risk[i] >= q.observation_arms_length_risk:
            level[i] = ARMS_LENGTH
        elif risk[i] >= q.observation_within_sight_risk:
            level[i] = WITHIN_SIGHT
        elif risk[i] >= q.observation_intermittent_risk:
            level[i] = INTERMITTENT
    return risk, level


@kernel(inline=True)
def _review(clients, step, parameters):
    """The shift's review (module docstring); returns the special observation event rows."""
    q = parameters[0]
    clients = ObservationClients(*clients)
    x, present, level = clients.values, clients.present, clients.observation_level
    _, wanted = risk_levels(x, q)
    events = np.zeros((present.size, len(EVENT_COLUMNS)), dtype=np.int64)
    rows = 0
    for i in range(present.size):
        if not present[i] or clients.cell[i] < 0:  # gone, or at home (off the grid): not observed by the unit
            level[i] = GENERAL
            continue
        held = level[i] if clients.observation_until[i] > step else GENERAL
        new = max(wanted[i], held)
        if new >= INTERMITTENT:
            clients.observation_until[i] = max(clients.observation_until[i], step + HOURS_PER_SHIFT)
            if not clients.isolated[i]:
                started = level[i] < INTERMITTENT
                if started:
                    c = q.coerciveness_special_observation
                    x[TRUST, i] = max(0.0, x[TRUST, i] - q.containment_trust_loss * c)
                    x[RESENTMENT, i] = min(1.0, x[RESENTMENT, i] + q.resentment_gain * c)
                clients.containments[i] += 1
                write_event(events, rows, step, clients.client_id[i], -1, OBSERVATION, 0, 0,
                            STARTED if started else CONTINUED)  # fmt: skip
                rows += 1
        level[i] = new
    return events[:rows]


@kernel(inline=True)
def _escort(clients, staff, height, n_cells, parameters):
    """Assign and place the 1:1 observers (module docstring); returns the staff indices moved."""
    q = parameters[0]
    clients, staff = ObservationClients(*clients), ObservationStaff(*staff)
    level, escort, cell = clients.observation_level, clients.observation_escort, clients.cell
    for j in range(staff.on_duty.size):
        staff.observe_radius[j] = q.staff_observe_radius
        if not staff.on_duty[j] or staff.cell[j] < 0:
            staff.escorting[j] = -1
    for i in range(level.size):
        j = escort[i]
        needs = clients.present[i] and not clients.isolated[i] and cell[i] >= 0 and level[i] >= WITHIN_SIGHT
        if j >= 0 and (not needs or staff.escorting[j] != i):
            if staff.escorting[j] == i:
                staff.escorting[j] = -1
            escort[i] = -1
    old = staff.cell.copy()
    # the clients who need a new escort (a superset of those searched for below), then, if any, who is free (on
    # duty, on the grid, escorting nobody) and, for many searches, where (movement.staff_blocks; a free staff
    # member does not move until assigned, and is then no longer free)
    searching = 0
    for i in range(level.size):
        if escort[i] < 0 and level[i] >= WITHIN_SIGHT and clients.present[i] and cell[i] >= 0:
            searching += 1
    free = np.zeros(staff.on_duty.size if searching > 0 else 0, dtype=np.bool_)
    n_free = 0
    for j in range(free.size):
        if staff.on_duty[j] and staff.cell[j] >= 0 and staff.escorting[j] < 0:
            free[j] = True
            n_free += 1
    located = not_located()
    if n_free > 0 and worth_locating(searching, staff.on_duty.size, n_cells):
        located = staff_blocks(staff.cell, n_cells // height, height)
    for wanted in (ARMS_LENGTH, WITHIN_SIGHT):
        for i in range(level.size):
            if level[i] != wanted or not clients.present[i] or clients.isolated[i] or cell[i] < 0:
                continue
            if escort[i] < 0:  # the nearest free on-duty staff member (ties: lowest index)
                if n_free > 0:
                    escort[i] = nearest_around(cell[i], free, staff.cell, n_cells // height, height, located)
                if escort[i] < 0:
                    continue  # nobody free
                staff.escorting[escort[i]] = i
                free[escort[i]] = False
                n_free -= 1
            j = escort[i]
            staff.cell[j] = cell[i]
            if wanted == ARMS_LENGTH:
                staff.observe_radius[j] = 0
    return np.flatnonzero(staff.cell != old)

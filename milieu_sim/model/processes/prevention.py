"""Prevention: staff time with clients: catching rising agitation early.

Rule (docs/ODD.md, "Prevention"), every waking hour, after the flashpoints and before escalation.  Each
on-duty staff member *on the floor* (on the grid, not in the office, the nurses' station zone, and not
escorting a client 1:1) checks in with one client: among the active clients (``hour.active``) in the staff
member's zone and within their field of view (Chebyshev distance <= ``staff.observe_radius``) who have not
been checked in with this hour, the one whose agitation is highest, if it is at or above
``early_warning_agitation``.  Staff act in roster order.  The staff member talks it through, and succeeds
with probability::

    P(success) = k_j * (0.5 + 0.5 T)          k_j: the staff member's de-escalation skill

(the form of verbal de-escalation's chance in 6.8, without a severity: nothing has happened yet).  On
success ``A *= 1 - check_in_calm`` and ``T += check_in_trust_gain * (1 - T)``; on failure nothing changes.
Each check-in is a ``check_in`` event (category ``prevention``; outcome ``resolved`` or ``failed``): not
containment, not conflict.  So the staff's time on the floor (``staff_engagement``, processes.movement) and
their number act before an incident as well as in answer to one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import STEP, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, place, places, unplace, write_event
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, TRUST
from milieu_sim.model.streams import UNIFORM, take
from milieu_sim.model.ward import ZONE_CODE

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=("early_warning_agitation", "check_in_calm", "check_in_trust_gain"),
    reads=(
        "hour.active",
        "hour.step",
        "clients.cell",
        "clients.client_id",
        "staff.on_duty",
        "staff.cell",
        "staff.escorting",
        "staff.observe_radius",
        "staff.de_escalation_skill",
        "staff.staff_id",
    ),
    writes=("clients.agitation", "clients.trust"),
    streams={"prevention": ("talk",)},
    events=("check_in",),
)
# columns of the prevention block (OWNS.streams order)
(TALK,) = range(1)
CHECK_IN = KIND["check_in"]
RESOLVED, FAILED = OUTCOME["resolved"], OUTCOME["failed"]
#: The office: staff there are off the floor.
OFFICE = ZONE_CODE["nurses_station"]

PARAMETERS = ParameterRecord(OWNS.parameters, dict.fromkeys(OWNS.parameters, float))


class PreventionStaff(NamedTuple):
    """The staff arrays the check-in rule reads."""

    on_duty: np.ndarray
    cell: np.ndarray
    escorting: np.ndarray
    observe_radius: np.ndarray
    de_escalation_skill: np.ndarray
    staff_id: np.ndarray


class PreventionClients(NamedTuple):
    """The client arrays the check-in rule reads and writes."""

    values: np.ndarray
    cell: np.ndarray
    client_id: np.ndarray


def check_in(model: MilieuModel) -> None:
    """Staff on the floor check in with the most agitated client near them (rule in the module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    plan = model.plan
    return (model.staff.packed(PreventionStaff), model.clients.packed(PreventionClients), model.hour.active,
            plan.zone_flat, plan.height, PARAMETERS(model.p),
            places(plan.zone_flat.size, model.hour.active.size))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of prevention: the prevention block (one uniform per staff member), then ``_check_in`` (``near``:
    its scratch for who is where, ``common.places``); logs its check_in events."""
    draws, staff, clients, active, zone, height, parameters, near, nothing = arguments
    u = take(draws[0][0], draws[0][1], staff[0].size, 1)
    events = _check_in(u, staff, clients, active, np.int64(clock[STEP]), zone, height, parameters, near)
    return events, nothing[1], nothing[2]


PART = Part(_hour, _inputs, streams=(("prevention", 1, "staff", UNIFORM),))
check_in.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def on_floor(on_duty, cell, escorting, zone):
    """Whether a staff member (their ``on_duty``, ``cell`` and ``escorting``) is on the floor: on duty, on the
    grid, not in the office, not escorting.  (Given one person's values, not the roster's arrays and an index:
    a call in a loop over the roster that passes four arrays costs far more than the test itself.)"""
    if not on_duty or cell < 0 or escorting >= 0:
        return False
    return zone[cell] != OFFICE


@kernel(inline=True)
def _check_in(u, staff, clients, active, step, zone, height, parameters, near):
    """The rule of the module docstring; returns the hour's check_in event rows (roster order).  ``near``: scratch
    for the active clients by cell (``common.places``), emptied again before returning."""
    q = parameters[0]
    staff, clients = PreventionStaff(*staff), PreventionClients(*clients)
    x, cell = clients.values, clients.cell
    n = active.size
    taken = np.zeros(n, dtype=np.bool_)
    events = np.zeros((staff.on_duty.size, len(EVENT_COLUMNS)), dtype=np.int64)
    rows = 0
    # the active clients by cell (common.place), so each staff member looks only at the cells in their view
    # (built only when someone is on the floor and some active client is at or above the threshold)
    floor = False
    for j in range(staff.on_duty.size):
        if on_floor(staff.on_duty[j], staff.cell[j], staff.escorting[j], zone):
            floor = True
            break
    if not floor:
        return events[:0]
    warned = False
    for i in range(n):
        if active[i] and x[AGITATION, i] >= q.early_warning_agitation:
            warned = True
            break
    if not warned:  # nobody to check in with
        return events[:0]
    place(np.where(active, cell, -1), near)
    first, following = near[0], near[1]
    width = zone.size // height
    for j in range(staff.on_duty.size):
        if not on_floor(staff.on_duty[j], staff.cell[j], staff.escorting[j], zone):
            continue
        here = staff.cell[j]
        sx, sy = here // height, here % height
        r = staff.observe_radius[j]
        # the most agitated (ties: the lowest slot) of those at or above the threshold
        chosen = -1
        for cx in range(max(0, sx - r), min(width, sx + r + 1)):
            for cy in range(max(0, sy - r), min(height, sy + r + 1)):
                c = cx * height + cy
                if zone[c] != zone[here]:
                    continue
                i = first[c]
                while i >= 0:
                    if (
                        not taken[i]
                        and x[AGITATION, i] >= q.early_warning_agitation
                        and (
                            chosen < 0
                            or x[AGITATION, i] > x[AGITATION, chosen]
                            or (x[AGITATION, i] == x[AGITATION, chosen] and i < chosen)
                        )
                    ):
                        chosen = i
                    i = following[i]
        if chosen < 0:
            continue
        taken[chosen] = True
        success = u[j, TALK] < staff.de_escalation_skill[j] * (0.5 + 0.5 * x[TRUST, chosen])
        if success:
            x[AGITATION, chosen] *= 1.0 - q.check_in_calm
            x[TRUST, chosen] += q.check_in_trust_gain * (1.0 - x[TRUST, chosen])
        write_event(events, rows, step, clients.client_id[chosen], staff.staff_id[j], CHECK_IN, 0, 0,
                    RESOLVED if success else FAILED)  # fmt: skip
        rows += 1
    unplace(near)
    return events[:rows]

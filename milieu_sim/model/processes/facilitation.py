"""Facilitation: who leads this hour's structured activity, and how well: what a group teaches depends on it.

Rule (docs/ODD.md, "Facilitation"), every hour, after movement.  In a structured activity
(``hour.structured``) the facilitator is the on-duty staff member in the activity's zone (the zone of
``staff.cell`` equal to ``hour.zone``; not escorting a client 1:1, ``staff.escorting``) with the highest
facilitation skill, taken to be their role-model quality ``m_j`` (``staff.model_quality``: the same
person-level quality that makes a staff member a good model in 6.5 is what makes a group run well; an
assumption, there is no separate facilitation skill in the data).  How well the group is led::

    hour.facilitation = u + (1 - u) * max_j m_j                 a staff member leads
                      = u + (1 - u) * peer_facilitation * S_s   no staff member there; a senior resident s
                                                                attending leads (only where the community
                                                                practises peer feedback, ``peer_feedback``;
                                                                S_s their mean skill, the best senior's)
                      = u                                       nobody leads
                      = 1                                       outside structured activities (unused)

with u = ``unfacilitated_share``, the share of an activity's learning that happens with nobody leading.
Recovery (6.10) multiplies the learning of structured activities (self-control and skill practice) by it,
and insight (6.19) reads it for a group's insight: so what a group teaches depends on its facilitator being
there (staffing and ``staff_engagement``, which sends staff to the office, act through it) and on their skill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import FACILITATION, STRUCTURED, ZONE, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, mean_skill
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import SENIOR

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=("unfacilitated_share", "peer_facilitation", "peer_feedback"),
    reads=(
        "hour.structured",
        "hour.zone",
        "staff.on_duty",
        "staff.cell",
        "staff.escorting",
        "staff.model_quality",
        "clients.present",
        "clients.isolated",
        "clients.attending",
        "clients.cell",
        "clients.phase",
        "clients.skills",
    ),
    writes=("hour.facilitation",),
)


class FacilitationStaff(NamedTuple):
    """The staff arrays facilitation reads."""

    on_duty: np.ndarray
    cell: np.ndarray
    escorting: np.ndarray
    model_quality: np.ndarray


class FacilitationClients(NamedTuple):
    """The client arrays facilitation reads."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    attending: np.ndarray
    cell: np.ndarray
    phase: np.ndarray


PARAMETERS = ParameterRecord(
    OWNS.parameters, {"unfacilitated_share": float, "peer_facilitation": float, "peer_feedback": bool}
)


def lead(model: MilieuModel) -> None:
    """Who leads this hour's structured activity, and how well (rule in the module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    return (model.staff.packed(FacilitationStaff), model.clients.packed(FacilitationClients), model.plan.zone_flat,
            PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour's facilitation: ``_lead`` in a structured activity, else 1."""
    _draws, staff, clients, zone, parameters, nothing = arguments
    if clock[STRUCTURED] == 0.0:
        clock[FACILITATION] = 1.0
    else:
        clock[FACILITATION] = _lead(staff, clients, np.int64(clock[ZONE]), zone, parameters)
    return nothing


PART = Part(_hour, _inputs)
lead.part = PART  # type: ignore[attr-defined]


def facilitator(model: MilieuModel) -> int:
    """The staff member leading this hour's structured activity, or -1 (none there, or no structured activity)."""
    h = model.hour
    if not h.structured:
        return -1
    return int(_facilitator(model.staff.packed(FacilitationStaff), h.zone, model.plan.zone_flat))


@kernel(inline=True)
def _facilitator(staff, block_zone, zone):
    """The on-duty staff member in the block's zone, not escorting, with the highest model quality (ties: lowest
    index), or -1."""
    staff = FacilitationStaff(*staff)
    best, leader = -1.0, -1
    for j in range(staff.on_duty.size):
        here = staff.on_duty[j] and staff.cell[j] >= 0 and staff.escorting[j] < 0 and zone[staff.cell[j]] == block_zone
        if here and staff.model_quality[j] > best:
            best, leader = staff.model_quality[j], j
    return leader


@kernel(inline=True)
def _lead(staff, clients, block_zone, zone, parameters):
    """hour.facilitation for a structured activity (module docstring)."""
    q = parameters[0]
    leader = _facilitator(staff, block_zone, zone)
    if leader >= 0:
        skill = FacilitationStaff(*staff).model_quality[leader]
    else:
        skill = 0.0
        if q.peer_feedback:
            clients = FacilitationClients(*clients)
            for i in range(clients.present.size):
                if (
                    clients.present[i]
                    and clients.attending[i]
                    and not clients.isolated[i]
                    and clients.phase[i] == SENIOR
                    and clients.cell[i] >= 0
                    and zone[clients.cell[i]] == block_zone
                ):
                    skill = max(skill, q.peer_facilitation * mean_skill(clients.values, i))
    skill = min(max(skill, 0.0), 1.0)
    return q.unfacilitated_share + (1.0 - q.unfacilitated_share) * skill

"""Insight and empathy: from watching and talking through others' struggles, and from helping peers.

Rules (docs/ODD.md, "Insight and empathy"), every hour after the ward climate, with N the census, E this
hour's incident exposure (sum over incidents of severity / 5 * (1 + witnesses), escalation) and S the
community's struggles not yet talked through (``model.community.values[STRUGGLES]``)::

    S *= exp(-1 / (24 struggles_days));   S += struggles_gain * (1 - S) * E / N

In a group (a structured therapy group or community meeting, ``hour.kind``), with f = ``hour.facilitation``
(how well it is led, processes.facilitation), for every active client attending it (T trust, X insight,
P empathy)::

    X += insight_learning * f * (0.5 + 0.5 T) * (insight_floor + S) * (1 - X)
    P += empathy_learning * f * (insight_floor + S) * (1 - P)

and, if anyone attended, the group talks the struggles through: ``S *= 1 - talk_through_share * f``.
Every hour, each present client who sent k peer feedback messages since the last hour (a count difference
of ``clients.feedback_sent``) gains empathy by helping: ``P = 1 - (1 - P) (1 - helping_empathy_gain)^k``.

Watching: a witness of an incident gains ``witness_insight * severity / 5 * (1 - X)`` (escalation's
witness rule).  What insight does: under provocation it raises self-control in the incident chance
(escalation, ``insight_control``) and it helps skills transfer outside (aftercare, ``practice_insight``);
empathy restrains conflict with peers (interaction, ``empathy_restraint``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.compiled_hour import (
    AWAKE,
    FACILITATION,
    INCIDENT_EXPOSURE,
    KIND_CODE,
    KIND_OF,
    STRUCTURED,
    Part,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import EMPATHY, INSIGHT, STRUGGLES, TRUST

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "struggles_gain",
        "struggles_days",
        "talk_through_share",
        "insight_learning",
        "insight_floor",
        "empathy_learning",
        "helping_empathy_gain",
    ),
    reads=(
        "clients.present",
        "clients.attending",
        "clients.trust",
        "clients.feedback_sent",
        "hour.active",
        "hour.awake",
        "hour.structured",
        "hour.kind",
        "hour.facilitation",
        "hour.incident_exposure",
    ),
    writes=("clients.insight", "clients.empathy", "model.community"),
)
#: The kinds of activity in which the community talks through its struggles (``routine.KINDS`` names).


def _derive(p: dict) -> dict:
    return {
        "struggles_persistence": math.exp(-1.0 / (24.0 * p["struggles_days"])),
        "struggles_gain": p["struggles_gain"],
        "talk_through_share": p["talk_through_share"],
        "insight_learning": p["insight_learning"],
        "insight_floor": p["insight_floor"],
        "empathy_learning": p["empathy_learning"],
        "helping_empathy_gain": p["helping_empathy_gain"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    dict.fromkeys(
        (
            "struggles_persistence",  # exp(-1 / (24 struggles_days)), per hour
            "struggles_gain",
            "talk_through_share",
            "insight_learning",
            "insight_floor",
            "empathy_learning",
            "helping_empathy_gain",
        ),
        float,
    ),
    _derive,
)


#: The routine's kinds of group (codes of routine.KINDS) in which struggles are talked through.
_GROUP_CODES = (KIND_OF["therapy_group"], KIND_OF["community_meeting"])


@kernel(inline=True)
def in_group(clock):
    """Whether this hour is a group in which struggles are talked through (a structured therapy group or
    community meeting in waking hours), from the hour's ``clock``."""
    kind = clock[KIND_CODE]
    return clock[AWAKE] != 0.0 and clock[STRUCTURED] != 0.0 and (kind == _GROUP_CODES[0] or kind == _GROUP_CODES[1])


def reflect(model: MilieuModel) -> None:
    """Advance the community's struggles and the clients' insight and empathy by one hour (module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, community = model.clients, model.hour, model.community
    if community.feedback_seen.size != c.n:  # each slot's feedback sent at the last hour
        community.feedback_seen = np.zeros(c.n, dtype=np.int64)  # taken at insight's first hour (_hour)
    return (c.values, community.values, community.feedback_seen, community.counting, c.feedback_sent, c.present,
            c.attending, h.active, PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of insight: ``_reflect`` with the hour's group, facilitation and incident exposure.  At its first
    hour insight starts counting feedback: what was sent so far is taken as seen."""
    _draws, x, community, seen, counting, sent, present, attending, active, parameters, nothing = arguments
    if not counting[0]:
        seen[:] = sent
        counting[0] = True
    _reflect(x, community, seen, sent, present, attending, active, in_group(clock), clock[FACILITATION],
             clock[INCIDENT_EXPOSURE], parameters)  # fmt: skip
    return nothing


PART = Part(_hour, _inputs)
reflect.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _reflect(x, community, seen, sent, present, attending, active, group, facilitation, exposure, parameters):
    """The equations of the module docstring; ``seen``: each slot's feedback sent at the last hour."""
    q = parameters[0]
    census = 0.0
    for i in range(present.size):
        census += present[i]
    S = community[STRUGGLES] * q.struggles_persistence
    if census > 0:
        S += q.struggles_gain * (1.0 - S) * exposure / census
    S = min(max(S, 0.0), 1.0)
    talk = facilitation * (q.insight_floor + S)
    attended = False
    for i in range(present.size):
        helped = sent[i] - seen[i]
        seen[i] = sent[i]
        if not present[i]:
            continue
        if helped > 0:
            x[EMPATHY, i] = 1.0 - (1.0 - x[EMPATHY, i]) * (1.0 - q.helping_empathy_gain) ** helped
        if group and active[i] and attending[i]:
            attended = True
            x[INSIGHT, i] += q.insight_learning * talk * (0.5 + 0.5 * x[TRUST, i]) * (1.0 - x[INSIGHT, i])
            x[EMPATHY, i] += q.empathy_learning * talk * (1.0 - x[EMPATHY, i])
    if attended:
        S *= 1.0 - q.talk_through_share * facilitation
    community[STRUGGLES] = S

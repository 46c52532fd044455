"""Modeling: social learning from the people a client meets.

Rule (docs/ODD.md, "Modeling"), for every client i in a peaceful encounter with j::

    dX_i = modeling_rate * prestige_j * T_i * (M_j - X_i)

for X in the three goal skills and self-control, where the model's displayed
level M_j is the staff member's role-model quality (``staff_model_quality``,
drawn per staff member) or the peer's own level, and the prestige is
``staff_prestige`` for staff, ``senior_prestige`` for a senior peer and
``peer_prestige`` otherwise.  Clients learn more from those they trust (T_i)
and can also learn worse habits from a less skilled peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.compiled_hour import Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import CLIENT_PARTNER, NO_PARTNER, SENIOR, STAFF_PARTNER, TRUST

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

MODELED_ROWS = 4  # rows 0-3: the three skills and self-control


OWNS = Owns(
    parameters=("modeling_rate", "staff_prestige", "senior_prestige", "peer_prestige"),
    reads=(
        "clients.phase",
        "clients.trust",
        "hour.partner_kind",
        "hour.partner",
        "hour.conflictual",
        "staff.model_quality",
    ),
    writes=("clients.skills", "clients.self_control"),
)
PARAMETERS = ParameterRecord(OWNS.parameters, dict.fromkeys(OWNS.parameters, float))


def learn_by_modeling(model: MilieuModel) -> None:
    """Move each observer's skills and self-control towards their partner's."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h = model.clients, model.hour
    return c.values, c.phase, h.partner_kind, h.partner, h.conflictual, model.staff.model_quality, PARAMETERS(model.p)


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of modeling: ``_learn`` (no random draws, no clock fields)."""
    _draws, x, phase, partner_kind, partner, conflictual, model_quality, parameters, nothing = arguments
    _learn(x, phase, partner_kind, partner, conflictual, model_quality, parameters)
    return nothing


PART = Part(_hour, _inputs)
learn_by_modeling.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _learn(x, phase, partner_kind, partner, conflictual, model_quality, parameters):
    """dX_i = modeling_rate * prestige_j * T_i * (M_j - X_i), every M_j read before anyone learns."""
    q = parameters[0]
    learners = np.flatnonzero((partner_kind != NO_PARTNER) & ~conflictual)
    displayed = np.empty((MODELED_ROWS, learners.size))
    for a in range(learners.size):
        j = partner[learners[a]]
        for row in range(MODELED_ROWS):
            displayed[row, a] = model_quality[j] if partner_kind[learners[a]] == STAFF_PARTNER else x[row, j]
    for a in range(learners.size):
        i = learners[a]
        j = partner[i]
        if partner_kind[i] == STAFF_PARTNER:
            prestige = q.staff_prestige
        elif partner_kind[i] == CLIENT_PARTNER and phase[j] == SENIOR:
            prestige = q.senior_prestige
        else:
            prestige = q.peer_prestige
        step = q.modeling_rate * prestige * x[TRUST, i]
        for row in range(MODELED_ROWS):
            x[row, i] += step * (displayed[row, a] - x[row, i])

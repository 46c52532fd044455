"""The processes of one ward hour, one module per mechanism.

``MilieuModel.step`` runs them in a fixed order (see its docstring).  Each
process reads and updates the state arrays of :mod:`milieu_sim.model.state` for all
clients at once, draws its random numbers from its own named stream, and
states its rule as an equation in its docstring (mirrored in docs/ODD.md).
"""

from milieu_sim.model.processes import (
    escalation,
    feedback,
    flow,
    interaction,
    isolation,
    modeling,
    movement,
    recovery,
    staff_response,
)

__all__ = [
    "escalation",
    "feedback",
    "flow",
    "interaction",
    "isolation",
    "modeling",
    "movement",
    "recovery",
    "staff_response",
]

"""The processes of one ward hour, one module per mechanism.

``MilieuModel.step`` runs them in the order of the schedule
(:data:`milieu_sim.model.schedule.SCHEDULE`).  Each process reads and updates the
state arrays of :mod:`milieu_sim.model.state` for all clients at once, draws its
random numbers from its own named stream, states its rule as an equation in its
docstring (mirrored in docs/ODD.md), and declares what it owns in a module-level
``OWNS`` record: its parameters, the state it reads and writes, its random streams
and their columns, its event kinds and output columns.

A process's compiled kernel takes grouped, named inputs: the client (and staff,
hour) arrays it uses, named by a ``NamedTuple`` class of the module and passed as a
plain tuple (``clients.packed(Record)``, renamed inside with ``Record(*clients)``);
its parameter record (``PARAMETERS(model.p)``, a read-only record whose fields the
kernel reads as ``q.name``); and its random block, indexed by the column constants
its ``OWNS.streams`` names.  Rules that several processes use live once, in
:mod:`milieu_sim.model.processes.common` (and ``isolation.seclude``,
``movement.nearest_on_duty``).
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

"""Stretches of the compiled hour: consecutive phases whose processes are compiled parts, run as one call.

:func:`run_stretch` calls the parts of :data:`STRETCH_ORDER` in the schedule's order, each whose inputs are
given (not None); ``Schedule.run`` gives the inputs of a run of consecutive phases of this hour that are all
parts (see :mod:`milieu_sim.model.compiled_hour`).  The order here must be the default schedule's, which a test
checks; a part missing from it simply runs alone.
"""

from __future__ import annotations

import numpy as np

from milieu_sim.model.compiled_hour import Part, nothing_logged
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes import climate, insight, norms, recovery


def STRETCH_ORDER() -> tuple[Part, ...]:
    """The parts :func:`run_stretch` takes, in its (the schedule's) order."""
    return (climate.PART, norms.NORM_PART, insight.PART, recovery.PART)


@kernel
def _log(logs, part_logs):
    events, feedback, change = logs
    more_events, more_feedback, more_change = part_logs
    if more_events.shape[0]:
        events = np.concatenate((events, more_events))
    if more_feedback.shape[0]:
        feedback = np.concatenate((feedback, more_feedback))
        change = np.concatenate((change, more_change))
    return events, feedback, change


@kernel
def run_stretch(clock, a_climate, a_norms, a_insight, a_recovery):
    """Run the given parts in order (an argument of None: that part does not run in this stretch); return the
    rows they log, in order: (events, feedback, feedback change)."""
    logs = nothing_logged()
    if a_climate is not None:
        logs = _log(logs, climate._hour(clock, *a_climate))
    if a_norms is not None:
        logs = _log(logs, norms._norm_hour(clock, *a_norms))
    if a_insight is not None:
        logs = _log(logs, insight._hour(clock, *a_insight))
    if a_recovery is not None:
        logs = _log(logs, recovery._hour(clock, *a_recovery))
    return logs

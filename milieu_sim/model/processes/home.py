"""Home: where a day programme's clients are in the routine's ``away`` hours.

Rules (docs/ODD.md, "Home"), every away hour, for each present client who is at home
(``clients.on_unit`` false: not on the unit and off the census).  Home has its own day:
clients sleep there from :data:`HOME_SLEEP_STARTS` to :data:`HOME_WAKES` (clock hours) and are
awake at home otherwise (:func:`awake_at_home`; recovery then relaxes agitation at the waking
rate, not the sleeping one).  In each awake hour at home, independently:

* a stressor at home (family conflict, money, housing, substances) with probability
  ``home_stress_rate``: ``A += home_stress_agitation * (1 - T / 2)``;
* support at home (family, friends, community services) with probability
  ``home_support_rate``: ``A *= 1 - home_support_calm``.

What a client brings back from home is what the unit then meets in the morning; the unit's own
processes (interaction, feedback, staff response, incidents) do not run while clients are away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, TRUST

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel
    from milieu_sim.model.state import Hour

OWNS = Owns(
    parameters=("home_stress_rate", "home_stress_agitation", "home_support_rate", "home_support_calm"),
    reads=("hour.away", "hour.hour", "clients.present", "clients.on_unit", "clients.trust"),
    writes=("clients.agitation",),
    streams={"home": ("stress", "support")},
)
# columns of the home block (OWNS.streams order)
STRESS, SUPPORT = range(2)

#: Clients sleep at home from this clock hour ...
HOME_SLEEP_STARTS = 23
#: ... to this one (the acute ward's night: structure, not a quantity).
HOME_WAKES = 7

PARAMETERS = ParameterRecord(OWNS.parameters, dict.fromkeys(OWNS.parameters, float))


def awake_at_home(hour: Hour) -> bool:
    """Whether clients at home are awake this hour (an away hour outside the home's night)."""
    return hour.away and HOME_WAKES <= hour.hour < HOME_SLEEP_STARTS


def live_at_home(model: MilieuModel) -> None:
    """An hour at home for the clients who are away (rules in the module docstring)."""
    h, c = model.hour, model.clients
    if not awake_at_home(h):
        return
    u = model.streams["home"].random((c.n, 2))
    _home(u, c.values, c.present & ~c.on_unit, PARAMETERS(model.p))


@kernel
def _home(u, x, at_home, parameters):
    """Stressors and support at home (module docstring)."""
    q = parameters[0]
    for i in range(at_home.size):
        if not at_home[i]:
            continue
        if u[i, STRESS] < q.home_stress_rate:
            x[AGITATION, i] += q.home_stress_agitation * (1.0 - x[TRUST, i] / 2.0)
        if u[i, SUPPORT] < q.home_support_rate:
            x[AGITATION, i] *= 1.0 - q.home_support_calm
    return np.count_nonzero(at_home)

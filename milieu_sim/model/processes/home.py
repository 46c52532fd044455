"""Home: where a day programme's and an outpatient group's clients are when they are not on the unit.

Rules (docs/ODD.md, "Home").  Who comes: at the start of a routine block that clients come to from
home (the routine's ``from_home``: an outpatient group), a present client whom movement did not place
in the activity (``clients.attending`` false: they did not come, by the attendance rule of "Routine and
movement") and who is neither secluded nor in time-out stays at home: off the grid, ``clients.on_unit``
false, off the census.  A client admitted during such a block first comes to the next one.

Life at home, every away hour (and every hour of a ``from_home`` block), for each present client who
is at home
(``clients.on_unit`` false: not on the unit and off the census).  Home has its own day:
clients sleep there from :data:`HOME_SLEEP_STARTS` to :data:`HOME_WAKES` (clock hours) and are
awake at home otherwise (:func:`awake_at_home`; recovery then relaxes agitation at the waking
rate, not the sleeping one).  In each awake hour at home, independently:

* a stressor at home (family conflict, money, housing, substances) with probability
  ``home_stress_rate``: ``A += home_stress_agitation * (1 - T / 2)``;
* support at home (family, friends, community services) with probability
  ``home_support_rate``: ``A *= 1 - home_support_calm``.

What a client brings back from home is what the unit then meets in the morning (or at the next group);
the unit's own processes (interaction, feedback, staff response, incidents) act only on clients on the
unit, so they run for nobody while clients are away and only for those who came in a group's hours.
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
    reads=(
        "hour.away",
        "hour.hour",
        "hour.weekday",
        "hour.step",
        "hour.new_block",
        "model.routine",
        "clients.present",
        "clients.on_unit",
        "clients.attending",
        "clients.isolated",
        "clients.time_out_until",
        "clients.trust",
    ),
    writes=("clients.agitation", "clients.cell", "clients.on_unit"),
    streams={"home": ("stress", "support")},
)
# columns of the home block (OWNS.streams order)
STRESS, SUPPORT = range(2)

#: Clients sleep at home from this clock hour ...
HOME_SLEEP_STARTS = 23
#: ... to this one (the acute ward's night: structure, not a quantity).
HOME_WAKES = 7

PARAMETERS = ParameterRecord(OWNS.parameters, dict.fromkeys(OWNS.parameters, float))


@kernel
def home_awake(away, hour):
    """Whether clients at home are awake in this clock ``hour`` (an away hour outside the home's night)."""
    return away and HOME_WAKES <= hour < HOME_SLEEP_STARTS


def awake_at_home(hour: Hour) -> bool:
    """Whether clients at home are awake this hour (:func:`home_awake` of the hour)."""
    return bool(home_awake(hour.away, hour.hour))


def from_home(model: MilieuModel) -> bool:
    """Whether this hour's activity is one that clients come to from home (the routine's ``from_home``)."""
    h = model.hour
    return bool(model.routine.from_home[h.weekday * 24 + h.hour])


def live_at_home(model: MilieuModel) -> None:
    """Who stays at home, and an hour at home for the clients who are there (rules in the module docstring)."""
    h, c = model.hour, model.clients
    coming_from_home = from_home(model)
    if coming_from_home and h.new_block:
        stay_home(model)
    if not (awake_at_home(h) or (coming_from_home and HOME_WAKES <= h.hour < HOME_SLEEP_STARTS)):
        return
    u = model.streams["home"].random((c.n, 2))
    _home(u, c.values, c.present & ~c.on_unit, PARAMETERS(model.p))


def stay_home(model: MilieuModel) -> np.ndarray:
    """Clients who did not come to this block of a ``from_home`` activity stay at home; returns their slots."""
    c, h = model.clients, model.hour
    staying = np.flatnonzero(c.present & ~c.attending & ~c.isolated & (c.cell >= 0) & (c.time_out_until <= h.step))
    c.cell[staying] = -1
    c.on_unit[staying] = False
    model.positions.moved()
    return staying


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

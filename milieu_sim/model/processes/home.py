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

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import AWAY, HOUR, MOVED, NEW_BLOCK, STEP, WEEKDAY, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, TRUST
from milieu_sim.model.streams import UNIFORM, take

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


class HomeClients(NamedTuple):
    """The client arrays home reads and writes."""

    values: np.ndarray
    present: np.ndarray
    attending: np.ndarray
    isolated: np.ndarray
    cell: np.ndarray
    time_out_until: np.ndarray
    on_unit: np.ndarray


@kernel(inline=True)
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
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    return model.routine.from_home, model.clients.packed(HomeClients), PARAMETERS(model.p)


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour at home: at the start of a ``from_home`` block who stays at home (``_stay_home``); then, in an
    awake hour at home (or in a ``from_home`` block's hour outside the home's night), the home block (two uniforms
    per slot) and ``_home`` for the present clients not on the unit."""
    draws, from_home_table, clients, parameters, nothing = arguments
    hour = np.int64(clock[HOUR])
    coming_from_home = from_home_table[np.int64(clock[WEEKDAY]) * 24 + hour]
    if coming_from_home and clock[NEW_BLOCK] != 0.0:
        _stay_home(clients, np.int64(clock[STEP]))
        clock[MOVED] = 1.0
    if not (home_awake(clock[AWAY] != 0.0, hour) or (coming_from_home and HOME_WAKES <= hour < HOME_SLEEP_STARTS)):
        return nothing
    named = HomeClients(*clients)
    present, on_unit = named.present, named.on_unit
    u = take(draws[0][0], draws[0][1], present.size, 2)
    at_home = np.empty(present.size, dtype=np.bool_)
    for i in range(present.size):
        at_home[i] = present[i] and not on_unit[i]
    _home(u, named.values, at_home, parameters)
    return nothing


PART = Part(_hour, _inputs, streams=(("home", 2, "clients", UNIFORM),))
live_at_home.part = PART  # type: ignore[attr-defined]


def stay_home(model: MilieuModel) -> np.ndarray:
    """Clients who did not come to this block of a ``from_home`` activity stay at home; returns their slots."""
    staying = _stay_home(model.clients.packed(HomeClients), model.hour.step)
    model.positions.moved()
    return staying


@kernel(inline=True)
def _stay_home(clients, step):
    """The present clients on the grid who are not attending, secluded or in time-out go home (off the grid, off
    the unit); returns their slots."""
    clients = HomeClients(*clients)
    staying = np.empty(clients.present.size, dtype=np.int64)
    k = 0
    for i in range(clients.present.size):
        if (
            clients.present[i]
            and not clients.attending[i]
            and not clients.isolated[i]
            and clients.cell[i] >= 0
            and clients.time_out_until[i] <= step
        ):
            staying[k] = i
            k += 1
    for a in range(k):
        clients.cell[staying[a]] = -1
        clients.on_unit[staying[a]] = False
    return staying[:k]


@kernel(inline=True)
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

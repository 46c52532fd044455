"""Temporary isolation: seclusion in the seclusion room, the last resort.

Rules (docs/ODD.md, "Temporary isolation"):

* A seclusion (decided in escalation) moves the client to a cell of the
  seclusion room for a planned ``D = max(1, round(-seclusion_hours * ln u))``
  hours (exponential with mean ``seclusion_hours``; AIHW: about 6 h).  A
  secluded client takes part in nothing and has no incidents.
  The two uniforms come from the ``isolation`` stream, drawn for every slot
  each hour (:func:`draw`, into ``hour.seclusion_draws``) before escalation
  starts any seclusion with :func:`seclude`.
* Each hour at whose end the client is secluded counts one isolation hour (the hour it
  started, not the hour of release: the same count as ``steps.n_isolated``).  At the planned end the
  client is released if agitation has fallen below ``release_agitation``; otherwise seclusion is
  extended hour by hour, up to ``seclusion_hours`` beyond the planned end.
* After-effects on release: resentment ``+ resentment_gain * release_resentment_share`` and
  independence ``- seclusion_independence_loss`` (on top of the trust lost when it started).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import write_event
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import INDEPENDENCE, RESENTMENT
from milieu_sim.model.ward import ZONE_CODE

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "seclusion_hours",
        "release_agitation",
        "resentment_gain",
        "release_resentment_share",
        "seclusion_independence_loss",
    ),
    reads=("clients.agitation", "clients.isolated_until", "clients.bed", "clients.client_id", "hour.step"),
    writes=(
        "hour.seclusion_draws",
        "clients.isolated",
        "clients.isolation_hours",
        "clients.resentment",
        "clients.independence",
        "clients.cell",
    ),
    streams={"isolation": ("duration", "room_cell")},
    events=("seclusion_release",),
)
# columns of the isolation block (OWNS.streams order)
DURATION, ROOM_CELL = range(2)
SECLUSION = ZONE_CODE["seclusion_room"]
SECLUSION_RELEASE = KIND["seclusion_release"]


class SeclusionClients(NamedTuple):
    """The client arrays a seclusion's start writes."""

    isolated: np.ndarray
    isolated_until: np.ndarray
    times_isolated: np.ndarray
    time_out_until: np.ndarray
    cell: np.ndarray


def draw(model: MilieuModel) -> None:
    """This hour's uniforms of the isolation stream (two per slot: DURATION, ROOM_CELL), into
    ``hour.seclusion_draws``; drawn every hour before any seclusion starts (escalation starts them)."""
    model.hour.seclusion_draws = model.streams["isolation"].random((model.clients.n, 2))


def start_seclusion(model: MilieuModel, slot: int) -> None:
    """Put a client in the seclusion room for a planned duration (from this hour's isolation draws)."""
    c, h = model.clients, model.hour
    seclude(c.view(SeclusionClients), slot, h.seclusion_draws[slot], model.plan.zone_cells[SECLUSION], h.step,
            model.p["seclusion_hours"])  # fmt: skip
    model.positions.moved()  # Mesa's view follows when read (milieu_sim.model.positions)


@kernel
def seclude(clients, i, u, seclusion_cells, step, hours):
    """Start the seclusion of client i from its two isolation uniforms u: D = max(1, round(-hours ln u[DURATION]))
    hours, in seclusion cell number floor(u[ROOM_CELL] * cells).  ``clients``: any record with the fields of
    :class:`SeclusionClients`.  (Moving the Mesa agent is the caller's job.)"""
    duration = max(1, int(np.rint(-hours * np.log(max(u[DURATION], 1e-12)))))
    clients.isolated[i] = True
    clients.isolated_until[i] = step + duration
    clients.times_isolated[i] += 1
    clients.time_out_until[i] = 0
    clients.cell[i] = seclusion_cells[int(u[ROOM_CELL] * seclusion_cells.size)]


def release(model: MilieuModel, slot: int, outcome: str = "ended") -> None:
    """End a seclusion; the client returns to their bed and rejoins the routine next block."""
    release_all(model, np.array([slot]), outcome)


class ReleaseClients(NamedTuple):
    """The client arrays a release reads and writes."""

    values: np.ndarray
    isolated: np.ndarray
    client_id: np.ndarray
    bed: np.ndarray
    cell: np.ndarray


def release_all(model: MilieuModel, slots: np.ndarray, outcome: str = "ended") -> None:
    """End the seclusions of clients ``slots``, one after another in that order (:func:`release`'s rule)."""
    c, h, p = model.clients, model.hour, model.p
    rise = p["resentment_gain"] * p["release_resentment_share"]
    events = _release(c.packed(ReleaseClients), slots, h.step, OUTCOME[outcome], rise, p["seclusion_independence_loss"])
    model.records.events.add_rows(events)
    model.positions.moved()


@kernel
def _release(clients, slots, step, outcome, resentment_rise, independence_loss):
    """The after-effects of release (module docstring) for each of ``slots``: R = min(1, R + resentment_rise),
    I = max(0, I - independence_loss) (as Python's min and max: the bound unless the value is beyond it), back to
    the bed; returns their ``seclusion_release`` event rows, in the order of ``slots``."""
    c = ReleaseClients(*clients)
    x = c.values
    events = np.zeros((slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
    for a in range(slots.size):
        i = slots[a]
        c.isolated[i] = False
        resentment = x[RESENTMENT, i] + resentment_rise
        x[RESENTMENT, i] = resentment if resentment < 1.0 else 1.0
        independence = x[INDEPENDENCE, i] - independence_loss
        x[INDEPENDENCE, i] = independence if independence > 0.0 else 0.0
        write_event(events, a, step, c.client_id[i], -1, SECLUSION_RELEASE, 0, 0, outcome)
        c.cell[i] = c.bed[i]
    return events


def isolate(model: MilieuModel) -> None:
    """Count seclusion hours and release those whose seclusion is over."""
    c, h, p = model.clients, model.hour, model.p
    if not c.isolated.any():
        return
    slots = _to_release(c.isolated, c.isolated_until, c.agitation, h.step, p["release_agitation"], p["seclusion_hours"])
    if slots.size:
        release_all(model, slots)
    _count_hours(c.isolated, c.isolation_hours)


@kernel
def _to_release(isolated, isolated_until, agitation, step, release_agitation, seclusion_hours):
    """The secluded clients (slot order) at or past their planned end who are calm (A < release_agitation) or
    ``seclusion_hours`` past it."""
    slots = np.empty(isolated.size, dtype=np.int64)
    n = 0
    for i in range(isolated.size):
        due = isolated[i] and isolated_until[i] <= step
        if due and (agitation[i] < release_agitation or isolated_until[i] + seclusion_hours <= step):
            slots[n] = i
            n += 1
    return slots[:n]


@kernel
def _count_hours(isolated, isolation_hours):
    """The hours at whose end the client is secluded: the start hour, not the release hour (as steps.n_isolated)."""
    for i in range(isolated.size):
        if isolated[i]:
            isolation_hours[i] += 1

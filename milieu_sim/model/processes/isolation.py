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

from milieu_sim.model.compiled_hour import MOVED, STEP, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import write_event
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import AGITATION, INDEPENDENCE, RESENTMENT
from milieu_sim.model.streams import UNIFORM, take
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
RELEASE, RELEASED = KIND["seclusion_release"], OUTCOME["ended"]


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
    DRAW_PART.run(model)


def _draw_inputs(model: MilieuModel) -> tuple:
    return (model.hour.seclusion_draws,)


@kernel(inline=True)
def _draw_hour(clock, arguments):
    """The hour's isolation block (slots x (DURATION, ROOM_CELL)), copied into ``seclusion_draws`` (the hour's
    array, filled in place)."""
    draws, seclusion_draws, nothing = arguments
    seclusion_draws[:, :] = take(draws[0][0], draws[0][1], seclusion_draws.shape[0], 2)
    return nothing


DRAW_PART = Part(_draw_hour, _draw_inputs, streams=(("isolation", 2, "clients", UNIFORM),))
draw.part = DRAW_PART  # type: ignore[attr-defined]


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
    c, p = model.clients, model.p
    events = np.zeros((1, len(EVENT_COLUMNS)), dtype=np.int64)
    _release(c.values, c.isolated, c.cell, c.bed, c.client_id, slot, events, 0, model.hour.step, OUTCOME[outcome],
             p["resentment_gain"], p["release_resentment_share"], p["seclusion_independence_loss"])  # fmt: skip
    model.records.events.add_rows(events)
    model.positions.moved()


@kernel(inline=True)
def _release(x, isolated, cell, bed, client_id, i, events, row, step, outcome, resentment_gain, resentment_share,
             independence_loss):  # fmt: skip
    """End client i's seclusion (module docstring): resentment + resentment_gain * release_resentment_share
    (at most 1), independence - seclusion_independence_loss (at least 0), a seclusion_release event in row
    ``row`` of ``events``, and the client back in their bed's cell.  (Moving the Mesa agent is the caller's job.)"""
    isolated[i] = False
    x[RESENTMENT, i] = min(1.0, x[RESENTMENT, i] + resentment_gain * resentment_share)
    x[INDEPENDENCE, i] = max(0.0, x[INDEPENDENCE, i] - independence_loss)
    write_event(events, row, step, client_id[i], -1, RELEASE, 0, 0, outcome)
    cell[i] = bed[i]


def isolate(model: MilieuModel) -> None:
    """Count seclusion hours and release those whose seclusion is over."""
    ISOLATE_PART.run(model)


def _isolate_inputs(model: MilieuModel) -> tuple:
    c, p = model.clients, model.p
    rule = (float(p["release_agitation"]), float(p["seclusion_hours"]), float(p["resentment_gain"]),
            float(p["release_resentment_share"]), float(p["seclusion_independence_loss"]))  # fmt: skip
    return c.values, c.isolated, c.isolated_until, c.cell, c.bed, c.client_id, c.isolation_hours, rule


@kernel(inline=True)
def _isolate_hour(clock, arguments):
    """The hour of isolation: release the secluded clients whose seclusion is over (slot order, one
    seclusion_release event each), then count the hour for those still secluded."""
    _draws, x, isolated, isolated_until, cell, bed, client_id, isolation_hours, rule, nothing = arguments
    release_agitation, seclusion_hours, resentment_gain, resentment_share, independence_loss = rule
    events = nothing[0]
    if isolated.any():
        step = np.int64(clock[STEP])
        slots = _to_release(isolated, isolated_until, x[AGITATION], step, release_agitation, seclusion_hours)
        events = np.zeros((slots.size, len(EVENT_COLUMNS)), dtype=np.int64)
        for k in range(slots.size):
            _release(x, isolated, cell, bed, client_id, slots[k], events, k, step, RELEASED, resentment_gain,
                     resentment_share, independence_loss)  # fmt: skip
            clock[MOVED] = 1.0
        _count_hours(isolated, isolation_hours)
    return events, nothing[1], nothing[2]


ISOLATE_PART = Part(_isolate_hour, _isolate_inputs)
isolate.part = ISOLATE_PART  # type: ignore[attr-defined]


@kernel(inline=True)
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


@kernel(inline=True)
def _count_hours(isolated, isolation_hours):
    """The hours at whose end the client is secluded: the start hour, not the release hour (as steps.n_isolated)."""
    for i in range(isolated.size):
        if isolated[i]:
            isolation_hours[i] += 1

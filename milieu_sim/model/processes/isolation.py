"""Temporary isolation: seclusion in the seclusion room, the last resort.

Rules (docs/ODD.md, "Temporary isolation"):

* A seclusion (decided in escalation) moves the client to a cell of the
  seclusion room for a planned ``D = max(1, round(-seclusion_hours * ln u))``
  hours (exponential with mean ``seclusion_hours``; AIHW: about 6 h).  A
  secluded client takes part in nothing and has no incidents.
* Each hour in seclusion counts one isolation hour.  At the planned end the
  client is released if agitation has fallen below 0.5; otherwise seclusion is
  extended hour by hour, up to ``seclusion_hours`` beyond the planned end.
* After-effects on release: resentment ``+ resentment_gain / 2`` and
  independence ``- 0.02`` (on top of the trust lost when it started).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.records import KIND, OUTCOME
from milieu_sim.model.ward import ZONE_CODE

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

RELEASE_AGITATION = 0.5
SECLUSION = ZONE_CODE["seclusion_room"]


def draw(model: MilieuModel) -> None:
    """This hour's uniforms of the isolation stream (two per slot), drawn before any seclusion starts."""
    model._isolation_draws = model.streams["isolation"].random((model.clients.n, 2))


def start_seclusion(model: MilieuModel, slot: int) -> None:
    """Put a client in the seclusion room for a planned duration."""
    c, h, p = model.clients, model.hour, model.p
    _seclude(slot, model._isolation_draws[slot], c.isolated, c.isolated_until, c.times_isolated, c.time_out_until,
             c.cell, model.plan.zone_cells[SECLUSION], h.step, p["seclusion_hours"])  # fmt: skip
    agent = model.client_agents[slot]
    if agent is not None:
        agent.cell = model.cells[c.cell[slot]]


@kernel
def _seclude(i, u, isolated, isolated_until, times_isolated, time_out_until, cell, seclusion_cells, step, hours):
    """Seclusion of client i from its two isolation uniforms u: D = max(1, round(-hours ln u0)) hours, in
    seclusion cell number floor(u1 * cells).  (Moving the Mesa agent is the caller's job.)"""
    duration = max(1, int(np.rint(-hours * np.log(max(u[0], 1e-12)))))
    isolated[i] = True
    isolated_until[i] = step + duration
    times_isolated[i] += 1
    time_out_until[i] = 0
    cell[i] = seclusion_cells[int(u[1] * seclusion_cells.size)]


def release(model: MilieuModel, slot: int, outcome: str = "ended") -> None:
    """End a seclusion; the client returns to their bed and rejoins the routine next block."""
    c, h, p = model.clients, model.hour, model.p
    c.isolated[slot] = False
    c.resentment[slot] = min(1.0, c.resentment[slot] + p["resentment_gain"] / 2.0)
    c.independence[slot] = max(0.0, c.independence[slot] - 0.02)
    model.records.events.add(
        1,
        step=h.step,
        client_id=int(c.client_id[slot]),
        staff_id=-1,
        kind=KIND["seclusion_release"],
        severity=0,
        antecedent=0,
        outcome=OUTCOME[outcome],
    )
    bed = int(c.bed[slot])
    c.cell[slot] = bed
    agent = model.client_agents[slot]
    if agent is not None:
        agent.cell = model.cells[bed]


def isolate(model: MilieuModel) -> None:
    """Count seclusion hours and release those whose seclusion is over."""
    c, h, p = model.clients, model.hour, model.p
    if not c.isolated.any():
        return
    secluded = np.flatnonzero(c.isolated)
    c.isolation_hours[secluded] += 1
    due = secluded[c.isolated_until[secluded] <= h.step]
    calm = c.agitation[due] < RELEASE_AGITATION
    overdue = c.isolated_until[due] + p["seclusion_hours"] <= h.step
    for slot in due[calm | overdue].tolist():
        release(model, slot)

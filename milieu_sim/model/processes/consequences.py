"""Consequences of transgressions: what one costs (its target, the norm), what a punishment teaches onlookers.

Rules (docs/ODD.md, "Consequences of transgressions and punishment"), in waking hours, after peer feedback
and staff response have answered the hour's acts:

* Every transgression of client i this hour (interaction) is *addressed* (``hour.addressed[i]``: staff
  punished it, set a limit or settled it by clear mutual expectations, or a peer or staff member sent a
  correction) or *unaddressed*.  It is counted (``clients.transgressions``; ``hour.addressed_transgressions``
  or ``hour.unaddressed_transgressions``, which the community norm reads), an unaddressed one also in
  ``clients.open_transgressions`` (what the next community meeting confronts), and logged as a
  ``transgression`` event: outcome ``punished``, ``addressed`` or ``unaddressed``, ``staff_id`` the staff
  member who saw it (none if unseen), target the encounter partner if a client.
* A transgression in an encounter with a peer j harms j (h = 1 if unaddressed, ``addressed_harm_share`` if
  answered on the spot)::

      A_j += h * transgression_harm * (1 - T_j / 2);   T_j -= h * transgression_trust_loss * T_j

  and sets j's antecedent to ``peer_conflict`` with i as its source, so an incident of j's that follows may
  target i (escalation).
* Every prosocial act adds 1 to ``clients.progress_acts`` (what the next community meeting affirms).
* Deterrence: each active client k who saw a punishment (same zone, within ``witness_radius`` cells,
  Chebyshev; the punished client excluded) has ``U_k = max(U_k, punishment_deterrence *
  punishment_suppression)`` (U = suppression, which fades with ``suppression_hours``, recovery).
* Extinction: every present client's expectation of reward fades, ``N *= exp(-1 / (24 incentive_days))``
  per waking hour (this phase runs in waking hours only, so the time constant counts waking hours:
  extinction proceeds through unrewarded occasions to act, which sleep does not give).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import ADDRESSED as ADDRESSED_COUNT
from milieu_sim.model.compiled_hour import STEP, Part
from milieu_sim.model.compiled_hour import UNADDRESSED as UNADDRESSED_COUNT
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, place, places, unplace, write_event
from milieu_sim.model.processes.movement import observers_now, sight
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    CLIENT_PARTNER,
    INCENTIVE,
    PEER_CONFLICT,
    PROSOCIAL,
    SUPPRESSION,
    TARGET_CLIENT,
    TRANSGRESSION,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

TRANSGRESSION_KIND = KIND["transgression"]
PUNISHED, ADDRESSED, UNADDRESSED = OUTCOME["punished"], OUTCOME["addressed"], OUTCOME["unaddressed"]

OWNS = Owns(
    parameters=(
        "transgression_harm",
        "transgression_trust_loss",
        "addressed_harm_share",
        "punishment_deterrence",
        "punishment_suppression",
        "witness_radius",
        "incentive_days",
    ),
    reads=(
        "hour.behaviour",
        "hour.active",
        "hour.partner_kind",
        "hour.partner",
        "hour.addressed",
        "hour.punished",
        "hour.observer",
        "hour.step",
        "clients.present",
        "clients.cell",
        "clients.client_id",
        "staff.staff_id",
    ),
    writes=(
        "clients.agitation",
        "clients.trust",
        "clients.suppression",
        "clients.incentive",
        "clients.antecedent",
        "clients.antecedent_step",
        "clients.antecedent_source",
        "clients.antecedent_source_kind",
        "clients.transgressions",
        "clients.open_transgressions",
        "clients.progress_acts",
        "hour.addressed_transgressions",
        "hour.unaddressed_transgressions",
    ),
    events=("transgression",),
)


class ConsequenceClients(NamedTuple):
    """The client arrays the consequences rule reads and writes."""

    values: np.ndarray
    present: np.ndarray
    cell: np.ndarray
    client_id: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    antecedent_source: np.ndarray
    antecedent_source_kind: np.ndarray
    transgressions: np.ndarray
    open_transgressions: np.ndarray
    progress_acts: np.ndarray


class Acts(NamedTuple):
    """The hour's acts and how they were answered."""

    active: np.ndarray
    behaviour: np.ndarray
    partner_kind: np.ndarray
    partner: np.ndarray
    addressed: np.ndarray
    punished: np.ndarray


def _derive(p: dict) -> dict:
    return {
        **p,
        "onlooker_suppression": p["punishment_deterrence"] * p["punishment_suppression"],
        "incentive_decay": math.exp(-1.0 / (24.0 * p["incentive_days"])),
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {
        "transgression_harm": float,
        "transgression_trust_loss": float,
        "addressed_harm_share": float,
        "onlooker_suppression": float,  # punishment_deterrence * punishment_suppression
        "witness_radius": int,
        "incentive_decay": float,  # exp(-1 / (24 incentive_days)), per waking hour
    },
    _derive,
)


def follow(model: MilieuModel) -> None:
    """What a transgression costs (its target, the norm) and what a punishment teaches those who saw it."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, s = model.clients, model.hour, model.staff
    return (c.packed(ConsequenceClients), h.packed(Acts), sight(model), s.staff_id, model.plan.zone_flat,
            model.plan.height, PARAMETERS(model.p), places(model.plan.zone_flat.size, c.cell.size))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of consequences: who sees whom (``movement.observers_now``), then ``_follow`` (``near``: its
    scratch for who is where, ``common.places``); adds the hour's addressed and unaddressed transgressions to the
    clock and logs its events."""
    _draws, clients, acts, seen, staff_id, zone, height, parameters, near, nothing = arguments
    observer = observers_now(clock, seen)
    events, tallies = _follow(clients, acts, observer, staff_id, zone, height, np.int64(clock[STEP]), parameters,
                              near)  # fmt: skip
    clock[ADDRESSED_COUNT] += tallies[0]
    clock[UNADDRESSED_COUNT] += tallies[1]
    _, no_feedback, no_change = nothing
    return events, no_feedback, no_change


PART = Part(_hour, _inputs)
follow.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _follow(clients, acts, observer, staff_id, zone, height, step, parameters, near):
    """The rules of the module docstring (``near``: scratch for the clients by cell, ``common.places``, emptied
    again after).  Returns (the hour's transgression event rows in slot order, (addressed, unaddressed)
    transgressions)."""
    q = parameters[0]
    clients, acts = ConsequenceClients(*clients), Acts(*acts)
    x = clients.values
    n = x.shape[1]
    tallies = np.zeros(2, dtype=np.int64)
    n_events = 0
    for i in range(n):
        if acts.active[i] and acts.behaviour[i] == TRANSGRESSION:
            n_events += 1
    events = np.zeros((n_events, len(EVENT_COLUMNS)), dtype=np.int64)
    # the outcome of each transgression first (the harm below changes antecedents, not the answers)
    row = 0
    for i in range(n):
        if not acts.active[i]:
            continue
        if acts.behaviour[i] == PROSOCIAL:
            clients.progress_acts[i] += 1
            continue
        if acts.behaviour[i] != TRANSGRESSION:
            continue
        clients.transgressions[i] += 1
        if acts.addressed[i]:
            tallies[0] += 1
            outcome = PUNISHED if acts.punished[i] else ADDRESSED
        else:
            tallies[1] += 1
            clients.open_transgressions[i] += 1
            outcome = UNADDRESSED
        staff = staff_id[observer[i]] if observer[i] >= 0 else -1
        write_event(events, row, step, clients.client_id[i], staff, TRANSGRESSION_KIND, 0, 0, outcome)
        if acts.partner_kind[i] == CLIENT_PARTNER:
            events[row, 7], events[row, 8] = TARGET_CLIENT, clients.client_id[acts.partner[i]]
        row += 1
    # what each transgression costs its target
    for i in range(n):
        if not (acts.active[i] and acts.behaviour[i] == TRANSGRESSION and acts.partner_kind[i] == CLIENT_PARTNER):
            continue
        j = acts.partner[i]
        h = q.addressed_harm_share if acts.addressed[i] else 1.0
        x[AGITATION, j] += h * q.transgression_harm * (1.0 - x[TRUST, j] / 2.0)
        x[TRUST, j] -= h * q.transgression_trust_loss * x[TRUST, j]
        clients.antecedent[j], clients.antecedent_step[j] = PEER_CONFLICT, step
        clients.antecedent_source[j], clients.antecedent_source_kind[j] = i, CLIENT_PARTNER
    # deterrence: those who saw a punishment
    punished_any = False
    for i in range(n):
        if acts.punished[i]:
            punished_any = True
            break
    if punished_any:
        place(clients.cell, near)
        first, following = near[0], near[1]
        radius = q.witness_radius
        width = zone.size // height
        for i in range(n):
            here = clients.cell[i]
            if not acts.punished[i] or here < 0:
                continue
            x0, y0 = here // height, here % height
            for cx in range(max(0, x0 - radius), min(width, x0 + radius + 1)):
                for cy in range(max(0, y0 - radius), min(height, y0 + radius + 1)):
                    cell = cx * height + cy
                    if zone[cell] != zone[here]:
                        continue
                    k = first[cell]
                    while k >= 0:
                        if k != i and acts.active[k]:
                            x[SUPPRESSION, k] = max(x[SUPPRESSION, k], q.onlooker_suppression)
                        k = following[k]
        unplace(near)
    # extinction: the expectation of reward fades
    for i in range(n):
        if clients.present[i]:
            x[INCENTIVE, i] *= q.incentive_decay
    return events, tallies

"""Community norms and community meetings: the strength of the community's norms, and community meetings that
confront and affirm in public.

Rules (docs/ODD.md, "Community norms and community meetings"):

* **The norm** N = ``model.community.values[NORM]`` in [0, 1], a ward-level state (starting at N0 =
  ``norm_baseline``), advanced every hour after the climate (:func:`update_norm`), with n the census
  (clients present) and k = 1 / (24 ``norm_days``)::

      N += k (N0 - N) + norm_senior_gain (1 - N) R / n - norm_erosion N U / n
                      - norm_turnover_loss N A / n + norm_addressed_gain (1 - N) D / n

  applied in the order written, then clipped to [0, 1]: R the present clients in the senior phase (norm
  strength is carried by senior residents: De Leon 2000), U and D this hour's transgressions left unaddressed
  and addressed (``hour.unaddressed_transgressions``, ``hour.addressed_transgressions``, counted by the
  consequences), A the clients admitted this hour (turnover: newcomers who do not yet know the norms).  A
  bed's turnover counts once, at the admission that refills it (a departure alone changes nobody's knowledge
  of the norms; a departing senior is already missed in R).
* **Peer pressure**: every client's chance of a transgression (interaction) is multiplied by
  :func:`transgression_factor`, max(0, 1 + ``norm_transgression_effect`` (N0 - N)): a strong norm lowers it,
  a weak one raises it, so unaddressed transgressions spread through the norm they wear down.
* **Community meetings** (:func:`hold_meeting`, waking hours; acts in the first hour of a
  ``community_meeting`` block of the routine): the attendees are the active clients attending it
  (movement).  Each attendee with unaddressed transgressions since the last meeting
  (``clients.open_transgressions`` > 0) is confronted in public with probability N, a correction by the
  community (``feedback.correct`` with gain g = ``meeting_feedback_gain``: self-control += g T (1 - C),
  agitation += g / 2 (1 - T)); each attendee with prosocial acts since the last meeting
  (``clients.progress_acts`` > 0) has their progress affirmed in public with probability N
  (``feedback.affirm_act`` with gain g: practice of the skill the meeting trains, trust += g / 2 (1 - T)).
  One uniform per slot and column of the ``community_meeting`` stream at each meeting.  Then N +=
  ``meeting_norm_gain`` (1 - N) (attendees / n), and the open transgressions and progress acts of everyone
  present are cleared.  The confrontations and affirmations are rows of the ``feedback`` table with
  sender role ``community`` (sender id -1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import (
    ADDRESSED,
    KIND_CODE,
    KIND_OF,
    NEW_BLOCK,
    STEP,
    TRAINS,
    UNADDRESSED,
    Part,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.processes.feedback import AFFIRMATION, COMMUNITY_SENDER, CORRECTION, affirm_act, correct
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import NORM, SENIOR
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "norm_baseline",
        "norm_days",
        "norm_senior_gain",
        "norm_erosion",
        "norm_turnover_loss",
        "norm_addressed_gain",
        "norm_transgression_effect",
        "meeting_feedback_gain",
        "meeting_norm_gain",
    ),
    reads=(
        "clients.present",
        "clients.phase",
        "clients.admitted_step",
        "clients.attending",
        "clients.client_id",
        "hour.active",
        "hour.kind",
        "hour.new_block",
        "hour.trains",
        "hour.unaddressed_transgressions",
        "hour.addressed_transgressions",
    ),
    writes=(
        "model.community",
        "clients.skills",
        "clients.trust",
        "clients.self_control",
        "clients.agitation",
        "clients.affirmation_memory",
        "clients.correction_memory",
        "clients.affirmations_received",
        "clients.corrections_received",
        "clients.open_transgressions",
        "clients.progress_acts",
    ),
    streams={"community_meeting": ("confront", "affirm")},
    columns=("steps.community_norm", "shifts.community_norm"),
)
CONFRONT, AFFIRM = 0, 1  # columns of the community_meeting stream's block
COMMUNITY_MEETING = KIND_OF["community_meeting"]  # the routine's code of a community meeting (compiled_hour.KIND_OF)


class MeetingClients(NamedTuple):
    """The client arrays a community meeting reads and writes."""

    values: np.ndarray
    present: np.ndarray
    attending: np.ndarray
    client_id: np.ndarray
    open_transgressions: np.ndarray
    progress_acts: np.ndarray
    affirmations_received: np.ndarray
    corrections_received: np.ndarray


class NormClients(NamedTuple):
    """The client arrays the norm counts."""

    present: np.ndarray
    phase: np.ndarray
    admitted_step: np.ndarray


def _derive(p: dict) -> dict:
    return {
        "baseline": p["norm_baseline"],
        "relax": 1.0 / (24.0 * p["norm_days"]),
        "senior_gain": p["norm_senior_gain"],
        "erosion": p["norm_erosion"],
        "turnover_loss": p["norm_turnover_loss"],
        "addressed_gain": p["norm_addressed_gain"],
        "transgression_effect": p["norm_transgression_effect"],
        "meeting_feedback_gain": p["meeting_feedback_gain"],
        "meeting_norm_gain": p["meeting_norm_gain"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    dict.fromkeys(
        (
            "baseline",
            "relax",  # 1 / (24 norm_days)
            "senior_gain",
            "erosion",
            "turnover_loss",
            "addressed_gain",
            "transgression_effect",
            "meeting_feedback_gain",
            "meeting_norm_gain",
        ),
        float,
    ),
    _derive,
)


def update_norm(model: MilieuModel) -> None:
    """Advance the community's norm by one hour (rule in the module docstring)."""
    NORM_PART.run(model)


def _norm_inputs(model: MilieuModel) -> tuple:
    return model.community.values, model.clients.packed(NormClients), PARAMETERS(model.p)


@kernel(inline=True)
def _norm_hour(clock, arguments):
    """The norm's hour: ``_update`` with the hour's unaddressed and addressed transgressions (consequences)."""
    _draws, community, clients, parameters, nothing = arguments
    _update(community, clients, np.int64(clock[STEP]), clock[UNADDRESSED], clock[ADDRESSED], parameters)
    return nothing


NORM_PART = Part(_norm_hour, _norm_inputs)
update_norm.part = NORM_PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _update(community, clients, step, unaddressed, addressed, parameters):
    """The norm's hourly equation (module docstring)."""
    q = parameters[0]
    present, phase, admitted_step = clients
    census = seniors = admitted = 0.0
    for i in range(present.size):
        if present[i]:
            census += 1.0
            if phase[i] == SENIOR:
                seniors += 1.0
            if admitted_step[i] == step:
                admitted += 1.0
    norm = community[NORM]
    norm += q.relax * (q.baseline - norm)
    if census > 0:
        norm += q.senior_gain * (1.0 - norm) * seniors / census
        norm -= q.erosion * norm * unaddressed / census
        norm -= q.turnover_loss * norm * admitted / census
        norm += q.addressed_gain * (1.0 - norm) * addressed / census
    community[NORM] = min(max(norm, 0.0), 1.0)


def hold_meeting(model: MilieuModel) -> None:
    """A community meeting in the first hour of a community_meeting block (rule in the module docstring)."""
    MEETING_PART.run(model)


def _meeting_inputs(model: MilieuModel) -> tuple:
    return model.clients.packed(MeetingClients), model.hour.active, model.community.values, PARAMETERS(model.p)


@kernel(inline=True)
def _meeting_hour(clock, arguments):
    """The hour of a community meeting: in the first hour of a community_meeting block, the community_meeting
    block (two uniforms per slot), then ``_meeting``; logs its feedback rows (nothing in any other hour)."""
    draws, clients, active, community, parameters, nothing = arguments
    events, rows, change = nothing
    if clock[KIND_CODE] == COMMUNITY_MEETING and clock[NEW_BLOCK] != 0.0:
        u = take(draws[0][0], draws[0][1], active.size, 2)
        rows, change = _meeting(u, clients, active, np.int64(clock[TRAINS]), np.int64(clock[STEP]), community,
                                parameters)  # fmt: skip
    return events, rows, change


MEETING_PART = Part(_meeting_hour, _meeting_inputs, streams=(("community_meeting", 2, "clients", UNIFORM),))
hold_meeting.part = MEETING_PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _meeting(u, clients, active, trains, step, community, parameters):
    """Confront and affirm in public, then strengthen the norm and clear the open tallies.

    Returns (rows of step, sender_id, receiver_id, sender_role, kind; behaviour_change) for the feedback table.
    """
    q = parameters[0]
    clients = MeetingClients(*clients)
    x = clients.values
    n = u.shape[0]
    norm = community[NORM]
    rows = np.zeros((2 * n, 5), dtype=np.int64)
    change = np.zeros(2 * n)
    k = 0
    census = attendees = 0.0
    for i in range(n):
        if not clients.present[i]:
            continue
        census += 1.0
        if clients.attending[i] and active[i]:
            attendees += 1.0
            for kind in (CORRECTION, AFFIRMATION):
                if kind == CORRECTION:
                    due = clients.open_transgressions[i] > 0 and u[i, CONFRONT] < norm
                else:
                    due = clients.progress_acts[i] > 0 and u[i, AFFIRM] < norm
                if not due:
                    continue
                if kind == CORRECTION:
                    change[k] = correct(x, clients.corrections_received, i, q.meeting_feedback_gain)
                else:
                    change[k] = affirm_act(x, clients.affirmations_received, i, trains, q.meeting_feedback_gain)
                rows[k, 0], rows[k, 1], rows[k, 2] = step, -1, clients.client_id[i]
                rows[k, 3], rows[k, 4] = COMMUNITY_SENDER, kind
                k += 1
        clients.open_transgressions[i] = 0
        clients.progress_acts[i] = 0
    if census > 0:
        norm += q.meeting_norm_gain * (1.0 - norm) * attendees / census
        community[NORM] = min(max(norm, 0.0), 1.0)
    return rows[:k], change[:k]


# --- what behaviour reads of the norm (read by the process named; the rule is written here once) -------------
def transgression_factor(model: MilieuModel) -> float:
    """Factor on every client's chance of a transgression (interaction):
    max(0, 1 + norm_transgression_effect * (norm_baseline - N))."""
    p = model.p
    return float(
        transgression_factor_of(model.community.values.item(NORM), p["norm_baseline"], p["norm_transgression_effect"])
    )


@kernel(inline=True)
def transgression_factor_of(norm, baseline, effect):
    """The factor on every client's chance of a transgression for the norm ``norm``, ``norm_baseline`` and
    ``norm_transgression_effect``: max(0, 1 + effect * (baseline - norm))."""
    return max(0.0, 1.0 + effect * (baseline - norm))

"""Personal responsibility and institutionalisation: independence as initiative, and its erosion by idle hours.

Rules (docs/ODD.md, "Personal responsibility and institutionalisation"), every waking hour, for each active
client (awake, present, not secluded: ``hour.active``), with I independence at the start of the hour,
S_d daily-living skill and u one uniform of the ``initiative`` stream::

    outside an attended activity, with probability  self_care_rate * I * (1 - custodial_care)  (u below it):
        S_d += self_care_learning * (1 - S_d);  I += self_care_independence_gain * (1 - I)      (practice)
    else, if idle (attending no activity of the routine, no encounter: hour.partner_kind == none, no act:
    hour.behaviour == none):
        I -= idle_erosion * I
    then  I += independence_gain * autonomy_support * (1 - I) - institutionalisation * custodial_care * I

"Attending" (``clients.attending``, set by movement) covers structured activities and the routine's meals
and hygiene hours, which everyone present attends; so idle hours are free-time hours, and structured
activities not attended, in which the client meets nobody and does nothing.

Independence drives initiative: a client practises daily-living tasks unprompted in proportion to it,
unless staff do those tasks for them (custodial care).  An idle hour (time spent doing nothing: Wing & Brown
1970, whose poverty of the social environment went with clinical poverty, and improving it reduced that;
Curson et al. 1992) wears it down; autonomy support builds it and custodial care wears it down directly.
There is no term in the length of stay: long custodial stays breed dependence only through what they
bring (more idle hours, tasks done for the client, fewer granted requests).  What reads independence:
requests (staff_response), attending structured activities (movement), the practice here, and outside
functioning at exit (flow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.compiled_hour import Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import DAILY_LIVING, INDEPENDENCE, NO_ACT, NO_PARTNER
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "self_care_rate",
        "self_care_learning",
        "self_care_independence_gain",
        "idle_erosion",
        "independence_gain",
        "autonomy_support",
        "institutionalisation",
        "custodial_care",
    ),
    reads=(
        "clients.attending",
        "hour.active",
        "hour.partner_kind",
        "hour.behaviour",
    ),
    writes=("clients.independence", "clients.daily_living_skill"),
    streams={"initiative": ("self_care",)},
)


def _derive(p: dict) -> dict:
    return {
        "self_care_rate": p["self_care_rate"] * (1.0 - p["custodial_care"]),
        "self_care_learning": p["self_care_learning"],
        "self_care_independence_gain": p["self_care_independence_gain"],
        "idle_erosion": p["idle_erosion"],
        "autonomy_gain": p["independence_gain"] * p["autonomy_support"],
        "custodial_loss": p["institutionalisation"] * p["custodial_care"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    dict.fromkeys(
        (
            "self_care_rate",  # self_care_rate * (1 - custodial_care)
            "self_care_learning",
            "self_care_independence_gain",
            "idle_erosion",
            "autonomy_gain",  # independence_gain * autonomy_support
            "custodial_loss",  # institutionalisation * custodial_care
        ),
        float,
    ),
    _derive,
)


def take_initiative(model: MilieuModel) -> tuple[int, int]:
    """Unprompted daily-living practice, idle hours and the pull of autonomy support and custodial care on
    independence (rule in the module docstring); returns the hour's (practices, idle hours)."""
    PART.run(model)
    return hour_counts(model)


def hour_counts(model: MilieuModel) -> tuple[int, int]:
    """The last hour's (practices, idle hours) of initiative, whether it ran alone or in a stretch."""
    counts = _counts(model)
    return int(counts[0]), int(counts[1])


def _counts(model: MilieuModel) -> np.ndarray:
    counts = getattr(model, "initiative_counts", None)
    if counts is None:
        counts = model.initiative_counts = np.zeros(2, dtype=np.int64)
    return counts


def _inputs(model: MilieuModel) -> tuple:
    c, h = model.clients, model.hour
    return c.values, h.active, c.attending, h.partner_kind, h.behaviour, _counts(model), PARAMETERS(model.p)


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of initiative: one uniform per slot, then ``_take_initiative``; the hour's counts into
    ``counts`` (practices, idle hours)."""
    draws, x, active, attending, partner_kind, behaviour, counts, parameters, nothing = arguments
    u = take(draws[0][0], draws[0][1], 1, x.shape[1])[0]
    counts[0], counts[1] = _take_initiative(x, u, active, attending, partner_kind, behaviour, parameters)
    return nothing


PART = Part(_hour, _inputs, streams=(("initiative", 1, "clients", UNIFORM),))
take_initiative.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _take_initiative(x, u, active, attending, partner_kind, behaviour, parameters):
    """The equations of the module docstring for every active slot; returns (practices, idle hours)."""
    q = parameters[0]
    I, S = x[INDEPENDENCE], x[DAILY_LIVING]
    practices = idle_hours = 0
    for i in range(active.size):
        if not active[i]:
            continue
        if not attending[i] and u[i] < q.self_care_rate * I[i]:
            S[i] += q.self_care_learning * (1.0 - S[i])
            I[i] += q.self_care_independence_gain * (1.0 - I[i])
            practices += 1
        elif not attending[i] and partner_kind[i] == NO_PARTNER and behaviour[i] == NO_ACT:
            I[i] -= q.idle_erosion * I[i]
            idle_hours += 1
        I[i] += q.autonomy_gain * (1.0 - I[i]) - q.custodial_loss * I[i]
    return practices, idle_hours

"""Staff response to behaviour: positive reinforcement, punishment, limit-setting, requests.

Rules (docs/ODD.md, "Staff response"), for acts seen by an on-duty staff
member (the client's observer: nearest staff within their observation radius):

* Prosocial act: reinforced with probability ``reinforcement_rate``, as a token
  with probability ``token_rewards``, else as praise.  Reinforcement raises the
  skill the current activity trains by ``r (1 - S)`` (outside such an activity the skill the client's
  treatment plan focuses on, ``clients.plan_focus`` (processes.planning), and for a client whose plan has no
  skill goal each of the three skills by ``r / 3 (1 - S_k)``) and trust by ``r / 2 (1 - T)`` (r =
  ``reinforcement_learning``), and moves the share of skill kept up by external
  rewards towards 1 for a token and 0 for praise: ``E += external_share_rate (token - E)``.
  It also raises the client's own expectation of reward, ``incentive`` N (which raises their chance of a
  prosocial act, interaction, and fades when rewards stop, consequences): ``N += token_incentive_gain (1 - N)``
  for a token, ``N += praise_incentive_gain (1 - N)`` for praise (a token, a tangible reward, teaches more).
* Transgression: punished (a restriction) with probability ``punishment_rate``,
  otherwise limited with probability ``limit_setting_rate`` (so a limit has
  unconditional probability ``(1 - punishment_rate) * limit_setting_rate``).  Both raise agitation
  (Papadopoulos et al. 2012: limit-setting is a common antecedent of aggression,
  more so when punitive and when trust is low)::

      dA = limit_setting_agitation * (1 + punitive) * (1 - T / 2)

  (punitive = ``punitive_agitation`` for a punishment, 0 for a limit or a denied request).

  A punishment also suppresses transgressions now (``suppression =
  max(suppression, punishment_suppression)``, fading with time constant
  ``suppression_hours``), erodes trust (``T -= punishment_trust_loss``) and adds resentment
  (``R += resentment_gain``), which feeds agitation for days, and costs initiative
  (``I -= punishment_initiative_loss I``: behaviour run by others' sanctions, not one's own choices).
  The punished client is marked (``hour.punished``, ``clients.punishments``); consequences makes the
  punishment deter those who saw it.
* Every transgression staff punish, limit or settle by clear mutual expectations is marked addressed
  (``hour.addressed``; a correction by feedback marks it too), which consequences reads.
* Requests come from initiative: an active client asks staff for something with probability
  ``min(1, 2 request_rate I)`` (``request_rate`` at independence I = 0.5); it is denied with probability
  ``request_denial_rate``
  (``dA = limit_setting_agitation * (1 - T / 2)``, ``T -= denied_request_trust_loss``, antecedent
  ``denied_request``) or granted (``T += granted_request_trust_gain (1 - T)``,
  ``I += granted_request_independence_gain (1 - I)``).
* Safewards levers (Bowers et al. 2015), each a fidelity 0-1 (0 under usual care):
  ``clear_mutual_expectations`` (e): a share ``e * expectations_effect`` of observed transgressions
  is settled by pointing to the mutually agreed expectations, with neither punishment nor limit
  (both chances above are multiplied by ``1 - e * expectations_effect``, on the same draws);
  ``soft_words`` (w): limits and denied requests are delivered softly, their agitation and the
  denial's trust loss multiplied by ``1 - w * soft_words_effect`` (punishments are not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from milieu_sim.model.compiled_hour import STEP, TRAINS, Part
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.common import ParameterRecord, practise_skills, write_event
from milieu_sim.model.processes.movement import observers_now, sight
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    DENIED_REQUEST,
    EXTERNAL_SHARE,
    INCENTIVE,
    INDEPENDENCE,
    LIMIT_SETTING,
    PROSOCIAL,
    PUNISHMENT,
    RESENTMENT,
    SUPPRESSION,
    TRANSGRESSION,
    TRUST,
)
from milieu_sim.model.streams import UNIFORM, take

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

PRAISE, TOKEN = KIND["praise"], KIND["token_reward"]
# event kind of each response group (the first, reinforcement, is praise or token per event)
RESPONSE_KINDS = np.array([PRAISE, KIND["restriction"], KIND["limit_setting"], KIND["denied_request"]])
NO_OUTCOME = OUTCOME["none"]


OWNS = Owns(
    parameters=(
        "reinforcement_rate",
        "reinforcement_learning",
        "token_rewards",
        "external_share_rate",
        "punishment_rate",
        "limit_setting_rate",
        "limit_setting_agitation",
        "punitive_agitation",
        "punishment_suppression",
        "punishment_trust_loss",
        "resentment_gain",
        "request_rate",
        "request_denial_rate",
        "denied_request_trust_loss",
        "granted_request_trust_gain",
        "granted_request_independence_gain",
        "clear_mutual_expectations",
        "expectations_effect",
        "soft_words",
        "soft_words_effect",
        "token_incentive_gain",
        "praise_incentive_gain",
        "punishment_initiative_loss",
    ),
    reads=(
        "hour.observer",
        "hour.behaviour",
        "hour.active",
        "hour.trains",
        "clients.client_id",
        "clients.plan_focus",
        "clients.independence",
        "staff.staff_id",
    ),
    writes=(
        "clients.skills",
        "clients.trust",
        "clients.agitation",
        "clients.external_share",
        "clients.suppression",
        "clients.resentment",
        "clients.independence",
        "clients.antecedent",
        "clients.antecedent_step",
        "clients.incentive",
        "clients.punishments",
        "hour.addressed",
        "hour.punished",
    ),
    streams={"staff_response": ("response", "reward_kind", "request", "denial")},
    events=("praise", "token_reward", "restriction", "limit_setting", "denied_request"),
)
# columns of the staff_response block (OWNS.streams order)
RESPONSE, REWARD_KIND, REQUEST, DENIAL = range(4)


class ResponseClients(NamedTuple):
    """The client arrays the staff response rule reads and writes."""

    values: np.ndarray
    antecedent: np.ndarray
    antecedent_step: np.ndarray
    client_id: np.ndarray
    punishments: np.ndarray
    plan_focus: np.ndarray


class Answered(NamedTuple):
    """The hour's marks of transgressions answered (read by consequences)."""

    addressed: np.ndarray
    punished: np.ndarray


def _derive(p: dict) -> dict:
    disputes = 1.0 - p["clear_mutual_expectations"] * p["expectations_effect"]
    return {
        **p,
        "dispute_bound": p["punishment_rate"] + (1.0 - p["punishment_rate"]) * p["limit_setting_rate"],
        "punishment_bound": p["punishment_rate"] * disputes,
        "limit_bound": (p["punishment_rate"] + (1.0 - p["punishment_rate"]) * p["limit_setting_rate"]) * disputes,
        "soft": 1.0 - p["soft_words"] * p["soft_words_effect"],
    }


PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {
        "reinforcement_rate": float,
        "reinforcement_learning": float,
        "token_rewards": float,
        "external_share_rate": float,
        "punishment_bound": float,  # punishment_rate * (1 - clear_mutual_expectations * expectations_effect)
        "limit_bound": float,  # (punishment_rate + (1 - punishment_rate) * limit_setting_rate) * the same factor
        "dispute_bound": float,  # punishment_rate + (1 - punishment_rate) * limit_setting_rate: below it, settled
        "limit_setting_agitation": float,
        "punitive_agitation": float,
        "punishment_suppression": float,
        "punishment_trust_loss": float,
        "resentment_gain": float,
        "request_rate": float,
        "request_denial_rate": float,
        "denied_request_trust_loss": float,
        "granted_request_trust_gain": float,
        "granted_request_independence_gain": float,
        "soft": float,  # 1 - soft_words * soft_words_effect
        "token_incentive_gain": float,
        "praise_incentive_gain": float,
        "punishment_initiative_loss": float,
    },
    _derive,
)


def respond(model: MilieuModel) -> None:
    """Staff answer what they see this hour."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, h, s = model.clients, model.hour, model.staff
    return (c.packed(ResponseClients), h.packed(Answered), sight(model), h.behaviour, h.active, s.staff_id,
            PARAMETERS(model.p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of staff response: the staff_response block (four uniforms per slot), who sees whom
    (``movement.observers_now``), then ``_respond``; logs its events."""
    draws, clients, answered, seen, behaviour, active, staff_id, parameters, nothing = arguments
    u = take(draws[0][0], draws[0][1], ResponseClients(*clients).client_id.size, 4)
    observer = observers_now(clock, seen)
    events = _respond(u, clients, answered, observer, behaviour, active, np.int64(clock[TRAINS]),
                      np.int64(clock[STEP]), staff_id, parameters)  # fmt: skip
    _, no_feedback, no_change = nothing
    return events, no_feedback, no_change


PART = Part(_hour, _inputs, streams=(("staff_response", 4, "clients", UNIFORM),))
respond.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _limit(x, i, punitive, limit_setting_agitation):
    """A limit, punishment or denied request: dA = limit_setting_agitation * (1 + punitive) * (1 - T / 2)."""
    x[AGITATION, i] += limit_setting_agitation * (1.0 + punitive) * (1.0 - x[TRUST, i] / 2.0)


@kernel(inline=True)
def _respond(u, clients, answered, observer, behaviour, active, trains, step, staff_id, parameters):
    """The rules of the module docstring.

    Returns the hour's event rows (EVENT_COLUMNS order): reinforcements (praise or token), then
    restrictions, limits and denied requests, each in slot order.
    """
    q = parameters[0]
    clients = ResponseClients(*clients)
    addressed, punished = Answered(*answered)
    x, antecedent, antecedent_step = clients.values, clients.antecedent, clients.antecedent_step
    n = u.shape[0]
    slots = np.zeros((4, n), dtype=np.int64)  # reinforced, punished, limited, denied
    kinds = np.zeros(n, dtype=np.int64)  # praise or token, per reinforcement
    counts = np.zeros(4, dtype=np.int64)
    T = x[TRUST]
    for i in range(n):
        seen = observer[i] >= 0
        if seen and behaviour[i] == PROSOCIAL and u[i, RESPONSE] < q.reinforcement_rate:
            token = 1.0 if u[i, REWARD_KIND] < q.token_rewards else 0.0
            # outside a training activity staff reinforce what the treatment plan works on (its focus skill)
            practise_skills(x, i, trains if trains >= 0 else clients.plan_focus[i], q.reinforcement_learning)
            T[i] += q.reinforcement_learning / 2.0 * (1.0 - T[i])
            x[EXTERNAL_SHARE, i] += q.external_share_rate * (token - x[EXTERNAL_SHARE, i])
            gain = q.token_incentive_gain if token else q.praise_incentive_gain
            x[INCENTIVE, i] += gain * (1.0 - x[INCENTIVE, i])
            addressed[i] = True
            kinds[counts[0]] = TOKEN if token else PRAISE
            slots[0, counts[0]] = i
            counts[0] += 1
        if seen and behaviour[i] == TRANSGRESSION:
            # punished with probability punishment_rate, otherwise limited with probability limit_setting_rate
            if u[i, RESPONSE] < q.punishment_bound:
                _limit(x, i, q.punitive_agitation, q.limit_setting_agitation)
                antecedent[i], antecedent_step[i] = PUNISHMENT, step
                x[SUPPRESSION, i] = max(x[SUPPRESSION, i], q.punishment_suppression)
                T[i] -= q.punishment_trust_loss
                x[RESENTMENT, i] += q.resentment_gain
                x[INDEPENDENCE, i] -= q.punishment_initiative_loss * x[INDEPENDENCE, i]
                addressed[i] = punished[i] = True
                clients.punishments[i] += 1
                slots[1, counts[1]] = i
                counts[1] += 1
            elif u[i, RESPONSE] < q.limit_bound:
                _limit(x, i, 0.0, q.limit_setting_agitation * q.soft)
                antecedent[i], antecedent_step[i] = LIMIT_SETTING, step
                addressed[i] = True
                slots[2, counts[2]] = i
                counts[2] += 1
            elif u[i, RESPONSE] < q.dispute_bound:  # settled by pointing to the agreed expectations
                addressed[i] = True
        if active[i] and u[i, REQUEST] < min(1.0, 2.0 * q.request_rate * x[INDEPENDENCE, i]):
            if u[i, DENIAL] < q.request_denial_rate:
                _limit(x, i, 0.0, q.limit_setting_agitation * q.soft)
                antecedent[i], antecedent_step[i] = DENIED_REQUEST, step
                T[i] -= q.denied_request_trust_loss * q.soft
                slots[3, counts[3]] = i
                counts[3] += 1
            else:
                T[i] += q.granted_request_trust_gain * (1.0 - T[i])
                x[INDEPENDENCE, i] += q.granted_request_independence_gain * (1.0 - x[INDEPENDENCE, i])
    events = np.zeros((counts.sum(), len(EVENT_COLUMNS)), dtype=np.int64)
    row = 0
    for group in range(4):
        for a in range(counts[group]):
            i = slots[group, a]
            staff = staff_id[observer[i]] if observer[i] >= 0 else -1
            kind = kinds[a] if group == 0 else RESPONSE_KINDS[group]
            write_event(events, row, step, clients.client_id[i], staff, kind, 0, 0, NO_OUTCOME)
            row += 1
    return events

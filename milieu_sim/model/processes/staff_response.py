"""Staff response to behaviour: positive reinforcement, punishment, limit-setting, requests.

Rules (docs/ODD.md, "Staff response"), for acts seen by an on-duty staff
member (the client's observer: nearest staff within their observation radius):

* Prosocial act: reinforced with probability ``reinforcement_rate``, as a token
  with probability ``token_rewards``, else as praise.  Reinforcement raises the
  skill the current activity trains by ``r (1 - S)`` (outside such an activity
  each of the three skills by ``r / 3 (1 - S_k)``) and trust by ``r / 2 (1 - T)`` (r =
  ``reinforcement_learning``), and moves the share of skill kept up by external
  rewards towards 1 for a token and 0 for praise: ``E += 0.1 (token - E)``.
* Transgression: punished (a restriction) with probability ``punishment_rate``,
  otherwise limited with probability ``limit_setting_rate`` (so a limit has
  unconditional probability ``(1 - punishment_rate) * limit_setting_rate``).  Both raise agitation
  (Papadopoulos et al. 2012: limit-setting is a common antecedent of aggression,
  more so when punitive and when trust is low)::

      dA = limit_setting_agitation * (1 + punitive) * (1 - T / 2)

  A punishment also suppresses transgressions now (``suppression =
  max(suppression, punishment_suppression)``, fading with a 12-hour time
  constant), erodes trust (``T -= punishment_trust_loss``) and adds resentment
  (``R += resentment_gain``), which feeds agitation for days.
* Requests: an active client asks staff for something with probability
  ``request_rate``; it is denied with probability ``request_denial_rate``
  (``dA = limit_setting_agitation * (1 - T / 2)``, trust -0.005, antecedent
  ``denied_request``) or granted (trust +0.005 (1 - T), independence +0.002 (1 - I)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.movement import observers
from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME
from milieu_sim.model.state import (
    AGITATION,
    DENIED_REQUEST,
    EXTERNAL_SHARE,
    INDEPENDENCE,
    LIMIT_SETTING,
    PROSOCIAL,
    PUNISHMENT,
    RESENTMENT,
    SUPPRESSION,
    TRANSGRESSION,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

PUNITIVE = 1.0  # a punishment raises agitation (1 + 1) times a limit's
PRAISE, TOKEN = KIND["praise"], KIND["token_reward"]
# event kind of each response group (the first, reinforcement, is praise or token per event)
RESPONSE_KINDS = np.array([PRAISE, KIND["restriction"], KIND["limit_setting"], KIND["denied_request"]])
NO_OUTCOME = OUTCOME["none"]


def respond(model: MilieuModel) -> None:
    """Staff answer what they see this hour."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    u = model.streams["staff_response"].random((c.n, 4))
    events = _respond(
        u,
        c.values,
        observers(model),
        h.behaviour,
        h.active,
        h.trains,
        h.step,
        c.antecedent,
        c.antecedent_step,
        c.client_id,
        s.staff_id,
        p["reinforcement_rate"],
        p["reinforcement_learning"],
        p["token_rewards"],
        p["punishment_rate"],
        p["punishment_rate"] + (1.0 - p["punishment_rate"]) * p["limit_setting_rate"],
        p["limit_setting_agitation"],
        p["punishment_suppression"],
        p["punishment_trust_loss"],
        p["resentment_gain"],
        p["request_rate"],
        p["request_denial_rate"],
    )
    model.records.events.add_rows(events)


@kernel
def _limit(x, i, punitive, limit_setting_agitation):
    """A limit, punishment or denied request: dA = limit_setting_agitation * (1 + punitive) * (1 - T / 2)."""
    x[AGITATION, i] += limit_setting_agitation * (1.0 + punitive) * (1.0 - x[TRUST, i] / 2.0)


@kernel
def _respond(u, x, observer, behaviour, active, trains, step, antecedent, antecedent_step, client_id, staff_id,
             reinforcement_rate, reinforcement_learning, token_rewards, punishment_rate, limit_bound,
             limit_setting_agitation, punishment_suppression, punishment_trust_loss, resentment_gain, request_rate,
             request_denial_rate):  # fmt: skip
    """The rules of the module docstring.

    Returns the hour's event rows (EVENT_COLUMNS order): reinforcements (praise or token), then
    restrictions, limits and denied requests, each in slot order.
    """
    n = u.shape[0]
    slots = np.zeros((4, n), dtype=np.int64)  # reinforced, punished, limited, denied
    kinds = np.zeros(n, dtype=np.int64)  # praise or token, per reinforcement
    counts = np.zeros(4, dtype=np.int64)
    r = reinforcement_learning
    T = x[TRUST]
    for i in range(n):
        seen = observer[i] >= 0
        if seen and behaviour[i] == PROSOCIAL and u[i, 0] < reinforcement_rate:
            token = 1.0 if u[i, 1] < token_rewards else 0.0
            if trains >= 0:
                x[trains, i] += r * (1.0 - x[trains, i])
            else:
                for k in range(3):
                    x[k, i] += r / 3.0 * (1.0 - x[k, i])
            T[i] += r / 2.0 * (1.0 - T[i])
            x[EXTERNAL_SHARE, i] += 0.1 * (token - x[EXTERNAL_SHARE, i])
            kinds[counts[0]] = TOKEN if token else PRAISE
            slots[0, counts[0]] = i
            counts[0] += 1
        if seen and behaviour[i] == TRANSGRESSION:
            # punished with probability punishment_rate, otherwise limited with probability limit_setting_rate
            if u[i, 0] < punishment_rate:
                _limit(x, i, PUNITIVE, limit_setting_agitation)
                antecedent[i], antecedent_step[i] = PUNISHMENT, step
                x[SUPPRESSION, i] = max(x[SUPPRESSION, i], punishment_suppression)
                T[i] -= punishment_trust_loss
                x[RESENTMENT, i] += resentment_gain
                slots[1, counts[1]] = i
                counts[1] += 1
            elif u[i, 0] < limit_bound:
                _limit(x, i, 0.0, limit_setting_agitation)
                antecedent[i], antecedent_step[i] = LIMIT_SETTING, step
                slots[2, counts[2]] = i
                counts[2] += 1
        if active[i] and u[i, 2] < request_rate:
            if u[i, 3] < request_denial_rate:
                _limit(x, i, 0.0, limit_setting_agitation)
                antecedent[i], antecedent_step[i] = DENIED_REQUEST, step
                T[i] -= 0.005
                slots[3, counts[3]] = i
                counts[3] += 1
            else:
                T[i] += 0.005 * (1.0 - T[i])
                x[INDEPENDENCE, i] += 0.002 * (1.0 - x[INDEPENDENCE, i])
    events = np.zeros((counts.sum(), len(EVENT_COLUMNS)), dtype=np.int64)
    row = 0
    for group in range(4):
        for a in range(counts[group]):
            i = slots[group, a]
            events[row, 0] = step
            events[row, 1] = client_id[i]
            events[row, 2] = staff_id[observer[i]] if observer[i] >= 0 else -1
            events[row, 3] = kinds[a] if group == 0 else RESPONSE_KINDS[group]
            events[row, 6] = NO_OUTCOME  # severity and antecedent 0
            row += 1
    return events

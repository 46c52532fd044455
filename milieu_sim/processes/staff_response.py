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

from milieu_sim.processes.movement import observers
from milieu_sim.records import KIND, OUTCOME
from milieu_sim.state import DENIED_REQUEST, LIMIT_SETTING, PROSOCIAL, PUNISHMENT, TRANSGRESSION

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel


def respond(model: MilieuModel) -> None:
    """Staff answer what they see this hour."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    u = model.streams["staff_response"].random((c.n, 4))
    observer = observers(model)
    seen = observer >= 0
    log = model.records.events
    step = h.step

    reinforced = np.flatnonzero(seen & (h.behaviour == PROSOCIAL) & (u[:, 0] < p["reinforcement_rate"]))
    if reinforced.size:
        r = p["reinforcement_learning"]
        token = u[reinforced, 1] < p["token_rewards"]
        if h.trains >= 0:
            row = c.skills[h.trains]
            row[reinforced] += r * (1.0 - row[reinforced])
        else:
            c.skills[:, reinforced] += r / 3.0 * (1.0 - c.skills[:, reinforced])
        c.trust[reinforced] += r / 2.0 * (1.0 - c.trust[reinforced])
        c.external_share[reinforced] += 0.1 * (token - c.external_share[reinforced])
        log.add(
            reinforced.size,
            step=step,
            client_id=c.client_id[reinforced],
            staff_id=s.staff_id[observer[reinforced]],
            kind=np.where(token, KIND["token_reward"], KIND["praise"]),
            severity=0,
            antecedent=0,
            outcome=OUTCOME["none"],
        )

    wrong = seen & (h.behaviour == TRANSGRESSION)
    punished = np.flatnonzero(wrong & (u[:, 0] < p["punishment_rate"]))
    # punished with probability punishment_rate, otherwise limited with probability limit_setting_rate
    limit_bound = p["punishment_rate"] + (1.0 - p["punishment_rate"]) * p["limit_setting_rate"]
    limited = np.flatnonzero(wrong & (u[:, 0] >= p["punishment_rate"]) & (u[:, 0] < limit_bound))
    lam = p["limit_setting_agitation"]
    if punished.size:
        c.agitation[punished] += lam * 2.0 * (1.0 - c.trust[punished] / 2.0)
        c.suppression[punished] = np.maximum(c.suppression[punished], p["punishment_suppression"])
        c.trust[punished] -= p["punishment_trust_loss"]
        c.resentment[punished] += p["resentment_gain"]
        c.antecedent[punished] = PUNISHMENT
        c.antecedent_step[punished] = step
        log.add(
            punished.size,
            step=step,
            client_id=c.client_id[punished],
            staff_id=s.staff_id[observer[punished]],
            kind=KIND["restriction"],
            severity=0,
            antecedent=0,
            outcome=OUTCOME["none"],
        )
    if limited.size:
        c.agitation[limited] += lam * (1.0 - c.trust[limited] / 2.0)
        c.antecedent[limited] = LIMIT_SETTING
        c.antecedent_step[limited] = step
        log.add(
            limited.size,
            step=step,
            client_id=c.client_id[limited],
            staff_id=s.staff_id[observer[limited]],
            kind=KIND["limit_setting"],
            severity=0,
            antecedent=0,
            outcome=OUTCOME["none"],
        )

    asks = h.active & (u[:, 2] < p["request_rate"])
    denied = np.flatnonzero(asks & (u[:, 3] < p["request_denial_rate"]))
    granted = asks & (u[:, 3] >= p["request_denial_rate"])
    if denied.size:
        c.agitation[denied] += lam * (1.0 - c.trust[denied] / 2.0)
        c.trust[denied] -= 0.005
        c.antecedent[denied] = DENIED_REQUEST
        c.antecedent_step[denied] = step
        staff_id = np.where(observer[denied] >= 0, s.staff_id[np.maximum(observer[denied], 0)], -1)
        log.add(
            denied.size,
            step=step,
            client_id=c.client_id[denied],
            staff_id=staff_id,
            kind=KIND["denied_request"],
            severity=0,
            antecedent=0,
            outcome=OUTCOME["none"],
        )
    if granted.any():
        c.trust[granted] += 0.005 * (1.0 - c.trust[granted])
        c.independence[granted] += 0.002 * (1.0 - c.independence[granted])

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
    if punished.size:
        _limit(model, punished, 1.0, PUNISHMENT, "restriction", s.staff_id[observer[punished]])
        c.suppression[punished] = np.maximum(c.suppression[punished], p["punishment_suppression"])
        c.trust[punished] -= p["punishment_trust_loss"]
        c.resentment[punished] += p["resentment_gain"]
    if limited.size:
        _limit(model, limited, 0.0, LIMIT_SETTING, "limit_setting", s.staff_id[observer[limited]])

    asks = h.active & (u[:, 2] < p["request_rate"])
    denied = np.flatnonzero(asks & (u[:, 3] < p["request_denial_rate"]))
    granted = asks & (u[:, 3] >= p["request_denial_rate"])
    if denied.size:
        staff_id = np.where(observer[denied] >= 0, s.staff_id[np.maximum(observer[denied], 0)], -1)
        _limit(model, denied, 0.0, DENIED_REQUEST, "denied_request", staff_id)
        c.trust[denied] -= 0.005
    if granted.any():
        c.trust[granted] += 0.005 * (1.0 - c.trust[granted])
        c.independence[granted] += 0.002 * (1.0 - c.independence[granted])


def _limit(model: MilieuModel, slots: np.ndarray, punitive: float, antecedent: int, kind: str, staff_id) -> None:
    """A limit, punishment or denied request: dA = limit_setting_agitation * (1 + punitive) * (1 - T / 2)."""
    c = model.clients
    c.agitation[slots] += model.p["limit_setting_agitation"] * (1.0 + punitive) * (1.0 - c.trust[slots] / 2.0)
    c.antecedent[slots] = antecedent
    c.antecedent_step[slots] = model.hour.step
    model.records.events.add(slots.size, step=model.hour.step, client_id=c.client_id[slots], staff_id=staff_id,
                             kind=KIND[kind], severity=0, antecedent=0, outcome=OUTCOME["none"])  # fmt: skip

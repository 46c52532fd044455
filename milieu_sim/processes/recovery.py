"""Recovery: the slow dynamics of self-control, trust, independence, symptoms and skill.

Rules (docs/ODD.md, "Self-control, trust and independence"), every hour for
present clients (Y symptoms, R resentment, T0 trust at admission)::

    A  += agitation_decay * (A0 - A) * (2 if asleep) + 0.02 R + agitation_noise * eps,
          A0 = 0.1 + 0.25 Y,  eps ~ N(0, 1)
    R  *= exp(-1 / (24 resentment_days));  suppression *= exp(-1 / 12)
    M_aff, M_cor decay with their memory time constants
    C  += self_control_learning * (0.5 + 0.5 T) * (1 - C)        if attending a structured activity
    T  += trust_recovery * (T0 - T)
    I  += independence_gain * autonomy_support * (1 - I)
          - institutionalisation * custodial_care * I             when awake
    Y  *= 1 - symptom_recovery / 24;  Y += 0.0005 A
    S_k += therapy_learning * (0.5 + 0.5 T) * (1 - Y / 2) * (1 - S_k) * f
          for the skill k the attended activity trains, with f = 1 - custodial_care
          for daily-living practice (staff doing tasks for clients) and f = 1 otherwise

Institutionalisation is the custodial term: under custodial care, independence
drifts down the longer the stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel

DAILY_LIVING = 2


def recover(model: MilieuModel) -> None:
    """Advance the slow state variables by one hour."""
    c, h, p = model.clients, model.hour, model.p
    eps = model.streams["recovery"].standard_normal(c.n)
    here = c.present  # the state of empty bed slots is never read, so updates need no mask
    A, T = c.agitation, c.trust
    decay = p["agitation_decay"] * (1.0 if h.awake else 2.0)
    A += decay * (0.1 + 0.25 * c.symptoms - A) + 0.02 * c.resentment + p["agitation_noise"] * eps
    d = model.decay
    c.resentment *= d["resentment"]
    c.suppression *= d["suppression"]
    c.affirmation_memory *= d["affirmation"]
    c.correction_memory *= d["correction"]
    attending = c.attending & here & ~c.isolated & h.structured
    if attending.any():
        C = c.self_control
        C[attending] += p["self_control_learning"] * (0.5 + 0.5 * T[attending]) * (1.0 - C[attending])
    T += p["trust_recovery"] * (c.baseline_trust - T)
    if h.awake:
        I = c.independence
        I += (
            p["independence_gain"] * p["autonomy_support"] * (1.0 - I)
            - p["institutionalisation"] * p["custodial_care"] * I
        )
    Y = c.symptoms
    Y *= 1.0 - p["symptom_recovery"] / 24.0
    Y += 0.0005 * A
    if h.trains >= 0 and h.awake:
        practising = c.attending & here & ~c.isolated
        if practising.any():
            factor = 1.0 - p["custodial_care"] if h.trains == DAILY_LIVING else 1.0
            S = c.skills[h.trains]
            S[practising] += (
                p["therapy_learning"]
                * factor
                * (0.5 + 0.5 * T[practising])
                * (1.0 - Y[practising] / 2.0)
                * (1.0 - S[practising])
            )
    # the one clip of the hour: every process before this one may leave states slightly outside [0, 1]
    np.clip(c.values[:10], 0.0, 1.0, out=c.values[:10])

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

from milieu_sim.model.kernels import kernel
from milieu_sim.model.state import (
    AFFIRMATION_MEMORY,
    AGITATION,
    BASELINE_TRUST,
    CORRECTION_MEMORY,
    DAILY_LIVING,
    INDEPENDENCE,
    RESENTMENT,
    SELF_CONTROL,
    SUPPRESSION,
    SYMPTOMS,
    TRUST,
)

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

CLIPPED_ROWS = 10  # rows 0-9 (skills ... suppression) are kept in [0, 1]


def recover(model: MilieuModel) -> None:
    """Advance the slow state variables by one hour."""
    c, h, p = model.clients, model.hour, model.p
    eps = model.streams["recovery"].standard_normal(c.n)
    d = model.decay
    trains = h.trains if h.awake else -1
    _recover(
        c.values,
        eps,
        c.present,
        c.attending,
        c.isolated,
        h.awake,
        h.structured,
        trains,
        p["agitation_decay"] * (1.0 if h.awake else 2.0),
        p["agitation_noise"],
        d["resentment"],
        d["suppression"],
        d["affirmation"],
        d["correction"],
        p["self_control_learning"],
        p["trust_recovery"],
        p["independence_gain"] * p["autonomy_support"],
        p["institutionalisation"] * p["custodial_care"],
        1.0 - p["symptom_recovery"] / 24.0,
        p["therapy_learning"] * (1.0 - p["custodial_care"] if trains == DAILY_LIVING else 1.0),
    )


@kernel
def _recover(x, eps, present, attending, isolated, awake, structured, trains, decay, noise, resentment_decay,
             suppression_decay, affirmation_decay, correction_decay, self_control_learning, trust_recovery,
             independence_gain, institutionalisation, symptom_persistence, practice_learning):  # fmt: skip
    """The equations of the module docstring for every bed slot (the state of empty slots is never read)."""
    A, T, Y = x[AGITATION], x[TRUST], x[SYMPTOMS]
    C, I = x[SELF_CONTROL], x[INDEPENDENCE]
    for i in range(present.size):
        A[i] += decay * (0.1 + 0.25 * Y[i] - A[i]) + 0.02 * x[RESENTMENT, i] + noise * eps[i]
        x[RESENTMENT, i] *= resentment_decay
        x[SUPPRESSION, i] *= suppression_decay
        x[AFFIRMATION_MEMORY, i] *= affirmation_decay
        x[CORRECTION_MEMORY, i] *= correction_decay
        practising = attending[i] and present[i] and not isolated[i]
        if practising and structured:
            C[i] += self_control_learning * (0.5 + 0.5 * T[i]) * (1.0 - C[i])
        T[i] += trust_recovery * (x[BASELINE_TRUST, i] - T[i])
        if awake:
            I[i] += independence_gain * (1.0 - I[i]) - institutionalisation * I[i]
        Y[i] *= symptom_persistence
        Y[i] += 0.0005 * A[i]
        if trains >= 0 and practising:
            S = x[trains]
            S[i] += practice_learning * (0.5 + 0.5 * T[i]) * (1.0 - Y[i] / 2.0) * (1.0 - S[i])
        # the one clip of the hour: every process before this one may leave states slightly outside [0, 1]
        for row in range(CLIPPED_ROWS):
            x[row, i] = min(max(x[row, i], 0.0), 1.0)

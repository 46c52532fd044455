"""Modeling: social learning from the people a client meets.

Rule (docs/ODD.md, "Modeling"), for every client i in a peaceful encounter with j::

    dX_i = modeling_rate * prestige_j * T_i * (M_j - X_i)

for X in the three goal skills and self-control, where the model's displayed
level M_j is the staff member's role-model quality (``staff_model_quality``,
drawn per staff member) or the peer's own level, and the prestige is
``staff_prestige`` for staff, ``senior_prestige`` for a senior peer and
``peer_prestige`` otherwise.  Clients learn more from those they trust (T_i)
and can also learn worse habits from a less skilled peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.state import CLIENT_PARTNER, SENIOR, STAFF_PARTNER

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel

MODELED_ROWS = slice(0, 4)  # the three skills and self-control


def learn_by_modeling(model: MilieuModel) -> None:
    """Move each observer's skills and self-control towards their partner's."""
    c, h, p, s = model.clients, model.hour, model.p, model.staff
    learners = np.flatnonzero((h.partner_kind != 0) & ~h.conflictual)
    if learners.size == 0:
        return
    j = h.partner[learners]
    staff = h.partner_kind[learners] == STAFF_PARTNER
    peer_j = np.where(staff, 0, j)
    staff_j = np.where(staff, j, 0)
    displayed = np.where(staff[None, :], s.model_quality[staff_j][None, :], c.values[MODELED_ROWS][:, peer_j])
    senior = (h.partner_kind[learners] == CLIENT_PARTNER) & (c.phase[peer_j] == SENIOR)
    prestige = np.where(staff, p["staff_prestige"], np.where(senior, p["senior_prestige"], p["peer_prestige"]))
    rate = p["modeling_rate"] * prestige * c.trust[learners]
    block = c.values[MODELED_ROWS]
    block[:, learners] += rate[None, :] * (displayed - block[:, learners])

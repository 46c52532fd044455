"""Community norms and community meetings: the strength of the community's norms, and community meetings that confront and affirm in public.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def update_norm(model: MilieuModel) -> None:
    """The strength of the community's norms, and community meetings that confront and affirm in public."""


def hold_meeting(model: MilieuModel) -> None:
    """A community meeting (to be written)."""


def transgression_factor(model: MilieuModel) -> float:
    """Factor on every client's chance of a transgression (interaction): 1 until the norm rule is written."""
    return 1.0

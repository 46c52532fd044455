"""Facilitation: who leads this hour's structured activity, and how well: what a group teaches depends on it.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def lead(model: MilieuModel) -> None:
    """Who leads this hour's structured activity, and how well: what a group teaches depends on it."""

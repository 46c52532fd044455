"""Insight and empathy: insight from watching and talking through others' struggles; empathy for peers.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def reflect(model: MilieuModel) -> None:
    """Insight from watching and talking through others' struggles; empathy for peers."""

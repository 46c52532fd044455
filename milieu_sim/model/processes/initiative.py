"""Personal responsibility and institutionalisation: independence as initiative (unprompted daily-living practice), and its erosion by idle hours.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def take_initiative(model: MilieuModel) -> None:
    """Independence as initiative (unprompted daily-living practice), and its erosion by idle hours."""

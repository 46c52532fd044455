"""Consequences of transgressions and punishment: what a transgression costs (its target, the norm) and what a punishment teaches those who saw it.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def follow(model: MilieuModel) -> None:
    """What a transgression costs (its target, the norm) and what a punishment teaches those who saw it."""

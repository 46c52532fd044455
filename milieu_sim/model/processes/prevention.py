"""Prevention: staff time with clients: catching rising agitation early.

Placeholder (issue 12): the rule is being written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from milieu_sim.model.schedule import Owns

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns()


def check_in(model: MilieuModel) -> None:
    """Staff time with clients: catching rising agitation early."""

"""milieu-sim: an agent-based simulation of a therapeutic milieu on a Mesa grid."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("milieu-sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from milieu_sim.errors import MilieuInputError, ParameterError, PolicyError, WardMapError
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.policies import PRESETS, Policy

__all__ = [
    "PRESETS",
    "MilieuInputError",
    "MilieuModel",
    "ParameterError",
    "Policy",
    "PolicyError",
    "WardMapError",
    "__version__",
]

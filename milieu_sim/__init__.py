"""milieu-sim: an agent-based simulation of a therapeutic milieu on a Mesa grid.

The public names, importable from here:

- the model: :class:`MilieuModel`, :class:`Policy`, :data:`PRESETS`, the input errors, and the hour's
  schedule (:data:`SCHEDULE`, :class:`Phase`: a phase of one's own joins ``model.schedule``);
- one run, built, run and measured: :func:`run_one` (also named :func:`run_experiment`), with the outcome
  vocabulary :data:`OUTCOMES` and :func:`summarise`;
- experiments: :func:`load_spec`, :class:`Spec`, :func:`run_sweep`, :class:`SweepResult`, and
  :func:`compare_policies` (a policy comparison as a one-point sweep).

The experiment and analysis names are imported on first use, so ``import milieu_sim`` stays light.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("milieu-sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from milieu_sim.errors import MilieuInputError, ParameterError, PolicyError, WardMapError
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.policies import PRESETS, Policy
from milieu_sim.model.schedule import SCHEDULE, Phase

# name -> module that defines it (imported on first use)
_LAZY = {
    "run_one": "milieu_sim.experiments.runner",
    "run_experiment": "milieu_sim.experiments.runner",
    "OUTCOMES": "milieu_sim.experiments.outcomes",
    "summarise": "milieu_sim.experiments.outcomes",
    "load_spec": "milieu_sim.experiments.spec",
    "Spec": "milieu_sim.experiments.spec",
    "run_sweep": "milieu_sim.experiments.sweep",
    "SweepResult": "milieu_sim.experiments.sweep",
    "compare_policies": "milieu_sim.analysis.comparison",
}

__all__ = [
    "OUTCOMES",
    "PRESETS",
    "SCHEDULE",
    "MilieuInputError",
    "MilieuModel",
    "ParameterError",
    "Phase",
    "Policy",
    "PolicyError",
    "Spec",
    "SweepResult",
    "WardMapError",
    "__version__",
    "compare_policies",
    "load_spec",
    "run_experiment",
    "run_one",
    "run_sweep",
    "summarise",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'milieu_sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

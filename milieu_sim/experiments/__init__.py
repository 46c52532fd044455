"""The experiments layer: one way to run and measure a model, declared sweeps, executors and storage.

- :mod:`milieu_sim.experiments.spec`: experiment files (TOML) -> a validated :class:`~milieu_sim.experiments.spec.Spec`
  and its design (one row per parameter point) and runs (points x policies x replicates).
- :mod:`milieu_sim.experiments.outcomes`: the outcome vocabulary (every measured quantity, defined once).
- :mod:`milieu_sim.experiments.runner`: the one way to build, run and measure a model
  (:func:`~milieu_sim.experiments.runner.run_one`, also named ``run_experiment``).
- :mod:`milieu_sim.experiments.executors`: serial, local processes, Dask; a bounded window of runs in flight.
- :mod:`milieu_sim.experiments.storage`: the sweep directory (manifest, Parquet parts written atomically, resuming).
- :mod:`milieu_sim.experiments.sweep`: ties them together (``run_sweep``).
"""

from typing import Any

_PUBLIC = {
    "Spec": "milieu_sim.experiments.spec",
    "SpecError": "milieu_sim.experiments.spec",
    "load_spec": "milieu_sim.experiments.spec",
    "SweepResult": "milieu_sim.experiments.sweep",
    "run_sweep": "milieu_sim.experiments.sweep",
    "run_one": "milieu_sim.experiments.runner",
    "run_experiment": "milieu_sim.experiments.runner",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:  # imported on first use: importing the package stays light
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'milieu_sim.experiments' has no attribute {name!r}")

"""The experiments layer: one way to run and measure a model, declared sweeps, executors and storage.

- :mod:`milieu_sim.experiments.spec`: experiment files (TOML) -> a validated :class:`~milieu_sim.experiments.spec.Spec`
  and its design (one row per parameter point) and runs (points x policies x replicates).
- :mod:`milieu_sim.experiments.runner`: one run as a plain function (summary outcomes, event counts, shift series).
- :mod:`milieu_sim.experiments.executors`: serial, local processes, Dask; a bounded window of runs in flight.
- :mod:`milieu_sim.experiments.storage`: the sweep directory (manifest, Parquet parts written atomically, resuming).
- :mod:`milieu_sim.experiments.sweep`: ties them together (``run_sweep``).
"""

from milieu_sim.experiments.spec import Spec, SpecError, load_spec
from milieu_sim.experiments.sweep import SweepResult, run_sweep

__all__ = ["Spec", "SpecError", "SweepResult", "load_spec", "run_sweep"]

"""Experiments at scale: declared sweeps, executors, Parquet storage, statistics and sensitivity analysis.

- :mod:`milieu_sim.batch.spec`: experiment files (TOML) -> a validated :class:`~milieu_sim.batch.spec.Spec`
  and its design (one row per parameter point) and runs (points x policies x replicates).
- :mod:`milieu_sim.batch.runner`: one run as a plain function (summary outcomes, event counts, shift series).
- :mod:`milieu_sim.batch.executors`: serial, local processes, Dask; a bounded window of runs in flight.
- :mod:`milieu_sim.batch.storage`: the sweep directory (manifest, Parquet parts written atomically, resuming).
- :mod:`milieu_sim.batch.sweep`: ties them together (``run_sweep``).
- :mod:`milieu_sim.batch.stats`: means with CIs, paired contrasts, negative binomial rate ratios,
  replicate-count check.
- :mod:`milieu_sim.batch.figures` and :mod:`milieu_sim.batch.report`: figures and the Markdown report.
- :mod:`milieu_sim.batch.sensitivity`: Morris and Sobol indices through SALib.
- :mod:`milieu_sim.batch.cli`: the ``sweep``, ``report`` and ``sensitivity`` commands.
"""

from milieu_sim.batch.spec import Spec, SpecError, load_spec
from milieu_sim.batch.sweep import SweepResult, run_sweep

__all__ = ["Spec", "SpecError", "SweepResult", "load_spec", "run_sweep"]

"""Run a sweep: the spec's runs that are not yet on disk, on an executor, streamed to the sweep directory.

    from milieu_sim.experiments import load_spec, run_sweep
    result = run_sweep(load_spec("experiments/policy_comparison.toml"), "results/policies", workers=2)

Re-running with the same spec and directory finishes the remaining runs only (see
:mod:`milieu_sim.experiments.storage`).  At most ``window`` runs are in flight and at most one batch of
results is held in memory, so memory does not grow with the number of runs.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from milieu_sim.experiments.executors import Executor, make_executor
from milieu_sim.experiments.runner import run_task
from milieu_sim.experiments.spec import Spec
from milieu_sim.experiments.storage import SweepStore


@dataclass
class SweepResult:
    """What a sweep session did and where its results are."""

    path: Path
    n_runs: int
    runs_done: int
    runs_failed: int
    ran_now: int
    failed_now: int
    seconds: float
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return self.n_runs - self.runs_done - self.runs_failed


def versions() -> dict[str, str]:
    """Package versions for the manifest (the CLI's list plus what sweeps use)."""
    from importlib.metadata import version as package_version

    from milieu_sim.provenance import versions as cli_versions

    found = cli_versions()
    for name in ("SALib", "dask", "distributed", "statsmodels"):
        try:
            found[name] = package_version(name)
        except Exception:  # pragma: no cover
            found[name] = "unknown"
    return found


def _pending(done: np.ndarray) -> Iterator[int]:
    for run_id in range(done.size):
        if not done[run_id]:
            yield run_id


def run_sweep(
    spec: Spec,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    replace_other_spec: bool = False,
    window: int | None = None,
) -> SweepResult:
    """Run every run of ``spec`` not yet in ``out``; return counts for this session and overall.

    ``executor`` (if given) is used and left open; otherwise one is made from ``workers``,
    ``scheduler`` and ``cluster`` (see :func:`milieu_sim.experiments.executors.make_executor`) and closed.
    """
    store = SweepStore(out, spec, replace_other_spec=replace_other_spec)
    done = store.open(versions(), retry_failed=retry_failed)
    if store.model_changed:
        print(
            f"milieu-sim: warning: the model's code changed since earlier sessions of the sweep in '{out}'; "
            "its runs mix two versions of the model (see the sessions in manifest.json)",
            file=sys.stderr,
        )
    pending = int(spec.n_runs - done.sum())
    own_executor = executor is None
    started = time.perf_counter()
    status = "interrupted"
    bar = None
    ran = failed = 0
    try:
        if pending:
            executor = executor or make_executor(workers=workers, scheduler=scheduler, cluster=cluster)
            window = window or max(4, 4 * executor.workers)
            fn = functools.partial(run_task, series=spec.series)
            if progress:
                from tqdm import tqdm

                bar = tqdm(
                    total=spec.n_runs,
                    initial=store.previously_done,
                    unit="run",
                    desc=spec.name,
                    file=sys.stderr,
                    disable=None,
                )
                bar.set_postfix(failed=0, refresh=False)
            for record in executor.map_unordered(fn, spec.runs(_pending(done)), window):
                store.add(record)
                ran += 1
                if not record["ok"]:
                    failed += 1
                if bar is not None:
                    if not record["ok"]:
                        bar.set_postfix(failed=failed, refresh=False)
                    bar.update(1)
        store.flush()
        status = "complete"
    except KeyboardInterrupt:
        store.flush()  # keep what has finished
        raise
    finally:
        if bar is not None:
            bar.close()
        if own_executor and executor is not None:
            executor.close()
        seconds = time.perf_counter() - started
        name = executor.describe() if executor is not None else "none (nothing to run)"
        workers_used = executor.workers if executor is not None else 0
        try:
            manifest = store.finish(status, name, workers_used, seconds)
        except Exception:  # the directory may be unwritable (full disk): the results on disk are still valid
            manifest = {}
    return SweepResult(
        path=Path(out),
        n_runs=spec.n_runs,
        runs_done=int(manifest.get("runs_done", 0)),
        runs_failed=int(manifest.get("runs_failed", 0)),
        ran_now=ran,
        failed_now=failed,
        seconds=seconds,
        manifest=manifest,
    )

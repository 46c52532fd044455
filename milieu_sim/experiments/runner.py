"""One run of a sweep as a plain, picklable function (it runs in worker processes and on Dask workers).

:func:`run_task` never raises for a model error: it returns a record with ``ok = False``, the
error and the traceback, so one failing run cannot stop a sweep.  Input errors cannot happen here:
the spec was checked before anything ran.

Besides the summary outcomes of :func:`milieu_sim.experiments.outcomes.summarise` (the same numbers as
:func:`milieu_sim.experiments.experiment.run_experiment`), a run keeps the counts the rate-ratio models need:
``conflict_events``, ``containment_events`` and ``shifts`` (the exposure), all after the warm-up.

Test hooks (environment variables, comma-separated run ids, inherited by worker processes):
``MILIEU_SIM_FAIL_RUNS`` makes those runs raise, to test failure handling; ``MILIEU_SIM_KILL_RUNS``
makes a *worker process* running them exit at once (never the main process), to test lost workers.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from typing import Any

import numpy as np

from milieu_sim.experiments.experiment import build_model
from milieu_sim.experiments.outcomes import summarise

FAIL_RUNS_ENV = "MILIEU_SIM_FAIL_RUNS"
KILL_RUNS_ENV = "MILIEU_SIM_KILL_RUNS"
COUNT_COLUMNS = ("conflict_events", "containment_events", "shifts")
SERIES_COLUMNS = ("day", "shift", "census", "staff_on_duty", "conflict_events", "containment_events")


class InjectedFailure(RuntimeError):
    """Raised by the test hook (``MILIEU_SIM_FAIL_RUNS``)."""


def _injected(run_id: int, variable: str = FAIL_RUNS_ENV) -> bool:
    raw = os.environ.get(variable, "")
    return bool(raw) and str(run_id) in {part.strip() for part in raw.split(",")}


def simulate(params: dict[str, Any], series: bool = False) -> tuple[dict[str, float], dict[str, np.ndarray] | None]:
    """Run one model; return its summary outcomes plus event counts, and optionally its shift series."""
    warmup = int(params.get("warmup_days", 0) or 0)
    model = build_model(params)
    model.run()
    tables = model.tables()
    outcomes: dict[str, Any] = summarise(tables, warmup_days=warmup)
    shifts = tables["shifts"]
    kept = shifts[shifts["day"] >= warmup]
    outcomes["conflict_events"] = int(kept["conflict_events"].sum())
    outcomes["containment_events"] = int(kept["containment_events"].sum())
    outcomes["shifts"] = len(kept)
    frame = None
    if series:
        frame = {
            "day": shifts["day"].to_numpy(dtype=np.int32),
            "shift": shifts["shift"].astype(str).to_numpy(dtype=object),
            **{c: shifts[c].to_numpy(dtype=np.int32) for c in SERIES_COLUMNS[2:]},
        }
    return outcomes, frame


def run_task(task: dict[str, Any], series: bool = False) -> dict[str, Any]:
    """Run one task of :meth:`milieu_sim.experiments.spec.Spec.run`; return a result record (never raises)."""
    started = time.perf_counter()
    record: dict[str, Any] = {key: task[key] for key in ("run_id", "replicate", "point", "policy", "seed")}
    record["values"] = task["values"]
    if _injected(task["run_id"], KILL_RUNS_ENV) and multiprocessing.parent_process() is not None:
        os._exit(70)  # a lost worker (test hook)
    try:
        if _injected(task["run_id"]):
            raise InjectedFailure(f"injected failure of run {task['run_id']} ({FAIL_RUNS_ENV})")
        outcomes, frame = simulate(task["params"], series=series)
    except Exception as exc:  # a model error in one run must not lose the others
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        record["run_seconds"] = time.perf_counter() - started
        return record
    record.update(ok=True, outcomes=outcomes, series=frame, run_seconds=time.perf_counter() - started)
    return record

"""One way to build, run and measure one model: :func:`run_one`.

:func:`run_one` is the model as a plain function from a flat parameter dict to named outcomes (the
vocabulary of :mod:`milieu_sim.experiments.outcomes`), so any experiment framework can drive it; it is
also what the batch runner (:func:`run_task`), validation and calibration (:mod:`milieu_sim.analysis`)
run.  :func:`run_experiment` is the same function under its public name.

    from milieu_sim.experiments.runner import run_one
    result = run_one({"policy": "therapeutic_milieu"}, seed=3, days=60, warmup_days=10)
    result["containment_per_shift"], result["containment_events"], result["shifts"]

:func:`run_task` runs one task of a sweep in worker processes and on Dask workers.  It never raises
for a model error: it returns a record with ``ok = False``, the error and the traceback, so one
failing run cannot stop a sweep.  Input errors cannot happen there: the spec was checked before
anything ran.

Test hooks (environment variables, comma-separated run ids, inherited by worker processes):
``MILIEU_SIM_FAIL_RUNS`` makes those runs raise, to test failure handling; ``MILIEU_SIM_KILL_RUNS``
makes a *worker process* running them exit at once (never the main process), to test lost workers.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from milieu_sim.errors import ParameterError
from milieu_sim.experiments.outcomes import COUNTS, SUMMARY_OUTCOMES, check_names, measure
from milieu_sim.model.model import MilieuModel

FAIL_RUNS_ENV = "MILIEU_SIM_FAIL_RUNS"
KILL_RUNS_ENV = "MILIEU_SIM_KILL_RUNS"
COUNT_COLUMNS = COUNTS  # kept with every run of a sweep: the counts that pool rates and shares over runs
SERIES_COLUMNS = ("day", "shift", "census", "staff_on_duty", "conflict_events", "containment_events")
RUN_KEYS = ("seed", "rng", "warmup_days")  # keys of a run's parameter dict that are not schema parameters


class InjectedFailure(RuntimeError):
    """Raised by the test hook (``MILIEU_SIM_FAIL_RUNS``)."""


def _model_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    """MilieuModel's keyword arguments from a flat parameter dict (``seed`` is accepted as an alias of ``rng``;
    ``warmup_days`` is a measuring rule, not a model parameter, and is left out)."""
    params = dict(params)
    seed = params.pop("seed", None)
    params["rng"] = params.pop("rng", seed)
    params.pop("warmup_days", None)
    return params


def build_model(params: Mapping[str, Any]) -> MilieuModel:
    """A MilieuModel from a flat parameter dict (``seed`` is accepted as an alias of ``rng``; ``warmup_days``
    is a measuring rule, not a model parameter, and is ignored here)."""
    return MilieuModel(**_model_arguments(params))


def check_params(params: Mapping[str, Any]) -> None:
    """Refuse bad parameters before any work starts: every check the model makes (``MilieuModel.check``),
    with nothing built."""
    MilieuModel.check(**_model_arguments(params))


def shift_series(tables: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The per-shift series a sweep keeps (:data:`SERIES_COLUMNS`), whole run (warm-up included)."""
    shifts = tables["shifts"]
    return {
        "day": shifts["day"].to_numpy(dtype=np.int32),
        "shift": shifts["shift"].astype(str).to_numpy(dtype=object),
        **{c: shifts[c].to_numpy(dtype=np.int32) for c in SERIES_COLUMNS[2:]},
    }


def run_one(
    params: Mapping[str, Any],
    seed: int | None = None,
    days: int | None = None,
    warmup_days: int | None = None,
    outcomes: Iterable[str] | None = None,
    series: bool = False,
) -> dict[str, Any]:
    """Build, run and measure one model; return its outcomes by name.

    ``params`` are schema parameters (``setting``, ``policy`` -- a preset name, a policy file or a
    :class:`~milieu_sim.model.policies.Policy` --, ``days``, ...), optionally with ``seed`` (or ``rng``) and
    ``warmup_days``; the keyword arguments, when given, take precedence over those keys.  The result holds
    the ``outcomes`` asked for (default: the summary outcomes), the count outcomes of the vocabulary (event
    counts and their exposures in shifts and occupied bed-hours, by phase of stay, and the numerators and
    denominators of the shares; all after the warm-up), so that rates and shares can be pooled over runs and
    compared as paired rate ratios, ``seconds`` (wall time),
    and with ``series=True`` also ``series``: the per-shift series of :func:`shift_series`.
    """
    started = time.perf_counter()
    params = dict(params)
    if seed is not None:
        params.pop("rng", None)
        params["seed"] = seed
    if days is not None:
        params["days"] = days
    warmup = int(params.get("warmup_days", 0) or 0) if warmup_days is None else int(warmup_days)
    names = None if outcomes is None else check_names(outcomes)
    model = build_model(params)
    if not 0 <= warmup < model.p["days"]:
        raise ParameterError(
            f"parameter 'warmup_days' = {warmup} is not allowed; allowed: 0 <= warmup_days < days ({model.p['days']})"
        )
    model.run()
    tables = model.tables()
    names = list(SUMMARY_OUTCOMES) if names is None else names
    result: dict[str, Any] = measure(tables, warmup, [*names, *(c for c in COUNTS if c not in names)])
    if series:
        result["series"] = shift_series(tables)
    result["seconds"] = time.perf_counter() - started
    return result


# The Python API's name for the same function: the model as a function from parameters to named outcomes.
run_experiment = run_one


def _injected(run_id: int, variable: str = FAIL_RUNS_ENV) -> bool:
    raw = os.environ.get(variable, "")
    return bool(raw) and str(run_id) in {part.strip() for part in raw.split(",")}


def run_task(task: dict[str, Any], series: bool = False) -> dict[str, Any]:
    """Run one task of :meth:`milieu_sim.experiments.spec.Spec.run`; return a result record (never raises)."""
    started = time.perf_counter()
    record: dict[str, Any] = {key: task[key] for key in ("run_id", "replicate", "point", "policy", "seed")}
    record["values"] = task["values"]
    if "posterior" in task:  # the posterior draw and its values (the runs table records them)
        record["posterior"] = task["posterior"]
    if _injected(task["run_id"], KILL_RUNS_ENV) and multiprocessing.parent_process() is not None:
        os._exit(70)  # a lost worker (test hook)
    try:
        if _injected(task["run_id"]):
            raise InjectedFailure(f"injected failure of run {task['run_id']} ({FAIL_RUNS_ENV})")
        outcomes = run_one(task["params"], outcomes=task.get("outcomes"), series=series)
    except Exception as exc:  # a model error in one run must not lose the others
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        record["run_seconds"] = time.perf_counter() - started
        return record
    frame = outcomes.pop("series", None)
    outcomes.pop("seconds")
    record.update(ok=True, outcomes=outcomes, series=frame, run_seconds=time.perf_counter() - started)
    return record

"""Run a sweep: the spec's runs that are not yet on disk, on an executor, streamed to the sweep directory.

    from milieu_sim.experiments import load_spec, run_sweep
    result = run_sweep(load_spec("experiments/policy_comparison.toml"), "results/policies", workers=2)

Re-running with the same spec and directory finishes the remaining runs only (see
:mod:`milieu_sim.experiments.storage`).  At most ``window`` runs are in flight and at most one batch of
results is held in memory, so memory does not grow with the number of runs.

Before any work, :func:`plan` estimates the runs, time and disk of a sweep; above :data:`LIMITS` it is
refused (:class:`TooLargeError`) unless confirmed (``--yes``, or ``allow_large = true`` in the spec).
SIGTERM and SIGHUP end a sweep as Ctrl-C does: the finished runs are saved, the workers are stopped, and
:class:`~milieu_sim.experiments.executors.Interrupted` (a ``KeyboardInterrupt``) is raised.
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

from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.executors import Executor, default_workers, make_executor, signals_as_interrupt
from milieu_sim.experiments.runner import run_task
from milieu_sim.experiments.spec import Spec
from milieu_sim.experiments.storage import SweepStore

#: Above any of these a sweep needs confirming (``--yes`` or ``allow_large = true``).
LIMITS = {"runs": 100_000, "hours": 24.0, "gigabytes": 10.0}
#: Rough cost of one run on one core: fixed seconds, seconds per simulated day and per client-day (measured:
#: a year of the default 20-bed ward about 0.8 s, 120 days of 8 clients about 0.24 s), and bytes on disk per
#: kept value and per series row.
SECONDS_PER_RUN = 0.1
SECONDS_PER_DAY = 0.002
SECONDS_PER_CLIENT_DAY = 3e-5
BYTES_PER_VALUE = 12
BYTES_PER_SERIES_ROW = 40


class TooLargeError(MilieuInputError):
    """A sweep above :data:`LIMITS` that was not confirmed."""


@dataclass(frozen=True)
class Plan:
    """A sweep's size before it runs: runs, estimated seconds (on ``workers``) and bytes on disk."""

    runs: int
    workers: int
    seconds: float
    bytes: int

    def line(self, name: str, to_run: int | None = None) -> str:
        todo = f" ({to_run:,} to run)" if to_run is not None and to_run != self.runs else ""
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        return (
            f"sweep '{name}': {self.runs:,} runs{todo}, about {_duration(self.seconds)} on {workers}, "
            f"about {_size(self.bytes)} on disk"
        )

    def over(self) -> list[str]:
        """What is above the limits, in words (empty if nothing)."""
        over = []
        if self.runs > LIMITS["runs"]:
            over.append(f"more than {LIMITS['runs']:,} runs")
        if self.seconds > LIMITS["hours"] * 3600:
            over.append(f"more than {LIMITS['hours']:g} hours")
        if self.bytes > LIMITS["gigabytes"] * 1e9:
            over.append(f"more than {LIMITS['gigabytes']:g} GB")
        return over


def plan(spec: Spec, workers: int = 1, runs: int | None = None) -> Plan:
    """Estimate ``runs`` (default: all) of ``spec`` on ``workers`` cores, without building the design."""
    from milieu_sim.model.params import setting_defaults

    n_runs = spec.n_runs_planned if runs is None else runs
    clients = float(spec.parameters.get("n_clients", setting_defaults(spec.setting)["n_clients"]))
    for factor in spec.factors:  # a varied ward size: the largest counts
        if "n_clients" in factor.names:
            column = factor.names.index("n_clients")
            clients = max(level[column] for level in factor.levels) if factor.levels else factor.high or 1.0
    per_run = SECONDS_PER_RUN + spec.days * (SECONDS_PER_DAY + SECONDS_PER_CLIENT_DAY * float(clients))
    values = 5 + len(spec.varied) + len(spec.outcomes) + 4
    size = values * BYTES_PER_VALUE + (3 * spec.days * BYTES_PER_SERIES_ROW if spec.series else 0)
    return Plan(runs=n_runs, workers=workers, seconds=n_runs * per_run / max(1, workers), bytes=n_runs * size)


def check_plan(spec: Spec, workers: int = 1, confirmed: bool = False) -> Plan:
    """The plan of ``spec``; raise :class:`TooLargeError` (one line) above :data:`LIMITS` unless confirmed."""
    found = plan(spec, workers)
    over = found.over()
    if over and not (confirmed or spec.allow_large):
        raise TooLargeError(
            f"{found.line(spec.name)}: {' and '.join(over)}; check the experiment, or pass --yes "
            "(or set allow_large = true in the experiment file) to run it anyway"
        )
    return found


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{max(1, round(seconds))} s"


def _size(size: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:.0f} bytes"


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
    confirmed: bool = False,
) -> SweepResult:
    """Run every run of ``spec`` not yet in ``out``; return counts for this session and overall.

    ``executor`` (if given) is used and left open; otherwise one is made from ``workers``,
    ``scheduler`` and ``cluster`` (see :func:`milieu_sim.experiments.executors.make_executor`) and closed.
    A sweep above :data:`LIMITS` raises :class:`TooLargeError` unless ``confirmed``; another sweep running
    in ``out`` raises :class:`~milieu_sim.experiments.storage.SweepBusyError`.
    """
    with signals_as_interrupt():
        return _run_sweep(**locals())


def _run_sweep(
    spec: Spec,
    out: str | Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    executor: Executor | None,
    progress: bool,
    retry_failed: bool,
    replace_other_spec: bool,
    window: int | None,
    confirmed: bool,
) -> SweepResult:
    check_plan(spec, workers or default_workers(), confirmed)
    store = SweepStore(out, spec, replace_other_spec=replace_other_spec)
    done = store.open(versions(), retry_failed=retry_failed)
    for note in store.notes:
        print(f"milieu-sim: {note}", file=sys.stderr)
    pending = int(spec.n_runs - done.sum())
    if progress and pending:
        cores = workers or (executor.workers if executor is not None else default_workers())
        todo = plan(spec, min(cores, pending), runs=pending)
        print(
            f"milieu-sim: sweep '{spec.name}': {spec.n_runs:,} runs ({pending:,} to run), about "
            f"{_duration(todo.seconds)} on {todo.workers} worker{'s' if todo.workers != 1 else ''}, about "
            f"{_size(todo.bytes)} more on disk",
            file=sys.stderr,
        )
    if store.model_changed:
        print(
            f"milieu-sim: warning: the model's code changed since earlier sessions of the sweep in '{out}'; "
            "its runs mix two versions of the model (see the sessions in manifest.json)",
            file=sys.stderr,
        )
    own_executor = executor is None
    started = time.perf_counter()
    status = "interrupted"
    bar = None
    ran = failed = 0
    try:
        if pending:
            if executor is None:
                cap = min(workers, pending) if workers else None
                executor = make_executor(workers=cap, scheduler=scheduler, cluster=cluster, at_most=pending)
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
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: stop the workers, keep what has finished
        if own_executor and executor is not None:
            executor.abort()
        store.flush()
        raise
    finally:
        try:
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
        finally:
            store.close()
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

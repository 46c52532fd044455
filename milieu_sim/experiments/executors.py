"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Every executor has the same method, :meth:`Executor.map_unordered`, which keeps at most ``window``
runs in flight (so a sweep of millions of runs never holds millions of futures) and yields each
result as it finishes; :meth:`Executor.map` is an ordered map of any function built on it (the
calibration's tasks run through it, on the same workers, with the same recovery from a lost worker).
Results do not depend on the executor: a run's seed comes from the spec and its index, and each run
is computed by the same function in a fresh model.

A lost worker (a killed process, a worker that died) does not stop the sweep: the local-process
executor starts a new pool and runs the runs that were in flight again, one at a time, so that a run
that kills its worker on its own is recorded as failed and the others complete (Dask reschedules by
itself and reports a run that keeps killing workers as ``KilledWorker``, recorded as failed).

SIGTERM and SIGHUP end a sweep as Ctrl-C does (:func:`signals_as_interrupt` turns them into
:class:`Interrupted`, a ``KeyboardInterrupt``), and :meth:`Executor.abort` stops every worker at once, so
no worker process is left running after the sweep ends, on any executor.  Local workers are capped at the
cores this process may use (:func:`cap_workers`) unless the caller asks for more.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from milieu_sim.errors import MilieuInputError

Task = dict[str, Any]
TASKS_PER_WORKER = 1000  # runs before a local worker process is replaced by a fresh one
Result = dict[str, Any]


class SchedulerError(MilieuInputError):
    """The Dask scheduler given on the command line cannot be reached."""


class WorkerError(RuntimeError):
    """A task of :meth:`Executor.map` failed (its error, or its worker's, is the message)."""


def failed_record(task: Task, exc: BaseException) -> Result:
    """A failure record for a run whose worker, not the model, failed."""
    record = {key: task[key] for key in ("run_id", "replicate", "point", "policy", "seed") if key in task}
    record.update(
        values=task.get("values"),
        ok=False,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
        run_seconds=0.0,
    )
    return record


class Interrupted(KeyboardInterrupt):
    """A sweep ended by SIGTERM or SIGHUP (handled like Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signal_name = signal.Signals(signum).name


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM and SIGHUP raise :class:`Interrupted` (once; a repeated signal is ignored
    while the sweep saves its results and stops its workers).  Only in the main thread; restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = (signal.SIGTERM, signal.SIGHUP)

    def interrupt(signum: int, frame: object) -> None:
        for sig in caught:
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in caught}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cap_workers(requested: int | None, allow_more: bool = False) -> tuple[int, str]:
    """The number of local workers to use and, if it differs from ``requested``, a one-line note saying why."""
    cores = default_workers()
    if requested is None:
        return cores, ""
    if requested > cores and not allow_more:
        return cores, (
            f"--workers {requested} is more than the {cores} cores available; using {cores} "
            "(--oversubscribe to use more)"
        )
    return requested, ""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """Runs tasks; subclasses say how."""

    name = "executor"
    workers = 1

    def map_unordered(self, fn: Callable[[Task], Result], tasks: Iterable[Task], window: int) -> Iterator[Result]:
        raise NotImplementedError

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """``fn`` of each item, run by this executor's workers, in the items' order.

        ``fn`` and the items must pickle (a module-level function, ``functools.partial``).  A task that
        fails, or whose worker is lost twice, raises :class:`WorkerError` naming it."""
        tasks = [{"run_id": k, "item": item} for k, item in enumerate(items)]
        results: list[Any] = [None] * len(tasks)
        for result in self.map_unordered(functools.partial(_call, fn), tasks, window=2 * self.workers):
            if not result.get("ok"):
                error = WorkerError(f"task {result.get('run_id')} of a map failed: {result.get('error')}")
                error.add_note(result.get("traceback", ""))
                raise error
            results[result["run_id"]] = result["value"]
        return results

    def close(self) -> None:
        """Release workers (idempotent)."""

    def abort(self) -> None:
        """Stop every worker now, without waiting for the runs in flight (after Ctrl-C or SIGTERM)."""
        self.close()

    def describe(self) -> str:
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _call(fn: Callable[[Any], Any], task: Task) -> Result:
    """One task of :meth:`Executor.map`: the function's value under the task's index."""
    try:
        return {"run_id": task["run_id"], "ok": True, "value": fn(task["item"])}
    except Exception as exc:  # the same failure record on every executor
        return failed_record(task, exc)


class SerialExecutor(Executor):
    """Runs every task in this process, one after another."""

    name = "serial"

    def map_unordered(self, fn, tasks, window):
        for task in tasks:
            yield fn(task)


#: What a fork server imports once, before it forks any worker: the runs' module (and with it the model, Mesa,
#: Numba and pandas), so that a new worker starts with them loaded instead of importing them again.
WORKER_PRELOAD = ("__main__", "milieu_sim.experiments.runner")


@functools.cache
def worker_context() -> Any:
    """How local workers are started: forked from a fork server that has imported :data:`WORKER_PRELOAD` (a worker
    is ready in milliseconds instead of the seconds its imports take), where the platform has one, else
    ``spawn``.  Both start from a fresh interpreter, not from a copy of this process."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    return context


def _as_the_parent(environment: dict[str, str], folder: str, path: list[str]) -> None:
    """A worker's start: the parent's environment, working folder and import path as they were when the pool was
    made (the fork server's are those of when it started; a spawned worker has them already)."""
    os.environ.clear()
    os.environ.update(environment)
    with contextlib.suppress(OSError):
        os.chdir(folder)
    sys.path[:] = path


class ProcessExecutor(Executor):
    """Local worker processes (:func:`worker_context`: forked from a fork server that has the model imported, each
    with the environment, working folder and import path of this process when the pool was made).

    Each worker is replaced after ``tasks_per_worker`` runs, so that memory a model run leaves behind
    (Mesa 3.5 keeps one dynamic ``GridCell`` class per grid alive, about 12 MB per 1,000 runs) cannot
    pile up over a long sweep.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, tasks_per_worker: int | None = TASKS_PER_WORKER) -> None:
        self.workers = workers or default_workers()
        self.tasks_per_worker = tasks_per_worker
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=worker_context(),
            max_tasks_per_child=self.tasks_per_worker,
            initializer=_as_the_parent,
            initargs=(dict(os.environ), os.getcwd(), list(sys.path)),
        )

    def map_unordered(self, fn, tasks, window):
        self._pool = self._pool or self._new_pool()
        source = iter(tasks)
        in_flight: dict[Future, Task] = {}
        unsent: list[Task] = []  # taken from the source but refused by a pool that had just broken
        suspects: list[Task] = []  # in flight when a worker died: run again one at a time to find the culprit
        alone = False  # the one run in flight is a suspect running alone

        def submit(task: Task) -> bool:
            try:
                in_flight[self._pool.submit(fn, task)] = task
            except BrokenProcessPool:
                return False
            return True

        while True:
            broken = False
            if suspects:
                if not in_flight:
                    task = suspects.pop(0)
                    alone = True
                    if not submit(task):
                        suspects.insert(0, task)
                        broken = True
            else:
                alone = False
                while len(in_flight) < window and not broken:
                    task = unsent.pop() if unsent else next(source, None)
                    if task is None:
                        break
                    if not submit(task):
                        unsent.append(task)
                        broken = True
            if in_flight and not broken:
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        if alone:  # it killed its worker on its own: the run failed
                            yield failed_record(task, exc)
                        else:
                            suspects.append(task)
                    except Exception as exc:  # e.g. a result that cannot be unpickled
                        yield failed_record(task, exc)
            elif not in_flight and not broken:
                return
            if broken:  # every future of a broken pool fails: start a new pool
                suspects.extend(in_flight.values())
                suspects.sort(key=lambda t: t["run_id"])
                in_flight.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():  # pragma: no cover - a worker that ignores SIGTERM
                process.kill()
                process.join(timeout=5)


class DaskExecutor(Executor):
    """A Dask cluster: an existing scheduler (``address``) or a new ``LocalCluster`` (``address=None``)."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        from dask.distributed import Client, LocalCluster

        self._cluster = None
        self._client = None
        if address is None:
            n = workers or default_workers()
            self._cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
            )
            self._client = Client(self._cluster)
            self.name = "dask local cluster"
        else:
            try:
                self._client = Client(address, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SchedulerError(
                    f"parameter 'scheduler' = {address!r}: cannot connect to a Dask scheduler there ({exc})"
                ) from None
            self.name = f"dask cluster at {address}"
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or (workers or 1))

    def map_unordered(self, fn, tasks, window):
        from dask.distributed import wait as dask_wait

        source = iter(tasks)
        in_flight: dict[Any, Task] = {}

        def fill() -> None:
            while len(in_flight) < window:
                task = next(source, None)
                if task is None:
                    return
                in_flight[self._client.submit(fn, task, pure=False)] = task

        fill()
        while in_flight:
            done, _ = dask_wait(list(in_flight), return_when="FIRST_COMPLETED")
            for future in done:
                task = in_flight.pop(future)
                try:
                    yield future.result()
                except Exception as exc:  # KilledWorker, CancelledError ...: the run failed, the sweep goes on
                    yield failed_record(task, exc)
                finally:
                    future.release()
            fill()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    workers: int | None = None, scheduler: str | None = None, cluster: str | None = None, at_most: int | None = None
) -> Executor:
    """The executor the command line asks for: Dask if ``scheduler`` or ``cluster``, else processes
    (``workers`` = 1 runs serially in this process); local workers default to the cores available and
    are never more than ``at_most`` (the runs to do)."""
    if scheduler:
        return DaskExecutor(address=scheduler, workers=workers)
    workers = workers or default_workers()
    if at_most is not None:
        workers = max(1, min(workers, at_most))
    if cluster == "local":
        return DaskExecutor(address=None, workers=workers)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)

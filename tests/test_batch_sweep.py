"""Sweeps: identical tables on every executor, resuming after SIGKILL, failed runs recorded, flat streaming."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim.cli.main import main
from milieu_sim.experiments.executors import ProcessExecutor, SerialExecutor
from milieu_sim.experiments.runner import FAIL_RUNS_ENV, KILL_RUNS_ENV, run_experiment
from milieu_sim.experiments.spec import load_spec
from milieu_sim.experiments.storage import read_failures, read_manifest, read_runs, read_series
from milieu_sim.experiments.sweep import run_sweep

SPEC = """
name = "tiny_sweep"
policies = ["usual_care", "restrictive"]
replicates = 3
days = 3
warmup_days = 1
seed = 11
batch_size = 4
[parameters]
n_clients = 10
[vary]
de_escalation_skill = [0.3, 0.8]
[outputs]
series = true
"""


def spec_file(tmp_path: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    runs = read_runs(path).drop(columns="run_seconds")
    failures = read_failures(path)
    failures = failures.drop(columns="traceback") if len(failures) else failures
    return runs, read_series(path), failures


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    spec = load_spec(spec_file(tmp))
    result = run_sweep(spec, tmp / "out", executor=SerialExecutor(), progress=False)
    return spec, tmp / "out", result


def test_serial_sweep_writes_every_run_once(serial_sweep):
    spec, out, result = serial_sweep
    runs, series, failures = tables(out)
    assert result.runs_done == spec.n_runs == 12 and result.runs_failed == 0
    assert runs["run_id"].tolist() == list(range(spec.n_runs))
    assert failures.empty
    assert len(list((out / "runs").glob("part-*.parquet"))) == spec.n_runs // spec.batch_size
    # per-run counts and exposure are kept for the count models; 3 shifts a day after the warm-up
    assert (runs["shifts"] == 3 * (spec.days - spec.warmup_days)).all()
    assert (runs["conflict_per_shift"] * runs["shifts"] - runs["conflict_events"]).abs().max() < 1e-9
    assert set(series["run_id"]) == set(runs["run_id"]) and len(series) == spec.n_runs * 3 * spec.days
    manifest = read_manifest(out)
    assert manifest["spec_hash"] == spec.hash() and manifest["status"] == "complete"
    assert {"milieu-sim", "numpy", "SALib", "dask"} <= set(manifest["versions"])


def test_sweep_equals_run_experiment(serial_sweep):
    spec, out, _ = serial_sweep
    runs = read_runs(out)
    for run_id in (0, 7, 11):
        task = spec.run(run_id)
        expected = run_experiment(task["params"])
        row = runs[runs["run_id"] == run_id].iloc[0]
        assert row["seed"] == task["seed"] and row["policy"] == task["policy"]
        for outcome in spec.outcomes:
            assert row[outcome] == pytest.approx(expected[outcome], nan_ok=True, rel=0, abs=0)


def test_processes_and_dask_give_identical_tables(serial_sweep, tmp_path):
    spec, out, _ = serial_sweep
    expected = tables(out)
    with ProcessExecutor(2, tasks_per_worker=5) as executor:  # workers are replaced during the sweep
        run_sweep(spec, tmp_path / "processes", executor=executor, progress=False, window=3)
    run_sweep(spec, tmp_path / "dask", cluster="local", workers=2, progress=False)
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster:  # "an existing cluster"
        run_sweep(spec, tmp_path / "scheduler", scheduler=cluster.scheduler_address, progress=False)
    for name in ("processes", "dask", "scheduler"):
        got = tables(tmp_path / name)
        pd.testing.assert_frame_equal(got[0], expected[0], check_exact=True)
        pd.testing.assert_frame_equal(got[1], expected[1], check_exact=True)
        assert got[2].empty
        assert read_manifest(tmp_path / name)["spec_hash"] == spec.hash()


def test_failing_runs_are_recorded_and_the_rest_complete(serial_sweep, tmp_path, monkeypatch, capsys):
    spec, out, _ = serial_sweep
    monkeypatch.setenv(FAIL_RUNS_ENV, "2,9")
    result = run_sweep(spec, tmp_path / "serial", workers=1, progress=False)
    assert result.runs_failed == 2 and result.runs_done == spec.n_runs - 2
    with ProcessExecutor(2) as executor:
        run_sweep(spec, tmp_path / "processes", executor=executor, progress=False)
    for name in ("serial", "processes"):
        runs, _, failures = tables(tmp_path / name)
        assert failures["run_id"].tolist() == [2, 9]
        assert failures["error"].str.contains("InjectedFailure").all()
        assert {"policy", "replicate", "seed", "de_escalation_skill"} <= set(failures.columns)
        assert failures["seed"].tolist() == [spec.run(2)["seed"], spec.run(9)["seed"]]
        expected = tables(out)[0]
        pd.testing.assert_frame_equal(runs, expected[~expected["run_id"].isin([2, 9])].reset_index(drop=True))
    # the command line: exit status 1 and a final line that says how many failed
    code = main(["sweep", str(spec.path), "--out", str(tmp_path / "cli"), "--workers", "1", "--no-progress"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1 and "2 runs failed" in last
    # failed runs are not re-run by default; --retry-failed runs them again (now without the injected fault)
    monkeypatch.delenv(FAIL_RUNS_ENV)
    again = run_sweep(spec, tmp_path / "serial", workers=1, progress=False)
    assert again.ran_now == 0 and again.runs_failed == 2
    retried = run_sweep(spec, tmp_path / "serial", workers=1, progress=False, retry_failed=True)
    assert retried.ran_now == 2 and retried.runs_failed == 0
    pd.testing.assert_frame_equal(tables(tmp_path / "serial")[0], tables(out)[0])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sweep_killed_with_sigkill_resumes_to_the_same_rows(tmp_path, workers):
    big = SPEC.replace("replicates = 3", "replicates = 8").replace("batch_size = 4", "batch_size = 2")
    path = spec_file(tmp_path, big)
    target = tmp_path / "killed"
    command = [sys.executable, "-m", "milieu_sim.cli.main", "sweep", str(path), "--out", str(target)]
    command += ["--workers", workers, "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list((target / "runs").glob("part-*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    assert process.poll() is None, process.stderr.read().decode()
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers, mid-way
    process.wait()
    process.stderr.close()
    partial = read_runs(target)
    full = load_spec(path)
    assert 0 < len(partial) < full.n_runs
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    runs, series, failures = tables(target)
    assert runs["run_id"].tolist() == list(range(full.n_runs))  # every run exactly once
    reference = tmp_path / "uninterrupted"
    run_sweep(full, reference, workers=1, progress=False)
    expected = tables(reference)
    pd.testing.assert_frame_equal(runs, expected[0])
    pd.testing.assert_frame_equal(series, expected[1])
    assert failures.empty
    assert not list(target.rglob(".tmp-*"))


def test_results_stream_to_disk_in_bounded_batches(tmp_path, monkeypatch):
    """The store never holds more than one batch, and the executor never more than the window."""
    spec = load_spec(spec_file(tmp_path, SPEC.replace("batch_size = 4", "batch_size = 5")))
    from milieu_sim.experiments import storage

    largest = {"buffer": 0, "in_flight": 0}
    original_add = storage.SweepStore.add

    def add(self, record):
        original_add(self, record)
        largest["buffer"] = max(largest["buffer"], len(self._buffer))

    monkeypatch.setattr(storage.SweepStore, "add", add)

    class CountingExecutor(SerialExecutor):
        def map_unordered(self, fn, tasks, window):
            source = iter(tasks)
            pulled = []
            for task in source:
                pulled.append(task)
                largest["in_flight"] = max(largest["in_flight"], len(pulled))
                if len(pulled) == window:
                    yield from (fn(t) for t in pulled)
                    pulled = []
            yield from (fn(t) for t in pulled)

    run_sweep(spec, tmp_path / "out", executor=CountingExecutor(), progress=False, window=3)
    assert largest["buffer"] < spec.batch_size
    assert largest["in_flight"] <= 3
    assert len(read_runs(tmp_path / "out")) == spec.n_runs


def test_a_lost_worker_process_is_replaced_and_its_run_recorded(serial_sweep, tmp_path, monkeypatch):
    """A worker that dies takes its pool down: the pool restarts, runs in flight are submitted again,
    and a run that kills its worker twice is recorded as failed."""
    spec, out, _ = serial_sweep
    monkeypatch.setenv(KILL_RUNS_ENV, "5")
    with ProcessExecutor(2) as executor:
        result = run_sweep(spec, tmp_path / "lost", executor=executor, progress=False)
    runs, _, failures = tables(tmp_path / "lost")
    assert failures["run_id"].tolist() == [5] and "BrokenProcessPool" in failures["error"].item()
    expected = tables(out)[0]
    pd.testing.assert_frame_equal(runs, expected[expected["run_id"] != 5].reset_index(drop=True))
    assert result.runs_done == spec.n_runs - 1


def test_resuming_after_the_model_changed_warns(tmp_path, monkeypatch, capsys):
    from milieu_sim.experiments import storage

    spec = load_spec(spec_file(tmp_path, SPEC.replace("replicates = 3", "replicates = 1")))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    assert "warning" not in capsys.readouterr().err
    monkeypatch.setattr(storage, "model_code_hash", lambda: "another model")
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    assert "the model's code changed" in capsys.readouterr().err
    sessions = read_manifest(tmp_path / "out")["sessions"]
    assert [s["model_code_hash"] == "another model" for s in sessions] == [False, True]


def test_a_full_disk_stops_the_sweep_and_the_same_command_finishes_it(serial_sweep, tmp_path, monkeypatch):
    import errno

    from milieu_sim.experiments import storage

    spec, out, _ = serial_sweep
    original = storage.pq.write_table
    calls = {"n": 0}

    def write_table(table, where, *args, **kwargs):
        calls["n"] += Path(where).parent.name == "runs"
        if calls["n"] == 2:  # the second runs part: half written, then the disk is full
            Path(where).write_bytes(b"PAR1 half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(table, where, *args, **kwargs)

    monkeypatch.setattr(storage.pq, "write_table", write_table)
    with pytest.raises(storage.StorageError, match="No space left on device"):
        run_sweep(spec, tmp_path / "full", workers=1, progress=False)
    monkeypatch.undo()
    partial = read_runs(tmp_path / "full")
    assert 0 < len(partial) < spec.n_runs
    assert not list((tmp_path / "full").rglob(".tmp-*"))
    result = run_sweep(spec, tmp_path / "full", workers=1, progress=False)
    assert result.ran_now == spec.n_runs - len(partial)
    expected = tables(out)
    for got, want in zip(tables(tmp_path / "full")[:2], expected[:2], strict=True):
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("executor", [SerialExecutor, lambda: ProcessExecutor(2)], ids=["serial", "processes"])
def test_the_executors_ordered_map_keeps_the_items_order_and_names_a_failed_task(executor):
    """Executor.map (the calibration's tasks): results in the items' order whichever finishes first; a task that
    raises, or whose worker process dies, stops the map with a WorkerError naming it."""
    import math

    from milieu_sim.experiments.executors import WorkerError

    with executor() as ex:
        assert ex.map(math.sqrt, [81.0, 4.0, 1.0, 0.0, 16.0]) == [9.0, 2.0, 1.0, 0.0, 4.0]
        with pytest.raises(WorkerError, match=r"task 1 .*math domain error"):
            ex.map(math.sqrt, [4.0, -1.0])
        if isinstance(ex, ProcessExecutor):
            with pytest.raises(WorkerError, match="task 0"):
                ex.map(os._exit, [3])
            assert ex.map(math.sqrt, [25.0]) == [5.0]  # a new pool after the lost worker


def _where_a_worker_is(_: object) -> tuple[str | None, str, bool]:
    """What a worker process sees: the probe variable, its working folder, and whether the runs' module is loaded
    (a task of this module's own needs nothing of it: loaded, it came with the fork server)."""
    return os.environ.get("MILIEU_SIM_PROBE"), os.getcwd(), "milieu_sim.experiments.runner" in sys.modules


def test_workers_start_with_the_environment_and_folder_the_command_had_when_it_made_them(tmp_path, monkeypatch):
    """Local workers are forked from a fork server started once, with that moment's environment and folder
    (executors.worker_context); each pool's workers take this process's, as they are when the pool is made, so a
    test hook or a relative path set later still reaches them."""
    from milieu_sim.experiments.executors import worker_context

    monkeypatch.setenv("MILIEU_SIM_PROBE", "first")
    with ProcessExecutor(2) as ex:
        first = ex.map(_where_a_worker_is, [0, 1])
    assert [seen[:2] for seen in first] == [("first", os.getcwd())] * 2
    monkeypatch.setenv("MILIEU_SIM_PROBE", "later")
    monkeypatch.chdir(tmp_path)
    with ProcessExecutor(2) as ex:
        later = ex.map(_where_a_worker_is, [0, 1])
    assert [seen[:2] for seen in later] == [("later", str(tmp_path))] * 2
    monkeypatch.delenv("MILIEU_SIM_PROBE")
    with ProcessExecutor(2) as ex:
        assert [seen[0] for seen in ex.map(_where_a_worker_is, [0, 1])] == [None, None]
    if worker_context().get_start_method() == "forkserver":  # the model came imported: no worker imports it again
        assert all(seen[2] for seen in first + later)

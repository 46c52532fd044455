"""Sweeps that nothing can corrupt, and one line (never a traceback) for every user mistake (issue 16).

Each test reproduces one failure found on the old code (an adversarial pass over 234 bad inputs and
injected faults) and checks the promise of docs/reliability.md instead.
"""

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim.cli.main import main
from milieu_sim.experiments.executors import worker_context
from milieu_sim.experiments.spec import load_spec
from milieu_sim.experiments.storage import SweepLock, read_manifest, read_runs, read_series
from milieu_sim.experiments.sweep import run_sweep

SPEC = """
name = "reliable"
policies = ["usual_care", "restrictive"]
replicates = 2
days = 3
seed = 5
batch_size = 2
[parameters]
n_clients = 8
[outputs]
series = true
"""


def write(folder: Path, text: str, name: str = "spec.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def one_line_error(capsys, status: int, expected: int = 2) -> str:
    """The command's stderr, checked to be one error line without a traceback."""
    err = capsys.readouterr().err
    assert status == expected, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("milieu-sim: error")]
    assert len(lines) == 1, err
    return lines[0]


def sweep(spec: Path, out: Path, *extra: str) -> int:
    return main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--no-progress", *extra])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny sweep (runs and series) and its tables."""
    tmp = tmp_path_factory.mktemp("finished")
    spec = write(tmp, SPEC)
    assert sweep(spec, tmp / "out") == 0
    return spec, tmp / "out", read_runs(tmp / "out").drop(columns="run_seconds"), read_series(tmp / "out")


def copy_sweep(finished, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished[1], out)
    (out / ".lock").unlink(missing_ok=True)
    return out


# --- 1. one sweep per folder ------------------------------------------------------------------------------
def test_a_second_sweep_into_a_busy_folder_is_refused_naming_the_holder(tmp_path, capsys):
    spec = write(tmp_path, SPEC)
    lock = SweepLock(tmp_path / "out")
    (tmp_path / "out").mkdir()
    lock.acquire()  # another sweep (the lock is per open file: this process counts as another sweep)
    try:
        line = one_line_error(capsys, sweep(spec, tmp_path / "out"))
    finally:
        lock.release()
    assert "in use by another sweep" in line and f"process {os.getpid()}" in line
    assert not (tmp_path / "out" / "runs").exists()  # nothing ran
    assert sweep(spec, tmp_path / "out") == 0  # released: the folder is usable again


def test_the_lock_is_released_when_the_holder_dies(tmp_path):
    (tmp_path / "out").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from milieu_sim.experiments.storage import SweepLock; "
         f"SweepLock({str(tmp_path / 'out')!r}).acquire(); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        from milieu_sim.experiments.storage import SweepBusyError, sweep_running

        assert sweep_running(tmp_path / "out") == f"process {holder.pid} on {os.uname().nodename}"
        with pytest.raises(SweepBusyError, match=f"process {holder.pid}"):
            SweepLock(tmp_path / "out").acquire()
    finally:
        holder.kill()
        holder.wait()
    assert sweep_running(tmp_path / "out") is None  # SIGKILL released it


def test_report_refuses_a_folder_with_duplicate_runs_or_a_running_sweep(finished, tmp_path, capsys):
    pytest.importorskip("statsmodels")
    out = copy_sweep(finished, tmp_path)
    lock = SweepLock(out)
    lock.acquire()
    try:
        assert "still running" in one_line_error(capsys, main(["report", str(out)]))
    finally:
        lock.release()
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    shutil.copy(part, part.with_name("part-zz-copy.parquet"))  # what two sweeps into one folder left behind
    assert "more than once" in one_line_error(capsys, main(["report", str(out)]))


# --- 2. input files are part of the spec's identity ---------------------------------------------------------
MAP = (Path(__file__).resolve().parents[1] / "milieu_sim" / "data" / "wards" / "default.txt").read_text()


def test_a_ward_map_edited_between_resumes_is_noticed(tmp_path, capsys):
    folder = tmp_path / "experiment"
    write(folder, MAP, "ward.txt")
    spec = write(folder, SPEC.replace("n_clients = 8", 'n_clients = 8\nward_map = "ward.txt"'))
    assert sweep(spec, tmp_path / "out") == 0
    capsys.readouterr()
    (folder / "ward.txt").write_text(MAP.replace("D", "G", 1))  # the map changes: its runs would differ
    assert "different spec" in one_line_error(capsys, sweep(spec, tmp_path / "out"))


def test_a_spec_with_a_policy_file_resumes_from_another_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "experiment"
    write(folder, 'name = "mine"\nbase = "usual_care"\n[parameters]\nde_escalation_skill = 0.7\n', "mine.toml")
    policies = SPEC.replace('policies = ["usual_care", "restrictive"]', 'policies = ["usual_care", "mine.toml"]')
    spec = write(folder, policies)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = run_sweep(load_spec(spec), tmp_path / "out", workers=1, progress=False)
    assert first.runs_done == 4 and first.ran_now == 4
    monkeypatch.chdir(tmp_path / "b")
    again = run_sweep(load_spec(spec), tmp_path / "out", workers=1, progress=False)
    assert again.ran_now == 0 and again.runs_done == 4
    assert set(read_runs(tmp_path / "out")["policy"]) == {"usual_care", "mine.toml"}


# --- 3. SIGTERM and SIGHUP end a sweep like Ctrl-C, leaving no worker behind --------------------------------
def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(
    ("command", "signum"), [("sweep", signal.SIGTERM), ("sweep", signal.SIGHUP), ("compare", signal.SIGTERM)]
)
def test_a_signal_ends_a_sweep_with_workers_and_leaves_no_process(tmp_path, command, signum):
    spec = write(tmp_path, SPEC.replace("replicates = 2", "replicates = 8").replace("days = 3", "days = 120"))
    if command == "sweep":
        arguments = [str(spec), "--out", str(tmp_path / "out"), "--no-progress"]
    else:
        arguments = ["--policies", "usual_care,restrictive", "--replicates", "8", "--days", "120", "--n-clients", "8"]
        arguments += ["--out", str(tmp_path / "compare")]
    command = [sys.executable, "-m", "milieu_sim.cli.main", command, *arguments, "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    descendants: set[int] = set()
    # two workers and the resource tracker, and the fork server the workers are forked from (executors.worker_context)
    expected = 3 + (worker_context().get_start_method() == "forkserver")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        now = _children(process.pid)
        for child in list(now):
            now |= _children(child)
        descendants |= now
        if len(now) >= expected:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None, process.communicate()
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert f"interrupted by {signal.Signals(signum).name}" in err and "exit status 130" in err
    time.sleep(1.0)
    assert descendants and not [pid for pid in descendants if _alive(pid)]
    manifest = read_manifest(tmp_path / "out" if command[3] == "sweep" else tmp_path / "compare" / "sweep")
    assert manifest["sessions"][-1]["status"] == "interrupted"


# --- 4. damaged parts are found and their runs run again ---------------------------------------------------
@pytest.mark.parametrize("dataset", ["runs", "series"])
@pytest.mark.parametrize("damage", ["truncate", "empty", "delete"])
def test_a_damaged_part_is_reported_in_one_line_and_its_runs_run_again(finished, tmp_path, capsys, dataset, damage):
    pytest.importorskip("statsmodels")
    spec, _, runs, series = finished
    out = copy_sweep(finished, tmp_path)
    part = sorted((out / dataset).glob("part-*.parquet"))[1]
    if damage == "truncate":
        part.write_bytes(part.read_bytes()[:100])
    elif damage == "empty":
        part.write_bytes(b"")
    else:
        part.unlink()
    if damage != "delete" or dataset == "series":
        assert "part " in one_line_error(capsys, main(["report", str(out)]))
    assert sweep(spec, out) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "warning: part" in line]) == 1, err
    pd.testing.assert_frame_equal(read_runs(out).drop(columns="run_seconds"), runs, check_exact=True)
    pd.testing.assert_frame_equal(read_series(out), series, check_exact=True)


def test_the_manifest_records_each_parts_rows_and_checksum(finished):
    parts = read_manifest(finished[1])["parts"]
    assert {key.split("/")[0] for key in parts} == {"runs", "series"}
    assert sum(v["rows"] for k, v in parts.items() if k.startswith("runs/")) == 4
    assert all(len(v["sha256"]) == 64 for v in parts.values())


# --- 5. sizes nobody meant -------------------------------------------------------------------------------
HUGE_GRID = (
    "[vary]\nstaff_early = { low = 1, high = 1000 }\nstaff_late = { low = 1, high = 1000 }\n"
    "staff_night = { low = 1, high = 1000 }\n[parameters]"
)
TINY_STEP = "[vary]\nde_escalation_skill = { low = 0.0, high = 1.0, step = 1e-12 }\n[parameters]"
HUGE_SOBOL = (
    '[design]\nmethod = "sobol"\nsamples = 1073741824\n[vary]\nconflict_rate = { low = 0.2, high = 0.8 }\n'
    "incident_rate = { low = 0.02, high = 0.1 }\n[parameters]"
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("replicates = 2", "replicates = 1000000000"), "runs"),
        (("[parameters]", HUGE_GRID), "parameter points"),
        (("[parameters]", TINY_STEP), "values"),
        (("[parameters]", HUGE_SOBOL), "parameter points"),
    ],
)
def test_designs_too_large_to_build_are_refused_before_anything(tmp_path, capsys, change, expected):
    spec = write(tmp_path, SPEC.replace(*change))
    started = time.perf_counter()
    line = one_line_error(capsys, sweep(spec, tmp_path / "out", "--yes"))
    assert expected in line and time.perf_counter() - started < 30
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_large_sweep_needs_yes_and_prints_its_size_first(tmp_path, capsys, monkeypatch):
    grid = "[vary]\nstaff_early = { low = 1, high = 1000 }\nstaff_late = { low = 1, high = 1000 }\n[parameters]"
    spec = write(tmp_path, SPEC.replace("[parameters]", grid).replace("replicates = 2", "replicates = 1"))
    line = one_line_error(capsys, sweep(spec, tmp_path / "out"))
    assert "2,000,000 runs" in line and "--yes" in line and "allow_large" in line
    assert not (tmp_path / "out" / "manifest.json").exists()
    small = write(tmp_path, SPEC, "small.toml")
    assert main(["sweep", str(small), "--out", str(tmp_path / "small"), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "sweep 'reliable': 4 runs (4 to run), about" in err and "on disk" in err


def test_workers_are_capped_at_the_cores_unless_asked(tmp_path, capsys):
    from milieu_sim.experiments.executors import default_workers

    spec = write(tmp_path, SPEC)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1000", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"using {default_workers()}" in err
    assert read_manifest(tmp_path / "out")["sessions"][-1]["workers"] <= min(default_workers(), 4)


def test_a_huge_floor_plan_is_refused_in_one_line(tmp_path, capsys):
    plan = write(tmp_path, ("#" * 3000 + "\n") * 3000, "huge.txt")
    line = one_line_error(capsys, main(["run", "--days", "1", "--ward-map", str(plan), "--out", str(tmp_path / "r")]))
    assert "huge.txt" in line and "at most" in line
    rows = ["#" * 450] * 10
    assert "too large" in one_line_error(
        capsys, main(["run", "--ward-map", str(write(tmp_path, "\n".join(rows), "wide.txt")), "--out", str(tmp_path)])
    )


# --- 6. values checked up front -------------------------------------------------------------------------
def test_compare_refuses_seeds_beyond_64_bits_before_running(tmp_path, capsys):
    status = main(["compare", "--seed", "9223372036854775807", "--replicates", "2", "--out", str(tmp_path / "c")])
    assert "2**63" in one_line_error(capsys, status)
    assert not (tmp_path / "c" / "sweep").exists()
    status = main(["compare", "--seed", "9223372036854775808", "--replicates", "1", "--out", str(tmp_path / "c")])
    assert "2**63-1" in one_line_error(capsys, status)


def test_the_largest_seed_runs_and_is_written(tmp_path, capsys):
    argv = ["compare", "--seed", "9223372036854775807", "--replicates", "1", "--days", "2", "--n-clients", "6",
            "--policies", "usual_care,restrictive", "--workers", "1", "--out", str(tmp_path / "c")]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert set(pd.read_csv(tmp_path / "c" / "runs.csv")["seed"]) == {9223372036854775807}


def test_min_stay_above_max_stay_is_refused(tmp_path, capsys):
    status = main(["run", "--min-stay-days", "100", "--max-stay-days", "20", "--out", str(tmp_path)])
    line = one_line_error(capsys, status)
    assert "min_stay_days" in line and "max_stay_days" in line
    spec = write(tmp_path, SPEC.replace("n_clients = 8", "n_clients = 8\nmin_stay_days = 100.0\nmax_stay_days = 20.0"))
    assert "min_stay_days" in one_line_error(capsys, sweep(spec, tmp_path / "out"))


def test_a_floor_plan_without_corridors_is_refused_in_one_line(tmp_path, capsys):
    plan = write(tmp_path, MAP.replace(".", "D").replace("+", "D"), "no_corridor.txt")
    line = one_line_error(capsys, main(["run", "--days", "1", "--ward-map", str(plan), "--out", str(tmp_path / "r")]))
    assert "no corridor" in line


def test_out_where_sweep_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "sweep").write_text("not a folder")
    status = main(["compare", "--replicates", "1", "--days", "2", "--out", str(tmp_path / "c")])
    assert "is a file" in one_line_error(capsys, status)
    (tmp_path / "file").write_text("")
    assert "is a file" in one_line_error(capsys, main(["run", "--out", str(tmp_path / "file")]))


@pytest.mark.parametrize("text", ["[]", "{}", '{"spec_hash": "x", "spec": []}', "{not json", ""])
def test_a_damaged_manifest_is_one_line(finished, tmp_path, capsys, text):
    pytest.importorskip("statsmodels")
    out = copy_sweep(finished, tmp_path)
    (out / "manifest.json").write_text(text)
    assert "manifest.json" in one_line_error(capsys, sweep(finished[0], out))
    assert "manifest.json" in one_line_error(capsys, main(["report", str(out)]))


# --- 7. a full disk says so in one line and leaves no partial file -------------------------------------
def _full_disk(monkeypatch, module, name):
    original = getattr(module, name)

    def write(self_or_table, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 partial")  # a partial file, as a full disk leaves it
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(module, name, write)
    return original


def test_a_full_disk_under_run_is_one_line_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    _full_disk(monkeypatch, pd.DataFrame, "to_parquet")
    status = main(["run", "--days", "2", "--n-clients", "6", "--out", str(tmp_path / "r")])
    assert "No space left on device" in one_line_error(capsys, status, expected=1)
    assert [p.name for p in (tmp_path / "r").iterdir()] == []


def test_a_full_disk_under_compare_is_one_line(tmp_path, capsys, monkeypatch):
    from milieu_sim.experiments import storage

    _full_disk(monkeypatch, storage.pq, "write_table")
    argv = ["compare", "--replicates", "1", "--days", "2", "--n-clients", "6", "--policies", "usual_care,restrictive",
            "--workers", "1", "--out", str(tmp_path / "c")]  # fmt: skip
    assert "No space left on device" in one_line_error(capsys, main(argv), expected=1)
    leftovers = [p for p in (tmp_path / "c").rglob("*") if p.is_file() and p.name.startswith(".tmp")]
    assert not leftovers
    assert not list((tmp_path / "c" / "sweep" / "runs").glob("*.parquet"))

"""The speed benchmark runs and prints every figure it promises (its timings are not asserted here)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_script(name: str, *args: str, plain_python: bool = False) -> subprocess.CompletedProcess:
    """Run a benchmark script as a user would; it must exit 0.  ``plain_python``: with ``NUMBA_DISABLE_JIT=1``,
    for a script whose figures are not asserted and whose compiled code is not otherwise in the kernel cache."""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"} if plain_python else None
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True, timeout=600, check=True,
        env=env,
    )  # fmt: skip


def test_bench_model_prints_every_measure_with_a_median_and_a_best_value():
    done = run_script("bench_model.py", "--quick", "--repeats", "2")
    rows = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(.+?)\s+([0-9.]+)(?:\s+([0-9.]+))?$", line)
        if match:
            rows[match.group(1).strip()] = [float(v) for v in match.groups()[1:] if v is not None]
    expected = [
        "first runs in this process (kernels loaded once), s",
        "default ward (20 clients): hourly steps / s",
        "default ward: seconds per simulated year (target < 1; 0.1)",
        "the same, step() called hour by hour (the app)",
        "default ward: agent-steps / s (clients and staff)",
        "Mesa Boltzmann wealth, as many agents: agent-steps / s",
        "ratio: default ward / Boltzmann, same agents (target >= 10)",
        "1,000-client ward: hourly steps / s",
        "1,000-client ward: client-steps / s",
        "Mesa Boltzmann wealth, 1,000 agents: agent-steps / s",
        "ratio: 1,000-client ward / Boltzmann (target >= 20)",
    ]
    assert list(rows) == expected, done.stdout
    assert all(value > 0 for values in rows.values() for value in values)
    assert all(len(values) == 2 for label, values in rows.items() if not label.startswith("first"))
    median_steps, best_steps = rows["default ward (20 clients): hourly steps / s"]
    assert best_steps >= median_steps
    year_median, _ = rows["default ward: seconds per simulated year (target < 1; 0.1)"]
    assert abs(year_median * median_steps - 24 * 365) < 0.01 * 24 * 365  # the two rows agree
    client_steps, _ = rows["1,000-client ward: client-steps / s"]
    assert abs(client_steps - 1000 * rows["1,000-client ward: hourly steps / s"][0]) < 0.01 * client_steps
    agents = int(re.search(r"the default ward has (\d+) Mesa agents", done.stdout).group(1))
    assert agents == 31  # 20 clients and the staff roster of the three shifts
    agent_steps, _ = rows["default ward: agent-steps / s (clients and staff)"]
    assert abs(agent_steps - agents * median_steps) < 0.01 * agent_steps


def test_profile_year_prints_the_unprofiled_time_and_the_profile():
    done = run_script("profile_year.py", "--days", "2", "--lines", "3")
    assert re.search(r"^2 days of the default ward without the profiler: [0-9.]+ s$", done.stdout, re.MULTILINE)
    assert "schedule.py" in done.stdout or "Ordered by: internal time" in done.stdout


def test_profile_year_times_every_phase_of_the_schedule():
    """--phases: one row per phase of the default schedule, each with the default ward's and 2 clients' time (run
    as plain Python: each phase runs alone there, a compiled part of its own that ``milieu-sim warm-up`` does not
    compile, which takes a minute or more; the figures are not asserted)."""
    from milieu_sim.model.schedule import SCHEDULE

    done = run_script("profile_year.py", "--phases", "--days", "2", plain_python=True)
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+)\s+([0-9.]+)\s+[0-9.]+$", done.stdout, re.M)}
    assert set(SCHEDULE_NAMES := {p.name for p in SCHEDULE}) <= set(rows), SCHEDULE_NAMES - set(rows)
    total = float(re.search(r"default ward ([0-9.]+)", done.stdout).group(1))
    assert 0 < sum(rows[name] for name in SCHEDULE_NAMES) <= total  # the phases are part of the hour


def test_profile_year_split_adds_up_to_the_run_and_leaves_the_model_as_it_was():
    """--split: the compiled quiet runs, the buffers' top-ups and the schedule's Python functions (the ward round's
    discharge once a day), and the rest, adding up to the run's time; the timing patches are undone after, and
    a run under them has the same tables as one without."""
    import importlib.util

    import pandas as pd

    from milieu_sim import MilieuModel
    from milieu_sim.model import compiled_hour, schedule
    from milieu_sim.model.processes import stretch

    done = run_script("profile_year.py", "--split", "--years", "1", "--days", "3")
    total = float(re.search(r"3 days of the default ward, ([0-9.]+) s a run", done.stdout).group(1))
    rows = {}
    for line in done.stdout.splitlines()[2:]:
        match = re.match(r"^(.+?)\s+([0-9.]+)\s+([0-9.]+)%(?:\s+([0-9]+)\s+[0-9.]+)?$", line)
        assert match, line
        rows[match.group(1)] = (float(match.group(2)), float(match.group(3)), match.group(4))
    assert {"quiet hours, compiled (run_hours)", "random buffers (_top_up)", "discharge (Python)", "the rest"} <= set(
        rows
    ), rows
    assert rows["discharge (Python)"][2] == "3"  # the ward round, once a day
    assert abs(sum(ms for ms, _, _ in rows.values()) - 1e3 * total) <= 0.1 * len(rows)  # printed to 0.1 ms
    assert abs(sum(share for _, share, _ in rows.values()) - 100.0) <= 0.1 * len(rows)

    spec = importlib.util.spec_from_file_location("profile_year", BENCHMARKS / "profile_year.py")
    profile_year = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile_year)
    originals = (
        schedule.Schedule._functions, stretch.run_hours, compiled_hour.CompiledHour._top_up, MilieuModel._do_later
    )  # fmt: skip
    tables = []

    def keep_tables(self, days):  # the run split_year times, with its tables kept
        ran(self, days=days)
        tables.append(self.tables())

    ran = MilieuModel.run
    MilieuModel.run = keep_tables
    try:
        _, spent, calls = profile_year.split_year(1, 2)
    finally:
        MilieuModel.run = ran
    assert (
        schedule.Schedule._functions, stretch.run_hours, compiled_hour.CompiledHour._top_up, MilieuModel._do_later
    ) == originals  # fmt: skip
    assert calls["discharge (Python)"] == 2 and spent["quiet hours, compiled (run_hours)"] > 0
    assert spent["done after quiet runs (the follow-up day)"] > 0  # the follow-up days the runs went through
    plain = MilieuModel(rng=1)
    plain.run(days=2)
    for name, table in plain.tables().items():
        pd.testing.assert_frame_equal(tables[0][name], table)


def test_profile_year_split_times_another_ward_and_refuses_a_bad_setting_in_one_line():
    done = run_script("profile_year.py", "--split", "--years", "1", "--days", "2", "--set", "n_clients=40",
                      "--set", "ward_map=auto")  # fmt: skip
    assert "2 days of the ward {'n_clients': 40, 'ward_map': 'auto'}" in done.stdout.splitlines()[0]
    assert "quiet hours, compiled (run_hours)" in done.stdout
    for bad in (["--split", "--set", "n_clients=-3"], ["--set", "n_clients=40"]):  # a bad value; --set without --split
        done = subprocess.run([sys.executable, str(BENCHMARKS / "profile_year.py"), *bad],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
        assert "--set" in done.stderr.splitlines()[-1] or "n_clients" in done.stderr.splitlines()[-1]


def test_profile_parts_times_every_part_of_the_stretch():
    """profile_parts.py: a row for each part of the stretch, the clock and the hour's counts, the shares adding up
    to the whole (run as plain Python here: compiling its timed copy takes minutes, and its figures are not
    asserted)."""
    import importlib.util

    from milieu_sim.model.processes import stretch

    spec = importlib.util.spec_from_file_location("profile_parts", BENCHMARKS / "profile_parts.py")
    profile_parts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile_parts)
    order = stretch.parts_in_order()
    source, parts = profile_parts.timed_source(
        inspect.getsource(getattr(stretch.run_hours, "py_func", stretch.run_hours))
    )
    assert parts == list(range(len(order)))  # every part of the stretch, in its order, timed once
    assert source.count("cycles()") == 2 * (2 * len(order) + 2)

    done = run_script("profile_parts.py", "--years", "1", "--days", "2", plain_python=True)
    rows = {}
    for line in done.stdout.splitlines():
        match = re.match(r"^(.+?)\s+([0-9.]+)\s+([0-9.]+)%\s+([0-9]+)\s+([0-9]+)$", line)
        if match:
            rows[match.group(1)] = (float(match.group(3)), int(match.group(4)))
    names = {f"{p.function.__module__.rsplit('.', 1)[-1]}.{p.function.__name__}" for p in order}
    assert set(rows) == names | {
        "the clock (set_clock)",
        "the hour's counts (count_hour)",
        "appending a part's rows (_log)",
    }, done.stdout
    assert rows["escalation._hour"][1] == 48  # every hour of the 2 days
    assert rows["interaction._hour"][1] < 48  # awake hours only
    assert abs(sum(share for share, _ in rows.values()) - 100) < 1.0


def test_profile_parts_refuses_a_bad_setting_in_one_line_before_compiling():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "profile_parts.py"), "--set", "n_clients=-3"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "n_clients" in done.stderr.splitlines()[-1] and "-3" in done.stderr.splitlines()[-1]
    assert done.stdout == ""  # nothing run, nothing compiled
    done = subprocess.run([sys.executable, str(BENCHMARKS / "profile_parts.py"), "--inside", "escalation"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == ""
    assert "escalation._hour" in done.stderr.splitlines()[-1]  # the parts it may be


def test_profile_parts_inside_a_part_times_each_statement_within_the_part():
    """--inside: a row per top-level statement of the part's function, which together take no more than the part."""
    done = run_script("profile_parts.py", "--years", "1", "--days", "2", "--inside", "escalation._hour",
                      plain_python=True)  # fmt: skip
    table, _, inside = done.stdout.partition("inside escalation._hour, statement by statement")
    part = float(re.search(r"^escalation\._hour\s+([0-9.]+)", table, re.MULTILINE).group(1))
    statements = {m.group(2): float(m.group(1)) for m in re.finditer(r"^\s+([0-9.]+)  (.+)$", inside, re.MULTILINE)}
    assert "observer = observers_now(clock, seen)" in statements, inside
    assert "return events, nothing[1], nothing[2]" in statements
    assert 0 < sum(statements.values()) <= part


def test_ab_versions_times_two_versions_in_turn_and_refuses_a_base_it_cannot_find():
    """ab_versions.py: processes of the base and of this tree in turn, each running its own source, then the
    medians and the paired ratios (run as plain Python, its figures not asserted); a BASE that is neither a git
    revision nor a source tree is refused before anything runs."""
    root = BENCHMARKS.parent
    done = run_script("ab_versions.py", str(root), "--pairs", "1", "--years", "1", "--days", "1", "--big-weeks",
                      "0", plain_python=True)  # fmt: skip
    assert f"base: {root}" in done.stdout and f"this: {root}" in done.stdout
    assert "pair 1: run " in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("a run of 1 days of the default ward"))
    assert re.search(r"\s[0-9.]+ \[[0-9.]+, [0-9.]+\], [01] of 1$", row), row
    refused = subprocess.run(
        [sys.executable, str(BENCHMARKS / "ab_versions.py"), "no-such-revision-anywhere"], capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines()[-1] == (
        f"ab_versions.py: error: BASE = 'no-such-revision-anywhere' is not allowed; allowed: a git revision of "
        f"{root} or the folder of a milieu-sim source tree"
    )

"""The command line end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from milieu_sim import MilieuModel, __version__
from milieu_sim.model.params import SCHEMA
from milieu_sim.model.policies import PRESETS

CLI = [sys.executable, "-m", "milieu_sim.cli.main"]


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_version_params_and_policies():
    assert cli("--version").stdout.strip() == f"milieu-sim {__version__}"
    params = cli("params").stdout
    for name in SCHEMA:
        assert name in params
    csv = cli("params", "--format", "csv").stdout.splitlines()
    assert len(csv) == len(SCHEMA) + 1
    policies = cli("policies").stdout
    for name in PRESETS:
        assert name in policies
    assert "punishment_rate" in policies


def test_run_writes_the_tables_and_reproduces_the_python_api(tmp_path):
    out = tmp_path / "run"
    result = cli(
        "run", "--policy", "therapeutic_milieu", "--days", "3", "--seed", "7", "--n-clients", "12", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    expected = MilieuModel(policy="therapeutic_milieu", rng=7, days=3, n_clients=12).run().tables()
    for name, frame in expected.items():
        written = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(written, frame, check_categorical=False, check_dtype=False)
    meta = json.loads((out / "run.json").read_text())
    assert meta["parameters"]["n_clients"] == 12 and meta["seed"] == 7
    assert meta["parameters"]["punishment_rate"] == PRESETS["therapeutic_milieu"]["punishment_rate"]
    assert "mesa" in meta["versions"]
    summary = json.loads((out / "summary.json").read_text())
    assert "conflict_per_shift" in summary
    assert (out / "overview.png").stat().st_size > 10_000


def test_compare_prints_cis_and_paired_differences(tmp_path):
    out = tmp_path / "cmp"
    result = cli(
        "compare",
        "--policies",
        "usual_care,therapeutic_milieu",
        "--replicates",
        "3",
        "--days",
        "3",
        "--n-clients",
        "10",
        "--seed",
        "4",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "95% CI" in result.stdout and "Paired difference against usual_care" in result.stdout
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6 and set(runs["seed"]) == {4, 5, 6}
    contrasts = pd.read_csv(out / "contrasts.csv")
    assert set(contrasts["policy"]) == {"therapeutic_milieu"}
    assert (out / "comparison.png").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--days", "-1"], "'days' = '-1'"),
        (["run", "--policy", "tough_love"], "'policy' = 'tough_love'"),
        (["run", "--seed", "x"], "'seed' = 'x'"),
        (["run", "--n-clients", "50"], "'n_clients' = 50"),
        (["run", "--isolation-threshold", "9"], "'isolation_threshold' = '9'"),
        (["run", "--frobnicate"], "unrecognized arguments"),
        (["compare", "--replicates", "zero"], "'replicates' = 'zero'"),
        (["compare", "--policies", "usual_care,nonsense"], "'policy' = 'nonsense'"),
        (["compare", "--policies", "usual_care,usual_care"], "names a policy twice"),
        (["compare", "--days", "3", "--warmup-days", "5"], "'warmup_days' = 5"),
        (["dance"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, args, words):
    result = cli(*args, "--out", str(tmp_path / "o")) if args[0] in ("run", "compare") else cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("milieu-sim: error:")
    assert words in lines[0]
    assert not (tmp_path / "o" / "runs.csv").exists()


def test_an_unwritable_output_directory_is_refused_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli("run", "--days", "1", "--out", str(blocker / "sub"))
    assert result.returncode == 2 and "cannot write there" in result.stderr

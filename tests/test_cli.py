"""The command line end to end, as a user runs it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim import MilieuModel, __version__
from milieu_sim.model import kernels
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


# --- what a new user tripped over (issue 10, point 8) --------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
SUBPROCESS_ENV = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}


@pytest.mark.parametrize(
    "args",
    [["params"], ["params", "--wide"], ["params", "--format", "csv"], ["policies"], ["schedule"], ["--help"]],
)
def test_every_command_ends_quietly_on_a_closed_pipe(args):
    """`milieu-sim params | head`: the reader is gone before the command writes; exit 0, nothing on stderr."""
    process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # closed before the interpreter has started: every write meets a closed pipe
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert stderr == ""


def test_params_fits_a_terminal_with_a_source_column_and_the_full_table_is_behind_flags():
    lines = cli("params").stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["name", "default", "range", "unit", "source"]
    names = {line.split()[0] for line in lines[1:-1]}
    assert names == set(SCHEMA)
    start = lines[0].index("source")
    tags = {line[start:].strip() for line in lines[1:-1]}
    assert {"assumed", "calibrated", "policy lever"} <= tags
    assert "--wide" in lines[-1]
    wide = cli("params", "--wide").stdout
    for param in SCHEMA.values():
        assert param.source in wide and param.meaning[:40] in wide
    markdown = cli("params", "--format", "markdown").stdout.splitlines()
    assert markdown[0].startswith("| name |") and "| source |" in markdown[0]
    assert len(markdown) == len(SCHEMA) + 2


def test_a_short_run_says_why_outcomes_are_undefined(tmp_path):
    result = cli("run", "--days", "3", "--n-clients", "6", "--seed", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    undefined = {name for name, value in summary.items() if value is None}
    assert "skill_gain" in undefined  # no stay ends in three days
    shown = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and "n/a" in line}
    assert shown == undefined
    reasons = [line for line in result.stdout.splitlines() if line.startswith("n/a: ")]
    assert reasons and all("undefined" in line for line in reasons)
    assert undefined == {name for line in reasons for name in line.split("(")[-1].rstrip(")").split(", ")}
    assert "nan" not in result.stdout


def test_a_rerun_of_compare_says_it_reuses_the_finished_runs_and_fresh_runs_them_again(tmp_path):
    args = ["compare", "--policies", "usual_care,restrictive", "--replicates", "2", "--days", "2"]
    args += ["--n-clients", "6", "--workers", "1", "--out", str(tmp_path / "cmp")]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert "reused" not in first.stderr
    runs = (tmp_path / "cmp" / "runs.csv").read_text()
    again = cli(*args)
    assert again.returncode == 0, again.stderr
    notes = [line for line in again.stderr.splitlines() if "reused" in line]
    assert len(notes) == 1 and "4 finished runs" in notes[0] and "--fresh" in notes[0]
    fresh = cli(*args, "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert "reused" not in fresh.stderr
    assert (tmp_path / "cmp" / "runs.csv").read_text().splitlines()[1:] != []
    frame = pd.read_csv(tmp_path / "cmp" / "runs.csv")
    pd.testing.assert_frame_equal(frame.drop(columns="seconds"), pd.read_csv(io.StringIO(runs)).drop(columns="seconds"))


SPEC = """
name = "tiny"
policy = "usual_care"
replicates = 1
days = 1
[parameters]
n_clients = 6
[vary]
de_escalation_skill = { low = 0.2, high = 0.8, steps = 2 }
"""


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("solara", ["app"], "app"),
        ("altair", ["animate", "--days", "1", "--out", "{tmp}/a.gif"], "app"),
        ("statsmodels", ["report", "{tmp}"], "analysis"),
        ("SALib", ["sensitivity", "{tmp}/spec.toml", "--out", "{tmp}/s"], "analysis"),
        ("dask", ["sweep", "{tmp}/spec.toml", "--out", "{tmp}/s", "--cluster", "local"], "cluster"),
    ],
)
def test_a_command_without_its_extra_names_the_extra_in_one_line(tmp_path, module, args, extra):
    (tmp_path / "spec.toml").write_text(SPEC)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    script = (
        f"import sys; sys.modules[{module!r}] = None\n"  # as if the module were not installed
        "from milieu_sim.cli.main import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=SUBPROCESS_ENV
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if COMPILING not in line]  # (if the cache is cold)
    assert lines == [f"milieu-sim {args[0]}: needs the '{extra}' extra: pip install 'milieu-sim[{extra}]'"]


def test_an_old_python_gets_one_line():
    script = "import sys, milieu_sim\nsys.version_info = (3, 11, 9, 'final', 0)\nimport milieu_sim.cli.main\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["milieu-sim: error: Python >= 3.12 is needed; this is Python 3.11"]


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="needs a Python 3.11 to hide newer ones")
def test_the_milieu_script_on_an_old_python_says_so_in_one_line(tmp_path):
    clone, bin_dir = tmp_path / "clone", tmp_path / "bin"
    clone.mkdir()
    bin_dir.mkdir()
    shutil.copy(ROOT / "milieu", clone / "milieu")
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    (bin_dir / "python3").symlink_to("/usr/bin/python3.11")
    for tool in ("bash", "env", "sha256sum", "cut", "dirname", "rm", "touch"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [str(bin_dir / "bash"), str(clone / "milieu"), "params"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "milieu: error: Python >= 3.12 is needed; found Python 3.11." + result.stderr.split("3.11.")[1].strip()
    ]
    assert not (clone / ".venv").exists()


def _milieu_is_installed() -> bool:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return (ROOT / ".venv" / f".installed-{digest}").exists()


@pytest.mark.skipif(not _milieu_is_installed(), reason="./milieu would install first (run ./milieu once)")
def test_the_milieu_script_writes_relative_paths_in_the_callers_folder(tmp_path):
    result = subprocess.run(
        [str(ROOT / "milieu"), "run", "--days", "1", "--n-clients", "6", "--out", "rel"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=SUBPROCESS_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "rel" / "summary.json").is_file()
    assert not (ROOT / "rel").exists()


def _unmarked_copy_of_the_kernels(cache_home: Path) -> None:
    """Copy this code's warmed kernel folder into ``cache_home`` as a fresh install finds its cache folder, but
    with the kernels already in it: without the warm-up mark, which is what the announcement and the warm-up
    go by (``kernels.kernels_cached``).  Compiling every kernel from nothing takes minutes on a slow machine;
    ``./milieu`` does exactly that when it installs (``milieu-sim warm-up``), before the suite runs.  With no
    warmed folder to copy (a bare ``pytest``), nothing is copied and the run compiles from nothing."""
    warmed = kernels._own_folders()[1][-1]
    if not (warmed / kernels.WARM_MARKER).is_file():
        return
    ours = cache_home / "milieu-sim" / "kernels"
    ours.mkdir(parents=True, mode=kernels.PRIVATE)
    (cache_home / "milieu-sim").chmod(kernels.PRIVATE)
    shutil.copytree(warmed, ours / warmed.name, ignore=shutil.ignore_patterns(kernels.WARM_MARKER))
    for folder, _, _ in os.walk(ours / warmed.name):
        Path(folder).chmod(kernels.PRIVATE)


def test_a_fresh_install_says_once_that_it_compiles_the_kernels(tmp_path):
    """A cache folder without the warm-up mark (a fresh install's): the first command says in one line, first,
    that it compiles the kernels, and warms them up; later commands and ``milieu-sim warm-up`` say nothing of
    it, and warm-up names the folder."""
    env = {k: v for k, v in SUBPROCESS_ENV.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    _unmarked_copy_of_the_kernels(tmp_path / "cache")

    def milieu_sim(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        return result

    run = ["run", "--days", "1", "--n-clients", "6", "--out", str(tmp_path / "run")]
    first = milieu_sim(*run)
    assert first.stderr.splitlines()[0] == f"milieu-sim: {COMPILING}"
    assert "compiling" not in milieu_sim(*run).stderr
    warm = milieu_sim("warm-up")  # what ./milieu runs after installing
    assert "compiling" not in warm.stderr and "RuntimeWarning" not in warm.stderr
    assert str(tmp_path / "cache" / "milieu-sim" / "kernels") in warm.stdout
    assert list((tmp_path / "cache" / "milieu-sim" / "kernels").glob(f"*/{kernels.WARM_MARKER}"))  # the mark is written


COMPILING = "compiling the model's kernels (once, a few minutes; later runs load them from the cache) ..."

"""Experiment files: the shipped specs load, designs and seeds are right, and every error is one clear line."""

from pathlib import Path

import numpy as np
import pytest

from milieu_sim.cli.main import main
from milieu_sim.experiments.spec import SpecError, load_spec
from milieu_sim.experiments.storage import SweepDirError
from milieu_sim.experiments.sweep import run_sweep
from milieu_sim.model.params import SCHEMA

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"

GOOD = """
name = "tiny"
policies = ["usual_care", "therapeutic_milieu"]
replicates = 2
days = 3
seed = 4
[parameters]
n_clients = 10
[vary]
de_escalation_skill = [0.3, 0.7]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_experiments_load():
    comparison = load_spec(EXPERIMENTS / "policy_comparison.toml")
    assert len(comparison.policies) == 5 and comparison.n_points == 1 and comparison.series
    grid = load_spec(EXPERIMENTS / "staffing_by_deescalation.toml")
    assert grid.method == "grid" and len(grid.factors) == 2
    assert grid.n_points == 5 * 8
    sensitivity = load_spec(EXPERIMENTS / "sensitivity.toml")
    assert sensitivity.method == "sobol"
    assert sensitivity.n_points == sensitivity.samples * (len(sensitivity.factors) + 2)


def test_grid_design_and_paired_seeds(tmp_path):
    spec = load_spec(write(tmp_path, GOOD + "staff_early = { low = 3, high = 5 }\n"))
    design = spec.design()
    assert list(design.columns) == ["de_escalation_skill", "staff_early"]
    assert len(design) == 2 * 3 and spec.n_runs == 6 * 2 * 2
    assert design["staff_early"].dtype.kind == "i"
    runs = list(spec.runs())
    assert [r["run_id"] for r in runs] == list(range(spec.n_runs))
    # common random numbers: every run of a replicate has the same seed, replicates differ
    for replicate in range(spec.replicates):
        seeds = {r["seed"] for r in runs if r["replicate"] == replicate}
        assert len(seeds) == 1
    assert runs[0]["seed"] != runs[-1]["seed"]
    assert load_spec(write(tmp_path, GOOD, "again.toml")).run_seed(1, 0) == spec.run_seed(1, 5)


def test_independent_and_sequential_seeds(tmp_path):
    assert load_spec(write(tmp_path, GOOD)).seeds == "paired"
    text = GOOD.replace("seed = 4", 'seed = 4\nseeds = "independent"')
    spec = load_spec(write(tmp_path, text))
    seeds = [r["seed"] for r in spec.runs()]
    assert len(set(seeds)) == len(seeds)
    spec = load_spec(write(tmp_path, GOOD.replace("seed = 4", 'seed = 4\nseeds = "sequential"')))
    assert [r["seed"] for r in spec.runs()] == [4, 4, 4, 4, 5, 5, 5, 5]


def test_linked_factor_and_ranges(tmp_path):
    text = GOOD.replace(
        "de_escalation_skill = [0.3, 0.7]",
        "staffing = { staff_early = [3, 5], staff_late = [2, 4] }\n"
        "de_escalation_skill = { low = 0.2, high = 0.8, steps = 4 }",
    )
    spec = load_spec(write(tmp_path, text))
    design = spec.design()
    assert len(design) == 2 * 4
    assert set(zip(design["staff_early"], design["staff_late"], strict=True)) == {(3, 2), (5, 4)}
    assert np.allclose(sorted(set(design["de_escalation_skill"])), [0.2, 0.4, 0.6, 0.8])


def test_sampled_designs(tmp_path):
    base = "[parameters]\nn_clients = 10\n[vary]\n"
    ranges = "conflict_rate = { low = 0.2, high = 0.8 }\nstaff_early = { low = 2, high = 6 }\n"
    for method, samples, expected in (("sobol", 8, 8 * 4), ("morris", 3, 3 * 3), ("latin_hypercube", 7, 7)):
        text = f'replicates = 1\ndays = 3\n[design]\nmethod = "{method}"\nsamples = {samples}\n' + base + ranges
        spec = load_spec(write(tmp_path, text, f"{method}.toml"))
        design = spec.design()
        assert len(design) == expected
        assert design["conflict_rate"].between(0.2, 0.8).all()
        assert design["staff_early"].between(2, 6).all() and design["staff_early"].dtype.kind == "i"
        assert spec.sample().shape == (expected, 2)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("name = [", "", "not valid TOML"),
        ("replicate = 3\n" + GOOD, "replicate", "unknown"),
        (GOOD.replace("[parameters]", "[parameters]\npunishmnt_rate = 0.1"), "parameters.punishmnt_rate", "unknown"),
        (GOOD + "foo_bar = [1, 2]\n", "vary.foo_bar", "unknown parameter"),
        (GOOD.replace("[0.3, 0.7]", "[0.3, 1.7]"), "vary.de_escalation_skill", "out of range"),
        (GOOD + "staff_early = { low = 0, high = 5 }\n", "vary.staff_early.low", "out of range"),
        (GOOD.replace("n_clients = 10", "n_clients = 10.5"), "parameters.n_clients", "not allowed"),
        (GOOD.replace("replicates = 2", "replicates = 0"), "replicates", "not allowed"),
        (GOOD.replace("days = 3", "days = 3\nwarmup_days = 3"), "warmup_days", "less than"),
        (GOOD.replace('"therapeutic_milieu"', '"therapeutc_milieu"'), "policies", "not a preset"),
        (GOOD.replace("[parameters]", "[parameters]\ndays = 5"), "parameters.days", "top-level key"),
        (GOOD + '[design]\nmethod = "sobol"\nsamples = 8\n', "vary.de_escalation_skill", "must be a range"),
        (
            GOOD.replace("[0.3, 0.7]", "{ low = 0.2, high = 0.4 }") + '[design]\nmethod = "sobol"\nsamples = 6\n',
            "design.samples",
            "power of 2",
        ),
        (GOOD + '[outputs]\noutcomes = ["conflict_per_shfit"]\n', "outputs.outcomes", "unknown outcome"),
        (GOOD + "peer_feedback = { low = 0, high = 1 }\n", "vary.peer_feedback", "cannot be a range"),
    ],
)
def test_spec_errors_name_file_key_and_problem(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert f"key '{key}'" in message if key else True
    assert problem in message


def test_range_limits_come_from_the_schema(tmp_path):
    high = SCHEMA["staff_early"].high
    path = write(tmp_path, GOOD + f"staff_early = [{int(high) + 1}]\n")
    with pytest.raises(SpecError, match=f"allowed: an integer from 1 to {high:g}"):
        load_spec(path)


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("[0.3, 0.7]", "[0.3, 2.0]"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "vary.de_escalation_skill" in err and str(path) in err
    assert not (tmp_path / "out" / "manifest.json").exists()  # refused before anything ran


def test_different_spec_in_used_directory_is_refused(tmp_path, capsys):
    spec = load_spec(write(tmp_path, GOOD.replace("replicates = 2", "replicates = 1")))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    other = load_spec(
        write(tmp_path, GOOD.replace("replicates = 2", "replicates = 1").replace("seed = 4", "seed = 5"), "other.toml")
    )
    with pytest.raises(SweepDirError, match="different spec"):
        run_sweep(other, tmp_path / "out", workers=1, progress=False)
    assert main(["sweep", str(other.path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    assert "different spec" in capsys.readouterr().err
    # the same spec (renamed, re-described, another batch size) is the same experiment: it resumes
    same = GOOD.replace("replicates = 2", "replicates = 1").replace('name = "tiny"', 'name = "x"\nbatch_size = 3')
    result = run_sweep(load_spec(write(tmp_path, same, "same.toml")), tmp_path / "out", workers=1, progress=False)
    assert result.ran_now == 0 and result.runs_done == spec.n_runs

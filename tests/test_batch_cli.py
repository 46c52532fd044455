"""The report, sensitivity and compare commands on tiny sweeps."""

import re
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim.analysis.comparison import compare_policies
from milieu_sim.analysis.report import analyse
from milieu_sim.cli.main import main
from milieu_sim.experiments.runner import run_experiment
from milieu_sim.experiments.storage import read_runs

COMPARISON = """
name = "tiny_policies"
policies = ["usual_care", "therapeutic_milieu", "restrictive"]
replicates = 4
days = 4
warmup_days = 1
seed = 3
[parameters]
n_clients = 10
[outputs]
series = true
"""

GRID = """
name = "tiny_grid"
policy = "usual_care"
replicates = 2
days = 3
seed = 8
[parameters]
n_clients = 10
[vary]
staffing = { staff_early = [2, 4], staff_late = [2, 3] }
de_escalation_skill = { low = 0.2, high = 0.8, steps = 3 }
[outputs]
outcomes = ["conflict_per_shift", "containment_per_shift", "skill_gain", "isolation_hours_per_day"]
"""

SOBOL = """
name = "tiny_sobol"
replicates = 1
days = 3
seed = 5
batch_size = 20
[parameters]
n_clients = 10
[design]
method = "sobol"
samples = 8
[vary]
conflict_rate = { low = 0.25, high = 0.75 }
incident_rate = { low = 0.02, high = 0.12 }
[outputs]
outcomes = ["conflict_per_shift", "containment_per_shift"]
"""


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_report_of_a_policy_comparison(tmp_path, capsys):
    spec = write(tmp_path, COMPARISON, "policies.toml")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    assert main(["report", str(out)]) == 0
    report = out / "report"
    text = (report / "report.md").read_text()
    for name in ("time_series.png", "forest_rate_ratios.png", "forest_differences.png"):
        assert (report / name).is_file() and f"({name})" in text
    ratios = pd.read_csv(report / "rate_ratios.csv")
    assert set(ratios["group"]) == {"therapeutic_milieu", "restrictive"}
    assert set(ratios["event"]) == {"conflict", "containment"}
    inside = (ratios["ci_low"] <= ratios["rate_ratio"]) & (ratios["rate_ratio"] <= ratios["ci_high"])
    # a ratio without an interval says why (identical pairs in these 4-day runs), every other one is inside its own
    assert (inside | (ratios["flag"] == "no interval: no spread between pairs")).all()
    assert inside.sum() >= len(ratios) - 2
    contrasts = pd.read_csv(report / "contrasts.csv")
    runs = read_runs(out)
    # a paired difference is the mean over replicates of (policy - reference) for the same seed
    wide = runs.pivot(index="replicate", columns="policy", values="conflict_per_shift")
    expected = (wide["restrictive"] - wide["usual_care"]).mean()
    got = contrasts.query("policy == 'restrictive' and outcome == 'conflict_per_shift'")["difference"].item()
    assert got == pytest.approx(expected)
    assert "Are the replicates enough?" in text and (report / "replicates.csv").is_file()
    # the advice and the table give one number of replicates (report.md once said 4 in one, 11 in the other)
    checked = pd.read_csv(report / "replicates.csv").dropna(subset=["replicates_needed"])
    for row in checked.itertuples():
        assert [int(n) for n in re.findall(r"about (\d+)", row.advice)] in ([], [row.replicates_needed]), row.advice
    # another reference policy, from Python
    analysis = analyse(out, reference="restrictive")
    assert set(analysis.rate_ratios["group"]) == {"usual_care", "therapeutic_milieu"}
    assert main(["report", str(out), "--reference", "nonexistent"]) == 2
    assert "not a policy of this sweep" in capsys.readouterr().err


def test_report_of_a_two_parameter_grid_draws_heat_maps(tmp_path):
    spec = write(tmp_path, GRID, "grid.toml")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    assert main(["report", str(out)]) == 0
    maps = sorted(p.name for p in (out / "report").glob("heatmap_*.png"))
    assert "heatmap_usual_care_conflict_per_shift.png" in maps
    summary = pd.read_csv(out / "report" / "summary.csv")
    assert len(summary[summary["outcome"] == "conflict_per_shift"]) == 2 * 3
    ratios = pd.read_csv(out / "report" / "rate_ratios.csv")
    assert len(ratios) == 8 * (2 * 3 - 1)  # every other grid point against the first, 8 rates (shift, bed-day, phase)


def test_report_of_an_empty_directory_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "manifest.json" in err


def test_sensitivity_sobol_and_analyse_only(tmp_path, capsys):
    spec = write(tmp_path, SOBOL, "sobol.toml")
    out = tmp_path / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    indices = pd.read_csv(out / "sensitivity" / "indices.csv")
    assert set(indices["parameter"]) == {"conflict_rate", "incident_rate"}
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    assert (out / "sample.parquet").is_file() and len(pd.read_parquet(out / "sample.parquet")) == 8 * 4
    assert (out / "sensitivity" / "sobol_usual_care_conflict_per_shift.png").is_file()
    # re-analyse from the saved sample and runs: nothing runs, the same indices
    before = {p.name for p in (out / "runs").iterdir()}
    (out / "sensitivity" / "indices.csv").unlink()
    assert main(["sensitivity", str(spec), "--out", str(out), "--analyse-only"]) == 0
    assert {p.name for p in (out / "runs").iterdir()} == before
    pd.testing.assert_frame_equal(pd.read_csv(out / "sensitivity" / "indices.csv"), indices)
    assert main(["sensitivity", str(spec), "--out", str(out), "--analyse-only", "--outcomes", "skill_gain"]) == 2
    assert "not kept by this experiment" in capsys.readouterr().err


def test_sensitivity_morris_and_wrong_design(tmp_path, capsys):
    morris = SOBOL.replace('method = "sobol"', 'method = "morris"').replace("samples = 8", "samples = 4")
    out = tmp_path / "morris"
    assert main(["sensitivity", str(write(tmp_path, morris, "m.toml")), "--out", str(out), "--workers", "1"]) == 0
    indices = pd.read_csv(out / "sensitivity" / "indices.csv")
    assert {"mu", "mu_star", "sigma", "mu_star_conf"} <= set(indices.columns)
    assert main(["sensitivity", str(write(tmp_path, GRID, "g.toml")), "--out", str(tmp_path / "g")]) == 2
    assert "key 'design.method'" in capsys.readouterr().err
    assert (
        main(["sensitivity", str(write(tmp_path, SOBOL, "s.toml")), "--out", str(tmp_path / "none"), "--analyse-only"])
        == 2
    )
    assert "holds no sweep" in capsys.readouterr().err


def test_compare_is_a_front_end_over_the_sweep(tmp_path, capsys):
    out = tmp_path / "compare"
    args = ["compare", "--policies", "usual_care,restrictive", "--replicates", "3", "--days", "3"]
    args += ["--n-clients", "10", "--seed", "5", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Estimate [95% CI] over 3 paired replicates (6 runs)" in printed
    assert "Paired difference against usual_care" in printed
    for name in ("runs.csv", "comparison.csv", "contrasts.csv", "comparison.png"):
        assert (out / name).is_file()
    runs = pd.read_csv(out / "runs.csv")
    assert runs[["policy", "replicate", "seed"]].values.tolist() == [
        [policy, replicate, 5 + replicate] for replicate in range(3) for policy in ("usual_care", "restrictive")
    ]
    # each run is the Python API's run of the same parameters and seed (one way to run and measure)
    for row in runs.itertuples():
        expected = run_experiment({"policy": row.policy, "seed": row.seed, "days": 3, "n_clients": 10})
        for outcome in ("conflict_per_shift", "containment_per_shift", "mean_trust", "shifts"):
            assert getattr(row, outcome) == pytest.approx(expected[outcome], nan_ok=True)
    # and compare_policies is the same comparison from Python
    comparison = compare_policies(["usual_care", "restrictive"], 3, 5, {"days": 3, "n_clients": 10})
    assert comparison.runs.drop(columns="seconds").equals(runs.drop(columns="seconds"))
    assert comparison.means[["policy", "outcome"]].values.tolist() == (
        pd.read_csv(out / "comparison.csv")[["policy", "outcome"]].values.tolist()
    )
    # parallel workers give the same table; another comparison in the same --out replaces the old one
    assert main([*args, "--workers", "2"]) == 0
    assert pd.read_csv(out / "runs.csv").drop(columns="seconds").equals(runs.drop(columns="seconds"))
    assert main([*args[:-2], "--seed", "6", "--out", str(out)]) == 0
    assert pd.read_csv(out / "runs.csv")["seed"].min() == 6

"""Answers with uncertainty: drawing parameters from a calibration's posterior (issue 14, part 3).

The loader refuses bad files in one line; draws are weighted and deterministic; replicate r of every policy
and point shares its seed *and* its draw; a draw applies to its setting only and never replaces what the
experiment sets; the runs table records the draw; the report says in how many draws a contrast holds; and
drawing parameters widens the intervals when the parameters matter.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from milieu_sim.analysis.statistics import paired_contrasts, posterior_conclusions, summary_table
from milieu_sim.cli.main import main
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.posterior import load_posterior
from milieu_sim.experiments.spec import load_spec, spec_from_dict, with_posterior
from milieu_sim.experiments.storage import read_runs
from milieu_sim.experiments.sweep import run_sweep
from milieu_sim.model.params import SETTINGS

RECORD = """
[posterior]
created = "2026-11-30"
commit = "0123abc"
command = "milieu-sim calibrate --population 6"
method = "ABC-SMC (test)"
particles = {particles}

[scope]
{scope}

[central]
incident_rate = 0.07
"""

SIX = [  # particle, incident_rate, dropout_per_day, weight
    (0, 0.02, 0.010, 0.10),
    (1, 0.05, 0.012, 0.20),
    (2, 0.07, 0.015, 0.00),
    (3, 0.09, 0.018, 0.40),
    (4, 0.12, 0.020, 0.20),
    (5, 0.15, 0.025, 0.10),
]


def write_posterior(
    folder: Path,
    rows=SIX,
    columns=("incident_rate", "dropout_per_day"),
    scope: dict[str, str] | None = None,
    record: str | None = None,
) -> Path:
    """A small posterior (posterior.csv and posterior.toml) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [",".join(["particle", *columns, "weight"])]
    lines += [",".join(str(v) for v in row) for row in rows]
    (folder / "posterior.csv").write_text("\n".join(lines) + "\n")
    scope = scope if scope is not None else {"incident_rate": "all", "dropout_per_day": "residential_tc"}
    text = record if record is not None else RECORD
    if "incident_rate" not in columns:
        text = text.replace("incident_rate = 0.07", "")
    scope_lines = "\n".join(f'{k} = "{v}"' for k, v in scope.items())
    (folder / "posterior.toml").write_text(text.format(particles=len(rows), scope=scope_lines))
    return folder


def experiment(tmp_path: Path, body: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


# --- the loader ----------------------------------------------------------------------------------------
def test_a_posterior_loads_with_its_scope_central_values_and_record(tmp_path):
    posterior = load_posterior(write_posterior(tmp_path / "post"))
    assert posterior.parameters == ("incident_rate", "dropout_per_day")
    assert posterior.scope == {"incident_rate": "all", "dropout_per_day": "residential_tc"}
    assert posterior.central == {"incident_rate": 0.07}
    assert posterior.record["particles"] == 6 and posterior.weights.sum() == pytest.approx(1.0)
    # the folder or the path of its posterior.csv
    assert load_posterior(tmp_path / "post" / "posterior.csv").digest() == posterior.digest()


def _bad(folder: Path, case: str) -> None:
    if case == "unknown parameter":
        write_posterior(folder, columns=("incident_rat", "dropout_per_day"), scope={"incident_rat": "all"})
    elif case == "outside the range":
        write_posterior(folder, rows=[(0, 0.02, 0.01, 0.5), (1, 7.0, 0.01, 0.5)])
    elif case == "negative weight":
        write_posterior(folder, rows=[(0, 0.02, 0.01, 1.5), (1, 0.05, 0.01, -0.5)])
    elif case == "NaN weight":
        write_posterior(folder, rows=[(0, 0.02, 0.01, 1.0), (1, 0.05, 0.01, "nan")])
    elif case == "weights that do not sum to 1":
        write_posterior(folder, rows=[(0, 0.02, 0.01, 0.3), (1, 0.05, 0.01, 0.3)])
    elif case == "scope not a setting":
        write_posterior(folder, scope={"incident_rate": "all", "dropout_per_day": "ward_b"})
    elif case == "scope missing":
        write_posterior(folder, scope={"incident_rate": "all"})
    elif case == "missing posterior.toml":
        write_posterior(folder)
        (folder / "posterior.toml").unlink()
    elif case == "missing posterior.csv":
        write_posterior(folder)
        (folder / "posterior.csv").unlink()
    elif case == "a parameter an experiment sets":
        write_posterior(folder, rows=[(0, 30, 0.01, 1.0)], columns=("days", "dropout_per_day"), scope={"days": "all"})
    elif case == "particles out of order":
        write_posterior(folder, rows=[(1, 0.02, 0.01, 0.5), (0, 0.05, 0.01, 0.5)])


@pytest.mark.parametrize(
    "case, said",
    [
        ("unknown parameter", "incident_rat"),
        ("outside the range", "'incident_rate' = '7.0' is out of range"),
        ("negative weight", "'weight' = '-0.5'"),
        ("NaN weight", "'weight' = 'nan'"),
        ("weights that do not sum to 1", "sums to 0.6"),
        ("scope not a setting", "'scope.dropout_per_day' = 'ward_b'"),
        ("scope missing", "'scope.dropout_per_day' is missing"),
        ("missing posterior.toml", "posterior.toml' does not exist"),
        ("missing posterior.csv", "posterior.csv' does not exist"),
        ("a parameter an experiment sets", "'days' cannot be drawn"),
        ("particles out of order", "'particle' = '1'"),
    ],
)
def test_bad_posterior_files_are_refused_in_one_line(tmp_path, case, said):
    _bad(tmp_path / "post", case)
    with pytest.raises(MilieuInputError) as error:
        load_posterior(tmp_path / "post")
    message = str(error.value)
    assert "\n" not in message and said in message, message
    assert "posterior file '" in message and "allowed:" in message, message


def test_draws_are_deterministic_and_follow_the_weights(tmp_path):
    posterior = load_posterior(write_posterior(tmp_path / "post"))
    first, again = posterior.draws(4000, seed=7), posterior.draws(4000, seed=7)
    assert [(d.index, d.particle) for d in first] == [(d.index, d.particle) for d in again]
    assert [d.particle for d in posterior.draws(50, seed=8)] != [d.particle for d in first[:50]]
    assert [d.index for d in first] == list(range(4000))
    counts = np.bincount([d.particle for d in first], minlength=6)
    assert counts[2] == 0  # weight 0: never drawn
    assert counts[3] == counts.max() and 0.35 < counts[3] / 4000 < 0.45  # weight 0.4: drawn most, ~40%
    assert first[0].values == {"incident_rate": SIX[first[0].particle][1], "dropout_per_day": SIX[first[0].particle][2]}
    # the values that apply: dropout_per_day only in the residential community
    assert posterior.values_for(first[0], "acute_ward") == {"incident_rate": SIX[first[0].particle][1]}
    assert set(posterior.values_for(first[0], "residential_tc")) == {"incident_rate", "dropout_per_day"}


# --- experiments ---------------------------------------------------------------------------------------
PAIRED = """
policies = ["usual_care", "therapeutic_milieu"]
setting = "{setting}"
replicates = 6
days = 8
seed = 3
posterior = {{ draws = 3, file = "post" }}
[parameters]
n_clients = 8
"""


def test_replicate_r_of_every_policy_shares_its_seed_and_its_draw(tmp_path):
    write_posterior(tmp_path / "post")
    spec = load_spec(experiment(tmp_path, PAIRED.format(setting="acute_ward")))
    draws = spec.draws()
    tasks = list(spec.runs())
    assert len(tasks) == 2 * 6
    for replicate in range(6):
        pair = [t for t in tasks if t["replicate"] == replicate]
        assert {t["policy"] for t in pair} == {"usual_care", "therapeutic_milieu"}
        assert len({t["seed"] for t in pair}) == 1
        assert {t["posterior"]["posterior_draw"] for t in pair} == {replicate % 3}
        expected = draws[replicate % 3].values["incident_rate"]
        assert all(t["params"]["incident_rate"] == expected for t in pair)


def test_a_parameter_scoped_to_one_setting_applies_there_only(tmp_path):
    write_posterior(tmp_path / "post")
    acute = load_spec(experiment(tmp_path, PAIRED.format(setting="acute_ward"), "acute.toml"))
    community = load_spec(experiment(tmp_path, PAIRED.format(setting="residential_tc"), "tc.toml"))
    assert acute.drawn == ("incident_rate",) and community.drawn == ("incident_rate", "dropout_per_day")
    for task in acute.runs():
        assert "dropout_per_day" not in task["params"] and "dropout_per_day" not in task["posterior"]
    values = {t["params"]["dropout_per_day"] for t in community.runs()}
    assert values <= {row[2] for row in SIX} and SETTINGS["residential_tc"]["dropout_per_day"] not in values


def test_the_experiment_keeps_control_of_what_it_sets(tmp_path):
    """[vary] and [parameters] win over a drawn value; so does a policy's own lever."""
    write_posterior(tmp_path / "post")
    varied = PAIRED.format(setting="acute_ward") + "[vary]\nincident_rate = [0.03, 0.11]\n"
    spec = load_spec(experiment(tmp_path, varied, "varied.toml"))
    assert spec.drawn == ()
    assert {(t["point"], t["params"]["incident_rate"]) for t in spec.runs()} == {(0, 0.03), (1, 0.11)}
    fixed = PAIRED.format(setting="acute_ward").replace("n_clients = 8", "n_clients = 8\nincident_rate = 0.04")
    assert {t["params"]["incident_rate"] for t in load_spec(experiment(tmp_path, fixed, "fixed.toml")).runs()} == {0.04}
    # a posterior of a policy lever: the therapeutic milieu keeps its own de-escalation skill
    write_posterior(
        tmp_path / "lever",
        rows=[(0, 0.3, 0.5), (1, 0.4, 0.5)],
        columns=("de_escalation_skill",),
        scope={"de_escalation_skill": "all"},
    )
    lever = load_spec(experiment(tmp_path, PAIRED.format(setting="acute_ward").replace('"post"', '"lever"'), "l.toml"))
    for task in lever.runs():
        if task["policy"] == "therapeutic_milieu":
            assert "de_escalation_skill" not in task["params"] and task["posterior"]["de_escalation_skill"] is None
        else:
            assert task["params"]["de_escalation_skill"] in (0.3, 0.4)


@pytest.mark.parametrize(
    "entry, said",
    [
        ("posterior = { draws = 1, file = 'post' }", "key 'posterior.draws' = 1 is not allowed"),
        ("posterior = { draws = 'x', file = 'post' }", "key 'posterior.draws' = 'x'"),
        ("posterior = { draws = 4, file = 'nowhere' }", "key 'posterior.file' = 'nowhere' does not exist"),
        ("posterior = { draws = 4, file = 'post', size = 2 }", "key 'posterior.size' is unknown"),
        ("replicates = 6\nposterior = { draws = 4, file = 'post' }", "key 'replicates' = 6 is not a multiple"),
        ("posterior = { draws = 4, file = 'bad' }", "'incident_rate' = '9.0' is out of range"),
    ],
)
def test_a_bad_posterior_key_is_one_line(tmp_path, entry, said):
    write_posterior(tmp_path / "post")
    write_posterior(tmp_path / "bad", rows=[(0, 9.0, 0.01, 1.0)])
    path = experiment(tmp_path, f'policy = "usual_care"\ndays = 4\n{entry}\n')
    with pytest.raises(MilieuInputError) as error:
        load_spec(path)
    assert "\n" not in str(error.value) and said in str(error.value), str(error.value)


def test_replicates_default_to_the_draws_and_the_command_line_overrides_the_key(tmp_path):
    write_posterior(tmp_path / "post")
    spec = load_spec(
        experiment(tmp_path, 'policy = "usual_care"\ndays = 4\nposterior = { draws = 5, file = "post" }\n')
    )
    assert spec.replicates == 5
    assert with_posterior(spec, 7).replicates == 7  # the spec did not set replicates: they follow the draws
    plain = load_spec(experiment(tmp_path, 'policy = "usual_care"\ndays = 4\nreplicates = 6\n', "plain.toml"))
    assert with_posterior(plain, 3, str(tmp_path / "post")).replicates == 6
    with pytest.raises(MilieuInputError, match="'replicates' = 6 is not a multiple of 'posterior' = 4"):
        with_posterior(plain, 4, str(tmp_path / "post"))


def test_the_spec_hash_follows_the_posterior_file(tmp_path):
    write_posterior(tmp_path / "post")
    path = experiment(tmp_path, PAIRED.format(setting="acute_ward"))
    plain = experiment(
        tmp_path, PAIRED.format(setting="acute_ward").replace('posterior = { draws = 3, file = "post" }', ""), "p.toml"
    )
    before, without = load_spec(path).hash(), load_spec(plain).hash()
    assert before != without and "posterior" not in load_spec(plain).to_dict()  # old specs keep their hash
    rows = [(k, r, d, w) for k, r, d, w in SIX]
    rows[0], rows[1] = (0, 0.02, 0.010, 0.15), (1, 0.05, 0.012, 0.15)
    write_posterior(tmp_path / "post", rows=rows)
    assert load_spec(path).hash() != before
    # the same contents elsewhere: the same hash (the folder's name as written, its contents by digest)
    write_posterior(tmp_path / "post")
    shutil.copytree(tmp_path, tmp_path.parent / (tmp_path.name + "_copy"))
    assert load_spec(tmp_path.parent / (tmp_path.name + "_copy") / path.name).hash() == before


# --- sweeps, tables and reports ------------------------------------------------------------------------
def test_the_runs_table_records_the_draw_and_is_the_same_on_one_or_two_workers(tmp_path):
    write_posterior(tmp_path / "post")
    spec = load_spec(experiment(tmp_path, PAIRED.format(setting="acute_ward")))
    run_sweep(spec, tmp_path / "one", workers=1, progress=False)
    run_sweep(spec, tmp_path / "two", workers=2, progress=False)
    one = read_runs(tmp_path / "one").drop(columns="run_seconds")
    two = read_runs(tmp_path / "two").drop(columns="run_seconds")
    pd.testing.assert_frame_equal(one, two)
    assert one["posterior_draw"].tolist() == [r % 3 for r in one["replicate"]]
    particles = [d.particle for d in spec.draws()]
    assert one["incident_rate"].tolist() == [SIX[particles[r % 3]][1] for r in one["replicate"]]
    assert "dropout_per_day" not in one.columns  # scoped to another setting: neither applied nor recorded
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert [d["particle"] for d in manifest["posterior"]["draws"]] == particles


def test_per_draw_contrasts_are_the_pairs_own_differences():
    """With one replicate per draw, a draw's contrast is that pair's difference (a rate: its ratio's sign)."""
    rng = np.random.default_rng(5)
    rows = []
    for replicate in range(10):
        shifts = 24
        for policy, scale in (("usual_care", 1.0), ("restrictive", 1.4)):
            events = int(rng.poisson(20 * scale * (1 + replicate % 3)))
            trust = float(rng.normal(0.5 - 0.05 * (policy == "restrictive"), 0.04))
            rows.append(
                {
                    "policy": policy,
                    "replicate": replicate,
                    "posterior_draw": replicate,
                    "containment_events": events,
                    "shifts": shifts,
                    "containment_per_shift": events / shifts,
                    "mean_trust": trust,
                }
            )
    runs = pd.DataFrame(rows)
    table = posterior_conclusions(runs, ["containment_per_shift", "mean_trust"], "usual_care").set_index("outcome")
    wide = runs.pivot(index="replicate", columns="policy")
    for outcome in ("containment_per_shift", "mean_trust"):
        differences = (wide[(outcome, "restrictive")] - wide[(outcome, "usual_care")]).to_numpy()
        row = table.loc[outcome]
        assert row["draws"] == 10
        assert row["draws_agreeing"] == int(np.sum(np.sign(differences) == np.sign(row["estimate"])))
        assert row["share"] == row["draws_agreeing"] / 10
    pooled = paired_contrasts(runs, ["mean_trust"], "usual_care", pair="replicate")
    assert table.loc["mean_trust", "estimate"] == pytest.approx(pooled["difference"].item())
    assert table.loc["mean_trust", "direction"] == "lower"


def test_compare_with_a_posterior_says_which_conclusions_hold(tmp_path, capsys):
    write_posterior(tmp_path / "post")
    out = tmp_path / "cmp"
    args = ["compare", "--policies", "usual_care,therapeutic_milieu", "--posterior", "4"]
    args += ["--posterior-file", str(tmp_path / "post"), "--days", "8", "--n-clients", "8", "--seed", "2"]
    assert main([*args, "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Parameters drawn from the posterior: 4 draws, 1 replicate per draw" in printed
    assert "over 4 paired replicates (8 runs)" in printed  # replicates = draws
    sentence = re.search(
        r"therapeutic_milieu (lowers|raises|does not change) containment_per_shift in (\d+)% "
        r"of posterior draws \((\d) of 4\)",
        printed,
    )
    assert sentence, printed
    conclusions = pd.read_csv(out / "posterior_conclusions.csv")
    assert list(conclusions.columns) == [
        "policy",
        "outcome",
        "estimate",
        "ci_low",
        "ci_high",
        "direction",
        "draws_agreeing",
        "draws",
        "share",
    ]
    row = conclusions.set_index("outcome").loc["containment_per_shift"]
    assert int(sentence.group(3)) == row["draws_agreeing"] and row["draws"] == 4
    runs = pd.read_csv(out / "runs.csv")
    assert runs["posterior_draw"].tolist() == [r % 4 for r in runs["replicate"]]
    assert runs.groupby("replicate")["incident_rate"].nunique().max() == 1  # one draw per replicate, all policies
    record = json.loads((out / "compare.json").read_text())["posterior"]
    assert record["draws"] == 4 and record["drawn"] == ["incident_rate"] and len(record["particles"]) == 4
    # bad options: one line each
    assert main([*args[:4], "1", "--out", str(out)]) == 2
    assert main([*args, "--replicates", "6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'posterior' = '1' is not allowed" in err and "'replicates' = 6 is not a multiple of 'posterior' = 4" in err


def test_sweep_with_a_posterior_then_report(tmp_path, capsys):
    write_posterior(tmp_path / "post")
    spec = experiment(
        tmp_path, PAIRED.format(setting="acute_ward").replace('posterior = { draws = 3, file = "post" }', "")
    )
    out = tmp_path / "out"
    command = ["sweep", str(spec), "--out", str(out), "--workers", "1", "--no-progress"]
    assert main([*command, "--posterior", "3", "--posterior-file", str(tmp_path / "post")]) == 0
    assert main(["report", str(out)]) == 0
    text = (out / "report" / "report.md").read_text()
    assert "## Conclusions across the posterior" in text and "- posterior: 3 draws" in text
    assert re.search(
        r"therapeutic_milieu (lowers|raises|does not change) conflict_per_shift in \d+% of posterior "
        r"draws \(\d of 3\)",
        text,
    ), text
    table = pd.read_csv(out / "report" / "posterior_conclusions.csv")
    assert set(table["draws"]) == {3} and (table["draws_agreeing"] <= 3).all()
    # two replicates per draw: the pooled interval takes the draw as the cluster (3 clusters, not 6 pairs)
    runs = read_runs(out)
    clustered = table.set_index("outcome").loc["mean_trust"]
    naive = paired_contrasts(runs, ["mean_trust"], "usual_care", pair="replicate").iloc[0]
    assert clustered["estimate"] == pytest.approx(naive["difference"])
    assert clustered["ci_high"] - clustered["ci_low"] != pytest.approx(naive["ci_high"] - naive["ci_low"])


def test_drawing_parameters_that_matter_widens_the_pooled_intervals(tmp_path):
    """Two particles far apart in incident_rate (0.01 and 0.2): the same replicates, with the posterior, give
    wider 95% intervals than without it (the parameters' uncertainty is in them)."""
    write_posterior(
        tmp_path / "wide",
        rows=[(0, 0.01, 0.5), (1, 0.2, 0.5)],
        columns=("incident_rate",),
        scope={"incident_rate": "all"},
    )
    outcomes = ["containment_per_shift", "conflict_per_shift"]
    data = {
        "policies": ["usual_care", "restrictive"],
        "replicates": 12,
        "days": 8,
        "seed": 3,
        "parameters": {"n_clients": 8},
    }
    widths = {}
    for posterior in (False, True):
        spec = spec_from_dict(
            {**data, **({"posterior": {"draws": 12, "file": str(tmp_path / "wide")}} if posterior else {})}
        )
        run_sweep(spec, tmp_path / str(posterior), workers=1, progress=False)
        runs = read_runs(tmp_path / str(posterior))
        if posterior:
            assert set(runs["incident_rate"]) == {0.01, 0.2}
            contrast = posterior_conclusions(runs, outcomes, "usual_care")
        else:
            contrast = paired_contrasts(runs, outcomes, "usual_care", pair="replicate")
        summary = summary_table(runs, outcomes)
        widths[posterior] = (
            (contrast["ci_high"] - contrast["ci_low"]).to_numpy(),
            (summary["ci_high"] - summary["ci_low"]).to_numpy(),
        )
    assert widths[True][0][0] > widths[False][0][0]  # the paired containment difference
    assert (widths[True][1] > 2 * widths[False][1]).all()  # every policy's estimate

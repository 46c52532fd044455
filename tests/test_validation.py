"""A reduced validation, so that CI catches a change that breaks the calibration; the tolerances as data with
their history; the verdict on hand-built runs.

Fewer replicates than `milieu-sim validate` (4 instead of 10), and wider but stated tolerances:
each pattern's tolerance band is widened by half its width on each side (a band that is open on
one side stays open).  Patterns that the shipped defaults do not reproduce (listed with their
reasons in milieu_sim.analysis.validation.WHY_NOT_REPRODUCED and docs/validation.md) must still be
reported, as failing rows with a reason.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from milieu_sim.analysis.figures import validation_figure
from milieu_sim.analysis.validation import PATTERN_KEYS, PATTERNS, WHY_NOT_REPRODUCED, tolerances, validate

REPLICATES = 4
WIDEN = 0.5  # of the band's width, on each side


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return validate(replicates=REPLICATES)


def widened(row) -> tuple[float, float]:
    low, high = row["tolerance_low"], row["tolerance_high"]
    if math.isinf(low) or math.isinf(high):
        return low, high
    extra = WIDEN * (high - low)
    return low - extra, high + extra


def test_every_pattern_is_reported_with_source_value_and_interval(table):
    assert list(table["pattern"]) == list(PATTERN_KEYS)
    assert table["source"].str.len().gt(0).all() and table["published"].str.len().gt(0).all()
    assert np.isfinite(table["simulated"]).all()
    failing = table[~table["passes"]]
    assert failing["note"].str.len().gt(20).all()  # a sentence on why, for every failing row
    assert list(table["role"]) == [tolerances()[key].role for key in table["pattern"]]


@pytest.mark.parametrize("key", [k for k in PATTERN_KEYS if k not in WHY_NOT_REPRODUCED])
def test_reproduced_patterns_stay_within_the_widened_tolerance(table, key):
    row = table.set_index("pattern").loc[key]
    low, high = widened(row)
    assert low <= row["simulated"] <= high, f"{key}: {row['simulated']:.3f} outside [{low:.3f}, {high:.3f}]"


def test_patterns_known_not_to_be_reproduced_are_real_patterns():
    assert set(WHY_NOT_REPRODUCED) <= set(PATTERN_KEYS)
    assert {p.key for p in PATTERNS if p.fitted} - set(WHY_NOT_REPRODUCED)  # most fitted patterns are met


def test_the_figure_has_a_panel_per_pattern(table):
    figure = validation_figure(table)
    assert sum(ax.get_visible() for ax in figure.axes) == len(table)


def test_validate_record_writes_evidence_and_consistency_apart_with_where_it_came_from(tmp_path):
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "milieu_sim.cli.main", "validate", "--patterns", "seclusion_duration,containment_rate",
         "--replicates", "2", "--seed", "3", "--strict", "--record", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    written = pd.read_csv(tmp_path / "validation.csv")
    consistency = pd.read_csv(tmp_path / "consistency.csv")
    assert list(written["pattern"]) == ["containment_rate"]  # the input echo is not in the validation table
    assert list(consistency["pattern"]) == ["seclusion_duration"] and list(consistency["echoes"]) == ["seclusion_hours"]
    assert {"ci_overlaps", "ci_inside", "verdict", "passes", "within_tolerance", "role"} <= set(written.columns)
    assert (tmp_path / "validation.png").stat().st_size > 10_000
    record = json.loads((tmp_path / "validation.json").read_text())
    assert record["replicates"] == 2 and record["seed"] == 3 and record["created"] and record["commit"]
    assert "validate" in record["command"] and "--record" in record["command"]
    assert "not evidence" in result.stdout
    assert result.returncode == (0 if written["passes"].all() else 1), result.stderr


def test_strict_validation_fails_on_a_failing_evidence_row_not_on_a_consistency_check(tmp_path, monkeypatch, capsys):
    from milieu_sim.analysis import validation
    from milieu_sim.cli.main import main

    real = validation.validate_runs
    failing = {}

    def with_one_failing_row(*args, **kwargs):
        table, runs = real(*args, **kwargs)
        row = table.index[table["pattern"] == failing["key"]][0]
        table.loc[row, ["verdict", "passes", "note"]] = ["fail", False, "a reason stated for this row"]
        return table, runs

    monkeypatch.setattr(validation, "validate_runs", with_one_failing_row)
    argv = ["validate", "--patterns", "seclusion_duration,violent_share", "--replicates", "2", "--strict",
            "--out", str(tmp_path)]  # fmt: skip
    failing["key"] = "violent_share"
    assert main(argv) == 1
    assert "violent_share (fail): a reason stated for this row" in capsys.readouterr().out
    failing["key"] = "seclusion_duration"  # a consistency check: reported, but no evidence either way
    status = main(argv)
    assert status == (0 if pd.read_csv(tmp_path / "validation.csv")["passes"].all() else 1)
    assert pd.read_csv(tmp_path / "consistency.csv").loc[0, "verdict"] == "fail"


def test_the_safewards_rate_ratios_validate_the_safewards_preset_not_the_therapeutic_milieu():
    from milieu_sim.analysis.validation import EXPERIMENTS, SAFEWARDS_ARM

    keys = ("safewards_conflict_rr", "safewards_containment_rr", "containment_falls_more")
    patterns = {p.key: p for p in PATTERNS}
    assert EXPERIMENTS[SAFEWARDS_ARM].policy == "safewards"
    for key in keys:
        assert patterns[key].experiments == ("acute_usual_care", SAFEWARDS_ARM)
        assert not patterns[key].fitted


def test_the_safewards_rate_ratios_are_read_from_paired_hand_made_runs():
    from milieu_sim.analysis.validation import SAFEWARDS_ARM

    seeds = np.arange(6)
    usual = pd.DataFrame(
        {
            "seed": seeds,
            "experiment": "acute_usual_care",
            "shifts": 180,
            "conflict_events": 700 + 10 * seeds,
            "containment_events": 1200 + 10 * seeds,
        }
    )
    safewards = usual.assign(experiment=SAFEWARDS_ARM, conflict_events=(usual["conflict_events"] * 0.85).round(),
                             containment_events=(usual["containment_events"] * 0.7).round())  # fmt: skip
    runs = {"acute_usual_care": usual, SAFEWARDS_ARM: safewards}
    patterns = {p.key: p for p in PATTERNS}
    conflict, low, high = patterns["safewards_conflict_rr"].measure(runs)
    assert conflict == pytest.approx(0.85, abs=0.005) and low < conflict < high
    containment, _, _ = patterns["safewards_containment_rr"].measure(runs)
    assert containment == pytest.approx(0.7, abs=0.005)
    falls_more, _, _ = patterns["containment_falls_more"].measure(runs)
    assert falls_more == pytest.approx(np.log(0.7 / 0.85), abs=0.01)


def test_validate_reports_the_safewards_rates_per_bed_day_and_by_phase_of_stay(tmp_path, capsys):
    from milieu_sim.cli.main import main

    argv = ["validate", "--patterns", "safewards_conflict_rr", "--replicates", "3", "--out", str(tmp_path)]
    assert main(argv) in (0, 1)
    rates = pd.read_csv(tmp_path / "rates.csv")
    assert set(rates["rate"]) == {
        "per shift", "per occupied bed-day", "per bed-day, first 7 days of a stay", "per bed-day, later in a stay"
    }  # fmt: skip
    assert (rates["n_pairs"] == 3).all() and (rates["ci_low"] <= rates["rate_ratio"]).all()
    shift = rates[(rates["event"] == "conflict") & (rates["rate"] == "per shift")].iloc[0]
    table = pd.read_csv(tmp_path / "validation.csv").set_index("pattern")
    assert shift["rate_ratio"] == pytest.approx(table.loc["safewards_conflict_rr", "simulated"])  # one method
    assert "per occupied bed-day" in capsys.readouterr().out


# --- the tolerances: data with a history ----------------------------------------------------------------------
def test_every_pattern_has_a_tolerance_entry_and_every_entry_a_pattern():
    assert set(tolerances()) == set(PATTERN_KEYS)
    for p in PATTERNS:
        band = tolerances()[p.key]
        assert (p.target, p.low, p.high, p.role) == (band.target, band.low, band.high, band.role)
        assert band.reason and band.set_on and band.commit


def test_a_band_that_moved_has_recorded_changes_with_reasons_that_chain():
    from milieu_sim.analysis.validation import history_problems

    for band in tolerances().values():
        assert history_problems(band) == [], band.key
        moved = (band.low, band.high) != band.set_band
        assert not moved or (band.changes and all(c.reason for c in band.changes)), band.key


TOLERANCE = """
[patterns.conflict_rate]
target = 3.96
low = 2.5
high = "inf"
role = "fitted"
reason = "a reason"
set_on = 2026-11-28
commit = "ddd18c6"
set_band = [2.97, 4.95]
{changes}
"""
CHANGE = """
[[patterns.conflict_rate.changes]]
date = 2026-12-01
commit = "abc1234"
from = {before}
to = {after}
reason = "{reason}"
"""


def _parsed(*changes: tuple[str, str, str]):
    from milieu_sim.analysis.validation import parse_tolerances

    text = TOLERANCE.format(changes="".join(CHANGE.format(before=b, after=a, reason=r) for b, a, r in changes))
    return parse_tolerances(text)["conflict_rate"]


def test_the_history_check_refuses_an_unrecorded_move_a_broken_chain_and_a_change_without_reason():
    from milieu_sim.analysis.validation import history_problems

    assert _parsed().high == math.inf  # the string "inf" is an open bound, as TOML's inf
    assert "without a recorded change" in history_problems(_parsed())[0]
    chained = _parsed(("[2.97, 4.95]", '[2.5, "inf"]', "a wider band, for a stated reason"))
    assert history_problems(chained) == []
    two_steps = _parsed(("[2.97, 4.95]", "[2.8, 4.95]", "first"), ("[2.8, 4.95]", '[2.5, "inf"]', "second"))
    assert history_problems(two_steps) == []
    broken = _parsed(("[2.97, 4.95]", "[2.8, 4.95]", "first"), ("[2.9, 4.95]", '[2.5, "inf"]', "second"))
    assert "starts from [2.9, 4.95], but the band was [2.8, 4.95]" in history_problems(broken)[0]
    from milieu_sim.errors import MilieuInputError

    with pytest.raises(MilieuInputError, match="reason"):
        _parsed(("[2.97, 4.95]", '[2.5, "inf"]', ""))


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (('role = "fitted"', 'role = "calibration"'), "patterns.conflict_rate.role"),
        (("low = 2.5", 'low = "low"'), "patterns.conflict_rate.[low, high][0]"),
        (('reason = "a reason"', 'reason = ""'), "patterns.conflict_rate.reason"),
        (("set_on = 2026-11-28", 'set_on = "yesterday"'), "patterns.conflict_rate.set_on"),
        (('commit = "ddd18c6"', 'commit = "ddd18c6"\nsource = "x"'), "patterns.conflict_rate.source"),
        (('high = "inf"', "high = 1.0"), "[low, high] with low <= high"),
    ],
)
def test_a_bad_tolerance_entry_is_one_line_naming_the_key(edit, named):
    from milieu_sim.analysis.validation import parse_tolerances
    from milieu_sim.errors import MilieuInputError

    with pytest.raises(MilieuInputError) as error:
        parse_tolerances(TOLERANCE.format(changes="").replace(*edit))
    assert named in str(error.value) and "\n" not in str(error.value)


def test_a_consistency_check_names_the_input_it_echoes():
    from milieu_sim.analysis.validation import parse_tolerances
    from milieu_sim.errors import MilieuInputError

    with pytest.raises(MilieuInputError, match="echoes"):
        parse_tolerances(TOLERANCE.format(changes="").replace('role = "fitted"', 'role = "consistency"'))
    echoing = {key for key, band in tolerances().items() if band.role == "consistency"}
    assert echoing == {"seclusion_duration", "peer_over_staff_feedback"}


def test_calibration_targets_exactly_the_role_fitted_patterns_and_never_a_validation_one():
    from milieu_sim.analysis.screening import fitted_patterns  # what the screening and the calibration fit
    from milieu_sim.analysis.validation import select_patterns

    by_role = {key for key, band in tolerances().items() if band.role == "fitted"}
    assert {p.key for p in fitted_patterns()} == by_role
    assert {p.key for p in PATTERNS if p.fitted} == by_role
    assert all(p.fitted == (p.role == "fitted") for p in PATTERNS)
    for setting in ("acute_ward", "residential_tc"):
        chosen = {p.key for p in select_patterns(setting) if p.fitted}
        assert chosen and chosen <= by_role
        assert not any(tolerances()[key].role != "fitted" for key in chosen)


# --- the verdict on hand-built runs ---------------------------------------------------------------------------
def _scored(values, low=4.0, high=6.0) -> pd.Series:
    """score() of one pattern (the conflict rate's measure, a hand-set band) on a hand-built arm."""
    import dataclasses

    from milieu_sim.analysis.validation import score

    pattern = dataclasses.replace(next(p for p in PATTERNS if p.key == "conflict_rate"), low=low, high=high)
    runs = {"acute_usual_care": pd.DataFrame({"seed": range(len(values)), "conflict_per_shift": values})}
    return score([pattern], runs).iloc[0]


def test_an_interval_wholly_inside_the_band_passes():
    row = _scored([4.9, 5.0, 5.1, 5.0])
    assert row["verdict"] == "pass" and row["passes"] and row["ci_inside"] and row["within_tolerance"]


def test_a_point_inside_with_an_interval_crossing_the_band_passes_with_that_said():
    row = _scored([5.0, 6.4, 5.2, 6.6])  # mean 5.8 in [4, 6]; the interval reaches above 6
    assert row["within_tolerance"] and row["ci_high"] > 6.0
    assert row["verdict"] == "pass; interval crosses the band" and row["passes"]
    assert row["ci_overlaps"] and not row["ci_inside"]


def test_a_point_outside_with_an_interval_reaching_in_fails_with_that_said():
    row = _scored([5.6, 7.0, 5.8, 7.2])  # mean 6.4 above 6; the interval reaches below 6
    assert not row["within_tolerance"] and row["ci_low"] < 6.0
    assert row["verdict"] == "fail; interval overlaps the band" and not row["passes"] and row["ci_overlaps"]
    assert row["note"]


def test_a_point_and_interval_wholly_outside_fail():
    row = _scored([8.0, 8.1, 7.9, 8.0])
    assert row["verdict"] == "fail" and not row["passes"] and not row["ci_overlaps"]


def test_a_missing_interval_never_passes_even_with_the_point_in_the_band():
    row = _scored([5.0])  # one usable replicate: a mean, no interval
    assert row["within_tolerance"]  # the point rule alone would have passed it
    assert row["verdict"] == "fail; no interval" and not row["passes"]
    assert not row["ci_overlaps"] and not row["ci_inside"] and "no 95% interval" in row["note"]


def test_an_open_band_is_crossed_only_on_its_closed_side():
    row = _scored([1.0, 9.0, 2.0, 8.0], low=-math.inf, high=6.0)  # mean 5, interval far below and above 6
    assert row["verdict"] == "pass; interval crosses the band"
    row = _scored([1.0, 1.2, 0.8, 1.0], low=-math.inf, high=6.0)
    assert row["verdict"] == "pass"


# --- validation with the posterior's draws ----------------------------------------------------------------------
POSTERIOR_RECORD = """
[posterior]
created = "2026-11-30"
commit = "0123abc"
command = "milieu-sim calibrate (test)"
method = "ABC-SMC (test)"
particles = 2

[scope]
incident_rate = "all"
dropout_per_day = "residential_tc"

[central]
incident_rate = 0.07
dropout_per_day = 0.015
"""


def _posterior(folder, incident_rates=(0.01, 0.2)):
    """Two equally weighted particles far apart in incident_rate (all settings) and a community-only parameter."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["particle,incident_rate,dropout_per_day,weight"]
    rows += [f"{k},{rate},0.012,0.5" for k, rate in enumerate(incident_rates)]
    (folder / "posterior.csv").write_text("\n".join(rows) + "\n")
    (folder / "posterior.toml").write_text(POSTERIOR_RECORD)
    return folder


def _short_arms():
    from milieu_sim.analysis.validation import Experiment

    return (Experiment("acute_usual_care", "acute_ward", "usual_care", 12, 2),
            Experiment("acute_safewards", "acute_ward", "safewards", 12, 2),
            Experiment("tc_usual_care", "residential_tc", "usual_care", 12, 2))  # fmt: skip


def test_posterior_draws_are_paired_across_arms_scoped_and_seeded(tmp_path):
    from milieu_sim.analysis.validation import PosteriorDraws, run_arm
    from milieu_sim.experiments.posterior import load_posterior

    posterior = load_posterior(_posterior(tmp_path / "posterior"))
    draws = PosteriorDraws.of(posterior, 3, first_seed=5)
    assert [d.particle for d in draws.draws] == [d.particle for d in PosteriorDraws.of(posterior, 3, 5).draws]
    usual, safewards, community = (run_arm(arm, range(5, 11), draws=draws) for arm in _short_arms())
    assert list(usual["posterior_draw"]) == [r % 3 for r in range(6)]  # replicate r uses draw r % N
    assert list(usual["posterior_draw"]) == list(safewards["posterior_draw"])  # paired: same seed, same draw
    assert list(usual["incident_rate"]) == list(safewards["incident_rate"])
    assert "dropout_per_day" not in usual and "dropout_per_day" in community  # scoped to the community
    assert set(usual["incident_rate"]) <= {0.01, 0.2}


def test_the_posterior_widens_an_interval_when_its_draws_differ(tmp_path):
    from milieu_sim.analysis.statistics import mean_ci
    from milieu_sim.analysis.validation import PosteriorDraws, run_arm
    from milieu_sim.experiments.posterior import load_posterior

    arm = _short_arms()[0]
    draws = PosteriorDraws.of(load_posterior(_posterior(tmp_path / "posterior")), 2, first_seed=0)
    seeds = range(6)
    fixed = run_arm(arm, seeds, {"incident_rate": 0.07})
    drawn = run_arm(arm, seeds, draws=draws)
    assert sorted(set(drawn["incident_rate"])) == [0.01, 0.2]  # both particles were drawn
    width = {name: (lambda m: m[2] - m[1])(mean_ci(frame["conflict_per_shift"])) for name, frame in
             (("fixed", fixed), ("drawn", drawn))}  # fmt: skip
    assert width["drawn"] > 2 * width["fixed"]


def test_validate_posterior_options_are_checked_before_any_run(tmp_path, capsys):
    from milieu_sim.cli.main import main

    folder = str(_posterior(tmp_path / "posterior"))
    assert main(["validate", "--posterior-file", folder, "--out", str(tmp_path / "a")]) == 2
    assert "'posterior-file'" in capsys.readouterr().err
    assert main(["validate", "--posterior", "3", "--replicates", "4", "--posterior-file", folder]) == 2
    assert "a multiple of the draws" in capsys.readouterr().err
    assert main(["validate", "--posterior", "1"]) == 2
    assert not (tmp_path / "a").exists()


def test_validate_with_the_posterior_records_its_draws(tmp_path):
    import json

    from milieu_sim.cli.main import main

    folder = _posterior(tmp_path / "posterior")
    out = tmp_path / "out"
    argv = ["validate", "--patterns", "containment_rate", "--posterior", "2", "--posterior-file", str(folder),
            "--out", str(out)]  # fmt: skip
    assert main(argv) in (0, 1)
    record = json.loads((out / "validation.json").read_text())
    assert record["replicates"] == 2 and record["posterior"]["draws"] == 2
    assert len(record["posterior"]["digest"]) == 64 and record["posterior"]["record"]["method"] == "ABC-SMC (test)"

"""The statistics behind comparisons, on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milieu_sim.analysis.statistics import mean_ci, paired_contrasts, summary_table


def test_mean_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    trials = 2000
    covered = 0
    for _ in range(trials):
        _, low, high, _ = mean_ci(rng.normal(3.0, 2.0, size=10))
        covered += low <= 3.0 <= high
    share = covered / trials
    se = np.sqrt(0.95 * 0.05 / trials)
    assert abs(share - 0.95) < 3 * se


def test_mean_ci_drops_missing_values_and_handles_small_samples():
    mean, low, high, n = mean_ci([1.0, float("nan"), 3.0])
    assert (mean, n) == (2.0, 2) and low < 2.0 < high
    assert np.isnan(mean_ci([5.0])[1]) and mean_ci([])[3] == 0


def test_paired_contrasts_recover_a_known_difference_and_pairing_narrows_the_interval():
    rng = np.random.default_rng(1)
    seeds = np.arange(20)
    ward_effect = rng.normal(0, 5, size=seeds.size)  # large between-seed variation shared by both policies
    runs = pd.DataFrame(
        {
            "policy": ["a"] * 20 + ["b"] * 20,
            "seed": np.concatenate([seeds, seeds]),
            "y": np.concatenate([10 + ward_effect + rng.normal(0, 0.1, 20), 9 + ward_effect + rng.normal(0, 0.1, 20)]),
        }
    )
    contrast = paired_contrasts(runs, ["y"], reference="a").iloc[0]
    assert contrast["ci_low"] < -1.0 < contrast["ci_high"]
    assert contrast["p_value"] < 1e-6 and contrast["n_pairs"] == 20
    means = summary_table(runs, ["y"]).set_index("policy")
    unpaired_width = means.loc["b", "ci_high"] - means.loc["b", "ci_low"]
    assert contrast["ci_high"] - contrast["ci_low"] < unpaired_width / 10


def test_summary_table_is_tidy_with_one_or_several_group_columns():
    runs = pd.DataFrame({"policy": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1], "y": [1.0, 2.0, 3.0, 5.0]})
    means = summary_table(runs, ["y"])
    assert list(means.columns) == ["policy", "outcome", "mean", "ci_low", "ci_high", "n"]
    assert means.set_index("policy").loc["b", "mean"] == pytest.approx(4.0)
    by_two = summary_table(runs.assign(point=[0, 1, 0, 1]), ["y"], ["policy", "point"])
    assert list(by_two.columns) == ["policy", "point", "outcome", "mean", "ci_low", "ci_high", "n"]
    assert len(by_two) == 4 and (by_two["n"] == 1).all()

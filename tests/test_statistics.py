"""The statistics behind comparisons, on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from milieu_sim.analysis.statistics import (
    contrast_table,
    format_p,
    holm,
    mean_ci,
    paired_contrasts,
    paired_rate_ratio,
    pooled_ratio_ci,
    rate_ratios,
    replicate_check,
    summary_table,
    wilson_interval,
)
from milieu_sim.experiments.outcomes import OUTCOMES


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
    columns = ["outcome", "mean", "ci_low", "ci_high", "n", "flag", "weighting", "denominator"]
    assert list(means.columns) == ["policy", *columns]
    assert means.set_index("policy").loc["b", "mean"] == pytest.approx(4.0)
    by_two = summary_table(runs.assign(point=[0, 1, 0, 1]), ["y"], ["policy", "point"])
    assert list(by_two.columns) == ["policy", "point", *columns]
    assert len(by_two) == 4 and (by_two["n"] == 1).all() and (by_two["flag"] == "n < 3").all()


# --- the audit's findings (issue 18, "Statistics"): each fails on the code before it ------------------------
def _paired_event_runs(seed: int = 3, pairs: int = 20, ratio: float = 0.95) -> pd.DataFrame:
    """Two policies on common random numbers: event counts share a strong seed effect (correlation ~0.9)."""
    rng = np.random.default_rng(seed)
    level = np.exp(rng.normal(0, 0.15, pairs))
    shifts = np.full(pairs, 159)
    rows = []
    for policy, r in (("usual_care", 1.0), ("therapeutic_milieu", ratio)):
        counts = rng.poisson(rng.gamma(2000.0, 5.0 * 159 * r * level / 2000.0))
        bed_hours = rng.integers(14000, 15000, pairs)
        for k in range(pairs):
            rows.append(
                {
                    "policy": policy,
                    "replicate": k,
                    "seed": k,
                    "conflict_events": counts[k],
                    "shifts": shifts[k],
                    "bed_hours": bed_hours[k],
                    "conflict_per_shift": counts[k] / shifts[k],
                    "conflict_per_bed_day": counts[k] / (bed_hours[k] / 24),
                }
            )
    return pd.DataFrame(rows)


def test_rate_ratios_and_paired_differences_reach_one_conclusion():
    """A 5% effect, paired: the report's NB2 rate ratio said p = 0.17 where its paired difference excluded 0."""
    runs = _paired_event_runs()
    ratios = rate_ratios(runs, "policy", "usual_care").set_index("outcome")
    contrasts = contrast_table(runs, ["conflict_per_shift", "conflict_per_bed_day"], "policy", "usual_care")
    contrasts = contrasts.set_index("outcome")
    for outcome in ("conflict_per_shift", "conflict_per_bed_day"):
        ratio, diff = ratios.loc[outcome], contrasts.loc[outcome]
        assert (ratio["ci_high"] < 1) == (diff["ci_high"] < 0) and (ratio["ci_low"] > 1) == (diff["ci_low"] > 0)
        assert ratio["p_value"] == pytest.approx(diff["p_value"])
        assert ratio["n_pairs"] == diff["n_pairs"] == 20
    shift = ratios.loc["conflict_per_shift"]
    assert shift["ci_high"] < 1.0  # the pairing finds the small effect
    assert shift["rate"] / shift["reference_rate"] == pytest.approx(shift["rate_ratio"])  # ratio of pooled rates


def test_paired_rate_ratio_needs_no_special_case_for_zero_counts_and_uses_t():
    # a phase of stay with no event in some runs: pairs with no event carry no information and are not counted
    result = paired_rate_ratio([0, 3, 5, 2, 4], [10.0] * 5, [0, 1, 2, 1, 1], [10.0] * 5)
    assert result["n_pairs"] == 4 and result["rate_ratio"] == pytest.approx(5 / 14)
    assert result["ci_low"] < result["rate_ratio"] < result["ci_high"]
    # t with pairs - 1 degrees of freedom: the interval widens as pairs get few, for the same spread
    few = paired_rate_ratio([100, 120, 90], [10.0] * 3, [90, 100, 85], [10.0] * 3)
    many = paired_rate_ratio([100, 120, 90] * 4, [10.0] * 12, [90, 100, 85] * 4, [10.0] * 12)
    assert np.log(few["ci_high"] / few["ci_low"]) > 3 * np.log(many["ci_high"] / many["ci_low"])


def test_p_values_are_holm_adjusted_within_an_outcome_and_print_below_0001():
    assert format_p(1e-9) == "< 0.001" and format_p(0.0123) == "0.012" and format_p(float("nan")) == ""
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(holm([0.01, float("nan")])[1]) and holm([0.01, float("nan")])[0] == pytest.approx(0.01)
    rng = np.random.default_rng(4)
    shared = rng.normal(0, 1, 10)
    runs = pd.DataFrame(
        {
            "policy": np.repeat(["ref", "a", "b", "c"], 10),
            "seed": np.tile(np.arange(10), 4),
            "y": np.concatenate([shared + rng.normal(s, 0.3, 10) for s in (0.0, 0.4, 0.1, 0.0)]),
        }
    )
    table = paired_contrasts(runs, ["y"], reference="ref")
    assert table["p_holm"].to_numpy() == pytest.approx(holm(table["p_value"]))
    assert (table["p_holm"] >= table["p_value"]).all()


def test_share_intervals_stay_in_0_1_and_shares_are_pooled_over_runs():
    # the audit's completion_share 0.006 [-0.002, 0.014] and, at 2 replicates, dropout_share 0.250 [-2.927, 3.427]
    runs = pd.DataFrame(
        {
            "policy": "custodial",
            "completed_stays": [0, 1, 0, 0, 0, 0],
            "stays_ended": [30, 28, 33, 31, 29, 30],
            "dropout_stays": [10, 2, 9, 8, 11, 1],
        }
    )
    runs["completion_share"] = runs["completed_stays"] / runs["stays_ended"]
    runs["dropout_share"] = runs["dropout_stays"] / runs["stays_ended"]
    table = summary_table(runs, ["completion_share", "dropout_share"]).set_index("outcome")
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()
    assert table.loc["completion_share", "mean"] == pytest.approx(1 / 181)  # pooled: stays count once
    assert table.loc["completion_share", "denominator"] == 181 and table.loc["completion_share", "n"] == 6
    two = summary_table(runs.head(2).assign(dropout_stays=[0, 1], stays_ended=[1, 3]), ["dropout_share"]).iloc[0]
    assert 0 <= two["ci_low"] <= two["mean"] <= two["ci_high"] <= 1 and two["flag"] == "n < 3"
    # pooled, not an unweighted mean of per-run shares (0.5 and 0.0 over 2 and 98 stays)
    uneven = pd.DataFrame({"policy": "p", "dropout_stays": [1, 0], "stays_ended": [2, 98]})
    uneven["dropout_share"] = uneven["dropout_stays"] / uneven["stays_ended"]
    assert summary_table(uneven, ["dropout_share"]).iloc[0]["mean"] == pytest.approx(0.01)


def test_the_share_interval_covers_with_runs_as_clusters():
    """Pooled shares whose runs differ (a run-level effect): the cluster interval covers ~95%, Wilson would not."""
    rng = np.random.default_rng(8)
    covered, wilson_covered, trials = 0, 0, 600
    for _ in range(trials):
        p = 1 / (1 + np.exp(-rng.normal(np.log(0.3 / 0.7), 0.4, 10)))
        stays = rng.integers(20, 40, 10)
        y = rng.binomial(stays, p)
        truth = 1 / (1 + np.exp(-np.log(0.3 / 0.7)))
        _, low, high, _ = pooled_ratio_ci(y, stays, share=True)
        covered += low <= truth <= high
        w_low, w_high = wilson_interval(y.sum(), stays.sum())
        wilson_covered += w_low <= truth <= w_high
    assert covered / trials > 0.91 and wilson_covered / trials < covered / trials


def test_estimates_show_how_many_runs_they_rest_on_when_some_runs_have_no_value():
    """A run where no stay ended has no dropout share: n says so (it was dropped silently)."""
    runs = pd.DataFrame(
        {
            "policy": ["a"] * 4 + ["b"] * 4,
            "replicate": list(range(4)) * 2,
            "y": [1.0, 2.0, np.nan, 3.0, 2.0, 3.0, 4.0, np.nan],
        }
    )
    means = summary_table(runs, ["y"]).set_index("policy")
    assert means.loc["a", "n"] == 3 and means.loc["b", "n"] == 3
    contrast = contrast_table(runs, ["y"], "policy", "a").iloc[0]
    assert contrast["n_pairs"] == 2 and contrast["flag"] == "n < 3"


def _crn_runs(pairs: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    shared = rng.normal(0, 0.2, pairs)  # a share that varies a lot by seed, the same way in both policies
    return pd.DataFrame(
        {
            "policy": ["ref"] * pairs + ["new"] * pairs,
            "replicate": list(range(pairs)) * 2,
            "y": np.concatenate(
                [0.5 + shared + rng.normal(0, 0.01, pairs), 0.52 + shared + rng.normal(0, 0.01, pairs)]
            ),
        }
    )


def test_replicates_are_sized_on_the_paired_differences_that_are_compared():
    """completion_share once "needed" 14,608 replicates (its per-policy spread) while its paired differences were
    already precise."""
    runs = _crn_runs()
    paired = replicate_check(runs, ["y"], ["policy"], precision=0.05, group="policy", reference="ref").iloc[0]
    alone = replicate_check(runs, ["y"], ["policy"], precision=0.05).iloc[0]
    assert paired["compared"] == "new - ref" and paired["enough"]
    assert paired["replicates_needed"] <= 12 < alone["replicates_needed"]
    d = runs.loc[runs["policy"] == "new", "y"].to_numpy() - runs.loc[runs["policy"] == "ref", "y"].to_numpy()
    n, target = paired["replicates_needed"], paired["target"]
    assert stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n) <= target  # the smallest n, by iteration
    assert n == 2 or stats.t.ppf(0.975, n - 2) * d.std(ddof=1) / np.sqrt(n - 1) > target


def test_drift_is_its_own_diagnostic_and_never_changes_the_count():
    """The advice once printed R + 1 whenever the drift check failed ("replicates_needed 4 ... about 11")."""
    import re

    runs = pd.DataFrame({"policy": "p", "replicate": np.arange(10), "y": np.repeat([9.0, 11.0], 5)})
    row = replicate_check(runs, ["y"], ["policy"], precision=0.1).iloc[0]
    assert row["enough"] and not row["settled"] and row["mean_drift"] == pytest.approx(0.1)
    assert [int(n) for n in re.findall(r"about (\d+)", row["advice"])] in ([], [row["replicates_needed"]])
    assert "drift" in row["advice"] and row["replicates_needed"] != row["replicates"] + 1


def test_every_pooled_outcome_names_counts_the_runner_keeps():
    from milieu_sim.experiments.outcomes import COUNTS

    pooled = {name: o for name, o in OUTCOMES.items() if o.pooled_from}
    assert {"conflict_per_bed_day", "containment_per_bed_day_later", "completion_share"} <= set(pooled)
    for name, outcome in pooled.items():
        assert set(outcome.pooled_from) <= set(COUNTS), name
        assert outcome.weighting.startswith("pooled"), name


def test_a_rate_ratio_of_identical_pairs_has_no_interval_and_says_so():
    """Every pair with the same counts and exposure: the ratio is 1 but nothing estimates its spread, so the row
    has no interval and its flag says why (instead of a silent NaN or a zero-width interval)."""
    runs = _paired_event_runs()
    twin = runs[runs["policy"] == "usual_care"].assign(policy="twin")
    ratios = rate_ratios(pd.concat([runs, twin]), "policy", "usual_care").set_index(["group", "outcome"])
    same = ratios.loc[("twin", "conflict_per_shift")]
    assert same["rate_ratio"] == 1.0 and np.isnan(same["ci_low"]) and np.isnan(same["ci_high"])
    assert same["flag"] == "no interval: no spread between pairs"
    assert ratios.loc[("therapeutic_milieu", "conflict_per_shift"), "flag"] == ""  # a real spread: no flag

"""Statistics over replicates: means with confidence intervals and paired contrasts.

Replicates of different policies that share a seed face the same admissions
and the same clients (common random numbers), so policies are compared by the
*paired* difference per seed, whose interval is much narrower than that of
two independent means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper bound of its t-based confidence interval, and n (NaNs dropped)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def policy_means(runs: pd.DataFrame, outcomes: list[str], by: str = "policy", level: float = 0.95) -> pd.DataFrame:
    """Tidy table: one row per (group, outcome) with mean, ci_low, ci_high, n."""
    rows = []
    for group, frame in runs.groupby(by, sort=False, observed=True):
        for outcome in outcomes:
            mean, low, high, n = mean_ci(frame[outcome], level)
            rows.append({by: group, "outcome": outcome, "mean": mean, "ci_low": low, "ci_high": high, "n": n})
    return pd.DataFrame(rows)


def paired_contrasts(
    runs: pd.DataFrame,
    outcomes: list[str],
    reference: str,
    by: str = "policy",
    pair: str = "seed",
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired differences (group - reference) per outcome, matched on ``pair``.

    Columns: group, outcome, difference (mean of paired differences), ci_low,
    ci_high, p_value (paired t-test), n_pairs.
    """
    ref = runs[runs[by] == reference].set_index(pair)
    rows = []
    for group, frame in runs.groupby(by, sort=False, observed=True):
        if group == reference:
            continue
        other = frame.set_index(pair)
        common = other.index.intersection(ref.index)
        for outcome in outcomes:
            d = (other.loc[common, outcome] - ref.loc[common, outcome]).to_numpy(dtype=float)
            d = d[np.isfinite(d)]
            mean, low, high, n = mean_ci(d, level)
            p_value = float(stats.ttest_1samp(d, 0.0).pvalue) if n > 1 and np.std(d) > 0 else math.nan
            rows.append(
                {
                    by: group,
                    "outcome": outcome,
                    "difference": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": p_value,
                    "n_pairs": n,
                }
            )
    return pd.DataFrame(rows)

"""Statistics over replicates: means with confidence intervals, paired contrasts, rate ratios, and a
replicate-count check.

Every function takes tidy tables (one row per run, as :func:`milieu_sim.experiments.storage.read_runs`
returns, or a comparison's runs) and returns tidy tables.  Each run counts once (per-run weighting:
see the outcome vocabulary in ``docs/outputs.md``).

- :func:`mean_ci`, :func:`summary_table`: mean and t-based confidence interval of each outcome per group
  (policy and/or parameter point).
- :func:`paired_contrasts`, :func:`contrast_table`: paired differences against a reference group.
  Replicates of different groups that share a seed face the same admissions and the same clients
  (common random numbers), so the *paired* difference per seed has a much narrower interval than
  two independent means.
- :func:`rate_ratios`: event counts per shift as rate ratios against the reference, with 95% Wald CIs,
  from a negative binomial (NB2) regression with log link and log(shifts) as offset, the count model
  for over-dispersed event counts that ward trials such as Safewards report (Bowers et al. 2015).
  The rate ratios do not use the pairing (the paired differences do).
- :func:`replicate_check`: whether the replicates are enough, after Lee et al. (2015, JASSS 18(4):4):
  how far the mean and the coefficient of variation still moved over the second half of the
  replicates, the CI half-width relative to the mean, and the replicates needed for a target precision.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

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


def summary_table(
    runs: pd.DataFrame, outcomes: Sequence[str], by: str | Sequence[str] = "policy", level: float = 0.95
) -> pd.DataFrame:
    """One row per group and outcome: the group's keys (``by``), outcome, mean, ci_low, ci_high, n.

    Groups keep the order in which they first appear in ``runs``.
    """
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for keys, frame in runs.groupby(by, sort=False, observed=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for outcome in outcomes:
            mean, low, high, n = mean_ci(frame[outcome].to_numpy(dtype=float), level)
            rows.append(
                {
                    **dict(zip(by, keys, strict=True)),
                    "outcome": outcome,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": n,
                }
            )
    return pd.DataFrame(rows, columns=[*by, "outcome", "mean", "ci_low", "ci_high", "n"])


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


EVENT_COUNTS = {"conflict_events": "conflict", "containment_events": "containment"}


def contrast_table(
    runs: pd.DataFrame, outcomes: Sequence[str], group: str, reference: object, within: str | None = None
) -> pd.DataFrame:
    """Paired differences (group - reference) per outcome, matched on ``replicate``.

    ``within`` (e.g. ``"point"``) makes one comparison per value of that column.
    Columns: [within], group, outcome, difference, ci_low, ci_high, p_value, n_pairs.
    """
    frames = [(None, runs)] if within is None else list(runs.groupby(within, sort=True))
    out = []
    for key, frame in frames:
        table = paired_contrasts(frame, list(outcomes), reference=reference, by=group, pair="replicate")
        if within is not None:
            table.insert(0, within, key)
        out.append(table)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def negative_binomial_rate_ratios(
    counts: np.ndarray, exposure: np.ndarray, groups: Sequence[object], reference: object, level: float = 0.95
) -> pd.DataFrame:
    """Rate ratio of each group against ``reference`` from an NB2 regression with offset log(exposure).

    Returns one row per non-reference group: group, rate_ratio, ci_low, ci_high, p_value, alpha
    (the over-dispersion: variance = mu + alpha mu^2), model.  Falls back to a quasi-Poisson GLM
    (Pearson-scaled) when the negative binomial fit fails (e.g. all counts zero in a group).
    """
    import statsmodels.api as sm

    counts = np.asarray(counts, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    groups = np.asarray([str(g) for g in groups], dtype=object)
    reference = str(reference)
    levels = [g for g in dict.fromkeys(groups) if g != reference]
    keep = np.isfinite(counts) & (exposure > 0)
    counts, exposure, groups = counts[keep], exposure[keep], groups[keep]
    if not levels or reference not in set(groups):
        return pd.DataFrame(columns=["group", "rate_ratio", "ci_low", "ci_high", "p_value", "alpha", "model"])
    design = np.column_stack([np.ones(len(counts))] + [(groups == g).astype(float) for g in levels])
    z = stats.norm.ppf(0.5 + level / 2)
    params = se = pvalues = None
    alpha = math.nan
    model_name = "negative binomial (NB2)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.NegativeBinomial(counts, design, exposure=exposure).fit(disp=0, maxiter=300)
            alpha = float(fit.params[-1])
            params, se, pvalues = fit.params[:-1], fit.bse[:-1], fit.pvalues[:-1]
            converged = fit.mle_retvals.get("converged", True)
            if not (np.all(np.isfinite(se)) and converged and alpha > 1e-6):
                params = None
        except Exception:
            params = None
        if params is None:  # no over-dispersion to estimate (alpha -> 0) or no fit: Poisson, scale >= 1
            model_name = "Poisson (NB alpha ~ 0 or no NB fit; Pearson scale >= 1)"
            try:
                poisson = sm.GLM(counts, design, family=sm.families.Poisson(), exposure=exposure)
                first = poisson.fit()
                scale = max(1.0, float(first.pearson_chi2 / max(first.df_resid, 1)))
                fit = poisson.fit(scale=scale)
                params, se, pvalues = fit.params, fit.bse, fit.pvalues
            except Exception:
                params = np.full(design.shape[1], math.nan)
                se = pvalues = params
                model_name = "no fit"
    rows = []
    for k, level_name in enumerate(levels, start=1):
        beta, s = float(params[k]), float(se[k])
        rows.append(
            {
                "group": level_name,
                "rate_ratio": math.exp(beta) if np.isfinite(beta) else math.nan,
                "ci_low": math.exp(beta - z * s) if np.isfinite(s) else math.nan,
                "ci_high": math.exp(beta + z * s) if np.isfinite(s) else math.nan,
                "p_value": float(pvalues[k]),
                "alpha": alpha,
                "model": model_name,
            }
        )
    return pd.DataFrame(rows)


def rate_ratios(
    runs: pd.DataFrame,
    group: str,
    reference: object,
    within: str | None = None,
    events: dict[str, str] = EVENT_COUNTS,
    exposure: str = "shifts",
) -> pd.DataFrame:
    """Rate ratios of events per shift (each of ``events``) for each group against the reference.

    Columns: [within], event, group, rate_ratio, ci_low, ci_high, p_value, alpha, model,
    rate (events per shift in the group), reference_rate, n_runs.
    """
    frames = [(None, runs)] if within is None else list(runs.groupby(within, sort=True))
    out = []
    for key, frame in frames:
        for column, event in events.items():
            if column not in frame.columns:
                continue
            table = negative_binomial_rate_ratios(frame[column], frame[exposure], frame[group], reference)
            if table.empty:
                continue
            sums = frame.groupby(frame[group].astype(str))[[column, exposure]].sum()
            table["rate"] = [sums.loc[g, column] / sums.loc[g, exposure] for g in table["group"]]
            ref = str(reference)
            table["reference_rate"] = sums.loc[ref, column] / sums.loc[ref, exposure]
            table["n_runs"] = [int((frame[group].astype(str) == g).sum()) for g in table["group"]]
            table.insert(0, "event", event)
            if within is not None:
                table.insert(0, within, key)
            out.append(table)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def replicates_for_half_width(sd: float, half_width: float, level: float = 0.95) -> int:
    """The smallest n (>= 2) whose t-based CI half-width, t(n-1) sd / sqrt(n), is at most ``half_width`` (> 0).

    Found by iteration from the normal approximation (t > z, so the answer is never below it).
    """
    if sd <= 0:
        return 2
    q = 0.5 + level / 2
    n = max(2, math.ceil((stats.norm.ppf(q) * sd / half_width) ** 2))
    while stats.t.ppf(q, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def replicate_check(
    runs: pd.DataFrame, outcomes: Sequence[str], by: Sequence[str], precision: float = 0.05, level: float = 0.95
) -> pd.DataFrame:
    """Are the replicates enough?  One row per outcome (the worst group), after Lee et al. (2015).

    For each group, replicates are taken in their order (0, 1, ...) and for n from R/2 to R:
    ``mean_drift`` = max |mean_n - mean_R| / |mean_R| and ``cv_drift`` = max |cv_n - cv_R|
    (cv = sd / |mean|): how much the mean and the spread were still moving.  ``rel_half_width`` is
    the 95% CI half-width over |mean|; ``replicates_needed`` is the smallest n at which the t-based
    half-width would reach ``precision`` |mean| (:func:`replicates_for_half_width`), the number the
    advice quotes.  ``enough`` when the half-width is within the precision and the mean moved less than
    half of it over the second half of the replicates; the drift is reported as its own diagnostic.
    """
    rows = []
    for outcome in outcomes:
        worst = None
        for _, frame in runs.groupby(list(by), sort=False, observed=True, dropna=False):
            x = frame.sort_values("replicate")[outcome].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = x.size
            if n < 4:
                continue
            mean, sd = float(x.mean()), float(x.std(ddof=1))
            if mean == 0 or not np.isfinite(mean):
                continue
            half = stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
            cum = np.cumsum(x) / np.arange(1, n + 1)
            first = max(2, n // 2)
            sds = np.array([x[:k].std(ddof=1) for k in range(first, n + 1)])
            with np.errstate(divide="ignore", invalid="ignore"):
                cvs = sds / np.abs(cum[first - 1 :])
            row = {
                "outcome": outcome,
                "replicates": n,
                "mean": mean,
                "half_width": half,
                "rel_half_width": half / abs(mean),
                "mean_drift": float(np.max(np.abs(cum[first - 1 :] - mean)) / abs(mean)),
                "cv": sd / abs(mean),
                "cv_drift": float(np.nanmax(np.abs(cvs - sd / abs(mean)))) if np.isfinite(cvs).any() else math.nan,
                "replicates_needed": replicates_for_half_width(sd, precision * abs(mean), level),
            }
            if worst is None or row["rel_half_width"] > worst["rel_half_width"]:
                worst = row
        if worst is None:
            rows.append({"outcome": outcome, "enough": None, "advice": "not assessed (under 4 replicates or mean 0)"})
            continue
        rows.append({**worst, **_replicate_advice(worst, precision)})
    return pd.DataFrame(rows)


def _replicate_advice(row: dict, precision: float) -> dict:
    """``enough`` and the advice of one :func:`replicate_check` row; the only count it quotes is
    ``replicates_needed``."""
    precise = row["rel_half_width"] <= precision
    settled = row["mean_drift"] <= precision / 2
    drift = (
        f"the mean still moved {row['mean_drift']:.1%} over the second half of the replicates "
        f"(more than half of {precision:.0%})"
    )
    if precise and settled:
        advice = f"enough: the 95% CI is within {precision:.0%} of the mean and the mean has settled"
    elif precise:
        advice = (
            f"not settled: the 95% CI is within {precision:.0%} of the mean (about {row['replicates_needed']} "
            f"replicates give that), but {drift}; add replicates and check that it settles"
        )
    else:
        advice = (
            f"more replicates: about {row['replicates_needed']} for a 95% CI within {precision:.0%} of the mean "
            f"(now +/-{row['half_width']:.3g}, {row['rel_half_width']:.0%} of the mean)"
        )
        if not settled:
            advice += f"; also, {drift}"
        if row["rel_half_width"] > 0.5:
            advice += "; the mean is near 0, so judge the absolute half-width (or the paired differences) instead"
    return {"enough": precise and settled, "advice": advice}

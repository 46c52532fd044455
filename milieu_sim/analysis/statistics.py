"""Statistics over replicates: estimates with honest intervals, paired contrasts, paired rate ratios, and
replicates sized on what is compared.

Every function takes tidy tables (one row per run, as :func:`milieu_sim.experiments.storage.read_runs`
returns, or a comparison's runs) and returns tidy tables.  Estimates and intervals come first in every
table; ``n`` (runs) or ``n_pairs`` (pairs of runs) stands beside each; ``flag`` says ``n < 3`` where an
interval rests on fewer than three replicates.

- :func:`summary_table`: one estimate per group and outcome.  Outcomes that are ratios of counts
  (rates and shares; the vocabulary's ``pooled_from``) are *pooled* over runs: the sum of the numerators
  over the sum of the denominators, so each stay, shift or bed-day counts once whatever run it fell in.
  Their interval treats the run as the cluster (ratio-estimator variance, t quantile with runs - 1
  degrees of freedom) on the logit scale for shares and the log scale for rates, so it stays in [0, 1]
  (or above 0); with one run, or a pooled share of exactly 0 or 1, the Wilson interval of the pooled
  counts.  Other outcomes (means of continuous quantities) are averaged per run, with a t interval.
- :func:`paired_contrasts`, :func:`contrast_table`: paired differences against a reference group.
  Replicate r of every group uses the same seed (common random numbers), so the runs of one replicate
  face the same admissions and clients, and the difference per pair has a much narrower interval than
  two independent means.  Pooled shares: the difference of the pooled shares, its variance from the pairs
  (linearised, t with pairs - 1 degrees of freedom); pooled rates: the reference's pooled rate x (rate
  ratio - 1), with the interval and p-value of the paired rate ratio (below), so the differences and the
  rate ratios of one report cannot reach opposite conclusions (the interval is conditional on the
  reference's observed rate); other outcomes: the mean of the per-pair differences (paired t).
  ``p_value`` is the paired t-test, unadjusted; ``p_holm`` is Holm-adjusted within the family of one
  outcome's contrasts against the reference (within one parameter point).
- :func:`paired_rate_ratio`, :func:`rate_ratios`: rate ratios against the reference that use the pairing.
  Method: conditional Poisson stratified on the pair (seed), with a variance robust to any dispersion
  and a t quantile.  Given a pair's total count n_s, the new arm's count is modelled as binomial(n_s, p_s)
  with p_s = RR r_s / (1 + RR r_s) and r_s the ratio of the two runs' exposures: the seed's own level
  (which common random numbers share between the arms) drops out exactly, zero counts need no special
  case, and the estimate is the ratio of the pooled rates when exposures are equal within pairs (so the
  rate ratio and the rates beside it agree).  Its standard error is the sandwich (robust) variance with
  the pair as the cluster and the Mancl-DeRouen small-sample correction (residuals divided by 1 - the
  pair's leverage), so each comparison carries its own over-dispersion, whatever it is in each arm (no
  dispersion is shared across arms, and none is floored at 1: common random numbers can make pairs *less*
  variable than binomial); the interval uses t with pairs - 1 degrees of freedom.  ``dispersion`` (Pearson
  X^2 / (pairs - 1) against the binomial) is reported as a diagnostic.  On simulated paired studies with
  known ratios (negative binomial counts, dispersion three times larger in one arm, a seed effect giving
  correlation 0.7-0.9; ``tests/test_coverage.py``, ``benchmarks/coverage_rate_ratios.py``) it covers
  0.95-0.96 at 10 and 20 pairs, and 0.93-0.95 with small, very over-dispersed counts, where the
  model-based quasi-likelihood variance fell to 0.82-0.86.
  Why this and not a per-seed log-ratio t interval: the log ratio is undefined when a run has no event
  (rare containment, a phase of stay with no event; on small over-dispersed counts it covered 0.2-0.46),
  and its mean estimates a geometric-mean ratio that drifts from the ratio of rates when dispersion
  differs between arms.  ``p_holm`` is Holm-adjusted
  within the family of one rate (event, exposure and phase) against the reference.
- :func:`negative_binomial_rate_ratios`: the unpaired NB2 regression (one dispersion shared by every
  arm, z quantiles) kept for independent arms only; :func:`paired_rate_ratio` replaces it for paired runs.
- :func:`posterior_conclusions`: with runs whose parameters were drawn from the calibration's posterior
  (replicate r of every group shares draw r % N), each paired contrast pooled over all pairs (its interval
  now carries parameter uncertainty) and the share of draws in which the same contrast, computed within the
  draw's pairs, lies on the same side of no effect (:func:`posterior_sentence` says it in words).
- :func:`replicate_check`: replicates sized on what is compared: for each outcome, the smallest n whose
  t-based 95% half-width of the *paired differences* against the reference reaches ``precision`` x the
  level of the two groups compared (the mean of their |means|; found by iteration); the drift of the mean
  and of the coefficient of variation over the second half of the replicates (after Lee et al. 2015,
  JASSS 18(4):4) is its own diagnostic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from milieu_sim.experiments.outcomes import OUTCOMES


def _stats():
    """``scipy.stats``, imported on first use (it takes about a second to import; the estimates need it, the
    runs of a sweep do not)."""
    from scipy import stats

    return stats


FEW = 3  # under this many replicates (or pairs) an estimate is flagged
FLAG_FEW = f"n < {FEW}"
#: A rate ratio whose pairs leave no spread to estimate its interval from (e.g. every pair with the same counts).
FLAG_NO_INTERVAL = "no interval: no spread between pairs"


# --- small helpers ---------------------------------------------------------------------------------------
def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm's step-down adjustment of one family of p-values (NaNs stay NaN and are not counted)."""
    p = np.asarray(list(p_values), dtype=float)
    adjusted = np.full(p.shape, math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return adjusted
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def format_p(p: float) -> str:
    """A p-value as printed: ``< 0.001`` below 0.001, three decimals otherwise, empty when undefined."""
    if p is None or not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def flag(n: int) -> str:
    """``n < 3`` when an estimate rests on fewer than three replicates (or pairs), else empty."""
    return FLAG_FEW if n < FEW else ""


def _no_interval(result: dict) -> str:
    """:data:`FLAG_NO_INTERVAL` for a finite rate ratio without an interval, else empty."""
    finite = np.isfinite(result["rate_ratio"]) and not np.isfinite(result["ci_low"])
    return FLAG_NO_INTERVAL if finite else ""


def pooled_columns(outcomes: Iterable[str], columns: Iterable[str]) -> dict[str, tuple[str, str, float]]:
    """For each outcome the vocabulary pools: its (numerator, denominator, scale) count columns, if ``columns``
    has them (the denominator count / scale is the outcome's denominator, e.g. bed-hours / 24 = bed-days)."""
    columns = set(columns)
    found = {}
    for name in outcomes:
        outcome = OUTCOMES.get(name)
        if outcome is not None and outcome.pooled_from and set(outcome.pooled_from) <= columns:
            found[name] = (*outcome.pooled_from, outcome.pooled_scale)
    return found


def _is_share(outcome: str) -> bool:
    item = OUTCOMES.get(outcome)
    return item is not None and item.unit == "share"


# --- means and pooled ratios ------------------------------------------------------------------------------
def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper bound of its t-based confidence interval, and n (NaNs dropped)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(_stats().t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def wilson_interval(successes: float, trials: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (stays in [0, 1]; treats the trials as independent)."""
    if trials <= 0:
        return math.nan, math.nan
    z = _stats().norm.ppf(0.5 + level / 2)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def pooled_ratio_ci(
    numerators: Iterable[float], denominators: Iterable[float], share: bool, level: float = 0.95
) -> tuple[float, float, float, int]:
    """Pooled ratio sum(numerators) / sum(denominators) over runs, its interval and n (runs with a denominator).

    The run is the cluster: the ratio estimator's variance, sum (y_i - R m_i)^2 / (n (n - 1) mbar^2), with
    a t quantile (n - 1 degrees of freedom), on the logit scale for a share and the log scale for a rate,
    so the interval stays in [0, 1] (or above 0).  With one run, or a pooled share of 0 or 1, a share gets
    the Wilson interval of its pooled counts; a rate of 0 gets no interval.
    """
    y = np.asarray(list(numerators), dtype=float)
    m = np.asarray(list(denominators), dtype=float)
    keep = np.isfinite(y) & np.isfinite(m) & (m > 0)
    y, m = y[keep], m[keep]
    n = int(y.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    total_y, total_m = float(y.sum()), float(m.sum())
    ratio = total_y / total_m
    if share and (n < 2 or ratio <= 0.0 or ratio >= 1.0):
        low, high = wilson_interval(total_y, total_m, level)
        return ratio, low, high, n
    if n < 2 or ratio <= 0.0:
        return ratio, math.nan, math.nan, n
    se = math.sqrt(float(np.sum((y - ratio * m) ** 2)) / (n * (n - 1))) / float(m.mean())
    t = float(_stats().t.ppf(0.5 + level / 2, n - 1))
    if share:
        centre, scale = math.log(ratio / (1 - ratio)), se / (ratio * (1 - ratio))
        low, high = (1 / (1 + math.exp(-(centre + s * t * scale))) for s in (-1, 1))
    else:
        low, high = (ratio * math.exp(s * t * se / ratio) for s in (-1, 1))
    return ratio, low, high, n


def summary_table(
    runs: pd.DataFrame,
    outcomes: Sequence[str],
    by: str | Sequence[str] = "policy",
    level: float = 0.95,
    pooled: Mapping[str, tuple[str, str, float]] | None = None,
) -> pd.DataFrame:
    """One row per group and outcome: the group's keys (``by``), outcome, mean (the estimate), ci_low, ci_high,
    n, flag, weighting, denominator (pooled outcomes: the summed denominator, e.g. stays ended).

    ``pooled`` maps an outcome to its (numerator, denominator, scale) count columns (default: the vocabulary's
    ``pooled_from``, where ``runs`` has those columns): such outcomes are pooled over runs
    (:func:`pooled_ratio_ci`); the others are averaged per run (:func:`mean_ci`).  Groups keep the order in
    which they first appear in ``runs``.
    """
    by = [by] if isinstance(by, str) else list(by)
    pooled = pooled_columns(outcomes, runs.columns) if pooled is None else dict(pooled)
    rows = []
    for keys, frame in runs.groupby(by, sort=False, observed=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        for outcome in outcomes:
            if outcome in pooled:
                num, den, scale = pooled[outcome]
                m = frame[den].to_numpy(dtype=float) / scale
                mean, low, high, n = pooled_ratio_ci(frame[num], m, _is_share(outcome), level)
                weighting, total = "pooled", float(np.nansum(m[m > 0]))
            else:
                mean, low, high, n = mean_ci(frame[outcome].to_numpy(dtype=float), level)
                weighting, total = "per run", math.nan
                if _is_share(outcome) and n > 1:  # a share without its counts (an older sweep): keep it in [0, 1]
                    low, high = max(0.0, low), min(1.0, high)
                    weighting = "per run (interval cut to [0, 1]; no counts to pool)"
            rows.append(
                {
                    **dict(zip(by, keys, strict=True)),
                    "outcome": outcome,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": n,
                    "flag": flag(n),
                    "weighting": weighting,
                    "denominator": total,
                }
            )
    columns = [*by, "outcome", "mean", "ci_low", "ci_high", "n", "flag", "weighting", "denominator"]
    return pd.DataFrame(rows, columns=columns)


# --- paired contrasts --------------------------------------------------------------------------------------
def _pooled_difference(
    y_new: np.ndarray, m_new: np.ndarray, y_ref: np.ndarray, m_ref: np.ndarray, level: float
) -> tuple[float, float, float, float]:
    """Difference of two pooled ratios over pairs, its t interval and p-value from the pairs (linearised)."""
    if m_new.sum() <= 0 or m_ref.sum() <= 0:
        return math.nan, math.nan, math.nan, math.nan
    r_new, r_ref = y_new.sum() / m_new.sum(), y_ref.sum() / m_ref.sum()
    diff = float(r_new - r_ref)
    s = y_new.size
    if s < 2:
        return diff, math.nan, math.nan, math.nan
    z = (y_new - r_new * m_new) / m_new.mean() - (y_ref - r_ref * m_ref) / m_ref.mean()
    se = math.sqrt(float(np.sum(z**2)) / (s * (s - 1)))
    t = float(_stats().t.ppf(0.5 + level / 2, s - 1))
    p = float(2 * _stats().t.sf(abs(diff) / se, s - 1)) if se > 0 else math.nan
    return diff, diff - t * se, diff + t * se, p


def _rate_difference(
    y_new: np.ndarray, m_new: np.ndarray, y_ref: np.ndarray, m_ref: np.ndarray, level: float
) -> tuple[float, float, float, float]:
    """Difference of two pooled rates as R_ref (RR - 1), with the interval and p-value of the paired rate ratio
    (:func:`paired_rate_ratio`), so that a difference and its rate ratio never disagree."""
    if m_ref.sum() <= 0 or m_new.sum() <= 0:
        return math.nan, math.nan, math.nan, math.nan
    reference_rate = float(y_ref.sum() / m_ref.sum())
    result = paired_rate_ratio(y_ref, m_ref, y_new, m_new, level)
    low, high = (reference_rate * (result[k] - 1.0) for k in ("ci_low", "ci_high"))
    return reference_rate * (result["rate_ratio"] - 1.0), low, high, result["p_value"]


def paired_contrasts(
    runs: pd.DataFrame,
    outcomes: list[str],
    reference: str,
    by: str = "policy",
    pair: str = "seed",
    level: float = 0.95,
    pooled: Mapping[str, tuple[str, str, float]] | None = None,
) -> pd.DataFrame:
    """Paired differences (group - reference) per outcome, matched on ``pair``.

    Columns: group, outcome, difference, ci_low, ci_high, n_pairs, flag, p_value (unadjusted: paired t-test,
    or the paired rate ratio's test for a rate), p_holm (Holm within the family of this outcome's contrasts
    against the reference), weighting.  Pooled outcomes (see :func:`summary_table`) compare pooled estimates
    over the pairs with both runs (rates through :func:`paired_rate_ratio`); the others average the per-pair
    differences of pairs where both values are defined.
    """
    pooled = pooled_columns(outcomes, runs.columns) if pooled is None else dict(pooled)
    ref = runs[runs[by] == reference].drop_duplicates(pair).set_index(pair)
    rows = []
    for group, frame in runs.groupby(by, sort=False, observed=True):
        if group == reference:
            continue
        other = frame.drop_duplicates(pair).set_index(pair)
        common = other.index.intersection(ref.index)
        other, matched = other.loc[common], ref.loc[common]  # the pairs, aligned once: columns read by name below
        for outcome in outcomes:
            if outcome in pooled:
                num, den, scale = pooled[outcome]
                arrays = [
                    np.nan_to_num(t[c].to_numpy(dtype=float)) / k
                    for t in (other, matched)
                    for c, k in ((num, 1.0), (den, scale))
                ]
                n, weighting = len(common), "pooled"
                if _is_share(outcome):
                    mean, low, high, p_value = _pooled_difference(*arrays, level)
                else:  # a rate: the paired rate ratio's inference, on the difference scale
                    mean, low, high, p_value = _rate_difference(*arrays, level)
                    weighting = "pooled; interval and p from the paired rate ratio"
            else:
                d = (other[outcome] - matched[outcome]).to_numpy(dtype=float)
                d = d[np.isfinite(d)]
                mean, low, high, n = mean_ci(d, level)
                p_value = float(_stats().ttest_1samp(d, 0.0).pvalue) if n > 1 and np.std(d) > 0 else math.nan
                weighting = "per run"
            rows.append(
                {
                    by: group,
                    "outcome": outcome,
                    "difference": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n_pairs": n,
                    "flag": flag(n),
                    "p_value": p_value,
                    "weighting": weighting,
                }
            )
    table = pd.DataFrame(
        rows, columns=[by, "outcome", "difference", "ci_low", "ci_high", "n_pairs", "flag", "p_value", "weighting"]
    )
    table.insert(table.columns.get_loc("p_value") + 1, "p_holm", math.nan)
    for _, index in table.groupby("outcome", sort=False).groups.items():
        table.loc[index, "p_holm"] = holm(table.loc[index, "p_value"])
    return table


EVENT_COUNTS = {"conflict_events": "conflict", "containment_events": "containment"}
POSTERIOR_COLUMNS = ["outcome", "estimate", "ci_low", "ci_high", "direction", "draws_agreeing", "draws", "share"]


def _direction(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return "lower" if value < 0 else "higher" if value > 0 else "no difference"


def posterior_conclusions(
    runs: pd.DataFrame,
    outcomes: Sequence[str],
    reference: object,
    group: str = "policy",
    within: str | None = None,
    draw: str = "posterior_draw",
    pair: str = "replicate",
    level: float = 0.95,
) -> pd.DataFrame:
    """Which paired contrasts hold across the posterior (runs whose parameters were drawn from it).

    For each group against ``reference`` and each outcome: the contrast pooled over all pairs (``estimate``,
    ``ci_low``, ``ci_high``: :func:`paired_contrasts` with the draw as the cluster: each draw's runs of a group
    summed (counts) or averaged (other outcomes) first, so several chance replicates of one draw are not taken
    for independent parameter sets; the pairs' parameters differ from draw to draw, so the interval carries
    parameter uncertainty as well as chance), then the same contrast within each draw's
    pairs (one pair per draw: that pair's difference, or for a rate R_ref (RR - 1) of that pair), and how many
    draws lie on the same side of no effect as the pooled estimate: ``direction`` (lower, higher, no
    difference, n/a), ``draws_agreeing``, ``draws`` (draws with a pair; a draw whose contrast is undefined
    counts as not agreeing) and ``share``.  Columns: [within], group, then :data:`POSTERIOR_COLUMNS`.
    """
    frames = [(None, runs)] if within is None else list(runs.groupby(within, sort=True))
    out = []
    for key, frame in frames:
        clustered = _draw_totals(frame, list(outcomes), group, draw)
        pooled = paired_contrasts(clustered, list(outcomes), reference=reference, by=group, pair=draw, level=level)
        per_draw = []
        for number, part in frame.groupby(draw, sort=True):
            table = paired_contrasts(part, list(outcomes), reference=reference, by=group, pair=pair, level=level)
            per_draw.append(table.assign(**{draw: number})[[group, "outcome", draw, "difference"]])
        draws = pd.concat(per_draw, ignore_index=True) if per_draw else pd.DataFrame()
        rows = []
        for row in pooled.itertuples(index=False):
            name, outcome, estimate = getattr(row, group), row.outcome, float(row.difference)
            found = draws[(draws[group] == name) & (draws["outcome"] == outcome)] if len(draws) else draws
            values = found["difference"].to_numpy(dtype=float) if len(found) else np.array([])
            sign = np.sign(estimate) if np.isfinite(estimate) else math.nan
            agreeing = int(np.sum(np.isfinite(values) & (np.sign(values) == sign)))
            n_draws = int(found[draw].nunique()) if len(found) else 0
            rows.append(
                {
                    group: name,
                    "outcome": outcome,
                    "estimate": estimate,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "direction": _direction(estimate),
                    "draws_agreeing": agreeing if np.isfinite(sign) else 0,
                    "draws": n_draws,
                    "share": agreeing / n_draws if n_draws and np.isfinite(sign) else math.nan,
                }
            )
        table = pd.DataFrame(rows, columns=[group, *POSTERIOR_COLUMNS])
        if within is not None:
            table.insert(0, within, key)
        out.append(table)
    columns = [*([within] if within else []), group, *POSTERIOR_COLUMNS]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=columns)


def _draw_totals(runs: pd.DataFrame, outcomes: list[str], group: str, draw: str) -> pd.DataFrame:
    """One row per group and draw: the draw's runs pooled (count columns summed, other outcomes averaged)."""
    counts = sorted({c for num, den, _ in pooled_columns(outcomes, runs.columns).values() for c in (num, den)})
    means = [o for o in outcomes if o not in counts]
    grouped = runs.groupby([group, draw], sort=False, observed=True)
    totals = grouped[counts].sum(min_count=1) if counts else None
    averages = grouped[means].mean() if means else None
    parts = [t for t in (averages, totals) if t is not None]
    return pd.concat(parts, axis=1).reset_index()


def posterior_sentence(row: Mapping[str, object], group: str = "policy", reference: object = None) -> str:
    """One conclusion in words, e.g. 'therapeutic_milieu lowers containment_per_shift in 97% of posterior draws
    (29 of 30)', then the pooled difference and its interval."""
    verbs = {"lower": "lowers", "higher": "raises", "no difference": "does not change"}
    name, outcome = row[group], row["outcome"]
    if row["direction"] not in verbs:
        return f"{name}: no pooled estimate of {outcome} (undefined in these runs)"
    against = f" against {reference}" if reference is not None else ""
    interval = f" [95% CI {row['ci_low']:+.3g}, {row['ci_high']:+.3g}]" if np.isfinite(float(row["ci_low"])) else ""  # type: ignore[arg-type]
    return (
        f"{name} {verbs[str(row['direction'])]} {outcome} in {float(row['share']):.0%} of posterior draws "
        f"({row['draws_agreeing']} of {row['draws']}); pooled difference{against} {float(row['estimate']):+.3g}"
        f"{interval}"
    )


def contrast_table(
    runs: pd.DataFrame, outcomes: Sequence[str], group: str, reference: object, within: str | None = None
) -> pd.DataFrame:
    """Paired differences (group - reference) per outcome, matched on ``replicate``.

    ``within`` (e.g. ``"point"``) makes one comparison per value of that column (and one Holm family per
    outcome and value).  Columns: [within], group, outcome, difference, ci_low, ci_high, n_pairs, flag,
    p_value, p_holm, weighting.
    """
    frames = [(None, runs)] if within is None else list(runs.groupby(within, sort=True))
    out = []
    for key, frame in frames:
        table = paired_contrasts(frame, list(outcomes), reference=reference, by=group, pair="replicate")
        if within is not None:
            table.insert(0, within, key)
        out.append(table)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


# --- paired rate ratios ------------------------------------------------------------------------------------
def paired_rate_ratio_arrays(
    y_ref: np.ndarray, e_ref: np.ndarray, y_new: np.ndarray, e_new: np.ndarray, level: float = 0.95
) -> dict[str, np.ndarray]:
    """:func:`paired_rate_ratio` for many studies at once: arrays of shape (studies, pairs); NaN marks a missing run.

    Returns arrays (one value per study): rate_ratio, ci_low, ci_high, p_value, dispersion, n_pairs.
    """
    y_ref, e_ref, y_new, e_new = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (y_ref, e_ref, y_new, e_new))
    ok = np.isfinite(y_ref) & np.isfinite(y_new) & np.isfinite(e_ref) & np.isfinite(e_new) & (e_ref > 0) & (e_new > 0)
    total = np.where(ok, y_ref + y_new, 0.0)
    informative = ok & (total > 0)
    r = np.where(ok, e_new / np.where(ok, e_ref, 1.0), 1.0)
    y = np.where(ok, y_new, 0.0)
    sum_new = y.sum(axis=1)
    sum_ref = np.where(ok, y_ref, 0.0).sum(axis=1)
    exp_new = np.where(ok, e_new, 0.0).sum(axis=1)
    exp_ref = np.where(ok, e_ref, 0.0).sum(axis=1)
    n_pairs = informative.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.log((sum_new / exp_new) / (sum_ref / exp_ref))  # exact when r is constant within a study
        finite = np.isfinite(beta)
        beta = np.where(finite, beta, 0.0)
        for _ in range(50):  # Newton on the conditional (binomial) log-likelihood
            odds = r * np.exp(beta)[:, None]
            p = odds / (1 + odds)
            score = np.sum(np.where(informative, y - total * p, 0.0), axis=1)
            info = np.sum(np.where(informative, total * p * (1 - p), 0.0), axis=1)
            step = np.where(finite & (info > 0), score / info, 0.0)
            beta = beta + step
            if np.all(np.abs(step) < 1e-10):
                break
        odds = r * np.exp(beta)[:, None]
        p = odds / (1 + odds)
        variance = np.where(informative, total * p * (1 - p), 0.0)
        info = variance.sum(axis=1)
        residual = np.where(informative, y - total * p, 0.0)
        pearson = np.sum(np.where(variance > 0, residual**2 / np.where(variance > 0, variance, 1.0), 0.0), axis=1)
        df = n_pairs - 1
        dispersion = np.where(df > 0, pearson / np.maximum(df, 1), np.nan)
        leverage = variance / np.where(info > 0, info, 1.0)[:, None]
        corrected = np.where(informative & (leverage < 1), residual / (1 - np.minimum(leverage, 1 - 1e-12)), 0.0)
        se = np.sqrt(np.sum(corrected**2, axis=1)) / info  # robust by pair, Mancl-DeRouen small-sample correction
        t = _stats().t.ppf(0.5 + level / 2, np.maximum(df, 1))
        usable = finite & (df > 0) & np.isfinite(se) & (se > 0)
        rate_ratio = np.where(finite, np.exp(beta), np.where(sum_new > 0, np.inf, 0.0))
        rate_ratio = np.where((sum_new == 0) & (sum_ref == 0), np.nan, rate_ratio)
        low = np.where(usable, np.exp(beta - t * se), np.nan)
        high = np.where(usable, np.exp(beta + t * se), np.nan)
        p_value = np.where(usable, 2 * _stats().t.sf(np.abs(beta) / se, np.maximum(df, 1)), np.nan)
    return {
        "rate_ratio": rate_ratio,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "dispersion": dispersion,
        "n_pairs": n_pairs,
    }


def paired_rate_ratio(
    y_ref: Sequence[float],
    e_ref: Sequence[float],
    y_new: Sequence[float],
    e_new: Sequence[float],
    level: float = 0.95,
) -> dict[str, float]:
    """Rate ratio (new / reference) of paired runs: conditional Poisson on each pair's total, robust variance by
    pair (Mancl-DeRouen), t interval with pairs - 1 degrees of freedom (the method and its reasons: module
    docstring).

    Arguments are aligned by pair (index k = replicate k of both arms): event counts and exposures (shifts,
    occupied bed-days, ...).  Returns rate_ratio, ci_low, ci_high, p_value (unadjusted), dispersion (Pearson
    X^2 / (pairs - 1); 1 = binomial given the pair's total), n_pairs (pairs with at least one event).
    """
    out = paired_rate_ratio_arrays(
        np.asarray(y_ref, dtype=float)[None, :],
        np.asarray(e_ref, dtype=float)[None, :],
        np.asarray(y_new, dtype=float)[None, :],
        np.asarray(e_new, dtype=float)[None, :],
        level,
    )
    result = {k: float(v[0]) for k, v in out.items()}
    result["n_pairs"] = int(out["n_pairs"][0])
    return result


@dataclass(frozen=True)
class Rate:
    """A rate the rate-ratio tables compare: its outcome name, the event, its count and exposure columns."""

    outcome: str
    event: str
    per: str
    phase: str
    count: str
    exposure: str
    scale: float = 1.0  # exposure count per unit of the rate's denominator (24 bed-hours a bed-day)


def _rate(outcome: str, event: str, per: str, phase: str) -> Rate:
    count, exposure = OUTCOMES[outcome].pooled_from
    return Rate(outcome, event, per, phase, count, exposure, OUTCOMES[outcome].pooled_scale)


# The rates the rate-ratio tables compare; counts, exposures and scales come from the outcome vocabulary.
RATES: tuple[Rate, ...] = (
    _rate("conflict_per_shift", "conflict", "shift", "all"),
    _rate("containment_per_shift", "containment", "shift", "all"),
    _rate("conflict_per_bed_day", "conflict", "bed-day", "all"),
    _rate("containment_per_bed_day", "containment", "bed-day", "all"),
    _rate("conflict_per_bed_day_first_week", "conflict", "bed-day", "first week"),
    _rate("conflict_per_bed_day_later", "conflict", "bed-day", "later"),
    _rate("containment_per_bed_day_first_week", "containment", "bed-day", "first week"),
    _rate("containment_per_bed_day_later", "containment", "bed-day", "later"),
)
RATE_COLUMNS = [
    "event",
    "per",
    "phase",
    "group",
    "rate",
    "reference_rate",
    "rate_ratio",
    "ci_low",
    "ci_high",
    "n_pairs",
    "flag",
    "p_value",
    "p_holm",
    "dispersion",
    "outcome",
    "model",
]
PAIRED_MODEL = "conditional Poisson on the pair, robust (pair) variance, t"


def rate_ratios(
    runs: pd.DataFrame,
    group: str,
    reference: object,
    within: str | None = None,
    rates: Sequence[Rate] = RATES,
    pair: str = "replicate",
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired rate ratios of each rate in ``rates`` (those whose columns ``runs`` has) against the reference.

    Runs are matched on ``pair`` (replicate r of every group shares its seed).  Columns: [within], event,
    per (shift or bed-day), phase (all, first week, later), group, rate and reference_rate (pooled over the
    pairs: sum of counts / sum of exposures), rate_ratio, ci_low, ci_high, n_pairs, flag, p_value
    (unadjusted), p_holm (Holm within one rate's family of groups against the reference), dispersion,
    outcome (the vocabulary's name of the rate), model.
    """
    frames = [(None, runs)] if within is None else list(runs.groupby(within, sort=True))
    out = []
    ref_name = str(reference)
    for key, frame in frames:
        labels = frame[group].astype(str)
        ref = frame[labels == ref_name].drop_duplicates(pair).set_index(pair)
        groups = [g for g in dict.fromkeys(labels) if g != ref_name]
        if ref.empty or not groups:
            continue
        pairs = {}  # each group's runs and the reference's, matched on the pair and aligned once
        for name in groups:
            other = frame[labels == name].drop_duplicates(pair).set_index(pair)
            common = other.index.intersection(ref.index)
            pairs[name] = (ref.loc[common], other.loc[common])
        for rate in rates:
            if rate.count not in frame.columns or rate.exposure not in frame.columns:
                continue
            rows = []
            for name in groups:
                arrays = [t[c].to_numpy(dtype=float) for t in pairs[name] for c in (rate.count, rate.exposure)]
                result = paired_rate_ratio(*arrays, level=level)
                y_ref, e_ref, y_new, e_new = arrays
                e_ref, e_new = e_ref / rate.scale, e_new / rate.scale
                rows.append(
                    {
                        "event": rate.event,
                        "per": rate.per,
                        "phase": rate.phase,
                        "group": name,
                        "rate": np.nansum(y_new) / np.nansum(e_new) if np.nansum(e_new) > 0 else math.nan,
                        "reference_rate": np.nansum(y_ref) / np.nansum(e_ref) if np.nansum(e_ref) > 0 else math.nan,
                        **{k: result[k] for k in ("rate_ratio", "ci_low", "ci_high", "n_pairs")},
                        "flag": flag(result["n_pairs"]) or _no_interval(result),
                        "p_value": result["p_value"],
                        "dispersion": result["dispersion"],
                        "outcome": rate.outcome,
                        "model": PAIRED_MODEL,
                    }
                )
            table = pd.DataFrame(rows)
            table["p_holm"] = holm(table["p_value"])
            table = table[RATE_COLUMNS]
            if within is not None:
                table.insert(0, within, key)
            out.append(table)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=RATE_COLUMNS)


def negative_binomial_rate_ratios(
    counts: np.ndarray, exposure: np.ndarray, groups: Sequence[object], reference: object, level: float = 0.95
) -> pd.DataFrame:
    """Rate ratio of each group against ``reference`` from an *unpaired* NB2 regression with offset log(exposure).

    For independent arms only: it shares one over-dispersion across all groups and uses z quantiles, and
    it ignores common random numbers (use :func:`paired_rate_ratio` for paired runs).  Returns one row per
    non-reference group: group, rate_ratio, ci_low, ci_high, p_value, alpha (variance = mu + alpha mu^2),
    model.  Falls back to a quasi-Poisson GLM (Pearson-scaled) when the negative binomial fit fails.
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
    z = _stats().norm.ppf(0.5 + level / 2)
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


# --- replicates ------------------------------------------------------------------------------------------
def replicates_for_half_width(sd: float, half_width: float, level: float = 0.95) -> int:
    """The smallest n (>= 2) whose t-based CI half-width, t(n-1) sd / sqrt(n), is at most ``half_width`` (> 0).

    Found by iteration from the normal approximation (t > z, so the answer is never below it).
    """
    if sd <= 0:
        return 2
    q = 0.5 + level / 2
    n = max(2, math.ceil((_stats().norm.ppf(q) * sd / half_width) ** 2))
    while _stats().t.ppf(q, n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def _level(values: pd.Series) -> float:
    x = values.to_numpy(dtype=float)
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else math.nan


def _drift(x: np.ndarray) -> tuple[float, float]:
    """How far the mean (relative) and the coefficient of variation still moved over the second half of x."""
    n = x.size
    mean = float(x.mean())
    if n < 4 or mean == 0:
        return math.nan, math.nan
    sd = float(x.std(ddof=1))
    cum = np.cumsum(x) / np.arange(1, n + 1)
    first = max(2, n // 2)
    sds = np.array([x[:k].std(ddof=1) for k in range(first, n + 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        cvs = sds / np.abs(cum[first - 1 :])
    mean_drift = float(np.max(np.abs(cum[first - 1 :] - mean)) / abs(mean))
    cv_drift = float(np.nanmax(np.abs(cvs - sd / abs(mean)))) if np.isfinite(cvs).any() else math.nan
    return mean_drift, cv_drift


def replicate_check(
    runs: pd.DataFrame,
    outcomes: Sequence[str],
    by: Sequence[str],
    precision: float = 0.05,
    level: float = 0.95,
    group: str | None = None,
    reference: object = None,
    pair: str = "replicate",
) -> pd.DataFrame:
    """Are the replicates enough for what is compared?  One row per outcome (the group that needs most).

    With ``group`` and ``reference`` (a comparison): for each group against the reference (within each
    value of the other ``by`` columns), the paired differences d per replicate; ``half_width`` is their
    t-based 95% half-width, ``target`` is ``precision`` x the level of the two groups compared (the mean of
    their |means|, so a reference near 0 does not make the target vanish; for a share, ``precision`` itself,
    in share points: 0.05 = 5 percentage points), ``replicates_needed`` the
    smallest number of pairs whose t-based half-width reaches the target (by iteration, from the sd of d).
    Without them (one group): the same on each group's own mean.  ``enough`` = half-width within target.
    Drift is a separate diagnostic (``mean_drift``, ``cv_drift``, ``settled`` when the mean moved less than
    half the precision over the second half of the replicates, worst group): it never changes the count.
    """
    by = list(by)
    rows = []
    paired = group is not None and reference is not None and group in by
    for outcome in outcomes:
        worst, drift_rows = None, []
        for _, frame in runs.groupby(by, sort=False, observed=True, dropna=False):
            x = frame.sort_values(pair)[outcome].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if x.size >= 4:
                drift_rows.append(_drift(x))
        if paired:
            others = [c for c in by if c != group]
            frames = [((), runs)] if not others else runs.groupby(others, sort=False, observed=True, dropna=False)
            candidates = []
            for _, part in frames:
                ref = part[part[group].astype(str) == str(reference)].drop_duplicates(pair).set_index(pair)[outcome]
                for name, sub in part.groupby(part[group].astype(str), sort=False):
                    if name == str(reference):
                        continue
                    d = (sub.drop_duplicates(pair).set_index(pair)[outcome] - ref).to_numpy(dtype=float)
                    d = d[np.isfinite(d)]
                    levels = [_level(x) for x in (ref, sub[outcome])]
                    candidates.append((name, d, (abs(levels[0]) + abs(levels[1])) / 2))
        else:
            candidates = []
            for keys, part in runs.groupby(by, sort=False, observed=True, dropna=False):
                x = part[outcome].to_numpy(dtype=float)
                x = x[np.isfinite(x)]
                candidates.append((keys, x, float(x.mean()) if x.size else math.nan))
        for name, d, base in candidates:
            n = d.size
            if n < 2 or not np.isfinite(base) or (base == 0 and not _is_share(outcome)):
                continue
            sd = float(d.std(ddof=1))
            target = precision if _is_share(outcome) else precision * abs(base)  # shares: in share points
            row = {
                "outcome": outcome,
                "compared": f"{name} - {reference}" if paired else str(name),
                "replicates": n,
                "estimate": float(d.mean()),
                "half_width": float(_stats().t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)),
                "target": target,
                "replicates_needed": replicates_for_half_width(sd, target, level),
            }
            if worst is None or row["replicates_needed"] > worst["replicates_needed"]:
                worst = row
        if worst is None:
            rows.append(
                {"outcome": outcome, "enough": None, "advice": "not assessed (under 2 pairs, or a reference of 0)"}
            )
            continue
        drifts = np.array(drift_rows, dtype=float).reshape(-1, 2)
        mean_drift = float(np.nanmax(drifts[:, 0])) if np.isfinite(drifts[:, 0]).any() else math.nan
        cv_drift = float(np.nanmax(drifts[:, 1])) if np.isfinite(drifts[:, 1]).any() else math.nan
        worst.update(mean_drift=mean_drift, cv_drift=cv_drift)
        worst["settled"] = bool(mean_drift <= precision / 2) if np.isfinite(mean_drift) else None
        rows.append({**worst, **_replicate_advice(worst, precision, paired)})
    return pd.DataFrame(rows)


def _replicate_advice(row: dict, precision: float, paired: bool) -> dict:
    """``enough`` and the advice of one :func:`replicate_check` row; the only count it quotes is
    ``replicates_needed``; drift is reported beside it, never added to it."""
    what = "paired differences" if paired else "mean"
    of = "the compared groups' level" if paired else "the mean"
    within = f"+/-{precision:g} (share points)" if _is_share(row["outcome"]) else f"{precision:.0%} of {of}"
    enough = row["half_width"] <= row["target"]
    if enough:
        advice = f"enough: the 95% CI of the {what} is within {within}"
    else:
        advice = (
            f"more replicates: about {row['replicates_needed']} for a 95% CI of the {what} within "
            f"{within} (now +/-{row['half_width']:.3g}, target +/-{row['target']:.3g})"
        )
    if row.get("settled") is False:
        advice += f"; drift: the mean still moved {row['mean_drift']:.1%} over the second half of the replicates"
    return {"enough": bool(enough), "advice": advice}

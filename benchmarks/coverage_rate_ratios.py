"""Coverage of the paired rate-ratio interval on simulated studies with a known answer (the longer check).

    python benchmarks/coverage_rate_ratios.py              # 2000 studies per scenario and size (~1 min)
    python benchmarks/coverage_rate_ratios.py --studies 400 --nb2 200

Each simulated study is a paired comparison of two arms (replicate r of both arms shares a seed, as common
random numbers make it): event counts are negative binomial with a different over-dispersion in each arm
(three times larger in the reference), a shared seed effect (log-normal) gives the between-arm correlation,
and the true rate ratio is 0.85.  Printed per scenario and number of pairs: the coverage of the nominal 95%
interval of :func:`milieu_sim.analysis.statistics.paired_rate_ratio` (with its binomial standard error), and,
on the first ``--nb2`` studies, the coverage of the unpaired NB2 interval that the reports used before
(:func:`~milieu_sim.analysis.statistics.negative_binomial_rate_ratios`: one dispersion, z quantile, no pairing).
``tests/test_coverage.py`` runs the headline scenario in the suite.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from milieu_sim.analysis.statistics import negative_binomial_rate_ratios, paired_rate_ratio_arrays

TRUE_RATIO = 0.85  # the Safewards trial's conflict rate ratio, as a plausible effect size
SHIFTS = 159.0  # shifts of a 60-day run after a 7-day warm-up


def simulate(
    rng: np.random.Generator,
    studies: int,
    pairs: int,
    mean: float = 900.0,
    var_to_mean: float = 8.0,
    dispersion_ratio: float = 3.0,
    correlation: float = 0.8,
    ratio: float = TRUE_RATIO,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts and exposures (studies x pairs) of the reference and the new arm.

    Within an arm and seed, variance = mean + alpha mean^2 with alpha chosen so that the variance is on
    average ``var_to_mean`` x the mean, the reference's alpha ``dispersion_ratio`` x the new arm's; a seed
    effect with variance giving about ``correlation`` between the arms' counts.
    """
    alpha = (var_to_mean - 1.0) / mean
    alpha_ref = 2 * alpha * dispersion_ratio / (1 + dispersion_ratio)
    alpha_new = 2 * alpha / (1 + dispersion_ratio)
    seed_variance = correlation / (1 - correlation) * var_to_mean / mean
    sigma = np.sqrt(np.log1p(seed_variance))
    level = np.exp(rng.normal(-(sigma**2) / 2, sigma, (studies, pairs)))

    def negative_binomial(mu: np.ndarray, a: float) -> np.ndarray:
        return rng.poisson(rng.gamma(1.0 / a, a * mu)).astype(float)

    exposure = np.full((studies, pairs), SHIFTS)
    return (
        negative_binomial(mean * level, alpha_ref),
        exposure,
        negative_binomial(mean * ratio * level, alpha_new),
        exposure.copy(),
    )


def paired_coverage(y_ref, e_ref, y_new, e_new, ratio: float = TRUE_RATIO) -> tuple[float, float]:
    """Coverage and median width (upper / lower bound) of the paired interval."""
    out = paired_rate_ratio_arrays(y_ref, e_ref, y_new, e_new)
    covered = (out["ci_low"] <= ratio) & (ratio <= out["ci_high"])
    return float(np.mean(covered)), float(np.median(out["ci_high"] / out["ci_low"]))


def nb2_coverage(y_ref, e_ref, y_new, e_new, studies: int, ratio: float = TRUE_RATIO) -> tuple[float, float]:
    """Coverage and median width of the unpaired NB2 interval on the first ``studies`` studies."""
    covered, widths = 0, []
    pairs = y_ref.shape[1]
    groups = np.array(["ref"] * pairs + ["new"] * pairs)
    for k in range(studies):
        table = negative_binomial_rate_ratios(
            np.concatenate([y_ref[k], y_new[k]]), np.concatenate([e_ref[k], e_new[k]]), groups, "ref"
        )
        covered += bool(table["ci_low"].iloc[0] <= ratio <= table["ci_high"].iloc[0])
        widths.append(table["ci_high"].iloc[0] / table["ci_low"].iloc[0])
    return covered / studies, float(np.median(widths))


SCENARIOS = {
    "headline (mean 900, var 8x mean, dispersion 3:1, corr. 0.8)": {},
    "correlation 0.7": {"correlation": 0.7},
    "correlation 0.9": {"correlation": 0.9},
    "dispersion 1:3 (larger in the new arm)": {"dispersion_ratio": 1 / 3},
    "small counts (mean 60)": {"mean": 60.0},
    "small, very over-dispersed counts (mean 20, alpha 0.35)": {"mean": 20.0},
    "independent seeds (correlation 0)": {"correlation": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=2000, help="simulated studies per scenario and size")
    parser.add_argument("--nb2", type=int, default=300, help="studies on which the old NB2 interval is also fitted")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"coverage of the nominal 95% interval, true rate ratio {TRUE_RATIO}")
    print("(width: median of upper / lower bound)")
    print(f"{'scenario':58s} {'pairs':>5s} {'paired':>7s} {'(+/-se)':>7s} {'width':>6s} {'old NB2':>8s} {'width':>6s}")
    for name, settings in SCENARIOS.items():
        for pairs in (10, 20):
            arrays = simulate(rng, args.studies, pairs, **settings)
            share, width = paired_coverage(*arrays)
            se = np.sqrt(share * (1 - share) / args.studies)
            nan = float("nan")
            old, old_width = nb2_coverage(*arrays, studies=min(args.nb2, args.studies)) if args.nb2 else (nan, nan)
            print(f"{name:58s} {pairs:5d} {share:7.3f} {se:7.3f} {width:6.3f} {old:8.3f} {old_width:6.3f}")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

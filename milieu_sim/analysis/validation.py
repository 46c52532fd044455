"""Pattern-oriented validation: do the shipped defaults reproduce what wards and communities measured?

Each :class:`Pattern` names a published fact from ../shared/literature.md, its
source, the published value, a stated tolerance and how the simulated value is
measured from the model's tidy tables over seeded replicates.  The tolerances
(target, band, role, why, when and in which commit each band was set, and every
later change) are data: ``milieu_sim/data/tolerances.toml``, read by
:func:`tolerances`; the measures and arms stay in code.  :func:`validate` runs the
needed experiments once (paired seeds across policies: common random numbers) and
returns one row per pattern with the simulated value, its 95% confidence interval
and the verdict (:func:`verdict`: a pattern passes when its point estimate lies in
the band and its interval overlaps it).  Patterns the model does not reproduce are
reported as failing rows, never dropped.

A pattern's role is ``fitted`` (a calibration target), ``validation`` (never used
in a fit) or ``consistency`` (it re-measures a model input, so agreement is no
evidence; ``validate`` reports these rows in a table of their own).

Every run is built, run and measured by :func:`milieu_sim.experiments.runner.run_one`, and the
patterns read outcomes of the one vocabulary (:mod:`milieu_sim.experiments.outcomes`, listed in
``docs/outputs.md``): ``violent_client_share`` and ``early_dropout_share`` here are the same numbers
as in ``compare`` and ``report``.  The experiments (:data:`EXPERIMENTS`) and :func:`run_arm` are shared
with :mod:`milieu_sim.analysis.calibration`, which fits the free parameters to a subset of the
patterns (the others are left for validation).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.analysis.statistics import mean_ci, paired_rate_ratio
from milieu_sim.errors import MilieuInputError, ParameterError
from milieu_sim.experiments.outcomes import COUNTS
from milieu_sim.experiments.runner import run_one


# --- experiments: what to run ----------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """A named arm: a setting, a policy and overrides, run for ``days`` after ``warmup_days``."""

    name: str
    setting: str
    policy: str
    days: int
    warmup_days: int
    overrides: tuple[tuple[str, Any], ...] = ()


EXPERIMENTS: dict[str, Experiment] = {
    "acute_usual_care": Experiment("acute_usual_care", "acute_ward", "usual_care", 90, 30),
    # the Safewards trial's interventions (the `safewards` preset), paired with acute_usual_care by seed
    "acute_safewards": Experiment("acute_safewards", "acute_ward", "safewards", 90, 30),
    "tc_usual_care": Experiment("tc_usual_care", "residential_tc", "usual_care", 300, 60),
    # life after discharge: long enough for 90 days of follow-up of the discharges of days 30-150 (issue 13)
    "acute_followup": Experiment("acute_followup", "acute_ward", "usual_care", 240, 30),
}


# The outcomes the patterns read (names of the vocabulary in milieu_sim.experiments.outcomes).
MEASURED: tuple[str, ...] = (
    "conflict_per_shift",
    "containment_per_shift",
    "violent_client_share",
    "seclusion_hours_mean",
    "minimal_triangle_share",
    "early_dropout_share",
    "median_stay_days",
    "completion_share",
    "skill_gain",
    "peer_feedback_change",
    "staff_feedback_change",
    "readmission_30d",
    "readmission_90d",
    *COUNTS,
)


@dataclass(frozen=True)
class PosteriorDraws:
    """Draws from the calibration's posterior for validation: the replicate with seed ``first_seed + r`` of every
    arm uses draw ``r % len(draws)``, so the arms stay paired in both their seed and their parameters, and each
    pattern's interval includes the parameters' uncertainty as well as chance.  A drawn value applies only to
    the setting it is scoped to, and never replaces an arm's own override or a lever its policy sets."""

    posterior: Any  # milieu_sim.experiments.posterior.Posterior
    draws: tuple[Any, ...]  # its Draws
    first_seed: int

    @classmethod
    def of(cls, posterior: Any, n: int, first_seed: int) -> PosteriorDraws:
        """``n`` draws, seeded by the validation's first seed (the same seed gives the same draws)."""
        return cls(posterior, tuple(posterior.draws(n, first_seed)), first_seed)

    def values(self, experiment: Experiment, seed: int) -> tuple[int, dict[str, Any]]:
        """The draw (its number) the run of ``experiment`` with ``seed`` uses, and the values it applies."""
        from milieu_sim.model.policies import resolve_policy

        draw = self.draws[(seed - self.first_seed) % len(self.draws)]
        kept = set(dict(experiment.overrides)) | set(getattr(resolve_policy(experiment.policy), "parameters", {}))
        drawn = self.posterior.values_for(draw, experiment.setting)
        return draw.index, {name: value for name, value in drawn.items() if name not in kept}


def run_arm(
    experiment: Experiment,
    seeds: Iterable[int],
    overrides: dict[str, Any] | None = None,
    progress=None,
    draws: PosteriorDraws | None = None,
) -> pd.DataFrame:
    """One row per seed: the :data:`MEASURED` outcomes of an experiment arm, each run by
    :func:`milieu_sim.experiments.runner.run_one` (``overrides`` go on top of the arm's own).  With ``draws``
    each run also takes its posterior draw's values (below ``overrides``); the rows then record
    ``posterior_draw`` and the drawn values under their parameter names."""
    rows = []
    seeds = list(seeds)
    params = {
        "setting": experiment.setting,
        "policy": experiment.policy,
        **dict(experiment.overrides),
        **(overrides or {}),
    }
    for seed in progress(seeds) if progress else seeds:
        drawn: dict[str, Any] = {}
        if draws is not None:
            index, values = draws.values(experiment, seed)
            values = {name: value for name, value in values.items() if name not in (overrides or {})}
            drawn = {"posterior_draw": index, **values}
        run_params = {**params, **{k: v for k, v in drawn.items() if k != "posterior_draw"}}
        measured = run_one(run_params, seed=seed, days=experiment.days, warmup_days=experiment.warmup_days,
                           outcomes=MEASURED)  # fmt: skip
        measured.pop("seconds")
        rows.append({"experiment": experiment.name, "seed": seed, **drawn, **measured})
    return pd.DataFrame(rows)


# --- tolerances: data, with their history --------------------------------------------------------
#: A pattern's role: a calibration target, kept for validation (never fitted), or a consistency check of an input.
ROLES: tuple[str, ...] = ("fitted", "validation", "consistency")
#: The roles whose rows are evidence (the validation table; ``--strict`` fails on them); consistency rows are not.
EVIDENCE_ROLES: tuple[str, ...] = ("fitted", "validation")
TOLERANCES_FILE = "milieu_sim/data/tolerances.toml"


@dataclass(frozen=True)
class BandChange:
    """A recorded change of a tolerance band: when, in which commit, from which band to which, and why."""

    date: str
    commit: str
    before: tuple[float, float]
    after: tuple[float, float]
    reason: str


@dataclass(frozen=True)
class Tolerance:
    """A pattern's entry in ``milieu_sim/data/tolerances.toml``."""

    key: str
    target: float
    low: float
    high: float
    role: str
    reason: str
    set_on: str  # ISO date
    commit: str
    set_band: tuple[float, float]
    changes: tuple[BandChange, ...] = ()
    echoes: str = ""  # consistency rows: the input the row re-measures


def _refused(where: str, value: Any, allowed: str) -> MilieuInputError:
    """The one-line error for a bad entry of the tolerances file."""
    return MilieuInputError(f"{TOLERANCES_FILE}: '{where}' = {value!r} is not allowed; allowed: {allowed}")


def _bound(value: Any, where: str) -> float:
    """A band's end: a number, or TOML's inf / -inf (the strings "inf" and "-inf" are accepted too)."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _refused(where, value, "a number, inf or -inf")
    return float(value)


def _band(value: Any, where: str) -> tuple[float, float]:
    """[low, high] with low <= high."""
    if not isinstance(value, list) or len(value) != 2:
        raise _refused(where, value, "[low, high]")
    low, high = _bound(value[0], f"{where}[0]"), _bound(value[1], f"{where}[1]")
    if not low <= high:
        raise _refused(where, value, "[low, high] with low <= high")
    return low, high


def _text(entry: dict[str, Any], name: str, where: str, required: bool = True) -> str:
    value = entry.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _refused(f"{where}.{name}", value, "a non-empty text")
    return value.strip()


def _date(value: Any, where: str) -> str:
    if not hasattr(value, "isoformat") or hasattr(value, "hour"):
        raise _refused(where, value, "a date (2026-11-30)")
    return value.isoformat()


_TOLERANCE_KEYS = ("target", "low", "high", "role", "echoes", "reason", "set_on", "commit", "set_band", "changes")
_CHANGE_KEYS = ("date", "commit", "from", "to", "reason")


def parse_tolerances(text: str) -> dict[str, Tolerance]:
    """The tolerances in a ``tolerances.toml`` text, by pattern key; a bad entry is one
    :class:`~milieu_sim.errors.MilieuInputError` line naming the key, the value and what is allowed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MilieuInputError(f"{TOLERANCES_FILE} is not valid TOML ({exc})") from None
    if set(data) != {"patterns"} or not isinstance(data["patterns"], dict):
        raise _refused("top-level keys", sorted(data), "only [patterns.<key>] tables")
    result = {}
    for key, entry in data["patterns"].items():
        where = f"patterns.{key}"
        unknown = sorted(set(entry) - set(_TOLERANCE_KEYS))
        if unknown:
            raise _refused(f"{where}.{unknown[0]}", entry[unknown[0]], f"the keys {', '.join(_TOLERANCE_KEYS)}")
        low, high = _band([entry.get("low", -math.inf), entry.get("high", math.inf)], f"{where}.[low, high]")
        role = entry.get("role")
        if role not in ROLES:
            raise _refused(f"{where}.role", role, ", ".join(ROLES))
        changes = []
        for number, change in enumerate(entry.get("changes", [])):
            at = f"{where}.changes[{number}]"
            if not isinstance(change, dict) or set(change) != set(_CHANGE_KEYS):
                raise _refused(at, change, f"a table with {', '.join(_CHANGE_KEYS)}")
            before, after = _band(change["from"], f"{at}.from"), _band(change["to"], f"{at}.to")
            changes.append(BandChange(_date(change["date"], f"{at}.date"), _text(change, "commit", at), before,
                                      after, _text(change, "reason", at)))  # fmt: skip
        result[key] = Tolerance(
            key=key,
            target=_bound(entry.get("target"), f"{where}.target"),
            low=low,
            high=high,
            role=role,
            reason=_text(entry, "reason", where),
            set_on=_date(entry.get("set_on"), f"{where}.set_on"),
            commit=_text(entry, "commit", where),
            set_band=_band(entry.get("set_band"), f"{where}.set_band"),
            changes=tuple(changes),
            echoes=_text(entry, "echoes", where, required=role == "consistency"),
        )
    return result


def history_problems(tolerance: Tolerance) -> list[str]:
    """What is wrong with a tolerance's recorded history (empty when nothing is): each change must start from
    the band before it (the set band, then the previous change's ``to``) and give a reason, and the current band
    must be where the last recorded change (or the setting) left it: a band never moves without a record."""
    problems = []
    before = tolerance.set_band
    for change in tolerance.changes:
        if change.before != before:
            problems.append(f"patterns.{tolerance.key}: the change of {change.date} starts from {list(change.before)}"
                            f", but the band was {list(before)}")  # fmt: skip
        if not change.reason.strip():
            problems.append(f"patterns.{tolerance.key}: the change of {change.date} gives no reason")
        before = change.after
    if (tolerance.low, tolerance.high) != before:
        current = [tolerance.low, tolerance.high]
        problems.append(f"patterns.{tolerance.key}: the band {current} differs from {list(before)} (as set, or "
                        "after the last recorded change) without a recorded change")  # fmt: skip
    return problems


@cache
def tolerances() -> dict[str, Tolerance]:
    """The shipped tolerances (``milieu_sim/data/tolerances.toml``), read on first use."""
    text = resources.files("milieu_sim.data").joinpath("tolerances.toml").read_text(encoding="utf-8")
    return parse_tolerances(text)


# --- patterns: what to compare ------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    """What a pattern is and how it is measured from the arms' runs (its tolerance is data: :class:`Tolerance`)."""

    key: str
    pattern: str
    setting: str
    source: str
    published: str
    experiments: tuple[str, ...]
    measure: Callable[[dict[str, pd.DataFrame]], tuple[float, float, float]]


@dataclass(frozen=True)
class Pattern:
    """A published pattern, its tolerance band and role (from the tolerances file), and how to measure it."""

    key: str
    pattern: str
    setting: str
    source: str
    published: str
    target: float
    low: float  # tolerance band for the simulated point estimate
    high: float
    experiments: tuple[str, ...]
    measure: Callable[[dict[str, pd.DataFrame]], tuple[float, float, float]]
    role: str = "validation"  # one of ROLES

    @property
    def fitted(self) -> bool:
        """A calibration target (role "fitted"); the others are never used in a fit."""
        return self.role == "fitted"


def _mean_of(experiment: str, column: str) -> Callable[[dict[str, pd.DataFrame]], tuple[float, float, float]]:
    """The mean over an arm's replicates of one outcome of the vocabulary, with its 95% CI."""
    if column not in MEASURED:
        raise ValueError(f"pattern measure {column!r} is not among the measured outcomes {MEASURED}")

    def measure(runs: dict[str, pd.DataFrame]) -> tuple[float, float, float]:
        mean, low, high, _ = mean_ci(runs[experiment][column])
        return mean, low, high

    return measure


#: The arm the Safewards trial's rate ratios validate, against acute_usual_care (paired seeds).
SAFEWARDS_ARM = "acute_safewards"


def _rate_ratio(event: str) -> Callable[[dict[str, pd.DataFrame]], tuple[float, float, float]]:
    """Rate ratio of an event count per shift, the safewards arm over usual care, with its 95% CI: paired by seed
    (replicate r of both arms shares seed r), the same method as ``compare`` and ``report``
    (:func:`milieu_sim.analysis.statistics.paired_rate_ratio`)."""

    def measure(runs: dict[str, pd.DataFrame]) -> tuple[float, float, float]:
        uc = runs["acute_usual_care"].set_index("seed")
        sw = runs[SAFEWARDS_ARM].set_index("seed")
        common = uc.index.intersection(sw.index)
        column = f"{event}_events"
        row = paired_rate_ratio(
            uc.loc[common, column], uc.loc[common, "shifts"], sw.loc[common, column], sw.loc[common, "shifts"]
        )
        return row["rate_ratio"], row["ci_low"], row["ci_high"]

    return measure


def _containment_falls_more(runs: dict[str, pd.DataFrame]) -> tuple[float, float, float]:
    """Paired (per seed) difference of log rate ratios: log RR(containment) - log RR(conflict)."""
    uc = runs["acute_usual_care"].set_index("seed")
    sw = runs[SAFEWARDS_ARM].set_index("seed")
    common = uc.index.intersection(sw.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.log(sw.loc[common, "containment_events"] / uc.loc[common, "containment_events"]) - np.log(
            sw.loc[common, "conflict_events"] / uc.loc[common, "conflict_events"]
        )
    mean, low, high, _ = mean_ci(diff[np.isfinite(diff)])
    return mean, low, high


def _feedback_effect_ratio(runs: dict[str, pd.DataFrame]) -> tuple[float, float, float]:
    """Mean behaviour change per piece of peer feedback over that per piece of staff feedback.

    Computed over the replicates of the community under usual care (which has both);
    interval: 2.5th and 97.5th percentiles of a seeded bootstrap over replicates.
    """
    runs_tc = runs["tc_usual_care"].dropna(subset=["peer_feedback_change", "staff_feedback_change"])

    def ratio(frame: pd.DataFrame) -> float:
        staff = frame["staff_feedback_change"].mean()
        return float(frame["peer_feedback_change"].mean() / staff) if staff > 0 else math.nan

    if runs_tc.empty:
        return math.nan, math.nan, math.nan
    point = ratio(runs_tc)
    rng = np.random.default_rng(20151412)
    boot = np.asarray([ratio(runs_tc.iloc[rng.integers(0, len(runs_tc), len(runs_tc))]) for _ in range(400)])
    boot = boot[np.isfinite(boot)]
    if boot.size < 10:
        return point, math.nan, math.nan
    return point, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


#: What each pattern is and how it is measured, in the order of the tables; target, band and role come from
#: the tolerances file (:func:`tolerances`), so each fact lives in one place.
MEASURED_PATTERNS: tuple[Measured, ...] = (
    Measured("conflict_rate", "conflict events per shift, usual care", "acute_ward",
             "Dickens, Tabvuma & Frost (8 NSW wards, pre-intervention)", "3.96",
             ("acute_usual_care",), _mean_of("acute_usual_care", "conflict_per_shift")),
    Measured("containment_rate", "containment events per shift, usual care", "acute_ward",
             "Dickens, Tabvuma & Frost (8 NSW wards, pre-intervention)", "6.81",
             ("acute_usual_care",), _mean_of("acute_usual_care", "containment_per_shift")),
    Measured("safewards_conflict_rr", "conflict rate ratio, safewards vs usual care", "acute_ward",
             "Bowers et al. 2015 (Safewards RCT, Table 2)", "0.850 (0.763-0.943)",
             ("acute_usual_care", SAFEWARDS_ARM), _rate_ratio("conflict")),
    Measured("safewards_containment_rr", "containment rate ratio, safewards vs usual care", "acute_ward",
             "Bowers et al. 2015 (Safewards RCT, Table 2)", "0.768 (0.655-0.901)",
             ("acute_usual_care", SAFEWARDS_ARM), _rate_ratio("containment")),
    Measured("containment_falls_more", "containment falls more than conflict: log RR(cont) - log RR(confl) < 0",
             "acute_ward", "Bowers et al. 2015 (Safewards RCT)", "log(0.768/0.850) = -0.10",
             ("acute_usual_care", SAFEWARDS_ARM), _containment_falls_more),
    Measured("violent_share", "share of clients with at least one violent act in their stay", "acute_ward",
             "Iozzino et al. 2015 (pooled, 42 studies)", "18%",
             ("acute_usual_care",), _mean_of("acute_usual_care", "violent_client_share")),
    Measured("seclusion_duration", "mean seclusion duration (hours)", "acute_ward", "AIHW 2013-14", "about 6 h",
             ("acute_usual_care",), _mean_of("acute_usual_care", "seclusion_hours_mean")),
    Measured("minimal_triangle", "share of incidents staying inside verbal -> de-escalation -> PRN", "acute_ward",
             "Bowers et al. 2013 (minimal triangle)", "most (> 50%)",
             ("acute_usual_care",), _mean_of("acute_usual_care", "minimal_triangle_share")),
    Measured("tc_first_week_dropout", "share of admissions leaving in the first week", "residential_tc",
             "Darke, Campbell & Popple", "17%", ("tc_usual_care",), _mean_of("tc_usual_care", "early_dropout_share")),
    Measured("tc_median_stay", "median length of stay (days)", "residential_tc", "Darke, Campbell & Popple",
             "39 days", ("tc_usual_care",), _mean_of("tc_usual_care", "median_stay_days")),
    Measured("tc_completion", "share of stays completing treatment", "residential_tc", "Darke, Campbell & Popple",
             "34%", ("tc_usual_care",), _mean_of("tc_usual_care", "completion_share")),
    Measured("readmission_30d", "share of discharges readmitted within 30 days", "acute_ward",
             "Ortiz 2019 (8%, US state hospitals); Psychiatr Serv 10.1176/appi.ps.201400092 (16%, San Diego)",
             "8-16%", ("acute_followup",), _mean_of("acute_followup", "readmission_30d")),
    Measured("readmission_90d", "share of discharges readmitted within 90 days", "acute_ward",
             "Tulloch, David & Thornicroft 2016 (South London)", "15%",
             ("acute_followup",), _mean_of("acute_followup", "readmission_90d")),
    Measured("peer_over_staff_feedback", "behaviour moved per piece of feedback: peer / staff (> 1)",
             "residential_tc", "Doogan & Warren 2017", "peer > staff", ("tc_usual_care",), _feedback_effect_ratio),
)  # fmt: skip

PATTERN_KEYS: tuple[str, ...] = tuple(m.key for m in MEASURED_PATTERNS)


@cache
def patterns() -> tuple[Pattern, ...]:
    """Every pattern: its measure from :data:`MEASURED_PATTERNS`, its target, band and role from the tolerances
    file (read on first use; a pattern without an entry, or an entry without a pattern, is one error line).
    Also available as the module attribute ``PATTERNS``."""
    bands = tolerances()
    problems = [problem for band in bands.values() for problem in history_problems(band)]
    if problems:
        raise MilieuInputError(f"{TOLERANCES_FILE}: {problems[0]}")
    missing = [key for key in PATTERN_KEYS if key not in bands]
    extra = [key for key in bands if key not in PATTERN_KEYS]
    if missing or extra:
        what = f"has no entry for pattern '{missing[0]}'" if missing else f"'patterns.{extra[0]}' names no pattern"
        raise MilieuInputError(f"{TOLERANCES_FILE} {what}; allowed patterns: {', '.join(PATTERN_KEYS)}")
    return tuple(
        Pattern(m.key, m.pattern, m.setting, m.source, m.published, bands[m.key].target, bands[m.key].low,
                bands[m.key].high, m.experiments, m.measure, bands[m.key].role)
        for m in MEASURED_PATTERNS
    )  # fmt: skip


def __getattr__(name: str) -> Any:
    """``PATTERNS``: :func:`patterns`, built on first use (nothing is read when the module is imported)."""
    if name == "PATTERNS":
        return patterns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Why a pattern is not reproduced by the shipped defaults (shown in the table's `note` column).
# Keep this in step with docs/validation.md (its template: milieu_sim/data/validation_template.md); a test checks
# the keys exist.
WHY_NOT_REPRODUCED: dict[str, str] = {
    "safewards_containment_rr": (
        "Safewards lowers containment more than the trial found, mostly through PRN: calm-down methods (fidelity "
        "0.7, calm_down_success) settle about half of the would-be PRN offers without medication, a stronger "
        "effect than the trial's wards showed (docs/validation.md). The calm-down lever's strength is assumed, "
        "not fitted, and this pattern is kept for validation only"
    ),
}


def select_patterns(setting: str | None = None, keys: Iterable[str] | None = None) -> list[Pattern]:
    """Patterns of one setting (or all), optionally only some keys."""
    chosen = [p for p in patterns() if setting is None or p.setting == setting]
    if keys is not None:
        keys = list(keys)
        unknown = [k for k in keys if k not in PATTERN_KEYS]
        if unknown:
            raise ParameterError(f"unknown pattern '{unknown[0]}'; allowed: {', '.join(PATTERN_KEYS)}")
        chosen = [p for p in chosen if p.key in keys]
    return chosen


def run_patterns(
    patterns: list[Pattern],
    replicates: int,
    seed: int = 0,
    overrides: dict[str, dict[str, Any]] | None = None,
    progress=None,
    draws: PosteriorDraws | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every experiment arm the patterns need, with seeds seed .. seed + replicates - 1.

    ``overrides`` maps a setting name to parameter overrides (used by calibration); ``draws``: each replicate
    draws its parameters from the posterior (:class:`PosteriorDraws`).
    """
    if replicates < 2:
        raise ParameterError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 2")
    needed = dict.fromkeys(name for p in patterns for name in p.experiments)
    seeds = range(seed, seed + replicates)
    runs = {}
    for name in needed:
        experiment = EXPERIMENTS[name]
        extra = (overrides or {}).get(experiment.setting, {})
        runs[name] = run_arm(
            experiment, seeds, extra, progress=(lambda s, n=name: progress(s, n)) if progress else None, draws=draws
        )
    return runs


#: The verdicts of :func:`verdict`; a row passes when its verdict starts with "pass".
VERDICTS: tuple[str, ...] = (
    "pass",
    "pass; interval crosses the band",
    "fail; interval overlaps the band",
    "fail",
    "fail; no interval",
    "fail; no estimate",
)


def verdict(value: float, ci_low: float, ci_high: float, low: float, high: float) -> str:
    """The verdict on a simulated value and its 95% interval against a tolerance band [low, high].

    A pattern passes when its point estimate lies in the band and its interval overlaps it (issue 14):
    "pass" when the interval lies wholly inside, "pass; interval crosses the band" when it reaches out of it,
    "fail; interval overlaps the band" when the point lies outside but the interval reaches in, "fail"
    otherwise.  A missing interval never passes silently ("fail; no interval"), nor a missing value."""
    if not np.isfinite(value):
        return "fail; no estimate"
    if np.isnan(ci_low) or np.isnan(ci_high):
        return "fail; no interval"
    within = low <= value <= high
    overlaps = ci_low <= high and ci_high >= low
    inside = low <= ci_low and ci_high <= high
    if within and overlaps:
        return "pass" if inside else "pass; interval crosses the band"
    if overlaps:
        return "fail; interval overlaps the band"
    return "fail"


#: The columns of a :func:`score` table (docs/outputs.md, ``validation.csv``).
SCORE_COLUMNS: tuple[str, ...] = (
    "pattern", "description", "setting", "source", "published", "target", "simulated", "ci_low", "ci_high",
    "tolerance_low", "tolerance_high", "role", "fitted", "within_tolerance", "ci_overlaps", "ci_inside", "verdict",
    "passes", "note",
)  # fmt: skip


def score(patterns: list[Pattern], runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per pattern: published and simulated values, 95% CI, tolerance, role and verdict.

    ``within_tolerance`` is the point rule (the estimate lies in the band); ``ci_overlaps`` and ``ci_inside``
    say how the 95% interval lies against the band (False without an interval); ``verdict`` and ``passes``
    apply the rule of :func:`verdict`."""
    rows = []
    for p in patterns:
        value, low, high = p.measure(runs)
        within = bool(np.isfinite(value) and p.low <= value <= p.high)
        has_interval = not (np.isnan(low) or np.isnan(high))
        decided = verdict(value, low, high, p.low, p.high)
        passes = decided.startswith("pass")
        if passes:
            note = ""
        elif decided == "fail; no interval":
            note = "no 95% interval could be computed (too few usable replicates), so the row cannot pass"
        else:
            note = WHY_NOT_REPRODUCED.get(p.key, "not reproduced by the shipped defaults")
        rows.append(
            {
                "pattern": p.key,
                "description": p.pattern,
                "setting": p.setting,
                "source": p.source,
                "published": p.published,
                "target": p.target,
                "simulated": value,
                "ci_low": low,
                "ci_high": high,
                "tolerance_low": p.low,
                "tolerance_high": p.high,
                "role": p.role,
                "fitted": p.fitted,
                "within_tolerance": within,
                "ci_overlaps": bool(has_interval and low <= p.high and high >= p.low),
                "ci_inside": bool(has_interval and p.low <= low and high <= p.high),
                "verdict": decided,
                "passes": passes,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def evidence_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`score` table that are evidence: fitted and validation patterns (the validation table)."""
    return table[table["role"].isin(EVIDENCE_ROLES)].reset_index(drop=True)


def consistency_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The consistency checks of a :func:`score` table (each re-measures an input), with the input they echo."""
    rows = table[table["role"] == "consistency"].reset_index(drop=True)
    return rows.assign(echoes=[tolerances()[key].echoes for key in rows["pattern"]])


#: The rates beside the per-shift ones (issue 11): (label, count column suffix, exposure column, scale to a day).
SAFEWARDS_RATES = (
    ("per shift", "", "shifts", 1.0),
    ("per occupied bed-day", "", "bed_hours", 24.0),
    ("per bed-day, first 7 days of a stay", "_first_week", "bed_hours_first_week", 24.0),
    ("per bed-day, later in a stay", "_later", "bed_hours_later", 24.0),
)


def safewards_rates(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Conflict and containment under usual care and the safewards preset per shift, per occupied bed-day and by
    phase of stay, with the paired rate ratio (safewards / usual care) and its 95% CI; empty without both arms.

    Per-shift rates mix the policy with turnover (a ward that discharges sooner admits more new, agitated
    clients); the rates by phase of stay separate the two."""
    if "acute_usual_care" not in runs or SAFEWARDS_ARM not in runs:
        return pd.DataFrame()
    uc = runs["acute_usual_care"].set_index("seed")
    sw = runs[SAFEWARDS_ARM].set_index("seed")
    common = uc.index.intersection(sw.index)
    rows = []
    for event in ("conflict", "containment"):
        for label, suffix, exposure, scale in SAFEWARDS_RATES:
            count = f"{event}_events{suffix}"
            if count not in uc or exposure not in uc:
                continue
            y_uc, e_uc = uc.loc[common, count], uc.loc[common, exposure] / scale
            y_sw, e_sw = sw.loc[common, count], sw.loc[common, exposure] / scale
            ratio = paired_rate_ratio(y_uc, e_uc, y_sw, e_sw)
            rows.append({
                "event": event, "rate": label,
                "usual_care": float(y_uc.sum() / e_uc.sum()), "safewards": float(y_sw.sum() / e_sw.sum()),
                "rate_ratio": ratio["rate_ratio"], "ci_low": ratio["ci_low"], "ci_high": ratio["ci_high"],
                "n_pairs": ratio["n_pairs"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def validate(
    setting: str | None = None,
    replicates: int = 10,
    seed: int = 0,
    keys: Iterable[str] | None = None,
    progress=None,
    draws: PosteriorDraws | None = None,
) -> pd.DataFrame:
    """Run the shipped defaults (or, with ``draws``, the posterior's draws) and score every pattern (of one
    setting, or all)."""
    return validate_runs(setting, replicates, seed, keys, progress, draws)[0]


def validate_runs(
    setting: str | None = None,
    replicates: int = 10,
    seed: int = 0,
    keys: Iterable[str] | None = None,
    progress=None,
    draws: PosteriorDraws | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """:func:`validate`, also returning the runs of every arm (for :func:`safewards_rates`)."""
    patterns = select_patterns(setting, keys)
    runs = run_patterns(patterns, replicates, seed, progress=progress, draws=draws)
    return score(patterns, runs), runs

"""Screen, then fit: Morris screening of every free or assumed parameter on the patterns calibration fits.

Which parameters does the calibration need to leave free?  Every number in the schema whose source states a
plausible range (free, calibrated, fixed or assumed) or marks it assumed is screened with Morris's elementary
effects (Morris 1991; Campolongo, Cariboni & Saltelli 2007) through SALib and the sweep machinery, over the
range its source states as plausible (:func:`milieu_sim.model.params.plausible_range`; an assumption with no
stated range is varied from half to one and a half times its default, and that is recorded).  The structure of a ward
(beds, staff, days) and the policy levers are not screened: they describe the unit and the policy, not what
the model does not know.

Each setting with fitted patterns is screened on its own sweep (``DIR/<setting>/``, resumable), a
parameter only where it applies: one that a setting overrides is that setting's own fact and is not varied
there, and one fitted for the community only (its setting override) is varied only there.  Each point is
one run of the calibration's arms (:data:`ARM_DAYS`); every point of a setting shares one seed (common
random numbers), so the elementary effects are differences on the same random draws.

The effect is measured on the *patterns* (each one's own measure, :mod:`milieu_sim.analysis.validation`),
and scaled by the pattern's tolerance: ``influence = mu* / half-width of the band``, the typical shift of
the pattern, in half-bands, when the parameter moves by Morris's step (two thirds of its range with four
levels).  Rule (:data:`RULE`): a parameter is influential when its influence on some fitted pattern is at
least :data:`THRESHOLD` and its mu* exceeds its bootstrap 95% confidence half-width (an effect told apart
from noise); the calibration keeps the :data:`CAP` most influential free and states the others as fixed at
their documented values.  The record (``screening.json``, ``screening.csv``, ``screening.png``) is what
:mod:`milieu_sim.analysis.calibration` reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.analysis.validation import EXPERIMENTS, MEASURED, PATTERNS, Pattern
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.outcomes import COUNTS
from milieu_sim.experiments.spec import Spec, spec_from_dict
from milieu_sim.experiments.storage import read_runs
from milieu_sim.experiments.sweep import run_sweep
from milieu_sim.files import write_figure, write_table, write_text
from milieu_sim.model.params import (
    ASSUMED,
    CALIBRATED_IN_COMMUNITY,
    POLICY,
    POSTERIOR_MEDIAN_IN_COMMUNITY,
    SCHEMA,
    SETTINGS,
    plausible_range,
)
from milieu_sim.provenance import stamp

#: The runs behind the fitted patterns, per setting: (warm-up days, total days), one run per point or particle.
#: The acute arm serves both the ward's rates and its readmissions (its discharges have 30 days of follow-up).
ARM_DAYS: dict[str, tuple[int, int]] = {"acute_ward": (20, 150), "residential_tc": (40, 200)}
#: Which calibration arm stands for each validation experiment: the arm of its setting, for every experiment of a
#: setting with an arm that runs usual care without overrides (the arms run usual care; shorter runs).
ARM_OF_EXPERIMENT: dict[str, str] = {
    name: e.setting
    for name, e in EXPERIMENTS.items()
    if e.setting in ARM_DAYS and e.policy == "usual_care" and not e.overrides
}
THRESHOLD = 0.5
CAP = 12
RULE = (
    f"influential: influence (mu* / half-width of the pattern's band) >= {THRESHOLD} on at least one fitted pattern "
    f"and mu* above its 95% bootstrap half-width; the {CAP} most influential (by their largest such influence) are "
    "left free for the calibration, the others are fixed at their documented values"
)
GROUPS_NOT_SCREENED = ("ward", "run")  # the unit's structure and the run, not unknowns of the model
NUM_RESAMPLES = 1000


class ScreeningError(MilieuInputError):
    """The screening cannot be analysed (missing runs, unknown setting)."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    basis: str


def scope(name: str) -> str:
    """Where a parameter applies: ``residential_tc`` for one fitted as the community's own override (by the earlier
    point fit or by the ABC-SMC calibration), else ``all``."""
    own = (CALIBRATED_IN_COMMUNITY, POSTERIOR_MEDIAN_IN_COMMUNITY)
    return "residential_tc" if SCHEMA[name].source.startswith(own) else "all"


def screening_ranges() -> dict[str, Range]:
    """Every screened parameter with its range and where the range comes from."""
    out: dict[str, Range] = {}
    for name, param in SCHEMA.items():
        if param.kind not in (int, float) or param.source == POLICY or param.group in GROUPS_NOT_SCREENED:
            continue
        stated = plausible_range(param)
        if stated is not None:
            out[name] = Range(stated[0], stated[1], "plausible range stated in the schema")
        elif param.source == ASSUMED and param.default:
            low, high = 0.5 * param.default, 1.5 * param.default
            if param.low is not None:
                low = max(low, param.low)
            if param.high is not None:
                high = min(high, param.high)
            if param.kind is int:
                low, high = math.floor(low), math.ceil(high)
            if high > low:
                out[name] = Range(float(low), float(high), "no range stated: half to one and a half times the default")
    return out


def screened_in(setting: str) -> dict[str, Range]:
    """The parameters screened in a setting (see the module docstring)."""
    overridden = set(SETTINGS[setting])
    chosen = {}
    for name, rng in screening_ranges().items():
        where = scope(name)
        if where == "all" and name in overridden:
            continue
        if where != "all" and where != setting:
            continue
        chosen[name] = rng
    return chosen


def fitted_patterns(setting: str | None = None) -> list[Pattern]:
    """The fitted patterns (all settings, or one), each measured on its setting's calibration arm."""
    return [p for p in PATTERNS if p.fitted and (setting is None or p.setting == setting)]


def screened_patterns(setting: str) -> list[Pattern]:
    """Every pattern of a setting its calibration arm can measure (the fitted ones and, for information, others)."""
    return [p for p in PATTERNS if p.setting == setting and all(e in ARM_OF_EXPERIMENT for e in p.experiments)]


def pattern_values(patterns: list[Pattern], arms: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Each pattern measured by its own measure on the calibration arms (``arms``: setting -> runs frame)."""
    values = {}
    for p in patterns:
        runs = {e: arms[ARM_OF_EXPERIMENT[e]] for e in p.experiments}
        value = p.measure(runs)[0]
        values[p.key] = float(value) if value is not None and np.isfinite(value) else math.nan
    return values


def half_width(p: Pattern) -> float:
    """Half the width of a pattern's band (one-sided bands: the distance from target to the finite bound)."""
    if np.isfinite(p.low) and np.isfinite(p.high):
        return (p.high - p.low) / 2.0
    bound = p.low if np.isfinite(p.low) else p.high
    return abs(p.target - bound) or 1.0


def screening_spec(setting: str, trajectories: int = 4, levels: int = 4, seed: int = 0) -> Spec:
    """The Morris sweep of one setting (one run of its calibration arm per point; every point one seed)."""
    if setting not in ARM_DAYS:
        raise ScreeningError(
            f"parameter 'setting' = {setting!r} has no fitted patterns; allowed: {', '.join(ARM_DAYS)}"
        )
    warmup, days = ARM_DAYS[setting]
    vary = {name: {"low": r.low, "high": r.high} for name, r in screened_in(setting).items()}
    return spec_from_dict(
        {
            "name": f"screening_{setting}",
            "description": "Morris screening of the free and assumed parameters on the fitted patterns",
            "setting": setting,
            "policies": ["usual_care"],
            "replicates": 1,
            "days": days,
            "warmup_days": warmup,
            "seed": seed,
            "allow_large": True,
            "vary": vary,
            "design": {"method": "morris", "samples": trajectories, "levels": levels},
            "outputs": {"outcomes": [m for m in MEASURED if m not in COUNTS]},
        },
        default_name=f"screening_{setting}",
    )


def run_screening(
    out: str | Path,
    trajectories: int = 4,
    levels: int = 4,
    seed: int = 0,
    settings: tuple[str, ...] = tuple(ARM_DAYS),
    **sweep_options: Any,
) -> pd.DataFrame:
    """Run (or resume) the screening sweeps in ``out/<setting>/`` and write the record to ``out``."""
    out = Path(out)
    for setting in settings:
        run_sweep(screening_spec(setting, trajectories, levels, seed), out / setting, **sweep_options)
    return analyse_screening(out, trajectories, levels, seed, settings)


def analyse_screening(
    out: str | Path, trajectories: int = 4, levels: int = 4, seed: int = 0, settings: tuple[str, ...] = tuple(ARM_DAYS)
) -> pd.DataFrame:
    """Morris indices of every screened parameter on every pattern, from the saved sweeps; writes the record."""
    from SALib.analyze import morris as morris_analyse

    out = Path(out)
    rows = []
    runs_info = {}
    for setting in settings:
        spec = screening_spec(setting, trajectories, levels, seed)
        folder = out / setting
        if not (folder / "sample.parquet").exists():
            raise ScreeningError(f"directory '{folder}' has no screening sweep; run `milieu-sim calibrate --screen`")
        sample = pd.read_parquet(folder / "sample.parquet").to_numpy(dtype=float)
        runs = read_runs(folder, columns=["point", *MEASURED])
        if runs["point"].nunique() < spec.n_points:
            raise ScreeningError(
                f"directory '{folder}': {spec.n_points - runs['point'].nunique()} of {spec.n_points} points have no "
                "finished run; finish the sweep first (run the same command again)"
            )
        patterns = screened_patterns(setting)
        by_point = runs.groupby("point")
        y = pd.DataFrame(
            [pattern_values(patterns, {setting: frame}) for _, frame in by_point], index=list(by_point.groups)
        ).sort_index()
        runs_info[setting] = {"points": spec.n_points, "parameters": len(spec.problem()["names"])}
        problem = spec.problem()
        for p in patterns:
            values = y[p.key].to_numpy(dtype=float)
            if not np.all(np.isfinite(values)):  # a point without the pattern (e.g. no discharge): mean-impute
                values = np.where(np.isfinite(values), values, np.nanmean(values))
            result = morris_analyse.analyze(problem, sample, values, num_resamples=NUM_RESAMPLES, conf_level=0.95,
                                            num_levels=levels, seed=seed)  # fmt: skip
            for k, name in enumerate(problem["names"]):
                mu_star = float(result["mu_star"][k])
                rows.append({
                    "parameter": name, "pattern": p.key, "fitted": p.fitted, "setting": setting,
                    "mu_star": mu_star, "mu_star_conf": float(result["mu_star_conf"][k]),
                    "sigma": float(result["sigma"][k]), "influence": mu_star / half_width(p),
                })  # fmt: skip
    table = pd.DataFrame(rows)
    table["influential"] = (
        table["fitted"] & (table["influence"] >= THRESHOLD) & (table["mu_star"] > table["mu_star_conf"])
    )
    free, ranking = choose_free(table)
    _write_record(out, table, free, ranking, trajectories, levels, seed, settings, runs_info)
    return table


def choose_free(table: pd.DataFrame) -> tuple[list[str], pd.Series]:
    """The influential parameters, at most :data:`CAP`, ranked by their largest influence on a fitted pattern
    where the effect is told apart from noise (an effect within its bootstrap interval does not count towards
    the rank); and every parameter's ranking value (its largest such influence, 0 when it has none)."""
    fitted = table[table["fitted"]]
    significant = fitted[fitted["mu_star"] > fitted["mu_star_conf"]]
    ranking = (
        significant.groupby("parameter")["influence"].max()
        .reindex(sorted(set(fitted["parameter"])), fill_value=0.0)
        .sort_values(ascending=False, kind="stable")
    )  # fmt: skip
    influential = set(fitted.loc[fitted["influential"], "parameter"])
    free = [name for name in ranking.index if name in influential][:CAP]
    return free, ranking


def _write_record(out, table, free, ranking, trajectories, levels, seed, settings, runs_info) -> None:
    ranges = screening_ranges()
    screened = sorted(set(table["parameter"]))
    record = {
        **stamp(),
        "method": "Morris elementary effects (SALib), one run per point, common seed per setting",
        "settings": {
            s: {
                "warmup_days": ARM_DAYS[s][0],
                "days": ARM_DAYS[s][1],
                "trajectories": trajectories,
                "levels": levels,
                "seed": seed,
                **runs_info.get(s, {}),
            }
            for s in settings
        },
        "ranges": {n: [ranges[n].low, ranges[n].high, ranges[n].basis] for n in screened},
        "scope": {n: scope(n) for n in screened},
        "rule": RULE,
        "free": free,
        "influential_not_freed": [
            n for n in ranking.index if n not in free and table[(table.parameter == n) & table.influential].size
        ],
        "fixed": [n for n in screened if n not in free],
    }
    write_text(out / "screening.json", json.dumps(record, indent=2))
    write_table(table, out / "screening.csv")
    _figure(out, table, free)


def _figure(out: Path, table: pd.DataFrame, free: list[str]) -> None:
    import matplotlib.pyplot as plt

    fitted = table[table["fitted"]]
    top = choose_free(table)[1].head(25)  # ranked as the calibration ranks them
    pivot = fitted.pivot_table(index="parameter", columns="pattern", values="influence").fillna(0.0)
    pivot = pivot.loc[top.index[::-1]]
    fig, ax = plt.subplots(figsize=(8, 7))
    left = np.zeros(len(pivot))
    for column in pivot.columns:
        ax.barh(pivot.index, pivot[column], left=left, label=column)
        left += pivot[column].to_numpy()
    ax.axvline(THRESHOLD, color="black", lw=0.8, ls="--")
    for label in ax.get_yticklabels():
        if label.get_text() in free:
            label.set_fontweight("bold")
    ax.set_xlabel("influence: mu* / half-width of the pattern's band (summed over fitted patterns)")
    ax.set_title("Morris screening: the 25 highest-ranked parameters (bold: left free)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    write_figure(fig, out / "screening.png")
    plt.close(fig)


def read_screening(path: str | Path) -> dict[str, Any]:
    """The screening record (``screening.json``) of a directory."""
    path = Path(path)
    file = path / "screening.json" if path.is_dir() else path
    if not file.exists():
        raise ScreeningError(f"no screening record at '{file}'; run `milieu-sim calibrate --screen --out {path}`")
    return json.loads(file.read_text(encoding="utf-8"))

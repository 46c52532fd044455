"""Calibration: fit the parameters the literature does not pin down to published patterns.

Pattern-oriented (Grimm et al. 2005): for a setting, the free parameters listed
in :data:`FREE_PARAMETERS` (all marked as calibrated in the schema) are fitted to
the patterns marked ``fitted`` in :mod:`milieu_sim.analysis.validation`; the remaining
patterns are left for validation.  The search is SciPy's differential evolution
(a well-kept global optimiser) with a fixed seed and deferred updating, so the
result does not depend on the number of worker processes; every candidate is
scored on the same replicate seeds (common random numbers), which makes the
objective a smooth-ish deterministic function of the parameters.

Objective: the sum over fitted patterns of ``((simulated - target) / half_width)^2``,
where half_width is half the pattern's stated tolerance band.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.analysis.validation import EXPERIMENTS, Experiment, Pattern, run_arm, score, select_patterns
from milieu_sim.errors import ParameterError
from milieu_sim.files import write_table, write_text
from milieu_sim.model.params import SCHEMA

# Free parameters per setting, with the search bounds (inside the schema's ranges).
FREE_PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "acute_ward": {
        "incident_rate": (0.01, 0.15),
        "incident_steepness": (2.0, 12.0),
        "agitation_noise": (0.02, 0.12),
        "prn_offer_rate": (0.1, 1.0),
        "conflict_rate": (0.1, 1.0),
        "violence_weight": (0.002, 0.06),
        "observation_intermittent_risk": (0.4, 0.95),  # below observation_within_sight_risk (1.0)
        # life after discharge (issue 13): fitted alone so far (docs/calibration/acute_readmission)
        "readmission_chance": (0.02, 0.5),
    },
    "residential_tc": {
        "dropout_per_day": (0.001, 0.02),
        "dropout_early_factor": (0.0, 15.0),
        "dropout_trust_effect": (0.0, 8.0),
        "therapy_learning": (0.001, 0.02),
    },
}
# Shorter runs than validation, to keep the search affordable (warm-up, then measured days).  Every free
# parameter is marked calibrated in the schema and its bounds lie in the schema's range: tests/test_calibration.py.
CALIBRATION_DAYS = {"acute_ward": (20, 70), "residential_tc": (40, 200)}


@dataclass
class CalibrationResult:
    setting: str
    parameters: dict[str, float]
    objective: float
    table: pd.DataFrame  # validation rows of the fitted patterns at the optimum
    evaluations: pd.DataFrame
    record: dict[str, Any]


def _experiments_for(setting: str, patterns: list[Pattern], run_days: tuple[int, int] | None) -> list[Experiment]:
    warmup, days = run_days or CALIBRATION_DAYS[setting]
    names = dict.fromkeys(name for p in patterns for name in p.experiments)
    return [Experiment(e.name, e.setting, e.policy, days, warmup, e.overrides) for e in (EXPERIMENTS[n] for n in names)]


class Objective:
    """A picklable objective: parameters -> weighted squared error over the fitted patterns."""

    def __init__(
        self, setting: str, names: list[str], seeds: list[int], run_days: tuple[int, int] | None = None
    ) -> None:
        self.setting = setting
        self.names = names
        self.seeds = seeds
        self.patterns = [p for p in select_patterns(setting) if p.fitted]
        self.experiments = _experiments_for(setting, self.patterns, run_days)

    def runs(self, values: np.ndarray) -> dict[str, pd.DataFrame]:
        """The fitted patterns' arms at these parameter values, one row per seed (as validation runs them)."""
        overrides = {name: SCHEMA[name].kind(value) for name, value in zip(self.names, values, strict=True)}
        return {experiment.name: run_arm(experiment, self.seeds, overrides) for experiment in self.experiments}

    def __call__(self, values: np.ndarray) -> float:
        table = score(self.patterns, self.runs(values))
        half = (table["tolerance_high"] - table["tolerance_low"]) / 2.0
        error = ((table["simulated"] - table["target"]) / half) ** 2
        return float(error.fillna(100.0).sum())


def _evaluate(job: tuple[str, list[str], list[int], tuple[int, int] | None, np.ndarray]) -> float:
    """One candidate in a worker process (Objective holds closures, so it is rebuilt there)."""
    setting, names, seeds, run_days, values = job
    return Objective(setting, names, seeds, run_days)(values)


def calibrate(
    setting: str,
    replicates: int = 4,
    seed: int = 0,
    maxiter: int = 8,
    popsize: int = 5,
    workers: int = 1,
    progress: bool = True,
    run_days: tuple[int, int] | None = None,
) -> CalibrationResult:
    """Fit the setting's free parameters to its fitted patterns by differential evolution."""
    from scipy.optimize import differential_evolution

    if setting not in FREE_PARAMETERS:
        raise ParameterError(
            f"parameter 'setting' = {setting!r} has no calibration; allowed: {', '.join(FREE_PARAMETERS)}"
        )
    if replicates < 2:
        raise ParameterError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 2")
    bounds = FREE_PARAMETERS[setting]
    names = list(bounds)
    seeds = list(range(seed, seed + replicates))
    objective = Objective(setting, names, seeds, run_days)
    evaluations: list[dict[str, Any]] = []
    started = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=(maxiter + 1) * popsize * len(names), desc=f"calibrating {setting}", unit="candidate",
                   disable=None)  # fmt: skip

    pool = None
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def mapper(_function, candidates):  # SciPy passes the objective; candidates are scored here
        candidates = list(candidates)
        if pool is not None:
            jobs = [(setting, names, seeds, run_days, c) for c in candidates]
            results = list(pool.map(_evaluate, jobs))
        else:
            results = [objective(c) for c in candidates]
        for values, value in zip(candidates, results, strict=True):
            evaluations.append({**dict(zip(names, map(float, values), strict=True)), "objective": value})
            if bar is not None:
                bar.update(1)
        return results

    try:
        result = differential_evolution(
            objective,
            bounds=[bounds[n] for n in names],
            seed=seed,
            maxiter=maxiter,
            popsize=popsize,
            tol=1e-3,
            polish=False,
            updating="deferred",
            workers=mapper,
            init="latinhypercube",
        )
    finally:
        if pool is not None:
            pool.shutdown()
    if bar is not None:
        bar.close()
    best = {name: SCHEMA[name].kind(float(v)) for name, v in zip(names, result.x, strict=True)}
    table = score(objective.patterns, objective.runs(result.x))
    record_data = {
        "setting": setting,
        "method": "scipy.optimize.differential_evolution (latin hypercube init, deferred updating, no polish)",
        "objective": "sum over fitted patterns of ((simulated - target) / (tolerance width / 2))^2",
        "targets": {
            p.key: {"target": p.target, "tolerance": [p.low, p.high], "source": p.source} for p in objective.patterns
        },
        "free_parameters": {n: list(bounds[n]) for n in names},
        "budget": {"maxiter": maxiter, "popsize": popsize, "evaluations": len(evaluations)},
        "seeds": seeds,
        "run_days": dict(zip(("warmup", "days"), run_days or CALIBRATION_DAYS[setting], strict=True)),
        "result": {"parameters": best, "objective": float(result.fun), "message": str(result.message)},
        "seconds": round(time.perf_counter() - started, 1),
    }
    return CalibrationResult(setting, best, float(result.fun), table, pd.DataFrame(evaluations), record_data)


def write_result(result: CalibrationResult, out: Path) -> None:
    """calibration.json (targets, method, budget, seeds, result), evaluations.csv, fitted_patterns.csv, and
    calibrated_parameters.toml (the values to ship)."""
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "calibration.json", json.dumps(result.record, indent=2, default=float))
    write_table(result.evaluations, out / "evaluations.csv")
    write_table(result.table, out / "fitted_patterns.csv")
    lines = [f"# calibrated free parameters of the {result.setting} setting (milieu-sim calibrate)", "[parameters]"]
    for name, value in result.parameters.items():
        lines.append(
            f"{name} = {value:.6g}" if isinstance(value, float) and math.isfinite(value) else f"{name} = {value}"
        )
    write_text(out / "calibrated_parameters.toml", "\n".join(lines) + "\n")

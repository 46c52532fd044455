"""Calibration with uncertainty: ABC-SMC of the influential parameters against every fitted pattern at once.

Likelihood-free Bayesian calibration (approximate Bayesian computation by sequential Monte Carlo; Toni et
al. 2009, Beaumont et al. 2009) with pyabc (Schaelte et al. 2022).  Why pyabc: the model is a stochastic
simulator with no likelihood, the data are a handful of published summary figures rather than a series
(the regime ABC-SMC was made for; neural posterior estimation (sbi) needs many thousands of simulations to
train and adds PyTorch), and pyabc is maintained, runs on local processes and on Dask, and keeps every
generation in a database a reviewer can open.

- **Free parameters**: the influential ones of the Morris screening (:mod:`milieu_sim.analysis.screening`,
  its record's ``free`` list); every other parameter stays at its documented value.
- **Priors**: uniform over each parameter's screening range: the plausible range the schema states, or, for an
  assumption that states none, half to one and a half times its default (the screening record says which).
- **Data**: the targets of every *fitted* pattern of every setting, jointly (a parameter that applies to every
  setting is one parameter for all; one fitted as a setting's own override applies to that setting only:
  :func:`milieu_sim.analysis.screening.scope`).  Validation patterns are never used.
- **Simulator**: one run of each setting's calibration arm (:data:`~milieu_sim.analysis.screening.ARM_DAYS`)
  per particle, seeded from the particle's random stream; each pattern is measured by its own measure.
- **Distance**: ``sqrt(sum_k ((simulated_k - target_k) / h_k)^2)`` with ``h_k`` half the width of pattern k's
  tolerance band (so a distance of 1 is one pattern at its band's edge); a pattern the run cannot measure
  counts as :data:`MISSING_DISTANCE` half-bands.
- **Sequence**: each generation's threshold is the :data:`QUANTILE` (30%) quantile of the last generation's
  distances (faster than the median in twelve dimensions); particles are perturbed by a multivariate normal
  kernel with twice the weighted covariance of the last generation (Beaumont, Cornuet, Marin & Robert 2009).
  A kernel density bandwidth (pyabc's default, Silverman's rule) proposes too narrowly in a dozen dimensions:
  the importance weights of the next generation then vary so much that a few particles carry it (an
  effective sample size of about 16 of 150, measured on this problem's first generation, against 35-55 with
  the wider kernel).
- **Stopping rule** (:data:`STOPPING`): the first of epsilon <= ``minimum_epsilon``, ``generations``
  generations, acceptance rate below ``min_acceptance_rate``, or ``max_simulations`` simulations.  All are
  counts, never wall time, so the result does not depend on the machine.
- **Seeds**: generation t's n tasks get seeds from ``SeedSequence([seed, t + 2])``; task i seeds its own
  random state and samples until it has one accepted particle (:class:`SeededMappingSampler`), and the
  results are taken in task order.  The posterior therefore depends on the seed only, never on the number
  of processes or on Dask (tests/test_calibration.py).

The output (:func:`write_posterior`): ``posterior.csv`` and ``posterior.toml`` (the format the package
ships in ``milieu_sim/data/posterior/``), ``posterior_summary.csv``, ``generations.csv`` (epsilon, simulations,
acceptance rate, effective sample size and each parameter's mean and sd per generation: convergence),
``fitted_patterns.csv`` (the fitted patterns at the posterior's central values), ``prior_posterior.png``,
``calibration.json`` and pyabc's database ``history.db``.  :func:`simulation_based_check` runs the method on
data the model generated from known parameters (Talts et al. 2018).
"""

from __future__ import annotations

import functools
import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.analysis.screening import (
    ARM_DAYS,
    ARM_OF_EXPERIMENT,
    fitted_patterns,
    half_width,
    pattern_values,
    read_screening,
    scope,
)
from milieu_sim.analysis.validation import MEASURED, Pattern
from milieu_sim.errors import MilieuInputError, ParameterError
from milieu_sim.experiments.executors import make_executor
from milieu_sim.experiments.runner import run_one
from milieu_sim.files import write_figure, write_table, write_text
from milieu_sim.model.params import SCHEMA, plausible_range
from milieu_sim.provenance import stamp

MISSING_DISTANCE = 10.0
#: The stopping rule's defaults (see the module docstring).
STOPPING = {"minimum_epsilon": 1.0, "generations": 8, "min_acceptance_rate": 0.02, "max_simulations": 4000}
POPULATION = 150
#: Each generation's epsilon is this quantile of the last generation's distances (0.5: the median schedule).
QUANTILE = 0.3


class CalibrationError(MilieuInputError):
    """The calibration cannot start (a missing record, an unknown parameter, no extra installed)."""


@dataclass(frozen=True)
class Problem:
    """What is fitted to what: priors of the free parameters, their scope, the patterns and observed values."""

    priors: dict[str, tuple[float, float]]
    patterns: tuple[Pattern, ...]
    observed: dict[str, float]
    scope: dict[str, str] = field(default_factory=dict)
    arm_days: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(ARM_DAYS))
    base: dict[str, dict[str, Any]] = field(default_factory=dict)  # fixed overrides per setting (tests: a small ward)

    @property
    def settings(self) -> list[str]:
        return list(dict.fromkeys(p.setting for p in self.patterns))

    def overrides(self, values: dict[str, float], setting: str) -> dict[str, Any]:
        """The parameter values of a particle that apply to runs of ``setting``."""
        chosen = {}
        for name, value in values.items():
            if self.scope.get(name, "all") in ("all", setting):
                chosen[name] = round(value) if SCHEMA[name].kind is int else float(value)
        return chosen


def problem(
    free: Iterable[str],
    patterns: list[Pattern] | None = None,
    ranges: dict[str, tuple[float, float]] | None = None,
    **extra: Any,
) -> Problem:
    """The calibration problem of these free parameters against the fitted patterns' published targets.

    Each prior is uniform over ``ranges[name]`` when given (the screening's range), else over the plausible
    range the schema states."""
    patterns = list(patterns if patterns is not None else fitted_patterns())
    priors = {}
    for name in free:
        if name not in SCHEMA:
            raise CalibrationError(f"parameter 'free': {name!r} is not a model parameter")
        stated = (ranges or {}).get(name) or plausible_range(SCHEMA[name])
        if stated is None:
            raise CalibrationError(f"parameter 'free': {name!r} states no plausible range (its prior) in the schema")
        priors[name] = (float(stated[0]), float(stated[1]))
    for p in patterns:
        if not p.fitted:
            raise CalibrationError(f"pattern {p.key!r} is kept for validation and is never used in the fit")
    observed = extra.pop("observed", None) or {p.key: float(p.target) for p in patterns}
    return Problem(priors, tuple(patterns), observed, scope={n: scope(n) for n in priors}, **extra)


def problem_from_screening(path: str | Path) -> Problem:
    """The problem whose free parameters are the screening record's ``free`` list."""
    record = read_screening(path)
    if not record.get("free"):
        raise CalibrationError(f"screening record '{path}' leaves no parameter free")
    return problem(record["free"], ranges={n: tuple(record["ranges"][n][:2]) for n in record["free"]})


# --- the simulator and the distance (picklable: they run in worker processes) ------------------------------
class Simulator:
    """Parameters -> the fitted patterns measured on one run of each setting's calibration arm."""

    def __init__(self, spec: Problem) -> None:
        self.spec = spec

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**31 - 1))  # the task's seeded random state (SeededMappingSampler)
        return simulate(self.spec, dict(parameters), seed)


def run_arms(spec: Problem, values: dict[str, float], seeds: Iterable[int]) -> dict[str, pd.DataFrame]:
    """Each setting's calibration arm with these values, one row of measured outcomes per seed."""
    arms: dict[str, list[dict]] = {s: [] for s in spec.settings}
    for seed in seeds:
        for setting in spec.settings:
            warmup, days = spec.arm_days[setting]
            params = {"setting": setting, "policy": "usual_care", **spec.base.get(setting, {}),
                      **spec.overrides(values, setting)}  # fmt: skip
            measured = run_one(params, seed=seed, days=days, warmup_days=warmup, outcomes=MEASURED)
            measured.pop("seconds", None)
            arms[setting].append({"seed": seed, **measured})
    return {s: pd.DataFrame(rows) for s, rows in arms.items()}


def simulate(spec: Problem, values: dict[str, float], seed: int) -> dict[str, float]:
    """The fitted patterns measured on one run per setting with these values and this seed."""
    return pattern_values(list(spec.patterns), run_arms(spec, values, [seed]))


class Distance:
    """Euclidean distance in half-bands (see the module docstring)."""

    def __init__(self, spec: Problem) -> None:
        self.scale = {p.key: half_width(p) for p in spec.patterns}

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        total = 0.0
        for key, scale in self.scale.items():
            value, observed = x.get(key, math.nan), x0[key]
            if not np.isfinite(observed):  # data that do not define the pattern cannot be matched on it
                continue
            z = (value - observed) / scale if np.isfinite(value) else MISSING_DISTANCE
            total += z * z
        return math.sqrt(total)


# --- the deterministic sampler ----------------------------------------------------------------------------
def _sample_one(pickled_simulate_one: bytes, sample_factory, task_seed: int):
    """One task: seed the random state, sample until one particle is accepted (pyabc's mapping scheme)."""
    import cloudpickle

    simulate_one = cloudpickle.loads(pickled_simulate_one)
    np.random.seed(task_seed)
    random.seed(task_seed)
    sample = sample_factory()
    simulations = 0
    while True:
        particle = simulate_one()
        simulations += 1
        sample.append(particle)
        if particle.accepted:
            return sample, simulations


def _make_sampler_class():
    from pyabc.sampler import Sampler

    class SeededMappingSampler(Sampler):
        """pyabc's mapping sampler with one seeded random stream per task (see the module docstring)."""

        def __init__(self, map_: Callable, seed: int) -> None:
            super().__init__()
            self.map_ = map_
            self.seed = seed

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
            import cloudpickle

            seeds = np.random.SeedSequence([self.seed, t + 2]).generate_state(n, dtype=np.uint32)
            task = functools.partial(_sample_one, cloudpickle.dumps(simulate_one), self.sample_factory)
            results = list(self.map_(task, [int(s) for s in seeds]))
            self.nr_evaluations_ = sum(count for _, count in results)
            sample = self._create_empty_sample()
            for part, _ in results:
                sample += part
            return sample

    return SeededMappingSampler


# --- running ABC-SMC ------------------------------------------------------------------------------------------
@dataclass
class Posterior:
    """The last generation: particles (one column per free parameter) and their weights, and the run's record."""

    spec: Problem
    particles: pd.DataFrame
    weights: np.ndarray
    generations: pd.DataFrame
    record: dict[str, Any]

    def central(self) -> dict[str, float]:
        """Each parameter's weighted median (the shipped defaults)."""
        return {name: _weighted_quantile(self.particles[name], self.weights, 0.5) for name in self.spec.priors}

    def summary(self) -> pd.DataFrame:
        rows = []
        for name, (low, high) in self.spec.priors.items():
            x = self.particles[name].to_numpy(dtype=float)
            mean = float(np.sum(self.weights * x))
            sd = float(math.sqrt(max(np.sum(self.weights * (x - mean) ** 2), 0.0)))
            prior_sd = (high - low) / math.sqrt(12.0)
            rows.append({
                "parameter": name, "scope": self.spec.scope.get(name, "all"), "prior_low": low, "prior_high": high,
                "median": _weighted_quantile(x, self.weights, 0.5), "mean": mean, "sd": sd,
                "q05": _weighted_quantile(x, self.weights, 0.05), "q95": _weighted_quantile(x, self.weights, 0.95),
                "shrinkage": 1.0 - sd / prior_sd if prior_sd > 0 else math.nan,
            })  # fmt: skip
        return pd.DataFrame(rows)


def _unit_bandwidth(effective_sample_size: float, dimension: int) -> float:
    """No kernel density shrinkage: the perturbation's covariance is the population's, times the scaling."""
    return 1.0


def _weighted_quantile(x, weights, q: float) -> float:
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="stable")
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    return float(x[order][min(int(np.searchsorted(cumulative, q)), len(x) - 1)])


def _identity_file(database: Path) -> Path:
    """The record beside a run's database of which calibration it holds (``history.json``)."""
    return database.with_suffix(".json")


def _identity(spec: Problem, seed: int, population: int, quantile: float) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the database (the stopping rule may differ)."""
    return {
        "priors": {name: list(bounds) for name, bounds in spec.priors.items()},
        "patterns": [p.key for p in spec.patterns],
        "observed": {key: float(value) for key, value in spec.observed.items()},
        "scope": dict(spec.scope),
        "arm_days": {setting: list(days) for setting, days in spec.arm_days.items()},
        "base": {setting: dict(values) for setting, values in spec.base.items()},
        "seed": int(seed),
        "population": int(population),
        "quantile": float(quantile),
    }


def _write_identity(database: Path, identity: dict[str, Any], stopped_by: dict | None) -> None:
    """Write ``history.json``: the run's identity and the stopping rule it ended under (null while it runs)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    record = {**identity, "stopped_by": stopped_by}
    _identity_file(database).write_text(json.dumps(record, indent=1, sort_keys=True))


def _resumable(database: Path, identity: dict[str, Any]) -> int | None:
    """The generations a database of this calibration has completed (None: no such database, or none completed);
    a database of another calibration is refused in one line."""
    record = _identity_file(database)
    if not database.is_file() or not record.is_file():
        return None
    stored = json.loads(record.read_text())
    differs = [key for key in identity if _json(stored.get(key)) != _json(identity[key])]
    if differs:
        raise CalibrationError(
            f"the run in '{database.parent}' is another calibration (its {', '.join(differs)} differ); allowed: "
            "the same problem, seed and population to go on with it, or --fresh (or another --out) to start anew"
        )
    import pyabc

    last = pyabc.History(f"sqlite:///{database}", _id=1, create=False).max_t
    completed = 0 if last is None else int(last) + 1
    return completed if completed > 0 else None


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # NaN compares equal to NaN as text


def _stops(history, rule: dict) -> bool:
    """Whether the stopping rule holds after the generations ``history`` has completed (pyabc's check after each
    generation), so that a finished run read back again is not continued unless the rule now allows it (pyabc's
    ``run`` would always add a generation)."""
    from pyabc.inference_util import eps_from_hist, termination_criteria_fulfilled

    t = history.max_t
    if t is None or t < 0:
        return False
    populations = history.get_all_populations()
    last = populations[populations["t"] == t].iloc[0]
    return termination_criteria_fulfilled(  # pyabc's own check, with its defaults for what we do not set
        current_eps=last["epsilon"],
        min_eps=rule["minimum_epsilon"],
        prev_eps=eps_from_hist(history, t - 1),
        min_eps_diff=0.0,
        stop_if_single_model_alive=False,
        nr_of_models_alive=1,
        acceptance_rate=last["particles"] / max(last["samples"], 1),
        min_acceptance_rate=rule["min_acceptance_rate"],
        total_nr_simulations=history.total_nr_simulations,
        max_total_nr_simulations=rule["max_simulations"],
        walltime=None,
        max_walltime=None,
        t=t,
        max_t=int(rule["generations"]) - 1,
    )


def calibrate(
    spec: Problem,
    population: int = POPULATION,
    seed: int = 0,
    workers: int | None = 1,
    scheduler: str | None = None,
    cluster: str | None = None,
    database: str | Path | None = None,
    progress: bool = True,
    quantile: float = QUANTILE,
    resume: bool = False,
    **stopping: float,
) -> Posterior:
    """Run ABC-SMC on ``spec``; ``stopping`` overrides :data:`STOPPING` (same keys).

    With ``resume`` and a ``database`` left by an earlier call with the same problem, seed, population and
    quantile (an interrupted run: Ctrl-C, a lost machine), the run goes on from its last completed generation
    and gives the same posterior as a run never interrupted (each generation's tasks are seeded by the
    generation's index alone); a run that had finished is read back, not continued.  A database of another
    calibration is refused (:class:`CalibrationError`).  Without ``resume`` the database is started afresh."""
    try:
        import pyabc
    except ImportError:  # pragma: no cover - the extra is missing
        raise CalibrationError("calibration needs pyabc: pip install 'milieu-sim[calibration]'") from None
    import logging

    unknown = set(stopping) - set(STOPPING)
    if unknown:
        raise ParameterError(f"parameter {sorted(unknown)[0]!r} is not a stopping rule; allowed: {', '.join(STOPPING)}")
    rule = {**STOPPING, **stopping}
    if population < 2:
        raise ParameterError(f"parameter 'population' = {population} is not allowed; allowed: an integer >= 2")
    for name in ("abc", "ABC", "Sampler", "Epsilon", "Distance", "Acceptor", "ABC.History", "ABC.Sampler"):
        logging.getLogger(name).setLevel(logging.INFO if progress else logging.WARNING)
    np.random.seed(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    random.seed(seed)
    prior = pyabc.Distribution(**{n: pyabc.RV("uniform", lo, hi - lo) for n, (lo, hi) in spec.priors.items()})
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(database) if database is not None else Path(tmp) / "history.db"
        identity = _identity(spec, seed, population, quantile)
        done = _resumable(db, identity) if resume else None  # another calibration's run is refused here, before work
        executor = make_executor(workers, scheduler, cluster)
        sampler = _make_sampler_class()(executor.map, seed)
        started = time.perf_counter()
        try:
            kernel = pyabc.MultivariateNormalTransition(scaling=2.0, bandwidth_selector=_unit_bandwidth)
            abc = pyabc.ABCSMC(Simulator(spec), prior, Distance(spec), population_size=population, sampler=sampler,
                               eps=pyabc.QuantileEpsilon(alpha=quantile), transitions=kernel)  # fmt: skip
            if done is None:  # a new run
                db.unlink(missing_ok=True)
                _write_identity(db, identity, None)
                history = abc.new(f"sqlite:///{db}", dict(spec.observed))
            else:
                history = abc.load(f"sqlite:///{db}", 1)
            if not _stops(history, rule):
                history = abc.run(
                    minimum_epsilon=rule["minimum_epsilon"],
                    max_nr_populations=int(rule["generations"]) - (done or 0),
                    min_acceptance_rate=rule["min_acceptance_rate"],
                    max_total_nr_simulations=int(rule["max_simulations"]),
                )
            _write_identity(db, identity, rule)
            particles, weights, generations = _last_generation(spec, history)
        finally:
            executor.close()
    record = _record(
        spec,
        generations,
        f"ABC-SMC: epsilon = the {quantile:g} quantile of the last distances, multivariate normal perturbation "
        "with twice the weighted covariance (Beaumont et al. 2009), uniform priors",
        f"pyabc {pyabc.__version__}",
        stopping=rule,
        population_size=population,
        seed=seed,
        seconds=round(time.perf_counter() - started, 1),
    )
    return Posterior(spec, particles, weights, generations, record)


def _last_generation(spec: Problem, history) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """A run's last completed generation: its particles (one column per free parameter), normalised weights, and
    the diagnostics of every generation."""
    particles, weights = history.get_distribution(m=0, t=history.max_t)
    weights = np.asarray(weights, dtype=float)
    names = list(spec.priors)
    return particles.reset_index(drop=True)[names], weights / weights.sum(), _generations(history, names)


def _record(spec: Problem, generations: pd.DataFrame, method: str, library: str, **extra: Any) -> dict[str, Any]:
    """What both a finished run and one read from its database record about the calibration."""
    return {
        "method": method,
        "library": library,
        "priors": {n: list(b) for n, b in spec.priors.items()},
        "scope": dict(spec.scope),
        "patterns": {p.key: {"target": spec.observed[p.key], "low": p.low, "high": p.high} for p in spec.patterns},
        "distance": "sqrt(sum over fitted patterns of ((simulated - target) / half-width of the band)^2)",
        "arm_days": {s: list(spec.arm_days[s]) for s in spec.settings},
        "generations": len(generations),
        "total_simulations": int(generations["simulations"].sum()),
        "final_epsilon": float(generations["epsilon"].iloc[-1]),
        **extra,
    }


def _generations(history, names: list[str]) -> pd.DataFrame:
    from pyabc.weighted_statistics import effective_sample_size

    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    rows = []
    for _, row in populations.iterrows():
        t = int(row["t"])
        frame, w = history.get_distribution(m=0, t=t)
        w = np.asarray(w, dtype=float) / np.sum(w)
        item = {"t": t, "epsilon": float(row["epsilon"]), "simulations": int(row["samples"]),
                "accepted": int(row["particles"])}  # fmt: skip
        item["acceptance_rate"] = item["accepted"] / item["simulations"] if item["simulations"] else math.nan
        item["ess"] = float(effective_sample_size(w))
        for name in names:
            x = frame[name].to_numpy(dtype=float)
            mean = float(np.sum(w * x))
            item[f"{name}_mean"] = mean
            item[f"{name}_sd"] = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        rows.append(item)
    return pd.DataFrame(rows)


# --- writing the record -------------------------------------------------------------------------------------------
def write_posterior(posterior: Posterior, out: Path, fitted: pd.DataFrame | None = None) -> None:
    """The posterior in the shipped format and its diagnostics (see the module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    central = posterior.central()
    record = {**stamp(), **posterior.record, "central": central}
    write_text(out / "calibration.json", json.dumps(record, indent=2, default=float))
    sample = posterior.particles.copy()
    sample.insert(0, "particle", range(len(sample)))
    sample["weight"] = posterior.weights
    write_table(sample, out / "posterior.csv")
    lines = [
        "# The calibration's posterior (milieu-sim calibrate; docs/validation.md). posterior.csv holds its particles.",
        "[posterior]",
        f'created = "{record["created"]}"',
        f'commit = "{record["commit"]}"',
        f"command = {json.dumps(record['command'])}",
        f'method = "ABC-SMC ({record["library"]})"',
        f"particles = {len(sample)}",
        "",
        "[scope]  # where each parameter applies: all settings, or one setting (its override)",
        *(f'{n} = "{posterior.spec.scope.get(n, "all")}"' for n in posterior.spec.priors),
        "",
        "[central]  # weighted medians: the shipped defaults",
        *(f"{n} = {v:.6g}" for n, v in central.items()),
        "",
    ]
    write_text(out / "posterior.toml", "\n".join(lines))
    write_table(posterior.summary(), out / "posterior_summary.csv")
    write_table(posterior.generations, out / "generations.csv")
    if fitted is not None:
        write_table(fitted, out / "fitted_patterns.csv")
    _figure(posterior, out / "prior_posterior.png")


def _figure(posterior: Posterior, path: Path) -> None:
    import matplotlib.pyplot as plt

    names = list(posterior.spec.priors)
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.5 * rows), squeeze=False)
    central = posterior.central()
    for ax, name in zip(axes.flat, names, strict=False):
        low, high = posterior.spec.priors[name]
        ax.hist(posterior.particles[name], bins=20, range=(low, high), weights=posterior.weights, density=True,
                color="tab:blue", alpha=0.7, label="posterior")  # fmt: skip
        ax.hlines(1.0 / (high - low), low, high, colors="black", linestyles="--", label="prior")
        ax.axvline(central[name], color="tab:red", lw=1.0, label="median")
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Prior (dashed) and posterior of each free parameter", fontsize=10)
    fig.tight_layout()
    write_figure(fig, path)
    plt.close(fig)


# --- checking the method on data the model made -----------------------------------------------------------------
def simulation_based_check(
    spec: Problem,
    datasets: int,
    seed: int = 0,
    population: int = 40,
    workers: int | None = 1,
    scheduler: str | None = None,
    cluster: str | None = None,
    **stopping: float,
) -> pd.DataFrame:
    """Simulation-based calibration (Talts et al. 2018): for each of ``datasets`` parameter vectors drawn from the
    prior, simulate the patterns, calibrate against them, and record where the truth falls in its posterior
    (``quantile``: the posterior mass below the truth; uniform over datasets when the method is calibrated)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    rows = []
    for d in range(datasets):
        truth = {n: float(rng.uniform(lo, hi)) for n, (lo, hi) in spec.priors.items()}
        observed = simulate(spec, truth, seed=int(rng.integers(0, 2**31 - 1)))
        if not all(np.isfinite(v) for v in observed.values()):
            continue
        fitted = Problem(spec.priors, spec.patterns, observed, spec.scope, spec.arm_days, spec.base)
        posterior = calibrate(
            fitted, population, seed + 1000 + d, workers, scheduler, cluster, progress=False, **stopping
        )
        for name, value in truth.items():
            x = posterior.particles[name].to_numpy(dtype=float)
            rows.append({
                "dataset": d, "parameter": name, "truth": value,
                "median": _weighted_quantile(x, posterior.weights, 0.5),
                "q05": _weighted_quantile(x, posterior.weights, 0.05),
                "q95": _weighted_quantile(x, posterior.weights, 0.95),
                "quantile": float(np.sum(posterior.weights[x < value])),
            })  # fmt: skip
    return pd.DataFrame(rows)


def fitted_at(spec: Problem, values: dict[str, float], replicates: int = 8, seed: int = 0) -> pd.DataFrame:
    """The fitted patterns at one parameter point, over ``replicates`` seeded runs of each arm, with 95% CIs (the
    same measure and table as validation)."""
    from milieu_sim.analysis.validation import score

    frames = run_arms(spec, values, range(seed, seed + replicates))
    runs = {e: frames[s] for e, s in ARM_OF_EXPERIMENT.items() if s in frames}
    return score(list(spec.patterns), runs)


def write_check(table: pd.DataFrame, out: Path) -> None:
    """The simulation-based check's table (``sbc.csv``), its summary (``sbc.json``: coverage of the 90% interval
    and a Kolmogorov-Smirnov test of the quantiles against uniform per parameter) and histogram (``sbc.png``)."""
    import matplotlib.pyplot as plt
    from scipy.stats import kstest

    out.mkdir(parents=True, exist_ok=True)
    write_table(table, out / "sbc.csv")
    summary = {}
    for name, frame in table.groupby("parameter"):
        inside = ((frame["q05"] <= frame["truth"]) & (frame["truth"] <= frame["q95"])).mean()
        summary[name] = {"datasets": len(frame), "coverage_90": float(inside),
                         "ks_pvalue": float(kstest(frame["quantile"], "uniform").pvalue)}  # fmt: skip
    write_text(out / "sbc.json", json.dumps({**stamp(), "parameters": summary}, indent=2))
    names = sorted(summary)
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 2.5), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        ax.hist(table.loc[table["parameter"] == name, "quantile"], bins=10, range=(0, 1))
        ax.set_title(name, fontsize=8)
    fig.suptitle("Simulation-based check: where the truth falls in its posterior (uniform if calibrated)", fontsize=9)
    fig.tight_layout()
    write_figure(fig, out / "sbc.png")
    plt.close(fig)


def posterior_from_history(spec: Problem, database: str | Path, reason: str) -> Posterior:
    """The last completed generation of a calibration's pyabc database, as a :class:`Posterior` (for a run that
    ended before its stopping rule: the record says so in ``reason``).  Because every generation depends on the
    seed alone, it is what the same command with ``--generations`` set to the completed count gives."""
    import pyabc

    path = Path(database)
    if not path.exists():
        raise CalibrationError(f"parameter 'from-history' = '{database}': no such file")
    history = pyabc.History(f"sqlite:///{path}")
    if history.max_t is None or history.max_t < 0:
        raise CalibrationError(f"parameter 'from-history' = '{database}': no completed generation")
    stored = history.get_distribution(m=0, t=history.max_t)[0].columns
    missing = [name for name in spec.priors if name not in stored]
    if missing:
        raise CalibrationError(f"parameter 'from-history' = '{database}' has no parameter {missing[0]!r}")
    particles, weights, generations = _last_generation(spec, history)
    record = _record(
        spec,
        generations,
        "ABC-SMC (read from the run's database: its last completed generation)",
        f"pyabc {pyabc.__version__}",
        stopping={"reason": reason, "completed_generations": len(generations)},
        population_size=len(particles),
        database=str(path),
    )
    return Posterior(spec, particles, weights, generations, record)

"""Running the model as a function, and paired policy comparisons.

:func:`run_experiment` is the model as a plain function from a flat parameter
dict to named outcomes, so any experiment framework can drive it.
:func:`compare_policies` runs paired replicates (replicate r of every policy
uses seed ``seed + r``: common random numbers) and keeps going when a run
fails, recording the failure instead of losing the rest.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from milieu_sim.errors import MilieuInputError, ParameterError
from milieu_sim.experiments.outcomes import OUTCOMES, summarise
from milieu_sim.model.model import MilieuModel

KEY_OUTCOMES: tuple[str, ...] = (
    "conflict_per_shift",
    "containment_per_shift",
    "skill_gain",
    "isolation_hours_per_day",
    "dropout_share",
    "completion_share",
)
RUN_KEYS = ("setting", "policy", "rng", "seed", "warmup_days")


def build_model(params: Mapping[str, Any]) -> MilieuModel:
    """A MilieuModel from a flat parameter dict (``seed`` is accepted as an alias of ``rng``)."""
    params = dict(params)
    seed = params.pop("seed", None)
    rng = params.pop("rng", seed)
    params.pop("warmup_days", None)
    return MilieuModel(rng=rng, **params)


def run_experiment(params: Mapping[str, Any]) -> dict[str, Any]:
    """Run one model to its ``days`` and return its summary outcomes (see milieu_sim.experiments.outcomes).

    ``params`` are schema parameters plus ``seed`` (or ``rng``) and optional ``warmup_days``.
    """
    warmup = int(params.get("warmup_days", 0) or 0)
    started = time.perf_counter()
    model = build_model(params)
    if warmup >= model.p["days"]:
        raise ParameterError(f"parameter 'warmup_days' = {warmup} must be less than 'days' = {model.p['days']}")
    model.run()
    result: dict[str, Any] = summarise(model.tables(), warmup_days=warmup)
    result["seconds"] = time.perf_counter() - started
    return result


def validate(params: Mapping[str, Any]) -> None:
    """Refuse bad parameters before any work starts (builds, but does not run, the model)."""
    build_model(params)


@dataclass
class Comparison:
    """Results of a policy comparison: one row per run, and the runs that failed."""

    runs: pd.DataFrame
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    policies: list[str] = field(default_factory=list)


def comparison_plan(policies: Iterable[str], replicates: int, seed: int, base: Mapping[str, Any]) -> list[dict]:
    """Every run of a comparison as a parameter dict, replicate-major (paired seeds)."""
    return [
        {**base, "policy": policy, "seed": seed + replicate, "replicate": replicate}
        for replicate in range(replicates)
        for policy in policies
    ]


def compare_policies(
    policies: list[str],
    replicates: int,
    seed: int,
    base: Mapping[str, Any] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Comparison:
    """Run paired replicates of each policy; a failing run is recorded and the others go on."""
    base = dict(base or {})
    if replicates < 1:
        raise ParameterError(f"parameter 'replicates' = {replicates} is not allowed; allowed: an integer >= 1")
    if not policies:
        raise ParameterError("parameter 'policies' is empty; allowed: a comma-separated list of policies")
    for policy in policies:  # every input error before any work
        validate({**base, "policy": policy, "seed": seed})
    plan = comparison_plan(policies, replicates, seed, base)
    rows, failures = [], []
    iterator = progress(plan) if progress else plan
    for params in iterator:
        run_params = {k: v for k, v in params.items() if k != "replicate"}
        try:
            outcome = run_experiment(run_params)
        except MilieuInputError:
            raise
        except Exception as exc:  # a model error in one run must not lose the others
            failures.append(
                {
                    "policy": params["policy"],
                    "replicate": params["replicate"],
                    "seed": params["seed"],
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(),
                }
            )
            continue
        rows.append({"policy": params["policy"], "replicate": params["replicate"], "seed": params["seed"], **outcome})
    runs = pd.DataFrame(rows, columns=["policy", "replicate", "seed", *OUTCOMES, "seconds"])
    return Comparison(runs=runs, failures=pd.DataFrame(failures), policies=list(policies))

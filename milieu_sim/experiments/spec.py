"""Experiment files: a declared experiment in TOML, checked against the parameter schema before anything runs.

An experiment file (``experiments/*.toml``)::

    name = "staffing_by_deescalation"     # optional; defaults to the file name
    description = "..."                   # optional
    setting = "acute_ward"                # optional (schema default)
    policies = ["usual_care"]             # or: policy = "usual_care"; presets or policy .toml files
    replicates = 10                       # paired replicates of every point and policy
    days = 60                             # simulated days of every run
    warmup_days = 7                       # days left out of the outcomes (default 0)
    seed = 1                              # the experiment's seed (default 0)
    seeds = "paired"                      # paired (default) | sequential | independent, see below
    batch_size = 50                       # runs per Parquet file (default 50; not part of the spec's hash)
    allow_large = false                   # run even above the size limit (like --yes; not part of the hash)

    [parameters]                          # schema parameters fixed for every run
    n_clients = 20

    [vary]                                # schema parameters to vary
    staff_early = [3, 4, 5, 6]                             # explicit values
    de_escalation_skill = { low = 0.2, high = 0.9, steps = 8 }   # a range (grid: `steps` values)
    staffing = { staff_late = [2, 3], staff_night = [1, 2] }     # linked: parameters that move together

    [design]
    method = "grid"        # grid (full factorial, default) | latin_hypercube | sobol | morris
    samples = 64           # latin_hypercube: points; sobol: base sample N (a power of 2); morris: trajectories
    levels = 4             # morris grid levels
    second_order = false   # sobol: also second-order indices

    [outputs]
    outcomes = ["conflict_per_shift", "containment_per_shift"]   # outcomes kept (default: the summary outcomes)
    series = true          # also keep the per-shift series (conflict, containment, census, staff)

    posterior = { draws = 30, file = "calibration" }   # answers with uncertainty (optional; see below)

Sampled designs (latin_hypercube, sobol, morris) need a range ``{ low, high }`` for every
varied parameter; integer parameters are rounded to the nearest integer.

Seeds: replicate ``r`` of every point and policy shares one seed (common random numbers), derived
from the experiment's seed and ``r`` with :class:`numpy.random.SeedSequence` (``paired``); or is
``seed + r`` (``sequential``, as ``milieu-sim compare``); ``independent`` derives a seed from the
experiment's seed and the run's index instead.  Either way a run's seed depends only on the spec and
the run's index, never on the executor or the number of workers.

Posterior (``posterior = { draws = N, file = "..." }``, a top-level table): replicate ``r`` of every point and
policy uses draw ``r % N`` from the calibration's posterior (:mod:`milieu_sim.experiments.posterior`; ``file``: a
folder holding posterior.csv and posterior.toml, or its posterior.csv, found like other input files; default the
posterior shipped with the package), so the runs of one replicate share their seed *and* their parameter draw.
``replicates`` must be a multiple of ``N`` (default ``N``), so every draw gets the same number of chance
replicates.  A drawn value applies only to runs of the setting it is scoped to, and never replaces a value the
experiment sets itself ([parameters], [vary]) or a policy's own lever.  The posterior's contents are part of the
spec's hash.

Types and ranges come from :data:`milieu_sim.model.params.SCHEMA`; any error is one line naming the file,
the key and the problem (:class:`SpecError`).

Input files (policy files, floor plans and any other parameter whose value is a file's path) are found
relative to the experiment file first (then relative to the current folder), and their *contents* are part
of the spec's identity (:meth:`Spec.hash`): a sweep resumes from any folder, and a file edited between
sessions is noticed.  Sizes are capped before anything is built: at most :data:`MAX_LEVELS` values per
factor, :data:`MAX_POINTS` points and :data:`MAX_RUNS` runs (a larger sweep is several sweeps).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.outcomes import COUNTS, OUTCOMES, SUMMARY_OUTCOMES
from milieu_sim.experiments.posterior import Draw, Posterior, load_posterior
from milieu_sim.model.params import SCHEMA, Param, setting_defaults, suggest

DESIGNS = ("grid", "latin_hypercube", "sobol", "morris")
SEED_SCHEMES = ("paired", "sequential", "independent")
TOP_KEYS = {
    "name",
    "description",
    "setting",
    "policy",
    "policies",
    "replicates",
    "days",
    "warmup_days",
    "seed",
    "seeds",
    "batch_size",
    "allow_large",
    "parameters",
    "vary",
    "design",
    "outputs",
    "posterior",
}
POSTERIOR_KEYS = {"draws", "file"}
DESIGN_KEYS = {"method", "samples", "levels", "second_order"}
OUTPUT_KEYS = {"outcomes", "series"}
RANGE_KEYS = {"low", "high", "steps", "step"}
# Parameters the spec sets with its own keys, not in [parameters] or [vary].
OWN_KEYS = {"setting": "setting", "policy": "policies", "days": "days"}
DEFAULT_BATCH_SIZE = 50
MAX_SEED = 2**63 - 1  # seeds are stored as signed 64-bit integers
MAX_LEVELS = 100_000  # values of one varied factor
MAX_POINTS = 2_000_000  # parameter points of a design
MAX_RUNS = 100_000_000  # runs of one sweep (its progress is one byte per run in memory)


class SpecError(MilieuInputError):
    """An experiment file cannot be used."""


@dataclass(frozen=True)
class Factor:
    """One varied quantity: a parameter, or linked parameters that move together.

    ``levels`` holds one tuple of values (one per name) per level; sampled designs use ``low``/``high``.
    """

    label: str
    names: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...] = ()
    low: float | None = None
    high: float | None = None


@dataclass
class Spec:
    """A validated experiment (see the module docstring for the file format)."""

    name: str
    path: str = ""
    description: str = ""
    setting: str = SCHEMA["setting"].default
    policies: tuple[str, ...] = (SCHEMA["policy"].default,)
    replicates: int = 1
    days: int = SCHEMA["days"].default
    warmup_days: int = 0
    seed: int = 0
    seeds: str = "paired"
    batch_size: int = DEFAULT_BATCH_SIZE
    parameters: dict[str, Any] = field(default_factory=dict)
    factors: tuple[Factor, ...] = ()
    method: str = "grid"
    samples: int = 0
    levels: int = 4
    second_order: bool = False
    outcomes: tuple[str, ...] = SUMMARY_OUTCOMES
    series: bool = False
    allow_large: bool = False
    #: input files: the value as written in the spec -> the path it was found at
    files: dict[str, str] = field(default_factory=dict)
    #: draws from the posterior (0: none); the posterior's folder as written ("" = the shipped posterior)
    posterior_draws: int = 0
    posterior_file: str = ""
    #: whether the experiment set ``replicates`` itself (else a posterior's draws set it)
    replicates_given: bool = field(default=True, compare=False)
    _posterior: Posterior | None = field(default=None, repr=False, compare=False)
    _draws: list[Draw] | None = field(default=None, repr=False, compare=False)
    _policy_levers: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    _design: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    _sample: np.ndarray | None = field(default=None, repr=False, compare=False)

    # --- identity ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The experiment as plain data (what the manifest records and the hash covers, plus batch_size)."""
        vary: dict[str, Any] = {}
        for factor in self.factors:
            if factor.low is not None:
                vary[factor.label] = {"low": factor.low, "high": factor.high}
            elif len(factor.names) == 1:
                vary[factor.label] = [level[0] for level in factor.levels]
            else:
                vary[factor.label] = {n: [level[i] for level in factor.levels] for i, n in enumerate(factor.names)}
        data = {
            "name": self.name,
            "description": self.description,
            "setting": self.setting,
            "policies": list(self.policies),
            "replicates": self.replicates,
            "days": self.days,
            "warmup_days": self.warmup_days,
            "seed": self.seed,
            "seeds": self.seeds,
            "batch_size": self.batch_size,
            "parameters": dict(self.parameters),
            "vary": vary,
            "design": {
                "method": self.method,
                "samples": self.samples,
                "levels": self.levels,
                "second_order": self.second_order,
            },
            "outputs": {"outcomes": list(self.outcomes), "series": self.series},
        }
        if self.posterior_draws:  # (absent without one: such specs keep their hash)
            data["posterior"] = {"draws": self.posterior_draws, "file": self.posterior_file or "shipped"}
        return data

    def hash(self) -> str:
        """SHA-256 of what determines the results: the spec (without name, description, batch_size) and
        the contents of every input file it uses (policy files, floor plans, ...), read now, keyed by the
        names the spec gives them (so the hash does not depend on the folder it is computed from)."""
        data = self.to_dict()
        for key in ("name", "description", "batch_size"):
            data.pop(key)
        contents = {}
        for written, found in sorted(self.files.items()):
            try:
                contents[written] = hashlib.sha256(Path(found).read_bytes()).hexdigest()
            except OSError as exc:
                problem = f"input file '{found}' cannot be read ({exc.strerror or exc})"
                raise _Where(self.path).error("", problem) from None
        data["policy_files"] = contents  # (the key's old name: specs without input files keep their hash)
        if self.posterior is not None:
            try:
                data["posterior_digest"] = self.posterior.digest()
            except MilieuInputError as exc:
                raise _Where(self.path).error("posterior.file", str(exc)) from None
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def resolved(self, value: Any) -> Any:
        """An input file's path as found (relative to the spec file), or ``value`` itself."""
        return self.files.get(value, value) if isinstance(value, str) else value

    # --- the design: one row per parameter point ------------------------------------------------------
    @property
    def varied(self) -> list[str]:
        """Names of the varied schema parameters, in file order."""
        return [name for factor in self.factors for name in factor.names]

    def design(self) -> pd.DataFrame:
        """One row per parameter point (columns: the varied parameters, in their schema types)."""
        if self._design is None:
            self._design, self._sample = _make_design(self)
        return self._design

    def sample(self) -> np.ndarray | None:
        """The unrounded sample matrix of a sampled design (rows = points), else None."""
        self.design()
        return self._sample

    def problem(self) -> dict[str, Any]:
        """The SALib problem of a sampled design."""
        return {
            "num_vars": len(self.factors),
            "names": [f.label for f in self.factors],
            "bounds": [[float(f.low), float(f.high)] for f in self.factors],
        }

    @property
    def n_points(self) -> int:
        return len(self.design())

    @property
    def n_runs(self) -> int:
        return self.n_points * len(self.policies) * self.replicates

    @property
    def n_runs_planned(self) -> int:
        """The number of runs, computed without building the design."""
        points = planned_points(self.factors, self.method, self.samples, self.second_order)
        return points * len(self.policies) * self.replicates

    # --- the posterior -----------------------------------------------------------------------------
    @property
    def posterior(self) -> Posterior | None:
        """The posterior the runs draw from, or None."""
        return self._posterior if self.posterior_draws else None

    def draws(self) -> list[Draw]:
        """The experiment's draws from the posterior (draw ``r % N`` for replicate ``r``); empty without one."""
        if self.posterior is None:
            return []
        if self._draws is None:
            self._draws = self.posterior.draws(self.posterior_draws, self.seed)
        return self._draws

    @property
    def drawn(self) -> tuple[str, ...]:
        """Parameters whose drawn values the runs use (and the runs table records): those that apply to the
        spec's setting and that the spec does not set itself."""
        if self.posterior is None:
            return ()
        own = set(self.parameters) | set(self.varied)
        return tuple(n for n in self.posterior.applies_to(self.setting) if n not in own)

    def policy_levers(self, policy: str) -> dict[str, Any]:
        """The parameters a policy sets itself, with its values (a drawn value does not replace them)."""
        if policy not in self._policy_levers:
            from milieu_sim.model.policies import resolve_policy

            self._policy_levers[policy] = dict(getattr(resolve_policy(self.resolved(policy)), "parameters", {}))
        return self._policy_levers[policy]

    def draw_values(self, replicate: int, policy: str) -> tuple[int, dict[str, Any]]:
        """The draw of ``replicate`` and its values for a run of ``policy`` (None where the policy sets the
        parameter itself)."""
        draw = self.draws()[replicate % self.posterior_draws]
        levers = self.policy_levers(policy)
        values = draw.values
        return draw.index, {n: (None if n in levers else values[n]) for n in self.drawn}

    # --- runs ----------------------------------------------------------------------------------------
    def run_seed(self, replicate: int, run_id: int) -> int:
        """The seed of a run (see the module docstring); depends only on the spec and the run's index."""
        if self.seeds == "sequential":
            return self.seed + replicate
        key = replicate if self.seeds == "paired" else run_id
        return int(np.random.SeedSequence(self.seed, spawn_key=(key,)).generate_state(1, dtype=np.uint32)[0])

    def run(self, run_id: int) -> dict[str, Any]:
        """Run ``run_id`` (0 .. n_runs-1) as a task: indices, seed, the full parameter dict and the outcomes kept.

        Order: replicate-major, then point, then policy, so an unfinished sweep has whole replicates.
        """
        n_policies = len(self.policies)
        policy_index = run_id % n_policies
        point = (run_id // n_policies) % self.n_points
        replicate = run_id // (n_policies * self.n_points)
        seed = self.run_seed(replicate, run_id)
        values = self.design().iloc[point].to_dict()
        values = {name: _plain(value, SCHEMA[name]) for name, value in values.items()}
        posterior: dict[str, Any] = {}
        drawn: dict[str, Any] = {}
        if self.posterior is not None:
            draw, drawn = self.draw_values(replicate, self.policies[policy_index])
            posterior = {"posterior_draw": draw, **drawn}
        params = {
            "setting": self.setting,
            "policy": self.policies[policy_index],
            "days": self.days,
            **{name: value for name, value in drawn.items() if value is not None},
            **self.parameters,
            **values,
        }
        params = {name: self.resolved(value) if name in FILE_PARAMETERS else value for name, value in params.items()}
        params.update(seed=seed, warmup_days=self.warmup_days)
        task = {
            "run_id": run_id,
            "replicate": replicate,
            "point": point,
            "policy": self.policies[policy_index],
            "seed": seed,
            "values": values,
            "params": params,
            "outcomes": list(self.outcomes),
        }
        if posterior:
            task["posterior"] = posterior
        return task

    def runs(self, run_ids: Iterator[int] | None = None) -> Iterator[dict[str, Any]]:
        """Tasks for ``run_ids`` (default: all), lazily."""
        for run_id in run_ids if run_ids is not None else range(self.n_runs):
            yield self.run(run_id)


def _plain(value: Any, param: Param) -> Any:
    """A design value as the plain Python type of its schema parameter."""
    if param.kind is bool:
        return bool(value)
    if param.kind is int:
        return int(value)
    if param.kind is float:
        return float(value)
    return str(value)


def _make_design(spec: Spec) -> tuple[pd.DataFrame, np.ndarray | None]:
    names = spec.varied
    if not spec.factors:
        return pd.DataFrame(index=range(1)), None
    if spec.method == "grid":
        rows = [sum(combo, ()) for combo in itertools.product(*(f.levels for f in spec.factors))]
        frame = pd.DataFrame(rows, columns=names)
        sample = None
    else:
        from SALib.sample import latin, morris, sobol

        problem = spec.problem()
        if spec.method == "sobol":
            sample = sobol.sample(problem, spec.samples, calc_second_order=spec.second_order, seed=spec.seed)
        elif spec.method == "morris":
            sample = morris.sample(problem, spec.samples, num_levels=spec.levels, seed=spec.seed)
        else:
            sample = latin.sample(problem, spec.samples, seed=spec.seed)
        frame = pd.DataFrame(sample, columns=names)
    for name in names:
        kind = SCHEMA[name].kind
        if kind is int:
            frame[name] = np.rint(frame[name].astype(float)).astype(np.int64)
        elif kind is float:
            frame[name] = frame[name].astype(np.float64)
        elif kind is bool:
            frame[name] = frame[name].astype(bool)
        else:
            frame[name] = frame[name].astype(str)
    return frame.reset_index(drop=True), sample


# --- reading and checking a file ---------------------------------------------------------------------
class _Where:
    """Builds one-line errors that name the file and the key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, key: str, problem: str) -> SpecError:
        where = f"experiment file '{self.path}'" if self.path else "experiment"
        return SpecError(f"{where}: key '{key}' {problem}" if key else f"{where}: {problem}")


def load_spec(path: str | Path) -> Spec:
    """Read and check an experiment file; raise :class:`SpecError` (one line) on any problem."""
    path = Path(path)
    where = _Where(str(path))
    if not path.is_file():
        raise where.error("", "does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise where.error("", f"is not valid TOML: {exc}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise where.error("", f"cannot be read: {exc}") from None
    return spec_from_dict(data, path=str(path), default_name=path.stem)


def spec_from_dict(data: Mapping[str, Any], path: str = "", default_name: str = "experiment") -> Spec:
    """Check experiment data (as read from TOML) and build a :class:`Spec`."""
    where = _Where(path)
    _known(data, TOP_KEYS, "", where)
    if "policy" in data and "policies" in data:
        raise where.error("policy", "and key 'policies' are both given; use one")

    def integer(key: str, default: int, low: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise where.error(key, f"= {value!r} is not allowed; allowed: an integer >= {low}")
        return value

    def text(key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise where.error(key, f"= {value!r} is not allowed; allowed: a string")
        return value

    name = text("name", default_name)
    description = text("description", "")
    setting = _schema_value("setting", data.get("setting", SCHEMA["setting"].default), "setting", where)
    raw_policies = data.get("policies", [data["policy"]] if "policy" in data else [SCHEMA["policy"].default])
    policy_key = "policies" if "policies" in data else "policy"
    if not isinstance(raw_policies, list) or not raw_policies or not all(isinstance(p, str) for p in raw_policies):
        raise where.error(policy_key, f"= {raw_policies!r} is not allowed; allowed: a non-empty list of policy names")
    if len(set(raw_policies)) != len(raw_policies):
        raise where.error(policy_key, "names a policy twice; allowed: distinct policies")
    files: dict[str, str] = {}
    policies = tuple(_check_policy(p, policy_key, path, where, files) for p in raw_policies)
    replicates = integer("replicates", 1, 1)
    posterior_draws, posterior_file, posterior = _posterior_key(data, path, where)
    if posterior_draws:
        replicates = _posterior_replicates(replicates if "replicates" in data else None, posterior_draws, where)
    days = _schema_value("days", data.get("days", setting_defaults(setting)["days"]), "days", where)
    warmup_days = integer("warmup_days", 0, 0)
    if warmup_days >= days:
        raise where.error("warmup_days", f"= {warmup_days} must be less than 'days' = {days}")
    seed = integer("seed", 0, 0)
    if seed > MAX_SEED:
        raise where.error("seed", f"= {seed} is not allowed; allowed: an integer from 0 to 2**63-1 ({MAX_SEED})")
    seeds = text("seeds", "paired")
    if seeds not in SEED_SCHEMES:
        raise where.error("seeds", f"= {seeds!r} is not allowed; allowed: one of {', '.join(SEED_SCHEMES)}")
    if seeds == "sequential" and seed + replicates - 1 > MAX_SEED:
        raise where.error(
            "seed",
            f"= {seed} is too large for {replicates} sequential seeds (seed + replicate must be at most 2**63-1); "
            f"allowed: at most {MAX_SEED - replicates + 1}",
        )
    batch_size = integer("batch_size", DEFAULT_BATCH_SIZE, 1)
    allow_large = data.get("allow_large", False)
    if not isinstance(allow_large, bool):
        raise where.error("allow_large", f"= {allow_large!r} is not allowed; allowed: true or false")

    fixed = _table(data, "parameters", where)
    parameters = {}
    for key, value in fixed.items():
        _check_schema_name(key, f"parameters.{key}", where)
        parameters[key] = _schema_value(key, value, f"parameters.{key}", where)
        if key in FILE_PARAMETERS:
            _find_file(parameters[key], path, files)

    design = _table(data, "design", where)
    _known(design, DESIGN_KEYS, "design.", where)
    method = design.get("method", "grid")
    if method not in DESIGNS:
        raise where.error("design.method", f"= {method!r} is not allowed; allowed: one of {', '.join(DESIGNS)}")
    samples = design.get("samples", 0 if method == "grid" else None)
    if method != "grid" and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 2):
        raise where.error("design.samples", f"= {samples!r} is not allowed; allowed: an integer >= 2")
    if method == "sobol" and samples & (samples - 1):
        raise where.error("design.samples", f"= {samples} is not allowed; allowed: a power of 2 for a Sobol sample")
    levels = design.get("levels", 4)
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
        raise where.error("design.levels", f"= {levels!r} is not allowed; allowed: an even integer >= 2")
    second_order = design.get("second_order", False)
    if not isinstance(second_order, bool):
        raise where.error("design.second_order", f"= {second_order!r} is not allowed; allowed: true or false")

    vary = _table(data, "vary", where)
    factors = tuple(_factor(label, value, method, where) for label, value in vary.items())
    seen: set[str] = set()
    for factor in factors:
        for n in factor.names:
            if n in seen:
                raise where.error(f"vary.{factor.label}", f"varies parameter '{n}' twice")
            if n in parameters:
                raise where.error(f"vary.{factor.label}", f"varies parameter '{n}', which [parameters] also fixes")
            seen.add(n)
    if method != "grid" and len(factors) < (2 if method == "sobol" else 1):
        raise where.error("vary", f"needs at least {2 if method == 'sobol' else 1} ranges for design '{method}'")
    for factor in factors:
        for i, n in enumerate(factor.names):
            if n in FILE_PARAMETERS:
                for level in factor.levels:
                    _find_file(level[i], path, files)
    n_points = planned_points(factors, method, int(samples or 0), second_order)
    if n_points > MAX_POINTS:
        raise where.error(
            "vary" if method == "grid" else "design.samples",
            f"makes {n_points:,} parameter points; allowed: at most {MAX_POINTS:,} (split the sweep, or sample the "
            "space with design.method = 'latin_hypercube')",
        )
    n_runs = n_points * len(policies) * replicates
    if n_runs > MAX_RUNS:
        raise where.error(
            "replicates", f"makes {n_runs:,} runs; allowed: at most {MAX_RUNS:,} runs in one sweep (split it)"
        )

    outputs = _table(data, "outputs", where)
    _known(outputs, OUTPUT_KEYS, "outputs.", where)
    outcomes = outputs.get("outcomes", list(SUMMARY_OUTCOMES))
    if not isinstance(outcomes, list) or not outcomes:
        raise where.error("outputs.outcomes", f"= {outcomes!r} is not allowed; allowed: a non-empty list of outcomes")
    keepable = [name for name in OUTCOMES if name not in COUNTS]  # the counts are kept anyway
    for outcome in outcomes:
        if outcome not in keepable:
            raise where.error(
                "outputs.outcomes",
                f"names unknown outcome {outcome!r}{suggest(str(outcome), keepable)}; allowed: {', '.join(keepable)}",
            )
    series = outputs.get("series", False)
    if not isinstance(series, bool):
        raise where.error("outputs.series", f"= {series!r} is not allowed; allowed: true or false")

    spec = Spec(
        name=name,
        path=path,
        description=description,
        setting=setting,
        policies=policies,
        replicates=replicates,
        days=days,
        warmup_days=warmup_days,
        seed=seed,
        seeds=seeds,
        batch_size=batch_size,
        parameters=parameters,
        factors=factors,
        method=method,
        samples=int(samples or 0),
        levels=levels,
        second_order=second_order,
        outcomes=tuple(dict.fromkeys(outcomes)),
        series=series,
        allow_large=allow_large,
        files=files,
        posterior_draws=posterior_draws,
        posterior_file=posterior_file,
        replicates_given="replicates" in data,
        _posterior=posterior,
    )
    spec.hash()  # every input file can be read
    _check_models(spec, where)
    return spec


def _posterior_key(data: Mapping[str, Any], path: str, where: _Where) -> tuple[int, str, Posterior | None]:
    """The ``posterior`` table: (draws, file as written, the posterior), or (0, "", None) without one."""
    if "posterior" not in data:
        return 0, "", None
    table = _table(data, "posterior", where)
    _known(table, POSTERIOR_KEYS, "posterior.", where)
    draws = table.get("draws")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 2:
        raise where.error("posterior.draws", f"= {draws!r} is not allowed; allowed: an integer >= 2")
    written = table.get("file", "")
    if not isinstance(written, str):
        raise where.error("posterior.file", f"= {written!r} is not allowed; allowed: a folder or a posterior.csv path")
    found = None
    if written:
        candidates = [Path(written)]
        if path and not Path(written).is_absolute():
            candidates.insert(0, Path(path).parent / written)
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise where.error(
                "posterior.file",
                f"= {written!r} does not exist (looked beside the experiment file and in the current folder); "
                "allowed: a folder holding posterior.csv and posterior.toml, or its posterior.csv",
            )
    try:
        posterior = load_posterior(found)
    except MilieuInputError as exc:
        raise where.error("posterior.file", f"= {written or 'shipped'!r}: {exc}") from None
    return draws, written, posterior


def _posterior_replicates(replicates: int | None, draws: int, where: _Where) -> int:
    """Replicates with a posterior: a multiple of the draws (default: the draws)."""
    if replicates is None:
        return draws
    if replicates % draws:
        raise where.error(
            "replicates",
            f"= {replicates} is not a multiple of posterior.draws = {draws}; allowed: a multiple of {draws} (each "
            "draw gets the same number of chance replicates)",
        )
    return replicates


def with_posterior(spec: Spec, draws: int | None, file: str | None = None) -> Spec:
    """``spec`` drawing from a posterior as the command line asks (``--posterior N``, ``--posterior-file F``;
    they override the spec's own ``posterior`` key).  ``file`` is relative to the current folder; None keeps the
    spec's file (or the shipped posterior).  Replicates: the spec's, which must be a multiple of ``draws``, or
    ``draws`` if the spec did not set them.  Errors are one line naming the option."""
    from dataclasses import replace

    from milieu_sim.errors import ParameterError

    if draws is None:
        if not spec.posterior_draws:
            raise ParameterError(
                f"parameter 'posterior-file' = {file!r} needs a number of draws; allowed: with --posterior N"
            )
        draws = spec.posterior_draws
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 2:
        raise ParameterError(f"parameter 'posterior' = {draws!r} is not allowed; allowed: an integer >= 2")
    if file is None and spec.posterior_draws:
        posterior, written = spec._posterior, spec.posterior_file
    else:
        written = file or ""
        if file and not Path(file).exists():
            raise ParameterError(
                f"parameter 'posterior-file' = {file!r} does not exist; allowed: a folder holding posterior.csv and "
                "posterior.toml, or its posterior.csv"
            )
        try:
            posterior = load_posterior(file or None)
        except MilieuInputError as exc:
            named = f"'posterior-file' = {file!r}" if file else f"'posterior' = {draws} (the shipped posterior)"
            raise ParameterError(f"parameter {named}: {exc}") from None
    replicates = spec.replicates if spec.replicates_given else draws
    if replicates % draws:
        raise ParameterError(
            f"parameter 'replicates' = {replicates} is not a multiple of 'posterior' = {draws}; allowed: a multiple "
            f"of {draws} (each draw gets the same number of chance replicates)"
        )
    if spec.seeds == "sequential" and spec.seed + replicates - 1 > MAX_SEED:
        raise ParameterError(
            f"parameter 'seed' = {spec.seed} is too large for {replicates} sequential seeds; allowed: at most "
            f"{MAX_SEED - replicates + 1}"
        )
    where = _Where(spec.path)
    n_runs = spec.n_runs_planned // spec.replicates * replicates
    if n_runs > MAX_RUNS:
        raise where.error("replicates", f"makes {n_runs:,} runs; allowed: at most {MAX_RUNS:,} runs in one sweep")
    changed = replace(
        spec,
        replicates=replicates,
        posterior_draws=draws,
        posterior_file=written,
        _posterior=posterior,
        _draws=None,
        _design=spec._design,
        _sample=spec._sample,
    )
    changed.hash()
    _check_models(changed, where)
    return changed


def planned_points(factors: tuple[Factor, ...], method: str, samples: int, second_order: bool = False) -> int:
    """The number of parameter points a design will have (computed without building it)."""
    if not factors:
        return 1
    if method == "grid":
        return math.prod(len(f.levels) for f in factors)
    d = len(factors)
    if method == "sobol":
        return samples * (2 * d + 2 if second_order else d + 2)
    if method == "morris":
        return samples * (d + 1)
    return samples


#: Parameters whose value may be an input file's path (found relative to the spec file, hashed by content).
FILE_PARAMETERS: tuple[str, ...] = tuple(
    p.name for p in SCHEMA.values() if p.kind is str and p.choices is None and "path" in p.meaning
)


def _find_file(value: Any, spec_path: str, files: dict[str, str]) -> None:
    """Record ``value`` in ``files`` if it names a file: relative to the spec file first, then as given."""
    if not isinstance(value, str) or not value or value in files:
        return
    candidates = [Path(value)]
    if spec_path and not Path(value).is_absolute():
        candidates.insert(0, Path(spec_path).parent / value)
    for candidate in candidates:
        try:
            if candidate.is_file():
                files[value] = str(candidate.resolve())
                return
        except OSError:  # a name too long to be a path, ...
            return


def _known(data: Mapping[str, Any], known: set[str], prefix: str, where: _Where) -> None:
    for key in data:
        if key not in known:
            raise where.error(f"{prefix}{key}", f"is unknown{suggest(key, known)}; allowed: {', '.join(sorted(known))}")


def _table(data: Mapping[str, Any], key: str, where: _Where) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise where.error(key, f"must be a table ([{key}]), not {type(value).__name__}")
    return value


def _check_schema_name(name: str, key: str, where: _Where) -> None:
    if name in OWN_KEYS:
        raise where.error(key, f"sets '{name}'; use the top-level key '{OWN_KEYS[name]}' instead")
    if name not in SCHEMA and name in TOP_KEYS:  # a top-level key written after a [table] belongs to that table
        raise where.error(key, f"is a top-level key; write '{name} = ...' above the first [table] of the file")
    if name not in SCHEMA:
        raise where.error(key, f"names unknown parameter '{name}'{suggest(name, SCHEMA)}; see 'milieu-sim params'")


def _schema_value(name: str, value: Any, key: str, where: _Where) -> Any:
    """``value`` checked and converted by the schema, or a SpecError naming the key."""
    param = SCHEMA[name]
    try:
        return param.check(value)
    except MilieuInputError:
        problem = "is out of range" if _out_of_range(param, value) else "is not allowed"
        raise where.error(key, f"= {value!r} {problem}; allowed: {param.allowed()}") from None


def _out_of_range(param: Param, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return (param.low is not None and value < param.low) or (param.high is not None and value > param.high)


def _check_policy(policy: str, key: str, path: str, where: _Where, files: dict[str, str]) -> str:
    """A policy preset or policy file (found relative to the spec file; recorded in ``files``), as written."""
    from milieu_sim.model.policies import resolve_policy

    if policy.endswith(".toml"):
        _find_file(policy, path, files)
    try:
        resolved = resolve_policy(files.get(policy, policy))
    except MilieuInputError as exc:
        raise where.error(key, f"policy {policy!r}: {exc}") from None
    for name, value in getattr(resolved, "parameters", {}).items():
        if name in FILE_PARAMETERS:  # e.g. a policy file's floor plan: its contents are part of the identity
            _find_file(value, "", files)
    return policy


def _factor(label: str, value: Any, method: str, where: _Where) -> Factor:
    key = f"vary.{label}"
    if method != "grid":
        if not (isinstance(value, dict) and set(value) <= {"low", "high"} and {"low", "high"} <= set(value)):
            raise where.error(key, f"must be a range {{ low = ..., high = ... }} for design '{method}'")
        _check_schema_name(label, key, where)
        param = SCHEMA[label]
        if param.kind not in (int, float):
            raise where.error(key, f"cannot be sampled: '{label}' is {param.allowed()}; sample numbers only")
        low = _schema_value(label, value["low"], f"{key}.low", where)
        high = _schema_value(label, value["high"], f"{key}.high", where)
        if not low < high:
            raise where.error(key, f"has low = {low!r} not below high = {high!r}")
        return Factor(label=label, names=(label,), low=float(low), high=float(high))
    if isinstance(value, list):
        _check_schema_name(label, key, where)
        return Factor(label=label, names=(label,), levels=tuple((v,) for v in _values(label, value, key, where)))
    if isinstance(value, dict) and value and set(value) <= RANGE_KEYS:
        _check_schema_name(label, key, where)
        return Factor(label=label, names=(label,), levels=tuple((v,) for v in _range(label, value, key, where)))
    if isinstance(value, dict) and value:  # linked parameters: equal-length lists
        names = tuple(value)
        columns = []
        for name in names:
            _check_schema_name(name, f"{key}.{name}", where)
            if not isinstance(value[name], list):
                raise where.error(f"{key}.{name}", "must be a list of values (linked parameters move together)")
            columns.append(_values(name, value[name], f"{key}.{name}", where, repeats=True))
        if len({len(c) for c in columns}) != 1:
            raise where.error(key, "links lists of different lengths; linked parameters need one value per level")
        levels = tuple(zip(*columns, strict=True))
        if len(set(levels)) != len(levels):
            raise where.error(key, "lists a level twice")
        return Factor(label=label, names=names, levels=levels)
    raise where.error(key, "must be a list of values, a range { low, high, steps } or a table of linked lists")


def _values(name: str, values: list, key: str, where: _Where, repeats: bool = False) -> list[Any]:
    if not values:
        raise where.error(key, "is an empty list")
    if len(values) > MAX_LEVELS:
        raise where.error(key, f"lists {len(values):,} values; allowed: at most {MAX_LEVELS:,}")
    checked = [_schema_value(name, v, key, where) for v in values]
    if not repeats and len(set(checked)) != len(checked):
        raise where.error(key, "lists a value twice")
    return checked


def _range(name: str, value: dict, key: str, where: _Where) -> list[Any]:
    param = SCHEMA[name]
    if param.kind not in (int, float):
        raise where.error(key, f"cannot be a range: '{name}' is {param.allowed()}; list the values instead")
    for needed in ("low", "high"):
        if needed not in value:
            raise where.error(key, f"needs '{needed}' (a range is {{ low, high, steps }})")
    low = _schema_value(name, value["low"], f"{key}.low", where)
    high = _schema_value(name, value["high"], f"{key}.high", where)
    if not low < high:
        raise where.error(key, f"has low = {low!r} not below high = {high!r}")
    if "steps" in value and "step" in value:
        raise where.error(key, "gives both 'steps' and 'step'; use one")
    if "step" in value:
        step = value["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            raise where.error(f"{key}.step", f"= {step!r} is not allowed; allowed: a number > 0")
        count = math.floor((high - low) / step + 1e-9) + 1
        if count > MAX_LEVELS:
            raise where.error(f"{key}.step", f"= {step!r} makes {count:,} values; allowed: at most {MAX_LEVELS:,}")
        points = [low + i * step for i in range(count)]
    else:
        steps = value.get("steps", 5 if param.kind is float else None)
        if steps is None and high - low + 1 > MAX_LEVELS:
            count = int(high - low + 1)
            raise where.error(key, f"makes {count:,} values; allowed: at most {MAX_LEVELS:,} (give 'steps')")
        if steps is None:
            points = list(range(int(low), int(high) + 1))
        elif isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= MAX_LEVELS:
            raise where.error(f"{key}.steps", f"= {steps!r} is not allowed; allowed: an integer from 2 to {MAX_LEVELS}")
        else:
            points = list(np.linspace(low, high, steps))
    if param.kind is int:
        points = list(dict.fromkeys(int(np.rint(p)) for p in points))
    else:
        points = [round(float(p), 12) for p in points]
    return [param.check(p) for p in points]


def _check_models(spec: Spec, where: _Where) -> None:
    """Build (not run) a model for every policy at the first and last point: impossible combinations
    of parameters are refused before anything runs."""
    from milieu_sim.experiments.runner import build_model

    design = spec.design()
    corners = sorted({0, len(design) - 1})
    for policy in spec.policies:
        for point in corners:
            values = {n: _plain(v, SCHEMA[n]) for n, v in design.iloc[point].to_dict().items()}
            params = {"setting": spec.setting, "policy": policy, "days": spec.days, **spec.parameters, **values}
            params = {n: spec.resolved(v) if n in FILE_PARAMETERS else v for n, v in params.items()}
            try:
                build_model({**params, "seed": spec.seed})
            except MilieuInputError as exc:
                shown = ", ".join(f"{n} = {v!r}" for n, v in values.items()) or "the fixed parameters"
                raise where.error("", f"policy '{policy}' at {shown}: {exc}") from None
    if spec.posterior is not None:  # every draw's values combine with the experiment's (checked, not built)
        from milieu_sim.model.params import check_combinations

        for policy in spec.policies:
            for replicate in range(spec.posterior_draws):
                draw, drawn = spec.draw_values(replicate, policy)
                values = {n: v for n, v in drawn.items() if v is not None}
                fixed = {n: _plain(v, SCHEMA[n]) for n, v in design.iloc[0].to_dict().items()}
                merged = {**setting_defaults(spec.setting), **spec.policy_levers(policy)}
                merged.update({**values, **spec.parameters, **fixed})
                try:
                    check_combinations(merged)
                except MilieuInputError as exc:
                    raise where.error("posterior", f"draw {draw} for policy '{policy}': {exc}") from None

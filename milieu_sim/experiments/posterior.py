"""The posterior: a calibration's sample of parameter sets, and draws from it for answers with uncertainty.

A posterior is two files in one folder (the format is fixed; ``milieu-sim calibrate`` writes it):

- ``posterior.csv``: one row per ABC-SMC particle: ``particle`` (0 .. n-1), one column per free parameter
  (its schema name; a number inside the schema's range), then ``weight`` (>= 0; the weights sum to 1).
- ``posterior.toml``: ``[posterior]`` (created, commit, command, method, particles), ``[scope]`` (where each
  parameter applies: ``"all"`` or one setting's name) and ``[central]`` (the weighted medians, the shipped
  defaults).

The package ships one in ``milieu_sim/data/posterior/`` (``milieu-sim calibrate`` writes the same format)::

    from milieu_sim.experiments.posterior import load_posterior
    posterior = load_posterior()                 # the shipped one; or load_posterior("results/calibration")
    for draw in posterior.draws(30, seed=1):     # weighted resampling with replacement, deterministic
        posterior.values_for(draw, "acute_ward") # the draw's values that apply to that setting

A draw is made with a generator seeded by the experiment's seed and a fixed constant
(:class:`numpy.random.SeedSequence`), in the process that plans the runs: the same seed gives the same draws
whatever the number of processes.  A parameter scoped to one setting is applied to runs of that setting only.
Any problem with the files is one line naming the file, the key and what is allowed (:class:`PosteriorError`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from milieu_sim.errors import MilieuInputError
from milieu_sim.model.params import SCHEMA, SETTINGS, suggest

SAMPLE_FILE = "posterior.csv"
RECORD_FILE = "posterior.toml"
#: Mixed into the draws' seed, so a posterior's draws never share a stream with the runs' own seeds.
DRAW_STREAM = 0x706F_7374  # "post"
#: How far the weights may sum from 1 (files written with rounded weights); they are normalised after.
WEIGHT_TOLERANCE = 1e-3
SCOPE_ALL = "all"
#: Parameters a posterior may not carry: the experiment's own keys.
NOT_DRAWN = ("setting", "policy", "days")


class PosteriorError(MilieuInputError):
    """A posterior's files cannot be used."""


@dataclass(frozen=True)
class Draw:
    """One draw from the posterior: the draw's number (0 .. n-1), the particle drawn and its values."""

    index: int
    particle: int
    values: dict[str, float]


@dataclass(frozen=True)
class Posterior:
    """A posterior sample (particles, weights), where each parameter applies, and the files it came from."""

    sample_file: Path
    record_file: Path
    parameters: tuple[str, ...]
    particles: np.ndarray  # (n,) ints 0 .. n-1
    values: np.ndarray  # (n, parameters) floats
    weights: np.ndarray  # (n,) normalised to sum 1
    scope: dict[str, str]
    central: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # the [posterior] table: created, commit, method, ...

    def draws(self, n: int, seed: int) -> list[Draw]:
        """``n`` draws by weighted resampling with replacement; deterministic for ``seed``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise PosteriorError(f"parameter 'posterior' = {n!r} is not allowed; allowed: an integer >= 1")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), DRAW_STREAM]))
        rows = rng.choice(len(self.particles), size=int(n), replace=True, p=self.weights)
        return [
            Draw(
                index=k,
                particle=int(self.particles[row]),
                values={name: self._value(name, self.values[row, j]) for j, name in enumerate(self.parameters)},
            )
            for k, row in enumerate(rows)
        ]

    def values_for(self, draw: Draw, setting: str) -> dict[str, float]:
        """The draw's values that apply to ``setting`` (scope ``"all"`` or that setting)."""
        return {name: value for name, value in draw.values.items() if self.scope[name] in (SCOPE_ALL, setting)}

    def applies_to(self, setting: str) -> tuple[str, ...]:
        """The posterior's parameters that apply to ``setting``, in file order."""
        return tuple(name for name in self.parameters if self.scope[name] in (SCOPE_ALL, setting))

    def digest(self) -> str:
        """SHA-256 over both files' contents, read now (a file edited since it was loaded changes it)."""
        digest = hashlib.sha256()
        for path in (self.sample_file, self.record_file):
            digest.update(hashlib.sha256(_read_bytes(path)).digest())
        return digest.hexdigest()

    def describe(self) -> str:
        """One line: where it came from and what it holds."""
        made = ", ".join(f"{k} {self.record[k]}" for k in ("created", "commit", "method") if k in self.record)
        return (
            f"posterior '{self.sample_file.parent}' ({len(self.particles)} particles of "
            f"{', '.join(self.parameters)}{'; ' + made if made else ''})"
        )

    @staticmethod
    def _value(name: str, value: float) -> float | int:
        return round(value) if SCHEMA[name].kind is int else float(value)


def shipped_folder() -> Path:
    """The folder of the posterior shipped with the package (``milieu_sim/data/posterior``)."""
    import milieu_sim.data

    return Path(milieu_sim.data.__file__).resolve().parent / "posterior"


def load_posterior(path: str | Path | None = None) -> Posterior:
    """The posterior in ``path`` (a folder holding both files, or its ``posterior.csv``); None = the shipped one.

    Raises :class:`PosteriorError` (one line) for a missing file, an unknown parameter, a value outside the
    schema's range, a negative or non-finite weight, weights that do not sum to 1, a scope that is neither
    ``"all"`` nor a setting's name, and the like.
    """
    if path is None:
        folder = shipped_folder()
        sample_file, record_file = folder / SAMPLE_FILE, folder / RECORD_FILE
        if not sample_file.is_file():
            raise PosteriorError(
                f"posterior file '{sample_file}' is missing: the package ships no posterior yet; allowed: a "
                "folder written by 'milieu-sim calibrate' (--posterior-file, or file = ... in the experiment)"
            )
    else:
        given = Path(path)
        if given.is_dir():
            sample_file, record_file = given / SAMPLE_FILE, given / RECORD_FILE
        else:
            sample_file, record_file = given, given.parent / RECORD_FILE
        if not sample_file.is_file():
            raise PosteriorError(
                f"posterior file '{sample_file}' does not exist; allowed: a folder holding {SAMPLE_FILE} and "
                f"{RECORD_FILE}, or the path of its {SAMPLE_FILE}"
            )
    if not record_file.is_file():
        problem = f"does not exist; allowed: {RECORD_FILE} beside {SAMPLE_FILE}"
        raise PosteriorError(f"posterior file '{record_file}' {problem}")
    parameters, particles, values, weights = _read_sample(sample_file)
    record, scope, central = _read_record(record_file, parameters, len(particles))
    return Posterior(
        sample_file=sample_file.resolve(),
        record_file=record_file.resolve(),
        parameters=parameters,
        particles=particles,
        values=values,
        weights=weights / weights.sum(),
        scope=scope,
        central=central,
        record=record,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PosteriorError(f"posterior file '{path}' cannot be read ({exc.strerror or exc})") from None


def _check_parameter(name: str, file: Path, key: str) -> None:
    """A posterior parameter must be a numeric schema parameter that an experiment does not set by its own keys."""
    if name not in SCHEMA:
        raise PosteriorError(
            f"posterior file '{file}': {key} '{name}' is an unknown parameter{suggest(name, SCHEMA)}; allowed: "
            "a numeric parameter of the schema (see 'milieu-sim params')"
        )
    if name in NOT_DRAWN or SCHEMA[name].kind not in (int, float):
        raise PosteriorError(
            f"posterior file '{file}': {key} '{name}' cannot be drawn ({SCHEMA[name].allowed()}); allowed: a numeric "
            "parameter of the schema"
        )


def _number(raw: Any, name: str, file: Path, label: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    param = SCHEMA[name]
    if not math.isfinite(value):
        raise PosteriorError(f"posterior file '{file}': {label} = {raw!r} is not allowed; allowed: {param.allowed()}")
    if (param.low is not None and value < param.low) or (param.high is not None and value > param.high):
        raise PosteriorError(f"posterior file '{file}': {label} = {raw!r} is out of range; allowed: {param.allowed()}")
    if param.kind is int and not value.is_integer():
        raise PosteriorError(f"posterior file '{file}': {label} = {raw!r} is not allowed; allowed: {param.allowed()}")
    return value


def _read_sample(file: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    try:
        text = _read_bytes(file).decode("utf-8")
    except UnicodeDecodeError:
        raise PosteriorError(f"posterior file '{file}' is not UTF-8 text; allowed: a CSV file") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        problem = "is empty; allowed: a header 'particle,<parameters>,weight' and one row per particle"
        raise PosteriorError(f"posterior file '{file}' {problem}")
    header = [cell.strip() for cell in rows[0]]
    if len(header) < 3 or header[0] != "particle" or header[-1] != "weight":
        raise PosteriorError(
            f"posterior file '{file}': header {','.join(header)!r} is not allowed; allowed: 'particle', one column "
            "per parameter, then 'weight'"
        )
    parameters = tuple(header[1:-1])
    for name in parameters:
        _check_parameter(name, file, "column")
    if len(set(parameters)) != len(parameters):
        twice = next(n for n in parameters if parameters.count(n) > 1)
        problem = f"column '{twice}' appears twice; allowed: one column per parameter"
        raise PosteriorError(f"posterior file '{file}': {problem}")
    body = rows[1:]
    if not body:
        raise PosteriorError(f"posterior file '{file}' has no particles; allowed: at least one row")
    particles = np.zeros(len(body), dtype=np.int64)
    values = np.zeros((len(body), len(parameters)), dtype=np.float64)
    weights = np.zeros(len(body), dtype=np.float64)
    for k, row in enumerate(body):
        line = f"row {k + 2}"
        if len(row) != len(header):
            raise PosteriorError(
                f"posterior file '{file}': {line} has {len(row)} values; allowed: {len(header)} (one per column)"
            )
        if row[0].strip() != str(k):
            raise PosteriorError(
                f"posterior file '{file}': {line} column 'particle' = {row[0]!r} is not allowed; allowed: {k} "
                "(particles numbered 0 .. n-1 in order)"
            )
        particles[k] = k
        for j, name in enumerate(parameters):
            values[k, j] = _number(row[j + 1].strip(), name, file, f"{line} column '{name}'")
        try:
            weight = float(row[-1])
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            raise PosteriorError(
                f"posterior file '{file}': {line} column 'weight' = {row[-1]!r} is not allowed; allowed: a number >= 0"
            )
        weights[k] = weight
    total = float(weights.sum())
    if not abs(total - 1.0) <= WEIGHT_TOLERANCE:
        raise PosteriorError(
            f"posterior file '{file}': column 'weight' sums to {total:.6g}; allowed: weights that sum to 1 "
            f"(within {WEIGHT_TOLERANCE:g})"
        )
    return parameters, particles, values, weights


def _read_record(
    file: Path, parameters: tuple[str, ...], n_particles: int
) -> tuple[dict[str, Any], dict[str, str], dict[str, float]]:
    try:
        data = tomllib.loads(_read_bytes(file).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problem = f"is not valid TOML ({exc}); allowed: tables [posterior], [scope] and [central]"
        raise PosteriorError(f"posterior file '{file}' {problem}") from None
    tables = {}
    for key in ("posterior", "scope", "central"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise PosteriorError(f"posterior file '{file}': key '{key}' must be a table ([{key}])")
        tables[key] = value
    record, scope, central = tables["posterior"], tables["scope"], tables["central"]
    declared = record.get("particles")
    if declared is not None and (isinstance(declared, bool) or declared != n_particles):
        raise PosteriorError(
            f"posterior file '{file}': key 'posterior.particles' = {declared!r} does not match {SAMPLE_FILE}; allowed: "
            f"{n_particles} (its rows)"
        )
    settings = (SCOPE_ALL, *SETTINGS)
    for name, where in scope.items():
        if name not in parameters:
            raise PosteriorError(
                f"posterior file '{file}': key 'scope.{name}' names no column of {SAMPLE_FILE}; allowed: "
                f"{', '.join(parameters)}"
            )
        if where not in settings:
            raise PosteriorError(
                f"posterior file '{file}': key 'scope.{name}' = {where!r} is not allowed; allowed: one of "
                f"{', '.join(settings)}"
            )
    for name in parameters:
        if name not in scope:
            raise PosteriorError(
                f"posterior file '{file}': key 'scope.{name}' is missing; allowed: one of {', '.join(settings)}"
            )
    checked_central = {}
    for name, value in central.items():
        if name not in parameters:
            raise PosteriorError(
                f"posterior file '{file}': key 'central.{name}' names no column of {SAMPLE_FILE}; allowed: "
                f"{', '.join(parameters)}"
            )
        checked_central[name] = _number(value, name, file, f"key 'central.{name}'")
    return dict(record), {name: scope[name] for name in parameters}, checked_central

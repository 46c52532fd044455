"""Calibration with uncertainty: ABC-SMC that recovers known parameters, gives one posterior per seed whatever
runs it, never fits a validation pattern, and writes the posterior in the format the package ships."""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
import pytest

from milieu_sim.analysis.calibration import (
    CalibrationError,
    Distance,
    calibrate,
    problem,
    simulate,
    write_posterior,
)
from milieu_sim.analysis.screening import scope
from milieu_sim.analysis.validation import PATTERNS

pytest.importorskip("pyabc")

SMALL_WARD = {"n_clients": 8, "staff_early": 2, "staff_late": 2, "staff_night": 1}


def _pattern(key):
    return next(p for p in PATTERNS if p.key == key)


def _tiny(free=("incident_rate",), keys=("conflict_rate", "containment_rate"), **extra):
    return problem(list(free), [_pattern(k) for k in keys], arm_days={"acute_ward": (2, 10)},
                   base={"acute_ward": SMALL_WARD}, **extra)  # fmt: skip


def test_validation_patterns_are_never_fitted_and_priors_come_from_the_schemas_stated_ranges():
    with pytest.raises(CalibrationError, match=r"readmission_90d.*validation"):
        problem(["incident_rate"], [_pattern("readmission_90d")])
    with pytest.raises(CalibrationError, match="'n_clients' states no plausible range"):
        problem(["n_clients"], [_pattern("conflict_rate")])
    spec = problem(["incident_rate", "dropout_per_day"])
    assert spec.priors["incident_rate"] == (0.01, 0.15)
    assert all(p.fitted for p in spec.patterns)
    assert {p.setting for p in spec.patterns} == {"acute_ward", "residential_tc"}  # every setting at once


def test_a_parameter_fitted_as_the_communitys_own_is_not_applied_to_the_acute_ward():
    assert scope("dropout_per_day") == "residential_tc" and scope("incident_rate") == "all"
    spec = problem(["incident_rate", "dropout_per_day"])
    values = {"incident_rate": 0.05, "dropout_per_day": 0.01}
    assert spec.overrides(values, "acute_ward") == {"incident_rate": 0.05}
    assert spec.overrides(values, "residential_tc") == values


def test_the_distance_counts_half_bands_and_an_unmeasurable_pattern_is_far():
    spec = _tiny()
    distance = Distance(spec)
    target = {"conflict_rate": 3.96, "containment_rate": 6.81}
    edge = {"conflict_rate": 3.96 * 1.25, "containment_rate": 6.81}  # conflict at its band's upper edge
    assert distance(edge, target) == pytest.approx(1.0)
    both = {"conflict_rate": 3.96 * 0.75, "containment_rate": 6.81 * 1.25}
    assert distance(both, target) == pytest.approx(math.sqrt(2))
    assert distance({"conflict_rate": math.nan, "containment_rate": 6.81}, target) >= 10


def test_the_same_seed_gives_the_same_posterior_on_one_or_two_processes():
    spec = _tiny()
    one = calibrate(spec, population=6, seed=5, workers=1, progress=False, generations=2)
    two = calibrate(spec, population=6, seed=5, workers=2, progress=False, generations=2)
    assert one.particles.equals(two.particles)
    assert np.array_equal(one.weights, two.weights)
    assert one.generations.equals(two.generations)
    other = calibrate(spec, population=6, seed=6, workers=1, progress=False, generations=1)
    assert not one.generations["epsilon"].iloc[:1].equals(other.generations["epsilon"].iloc[:1])


@pytest.mark.slow
def test_the_same_seed_gives_the_same_posterior_on_dask():
    pytest.importorskip("distributed")
    spec = _tiny()
    local = calibrate(spec, population=6, seed=2, workers=1, progress=False, generations=1)
    dask = calibrate(spec, population=6, seed=2, workers=2, cluster="local", progress=False, generations=1)
    assert local.particles.equals(dask.particles)
    assert np.array_equal(local.weights, dask.weights)


def test_the_calibration_recovers_known_parameters_from_data_the_model_made():
    """A small simulation-based check: data made at a low and at a high incident rate.  Each posterior median lies
    nearer its truth than the prior's does, the two are ordered, and both are narrower than the prior.  (The
    coverage of the intervals over many datasets is the full check: `milieu-sim calibrate --check N`.)"""
    spec = _tiny(keys=("conflict_rate", "containment_rate"))
    prior_median = sum(spec.priors["incident_rate"]) / 2
    medians = []
    for truth in (0.02, 0.13):
        observed = simulate(spec, {"incident_rate": truth}, seed=11)
        fitted = problem(["incident_rate"], list(spec.patterns), arm_days=spec.arm_days, base=spec.base,
                         observed=observed)  # fmt: skip
        posterior = calibrate(fitted, population=12, seed=1, workers=1, progress=False, generations=2)
        row = posterior.summary().set_index("parameter").loc["incident_rate"]
        assert abs(row["median"] - truth) < abs(prior_median - truth), (truth, row.to_dict())
        assert row["shrinkage"] > 0.2, row.to_dict()  # the data pin it down more than the prior
        medians.append(row["median"])
    assert medians[0] < medians[1]


def test_the_posterior_is_written_in_the_format_the_package_ships(tmp_path):
    spec = _tiny()
    posterior = calibrate(spec, population=6, seed=0, workers=1, progress=False, generations=1)
    write_posterior(posterior, tmp_path)
    shipped = tomllib.loads((tmp_path / "posterior.toml").read_text())
    assert set(shipped["scope"]) == {"incident_rate"} and shipped["posterior"]["particles"] == 6
    low, high = spec.priors["incident_rate"]
    assert low <= shipped["central"]["incident_rate"] <= high
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert {"created", "commit", "command", "priors", "stopping", "seed", "total_simulations"} <= set(record)
    for name in ("posterior.csv", "posterior_summary.csv", "generations.csv", "prior_posterior.png"):
        assert (tmp_path / name).stat().st_size > 0
    from milieu_sim.experiments.posterior import load_posterior

    loaded = load_posterior(tmp_path)
    draws = loaded.draws(4, seed=0)
    assert all(low <= d.values["incident_rate"] <= high for d in draws)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--population", "1"], "'population' = 1"),
        (["--min-epsilon", "-1"], "'min-epsilon' = '-1'"),
        (["--generations", "zero"], "generations"),
        (["--screening", "no/such/folder"], "no screening record at 'no/such/folder"),
        (["--screen", "--levels", "3"], "'levels' = 3"),
    ],
)
def test_bad_calibrate_input_is_one_line_before_any_work(argv, named, capsys, tmp_path):
    from milieu_sim.cli.main import main

    status = main(["calibrate", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("milieu-sim: error")]
    assert len(lines) == 1 and named in lines[0], err
    assert not list((tmp_path / "out").glob("*"))  # nothing ran, nothing written


def test_the_shipped_posterior_is_the_calibration_record_and_fits_the_screenings_free_parameters():
    """One place for each fact: the package ships the record's posterior, over the screening's free parameters,
    each with the scope the screening gave it and values inside its prior."""
    from pathlib import Path

    from milieu_sim.experiments.posterior import load_posterior

    docs = Path(__file__).resolve().parent.parent / "docs" / "calibration"
    shipped = load_posterior()
    record = load_posterior(docs / "posterior")
    assert shipped.parameters == record.parameters
    assert np.array_equal(shipped.values, record.values) and np.array_equal(shipped.weights, record.weights)
    screening = json.loads((docs / "screening" / "screening.json").read_text())
    assert list(shipped.parameters) == screening["free"]
    for j, name in enumerate(shipped.parameters):
        assert shipped.scope[name] == scope(name)
        low, high = screening["ranges"][name][:2]
        assert low <= shipped.values[:, j].min() and shipped.values[:, j].max() <= high


def test_the_defaults_are_the_shipped_posteriors_medians_where_each_applies():
    """The defaults of the fitted parameters are the posterior's weighted medians (to the 4 significant digits the
    schema writes): a parameter of every setting as its schema default, the community's own as that setting's
    override (the schema default, used elsewhere, stays unfitted); each says so in its source."""
    from milieu_sim.experiments.posterior import load_posterior
    from milieu_sim.model.params import (
        POSTERIOR_MEDIAN,
        POSTERIOR_MEDIAN_IN_COMMUNITY,
        SCHEMA,
        SETTINGS,
        setting_defaults,
    )

    shipped = load_posterior()
    for name in shipped.parameters:
        weights = shipped.weights / shipped.weights.sum()
        x = shipped.values[:, shipped.parameters.index(name)]
        order = np.argsort(x)
        median = x[order][np.searchsorted(np.cumsum(weights[order]), 0.5)]
        assert shipped.central[name] == pytest.approx(median, rel=1e-5)
        if shipped.scope[name] == "all":
            assert SCHEMA[name].default == pytest.approx(shipped.central[name], rel=1e-3)
            assert SCHEMA[name].source.startswith(POSTERIOR_MEDIAN)
            assert all(name not in overrides for overrides in SETTINGS.values() if overrides is not None)
        else:
            setting = shipped.scope[name]
            assert setting_defaults(setting)[name] == pytest.approx(shipped.central[name], rel=1e-3)
            assert SCHEMA[name].source.startswith(POSTERIOR_MEDIAN_IN_COMMUNITY)


def test_an_interrupted_calibration_goes_on_to_the_posterior_of_an_uninterrupted_one(tmp_path):
    """Nothing computed is lost: a run stopped after one generation and run again with resume goes on from its
    database to the same posterior as a run of two generations; a finished run is read back, not continued; a
    database of another calibration is refused in one line, before any work."""
    spec = _tiny()
    whole = calibrate(spec, population=6, seed=5, progress=False, generations=2)
    db = tmp_path / "history.db"
    calibrate(spec, population=6, seed=5, progress=False, generations=1, database=db)  # "interrupted" after one
    resumed = calibrate(spec, population=6, seed=5, progress=False, generations=2, database=db, resume=True)
    assert resumed.particles.equals(whole.particles) and np.array_equal(resumed.weights, whole.weights)
    assert resumed.generations.drop(columns="seconds", errors="ignore").equals(
        whole.generations.drop(columns="seconds", errors="ignore")
    )
    again = calibrate(spec, population=6, seed=5, progress=False, generations=2, database=db, resume=True)
    assert len(again.generations) == 2 and again.particles.equals(whole.particles)  # finished: read back
    with pytest.raises(CalibrationError, match=r"another calibration .*population"):
        calibrate(spec, population=7, seed=5, progress=False, generations=2, database=db, resume=True)
    fresh = calibrate(spec, population=7, seed=5, progress=False, generations=1, database=db)  # no resume: anew
    assert len(fresh.generations) == 1

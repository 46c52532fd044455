"""Calibration: reproducible, recorded, and within the schema."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from milieu_sim.analysis.calibration import FREE_PARAMETERS, Objective, calibrate, write_result
from milieu_sim.analysis.validation import PATTERNS
from milieu_sim.errors import ParameterError
from milieu_sim.model.params import CALIBRATED, CALIBRATED_IN_COMMUNITY, SCHEMA

TINY = {"replicates": 2, "maxiter": 1, "popsize": 1, "progress": False, "run_days": (2, 6)}


def test_free_parameters_are_the_schemas_calibrated_ones_and_fitted_patterns_leave_some_for_validation():
    for setting, bounds in FREE_PARAMETERS.items():
        for name, (low, high) in bounds.items():
            marked = (CALIBRATED,) if setting == "acute_ward" else (CALIBRATED, CALIBRATED_IN_COMMUNITY)
            assert SCHEMA[name].source in marked
            assert SCHEMA[name].low <= low < high <= SCHEMA[name].high
        fitted = [p for p in PATTERNS if p.setting == setting and p.fitted]
        validated = [p for p in PATTERNS if p.setting == setting and not p.fitted]
        assert fitted and validated


def test_calibration_is_reproducible_whatever_the_number_of_workers(tmp_path):
    serial = calibrate("acute_ward", workers=1, **TINY)
    parallel = calibrate("acute_ward", workers=2, **TINY)
    assert serial.parameters == parallel.parameters
    assert serial.objective == parallel.objective
    assert serial.evaluations.equals(parallel.evaluations)
    for name, value in serial.parameters.items():
        low, high = FREE_PARAMETERS["acute_ward"][name]
        assert low <= value <= high
    assert serial.objective == pytest.approx(serial.evaluations["objective"].min())
    write_result(serial, tmp_path)
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert set(record) >= {"targets", "method", "budget", "seeds", "result", "free_parameters"}
    assert record["seeds"] == [0, 1]
    assert set(record["targets"]) == {p.key for p in PATTERNS if p.setting == "acute_ward" and p.fitted}
    shipped = tomllib.loads((tmp_path / "calibrated_parameters.toml").read_text())["parameters"]
    assert set(shipped) == set(FREE_PARAMETERS["acute_ward"])
    assert shipped["incident_rate"] == pytest.approx(serial.parameters["incident_rate"], rel=1e-5)


def test_the_objective_uses_common_random_numbers():
    objective = Objective("acute_ward", ["incident_rate"], [3, 4], run_days=(1, 3))
    assert objective(np.array([0.05])) == objective(np.array([0.05]))
    assert objective(np.array([0.05])) != objective(np.array([0.12]))


def test_settings_without_a_calibration_are_refused():
    with pytest.raises(ParameterError, match="day_program"):
        calibrate("day_program", **TINY)

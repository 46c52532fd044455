"""One outcome vocabulary and one way to run and measure a model, whoever asks for the numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from milieu_sim.analysis.calibration import problem, simulate
from milieu_sim.analysis.validation import MEASURED, PATTERNS, Experiment, run_arm
from milieu_sim.errors import ParameterError
from milieu_sim.experiments import outcomes
from milieu_sim.experiments.outcomes import COUNTS, OUTCOMES, SUMMARY_OUTCOMES, measure, vocabulary_markdown
from milieu_sim.experiments.runner import run_experiment, run_one, run_task
from milieu_sim.experiments.spec import spec_from_dict
from milieu_sim.model.params import setting_defaults

OUTPUTS_MD = Path(__file__).resolve().parent.parent / "docs" / "outputs.md"


def test_docs_outputs_md_holds_the_vocabulary_as_generated():
    text = OUTPUTS_MD.read_text(encoding="utf-8")
    section = text[text.index(outcomes.DOC_BEGIN) + len(outcomes.DOC_BEGIN) : text.index(outcomes.DOC_END)]
    assert section.strip() == vocabulary_markdown(), "run: python -m milieu_sim.experiments.outcomes docs/outputs.md"


def test_the_vocabulary_has_one_complete_definition_per_name():
    declared = [o.name for o in outcomes._OUTCOME_LIST]
    assert len(declared) == len(set(declared)) == len(OUTCOMES)
    for outcome in OUTCOMES.values():
        assert outcome.role in outcomes.ROLES
        for text in (outcome.definition, outcome.numerator, outcome.denominator, outcome.unit, outcome.warm_up):
            assert text.strip(), outcome.name
        assert outcome.weighting.startswith("pooled" if outcome.pooled_from else "per run"), outcome.name
    # validation reads only names of the vocabulary, and its arms measure all of them through run_one
    assert set(MEASURED) <= set(OUTCOMES)
    assert {"violent_client_share", "early_dropout_share"} <= set(MEASURED) & set(SUMMARY_OUTCOMES)
    import milieu_sim.analysis.validation as validation

    assert not hasattr(validation, "measure_run") and not hasattr(validation, "_seclusion_hours")


def _stays(rows: list[tuple]) -> pd.DataFrame:
    columns = ["admitted_day", "exit_day", "exit_reason", "length_of_stay_days", "violent_incidents"]
    return pd.DataFrame(rows, columns=columns)


def test_violent_share_counts_whole_stays_that_ended_after_the_warm_up():
    # ended before the warm-up (violent), still present (violent), ended after the warm-up: one of two violent
    stays = _stays(
        [
            (-5.0, 3.0, "completed", 8.0, 2),
            (1.0, math.nan, "still_present", 19.0, 1),
            (2.0, 12.0, "dropout", 10.0, 1),
            (6.0, 15.0, "completed", 9.0, 0),
        ]
    )
    steps = pd.DataFrame({"step": np.arange(1, 20 * 24 + 1), "day": np.arange(20 * 24) // 24})
    tables = {"stays": stays, "steps": steps}
    assert measure(tables, warmup_days=5, outcomes=["violent_client_share"]) == {"violent_client_share": 0.5}


def test_early_dropout_counts_admissions_that_could_be_followed_for_a_week():
    # a run of 20 days, warm-up 5: admissions on days 5-13 can be followed for 7 days, later ones cannot
    stays = _stays(
        [
            (2.0, 4.0, "dropout", 2.0, 0),  # admitted in the warm-up: not counted
            (6.0, 9.0, "dropout", 3.0, 0),  # early dropout
            (7.0, 19.0, "completed", 12.0, 0),
            (10.0, 18.0, "dropout", 8.0, 0),  # dropout after the first week
            (15.0, 17.0, "dropout", 2.0, 0),  # under 7 days of follow-up: not counted
            (16.0, math.nan, "still_present", 4.0, 0),  # under 7 days of follow-up: not counted
        ]
    )
    steps = pd.DataFrame({"step": np.arange(1, 20 * 24 + 1), "day": np.arange(20 * 24) // 24})
    result = measure({"stays": stays, "steps": steps}, warmup_days=5, outcomes=["early_dropout_share"])
    assert result == {"early_dropout_share": pytest.approx(1 / 3)}


def test_unknown_outcomes_and_impossible_warm_ups_are_one_line_errors():
    with pytest.raises(ParameterError, match="unknown outcome 'violent_share'"):
        run_one({"days": 2}, outcomes=["violent_share"])
    with pytest.raises(ParameterError, match="'warmup_days' = 3 is not allowed"):
        run_one({"days": 3, "warmup_days": 3})


def test_a_nan_outcome_comes_with_the_reason_it_is_undefined():
    reasons = outcomes.undefined({"skill_gain": math.nan, "conflict_per_shift": 1.0, "seconds": math.nan})
    assert reasons == {"skill_gain": "no stay ended after the warm-up"}


@pytest.fixture(scope="module")
def four_ways():
    """The same run (acute ward, usual care, seed 7, 14 days after a 4-day warm-up) measured four ways."""
    seed, warmup, days = 7, 4, 14
    incident_rate = setting_defaults("acute_ward")["incident_rate"]
    names = [n for n in OUTCOMES if n not in COUNTS]
    params = {"setting": "acute_ward", "policy": "usual_care", "incident_rate": incident_rate}
    api = run_experiment({**params, "seed": seed, "days": days, "warmup_days": warmup}, outcomes=names)
    spec = spec_from_dict(
        {
            "setting": "acute_ward",
            "policies": ["usual_care"],
            "days": days,
            "warmup_days": warmup,
            "seed": seed,
            "seeds": "sequential",
            "parameters": {"incident_rate": incident_rate},
            "outputs": {"outcomes": names},
        }
    )
    batch = run_task(spec.run(0))
    assert batch["ok"], batch.get("traceback")
    arm = Experiment("acute_usual_care", "acute_ward", "usual_care", days, warmup)
    validation = run_arm(arm, [seed]).iloc[0].to_dict()
    fitted = [p for p in PATTERNS if p.fitted and p.experiments == ("acute_usual_care",)]
    calibration_problem = problem(["incident_rate"], fitted, arm_days={"acute_ward": (warmup, days)})
    calibration = simulate(calibration_problem, {"incident_rate": incident_rate}, seed)  # patterns, as ABC sees them
    by_validation = {p.key: p.measure({"acute_usual_care": run_arm(arm, [seed])})[0] for p in fitted}
    return api, batch["outcomes"], validation, (calibration, by_validation)


def test_python_api_batch_runner_validation_and_calibration_measure_the_same_run_alike(four_ways):
    api, batch, validation, (calibration, by_validation) = four_ways
    assert set(calibration) == set(by_validation) and len(calibration) >= 3
    for key, value in calibration.items():
        assert value == pytest.approx(by_validation[key], nan_ok=True, rel=0, abs=0), key
    assert set(batch) == set(api) - {"seconds"}
    for name in batch:
        assert batch[name] == pytest.approx(api[name], nan_ok=True, rel=0, abs=0), name
    for name in MEASURED:
        assert validation[name] == pytest.approx(api[name], nan_ok=True, rel=0, abs=0), name
    for name in ("violent_client_share", "early_dropout_share", "conflict_per_shift", "seclusion_hours_mean"):
        assert np.isfinite(api[name]), f"{name}: pick a run where it is defined"
    assert api["shifts"] == 3 * (14 - 4)
    # the phases of stay split the events and the occupied bed-days without losing or adding any
    assert api["conflict_events_first_week"] + api["conflict_events_later"] == api["conflict_events"]
    assert api["containment_events_first_week"] + api["containment_events_later"] == api["containment_events"]
    assert api["bed_hours_first_week"] + api["bed_hours_later"] == api["bed_hours"] > 0
    for name, outcome in OUTCOMES.items():  # a pooled outcome of one run is its numerator over its denominator
        if outcome.pooled_from and name in api and np.isfinite(api[name]):
            num, den = outcome.pooled_from
            assert api[name] == pytest.approx(api[num] / (api[den] / outcome.pooled_scale)), name


def _ward(census: list[int], stays: list[tuple], events: list[tuple]) -> dict[str, pd.DataFrame]:
    """Hand-built tables: hourly census, stays (client, admitted_day, exit_day), events (step, client, category)."""
    hours = len(census)
    steps = pd.DataFrame({"step": np.arange(1, hours + 1), "census": census})
    steps["day"] = (steps["step"] - 1) // 24
    stays = pd.DataFrame(stays, columns=["client_id", "admitted_day", "exit_day"])
    stays["exit_reason"] = np.where(stays["exit_day"].isna(), "still_present", "completed")
    events = pd.DataFrame(events, columns=["step", "client_id", "category"])
    events["day"] = (events["step"] - 1) // 24
    return {"steps": steps, "stays": stays, "events": events}


def test_rates_per_occupied_bed_day_split_by_the_clients_day_of_stay():
    # 20 days; client 1 on the ward from day 0 (admitted 3 days before the run), client 2 admitted on day 10
    # (step 240) and still there; census = the stays present in each hour
    hours = 20 * 24
    census = [1 + (step >= 240) for step in range(1, hours + 1)]
    events = [
        (10, 1, "conflict"),  # client 1, day of stay 3.4: first week
        (200, 1, "conflict"),  # client 1, day 11.3: later
        (250, 2, "conflict"),  # client 2, day 0.4: first week
        (250, 2, "containment"),
        (420, 2, "containment"),  # client 2, day 7.5: later
    ]
    tables = _ward(census, [(1, -3.0, np.nan), (2, 10.0, np.nan)], events)
    names = [
        "bed_hours",
        "bed_hours_first_week",
        "bed_hours_later",
        "conflict_events_first_week",
        "conflict_events_later",
        "containment_events_first_week",
        "containment_events_later",
        "conflict_per_bed_day_first_week",
        "containment_per_bed_day_later",
    ]
    got = measure(tables, 0, names)
    # client 1: first week = steps 1..95 (4 days - 1 hour, from day -3 to day 4), the rest later; client 2:
    # steps 240..407 first week (168 hours), 408..480 later (73 hours)
    first = (4 * 24 - 1) + 168
    assert got["bed_hours"] == sum(census) == 480 + 241
    assert got["bed_hours_first_week"] == first and got["bed_hours_later"] == sum(census) - first
    assert (got["conflict_events_first_week"], got["conflict_events_later"]) == (2, 1)
    assert (got["containment_events_first_week"], got["containment_events_later"]) == (1, 1)
    assert got["conflict_per_bed_day_first_week"] == pytest.approx(2 / (first / 24))
    # after a 5-day warm-up, client 1's first week and the event of step 10 are left out
    late = measure(tables, 5, ["bed_hours_first_week", "conflict_events_first_week"])
    assert late == {"bed_hours_first_week": 168, "conflict_events_first_week": 1}


def test_clients_away_from_the_unit_are_not_occupied_bed_days():
    """A day programme: the census counts only the hours on the unit; both phases shrink in proportion."""
    hours = 14 * 24
    present = [1 if (step - 1) % 24 < 8 else 0 for step in range(1, hours + 1)]  # 8 hours a day on the unit
    tables = _ward(present, [(1, 0.0, np.nan)], [])
    got = measure(tables, 0, ["bed_hours", "bed_hours_first_week", "bed_hours_later"])
    assert got["bed_hours"] == 14 * 8 and got["bed_hours_first_week"] == got["bed_hours_later"] == 7 * 8


def _admitted_by_hand(stays: pd.DataFrame, client: int, day: float) -> float:
    """The admitted_day of the client's last stay admitted on or before the day, one stay at a time."""
    days = [a for c, a in zip(stays["client_id"], stays["admitted_day"], strict=True) if c == client and a <= day]
    return max(days) if days else math.nan


def test_an_event_belongs_to_the_last_stay_admitted_before_it():
    # person 7 readmitted twice (stays listed out of order), person 3 once; events on an admission's own day,
    # between stays, before any stay, and of someone with no stay
    stays = pd.DataFrame({"client_id": [7, 3, 7, 7], "admitted_day": [40.0, 5.0, 0.0, 12.5]})
    events = [(7, 0.0), (7, 12.4), (7, 12.5), (7, 39.0), (7, 41.0), (3, 4.9), (3, 5.0), (9, 20.0)]
    clients = pd.Series([c for c, _ in events])
    days = pd.Series([d for _, d in events])
    got = outcomes.stay_admitted_day(stays, clients, days)
    expected = [0.0, 0.0, 12.5, 12.5, 40.0, math.nan, 5.0, math.nan]
    np.testing.assert_array_equal(got, expected)
    # many people with several stays each, queried at random times (stays on the same day included)
    rng = np.random.default_rng(5)
    stays = pd.DataFrame({"client_id": rng.integers(0, 30, 120), "admitted_day": rng.integers(0, 50, 120) / 2.0})
    clients, days = pd.Series(rng.integers(0, 35, 2000)), pd.Series(rng.uniform(-5, 60, 2000).round(1))
    by_hand = [_admitted_by_hand(stays, c, d) for c, d in zip(clients, days, strict=True)]
    np.testing.assert_array_equal(outcomes.stay_admitted_day(stays, clients, days), by_hand)


@pytest.mark.parametrize("categorical", [True, False])
def test_labels_are_counted_alike_in_categorical_and_plain_columns(categorical):
    values = ["completed", "dropout", None, "completed", "transfer", "completed"]
    column = pd.Series(values, dtype="category" if categorical else object)
    if categorical:  # a label the column may hold but no row does
        column = column.cat.add_categories(["still_present"])
    assert outcomes.label_counts(column) == {"completed": 3, "dropout": 1, "transfer": 1}
    assert outcomes.label_counts(column, np.array([True, True, True, False, False, False])) == {
        "completed": 1,
        "dropout": 1,
    }
    assert outcomes.labels_are(column, "completed").tolist() == [True, False, False, True, False, True]
    assert not outcomes.labels_are(column, "still_present").any()
    assert not outcomes.labels_are(column, "no such label").any()

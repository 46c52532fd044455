"""Flashpoints, the Safewards levers that act on them, and the settings that differ (issue 11), on hand-built
states: each test sets up one hour and checks a consequence that could have come out otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from milieu_sim import MilieuModel
from milieu_sim.model.processes import escalation, flashpoints, flow, home, staff_response
from milieu_sim.model.processes.common import recent_antecedent
from milieu_sim.model.records import CONFLICT_KINDS, KIND
from milieu_sim.model.state import ANTECEDENTS, BAD_NEWS, CROWDING, TRANSGRESSION, TURNOVER


def ward(**parameters) -> MilieuModel:
    """A full acute ward before its first hour, everyone calm, active and attending, nothing else striking."""
    quiet = {"queue_flashpoint_rate": 0.0, "turnover_flashpoint_chance": 0.0, "bad_news_rate": 0.0}
    model = MilieuModel(rng=11, **{**quiet, **parameters})
    c, h = model.clients, model.hour
    c.agitation[:] = 0.1
    c.trust[:] = 0.5
    h.step, h.hour, h.kind, h.new_shift = 100, 14, "free_time", False
    h.active[:] = True
    c.attending[:] = True
    return model


def agitation_after(model: MilieuModel) -> np.ndarray:
    flashpoints.strike(model)
    return model.clients.agitation.copy()


# --- crowding and waiting -----------------------------------------------------------------------------------------
def test_no_queue_no_turnover_no_bad_news_no_flashpoint_however_full_the_ward():
    model = ward(queue_flashpoint_rate=10.0, turnover_flashpoint_chance=0.0)
    assert model.clients.present.all()  # a full ward
    before = model.clients.agitation.copy()
    np.testing.assert_array_equal(agitation_after(model), before)  # occupancy alone is not a flashpoint


def test_a_meal_queue_with_fewer_staff_to_serve_it_sets_off_more_waiting_flashpoints():
    rises = []
    for on_duty in (5, 1):
        model = ward(queue_flashpoint_rate=3.0)
        model.hour.kind = "meal"
        model.staff.on_duty[:] = False
        model.staff.on_duty[:on_duty] = True
        rises.append((agitation_after(model) - 0.1).sum())
    assert rises[1] > rises[0] > 0.0


def test_only_clients_in_the_queue_wait():
    model = ward(queue_flashpoint_rate=10.0, queue_service_rate=0.1)
    model.hour.kind = "meal"
    model.clients.attending[10:] = False  # at the meal: only the first ten
    after = agitation_after(model)
    assert (after[:10] > 0.1).all() and (after[10:] == 0.1).all()
    assert (model.clients.antecedent[:10] == CROWDING).all()


def test_medication_rounds_queue_everyone_active_at_the_nurses():
    wait_meal, wait_round = flashpoints.queue_waits(ward())
    assert wait_meal == wait_round == 0.0
    model = ward()
    model.hour.hour = flashpoints.MEDICATION_ROUND_HOURS[0]
    _, wait_round = flashpoints.queue_waits(model)
    nurses = np.count_nonzero(model.staff.on_duty & (model.staff.role == 0))
    assert wait_round == pytest.approx(20 / (2 * nurses * model.p["queue_service_rate"]))


# --- turnover --------------------------------------------------------------------------------------------------------
def test_turnover_counts_admissions_departures_and_handovers():
    model = ward()
    c, h = model.clients, model.hour
    assert flashpoints.turnover_events(model) == 0
    c.admitted_step[0] = h.step  # admitted this hour
    c.vacated_step[5] = h.step - 1  # a bed fell free at last hour's ward round
    h.new_shift = True
    assert flashpoints.turnover_events(model) == 3


def test_more_turnover_unsettles_more_clients():
    counts = []
    for events in (1, 3):
        model = ward(turnover_flashpoint_chance=0.2)
        model.clients.admitted_step[:events] = model.hour.step
        after = agitation_after(model)
        counts.append(int((after > 0.1).sum()))
        assert np.all(model.clients.antecedent[after > 0.1] == TURNOVER)
    assert counts[1] > counts[0]


# --- bad news and its mitigation ----------------------------------------------------------------------------------
def test_bad_news_talked_through_agitates_less_and_is_the_antecedent():
    rises = {}
    for mitigation in (0.0, 1.0):
        model = ward(bad_news_rate=1.0, bad_news_mitigation=mitigation)
        rises[mitigation] = agitation_after(model) - 0.1
        c = model.clients
        assert recent_antecedent(c.antecedent, c.antecedent_step, 3, model.hour.step + 1, 2) == BAD_NEWS
    assert (rises[0.0] > 0).all()
    np.testing.assert_allclose(rises[1.0], rises[0.0] * model.p["bad_news_mitigated_kept"])
    assert ANTECEDENTS[BAD_NEWS] == "bad_news"


def test_a_flashpoint_is_named_as_the_antecedent_of_the_incident_it_sets_off():
    model = ward(bad_news_rate=1.0, bad_news_agitation=1.0)
    flashpoints.strike(model)
    slots = np.array([2])
    v = np.ones((1, 3))  # no talking down: the incident is contained
    escalation.answer_incidents(model, slots, np.array([1]), v)
    events = model.records.events_frame()
    incident = events[events["kind"].isin(CONFLICT_KINDS)]
    assert list(incident["antecedent"]) == ["bad_news"]


# --- Safewards levers in the staff response and at admission -------------------------------------------------------
def respond_to_transgressions(**parameters) -> tuple[MilieuModel, np.ndarray]:
    model = ward(request_rate=0.0, **parameters)
    h = model.hour
    h.behaviour[:] = TRANSGRESSION
    h.observer[:] = 0
    h.observer_step = h.step  # everyone is seen by staff member 0
    before = model.clients.agitation.copy()
    staff_response.respond(model)
    return model, model.clients.agitation - before


def test_soft_words_take_agitation_out_of_limits():
    _, harsh = respond_to_transgressions(punishment_rate=0.0, limit_setting_rate=1.0)
    _, soft = respond_to_transgressions(punishment_rate=0.0, limit_setting_rate=1.0, soft_words=1.0)
    assert (harsh > 0).all()
    np.testing.assert_allclose(soft, harsh * (1 - 0.5))  # soft_words_effect 0.5 at full fidelity


def test_soft_words_make_a_denied_request_cost_less_trust():
    losses = []
    for soft in (0.0, 1.0):
        model = ward(request_rate=1.0, request_denial_rate=1.0, soft_words=soft)
        model.hour.behaviour[:] = 0
        staff_response.respond(model)
        losses.append(0.5 - model.clients.trust.mean())
    assert losses[0] > losses[1] > 0


def test_clear_mutual_expectations_mean_fewer_rule_disputes():
    def disputes(**p):
        model, _ = respond_to_transgressions(**p)
        kinds = model.records.events_frame()["kind"]
        return int(kinds.isin(["limit_setting", "restriction"]).sum())

    usual = disputes()
    clear = disputes(clear_mutual_expectations=1.0)
    assert usual > clear > 0


def test_discharge_messages_calm_and_hearten_new_admissions():
    model = MilieuModel(rng=4)
    hopeful = MilieuModel(rng=4, discharge_messages=1.0)
    for m in (model, hopeful):
        flow.exit_client(m, 0, "completed")
        flow.admit_client(m, 0)
    c, d = model.clients, hopeful.clients
    assert c.admission_number[0] == d.admission_number[0]  # the same person, drawn from the same numbers
    assert d.agitation[0] < c.agitation[0]
    assert d.trust[0] > c.trust[0] and d.baseline_trust[0] == d.trust[0]


def test_every_safewards_lever_of_this_half_is_zero_under_usual_care():
    from milieu_sim.model.policies import PRESETS, SAFEWARDS_INTERVENTIONS

    model = MilieuModel(rng=1)
    for lever in SAFEWARDS_INTERVENTIONS:
        assert model.p[lever] == 0.0
        assert PRESETS["safewards"][lever] > 0.0
    assert PRESETS["safewards"]["de_escalation_skill"] > model.p["de_escalation_skill"]
    assert "peer_feedback" not in PRESETS["safewards"]  # not the therapeutic milieu


# --- settings that differ --------------------------------------------------------------------------------------------
def contained_with(setting: str, kind: str, **parameters) -> list[str]:
    """The containment that follows a failed response to one incident of ``kind`` (no talking down)."""
    model = MilieuModel(setting=setting, rng=5, **parameters)
    model.step()
    slot = int(np.flatnonzero(model.clients.present & ~model.clients.isolated)[0])
    model.hour.observer[slot] = 0 if model.staff.on_duty[0] else int(np.flatnonzero(model.staff.on_duty)[0])
    before = len(model.records.events_frame())
    escalation.answer_incidents(model, np.array([slot]), np.array([CONFLICT_KINDS.index(kind)]), np.ones((1, 3)))
    events = model.records.events_frame().iloc[before:]
    return [k for k in events["kind"] if k not in CONFLICT_KINDS and k != "verbal_de_escalation"]


def test_a_residential_community_contains_without_seclusion_restraint_or_prn():
    assert contained_with("acute_ward", "physical_aggression") == ["restraint", "seclusion"]
    assert contained_with("acute_ward", "verbal_aggression") == ["prn_medication"]
    assert contained_with("residential_tc", "physical_aggression") == ["time_out"]
    assert contained_with("residential_tc", "verbal_aggression") == ["time_out"]
    assert contained_with("residential_tc", "self_harm") == ["special_observation"]


def test_a_residential_community_can_have_them_back():
    back = {"ward_map": "community", "prn_available": True, "restraint_available": True}
    assert contained_with("residential_tc", "physical_aggression", **back) == ["restraint", "seclusion"]
    assert contained_with("residential_tc", "verbal_aggression", **back) == ["prn_medication"]


def test_no_prn_is_offered_unprompted_where_there_is_none():
    kinds = MilieuModel(setting="residential_tc", rng=2, days=20).run().tables()["events"]["kind"]
    assert not kinds.isin(["prn_medication", "restraint", "seclusion"]).any()
    assert (kinds == "time_out").any()


# --- the day programme's home -----------------------------------------------------------------------------------------
def test_day_programme_clients_at_home_are_off_the_census():
    model = MilieuModel(setting="day_program", rng=6, days=2).run()
    steps = model.tables()["steps"]
    away = steps["activity"].astype(str) == "away"
    assert (steps.loc[away, "census"] == steps.loc[away, "n_isolated"]).all()  # only a secluded client stays
    assert (steps.loc[~away, "census"] > 0).all()
    assert steps.loc[away, "conflict_events"].sum() == 0


def at_home(hour: int, **parameters) -> MilieuModel:
    model = MilieuModel(setting="day_program", rng=7, **parameters)
    c, h = model.clients, model.hour
    h.step, h.hour, h.kind, h.away, h.awake = 200, hour, "away", True, False
    c.on_unit[:] = False
    c.agitation[:] = 0.3
    return model


def test_stress_at_home_in_waking_hours_and_none_in_the_home_night():
    evening = at_home(19, home_stress_rate=1.0, home_support_rate=0.0)
    home.live_at_home(evening)
    assert (evening.clients.agitation > 0.3).all()
    night = at_home(2, home_stress_rate=1.0, home_support_rate=0.0)
    home.live_at_home(night)
    assert (night.clients.agitation == 0.3).all()


def test_support_at_home_calms():
    model = at_home(19, home_stress_rate=0.0, home_support_rate=1.0)
    home.live_at_home(model)
    np.testing.assert_allclose(model.clients.agitation, 0.3 * (1 - model.p["home_support_calm"]))


def test_an_evening_at_home_is_not_sleep():
    from milieu_sim.model.processes import recovery

    settled = {}
    for hour in (19, 2):  # awake at home, asleep at home
        model = at_home(hour, agitation_noise=0.0)
        model.clients.symptoms[:] = 0.0
        recovery.recover(model)
        settled[hour] = 0.3 - model.clients.agitation.mean()
    assert settled[2] > settled[19] > 0  # agitation settles faster asleep


def test_event_kinds_used_here_exist():
    for kind in ("limit_setting", "restriction", "time_out", "prn_medication", "restraint", "seclusion"):
        assert kind in KIND

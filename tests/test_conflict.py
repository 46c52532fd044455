"""Conflict as a social process (issue 11): targets and witnesses, ward climate, observation levels, and the
Safewards levers that act on them, each on small hand-built states."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import climate, escalation, flow, isolation, movement, observation
from milieu_sim.model.records import CONFLICT_KINDS
from milieu_sim.model.state import (
    ARMS_LENGTH,
    CLIENT_PARTNER,
    COHESION,
    GENERAL,
    HOLD,
    LIMIT_SETTING,
    PEER_CONFLICT,
    SAFETY,
    WITHIN_SIGHT,
)
from milieu_sim.model.ward import ZONE_CODE

THERAPY_STEP = 4  # Monday 10:00, awake, early shift
DAY_ROOM, BEDROOM = ZONE_CODE["day_room"], ZONE_CODE["bedroom"]


def scene(n: int = 4, **kwargs) -> MilieuModel:
    """A ward at 10:00 with the early shift on duty: clients 0..n-1 and staff 0 in the day room, a few cells
    apart; every other on-duty staff member off the floor."""
    model = MilieuModel(rng=2, n_clients=n, **kwargs)
    set_clock(model, THERAPY_STEP)
    movement.change_shift(model)
    day = model.plan.zone_cells[DAY_ROOM]
    c, s = model.clients, model.staff
    c.cell[:] = day[:n]
    on = np.flatnonzero(s.on_duty)
    s.cell[on] = -1  # the others are off the floor
    s.cell[on[0]] = day[n]
    c.agitation[:] = 0.3
    c.trust[:] = 0.6
    c.fear[:] = 0.0
    model.hour.active[:] = True
    model.hour.observer_step = -1
    isolation.draw(model)
    return model


def incident(model, kind: str, slot: int = 0, talk: float = 0.99, w=(0.99, 0.99, 0.99)) -> None:
    """Client ``slot`` has an incident of ``kind``; no de-escalation (talk first drawn at ``talk``)."""
    escalation.answer_incidents(
        model,
        np.array([slot]),
        np.array([CONFLICT_KINDS.index(kind)]),
        np.array([[talk, 0.99, 0.99]]),
        np.array([w]),
    )


def incident_row(model):
    events = model.records.events_frame()
    return events[events["category"] == "conflict"].iloc[-1]


# --- targets ------------------------------------------------------------------------------------------------
def test_an_incident_after_a_limit_set_by_a_nurse_targets_that_nurse():
    model = scene(3, de_escalation_first=0.0)
    c, s = model.clients, model.staff
    nurse = int(np.flatnonzero(s.on_duty)[0])
    c.antecedent[0], c.antecedent_step[0] = LIMIT_SETTING, THERAPY_STEP
    escalation.note_antecedent_sources(c.view(escalation.EscalationClients), movement.observers(model), THERAPY_STEP)
    assert c.antecedent_source[0] == nurse
    incident(model, "verbal_aggression")
    row = incident_row(model)
    assert row["target_role"] == "staff" and row["target_id"] == s.staff_id[nurse]
    assert model.hour.incidents_on_staff == 1


def test_an_incident_after_a_peer_conflict_targets_that_peer_and_hurts_them():
    model = scene(3)
    c = model.clients
    c.antecedent[0], c.antecedent_step[0] = PEER_CONFLICT, THERAPY_STEP
    c.antecedent_source[0], c.antecedent_source_kind[0] = 2, CLIENT_PARTNER
    before = c.agitation[2], c.trust[2]
    incident(model, "physical_aggression")
    row = incident_row(model)
    assert row["target_role"] == "client" and row["target_id"] == c.client_id[2]
    assert c.agitation[2] > before[0] and c.trust[2] < before[1] and c.fear[2] > 0
    assert model.hour.incidents_on_clients == 1


@pytest.mark.parametrize(
    ("kind", "role"), [("self_harm", "self"), ("aggression_objects", "property"), ("absconding", "none")]
)
def test_the_kind_of_incident_fixes_some_targets(kind, role):
    model = scene(3)
    incident(model, kind)
    row = incident_row(model)
    assert row["target_role"] == role
    assert (row["target_id"] == model.clients.client_id[0]) if role == "self" else row["target_id"] == -1


# --- witnesses ----------------------------------------------------------------------------------------------
def test_witnesses_in_sight_are_counted_and_feel_less_safe_the_others_not():
    model = scene(4, witness_radius=4)
    c = model.clients
    c.cell[3] = c.bed[3]  # in a bedroom: out of sight
    before = c.agitation.copy()
    incident(model, "aggression_objects")
    row = incident_row(model)
    assert row["witnesses"] == 2
    assert np.all(c.fear[[1, 2]] > 0) and np.all(c.agitation[[1, 2]] > before[[1, 2]])
    assert c.fear[3] == 0 and c.agitation[3] == before[3]
    assert model.hour.incident_exposure == pytest.approx(3 / 5 * (1 + 2))


def test_nobody_witnesses_in_the_night():
    model = scene(3)
    set_clock(model, 21)  # 03:00, asleep
    incident(model, "verbal_aggression")
    assert incident_row(model)["witnesses"] == 0


def test_reassurance_lowers_what_the_witnesses_feel_same_draws():
    felt = {}
    for lever in (0.0, 1.0):
        model = scene(3, reassurance=lever, reassurance_relief=0.5, de_escalation_first=0.0)
        incident(model, "aggression_objects", w=(0.5, 0.99, 0.99))  # against property: the others all witness it
        felt[lever] = model.clients.agitation[1:].copy(), model.clients.fear[1:].copy()
    assert np.all(felt[1.0][0] < felt[0.0][0]) and np.all(felt[1.0][1] < felt[0.0][1])
    assert np.allclose(felt[1.0][0] - 0.3, 0.5 * (felt[0.0][0] - 0.3))


def test_witnessed_agitation_makes_the_next_incidents_likelier():
    model = scene(3, witness_agitation=0.3)
    before = escalation.incident_probability(model)[1]
    incident(model, "physical_aggression")
    assert escalation.incident_probability(model)[1] > before


# --- the isolation threshold --------------------------------------------------------------------------------
def test_isolation_threshold_four_and_five_give_different_tables():
    tables = {t: MilieuModel(rng=3, days=20, isolation_threshold=t).run().tables() for t in (4, 5)}
    events = {t: tables[t]["events"] for t in tables}
    assert not events[4].equals(events[5])
    secluded_self_harm = {t: ((e["kind"] == "seclusion") & (e["severity"] == 4)).sum() for t, e in events.items()}
    assert secluded_self_harm[4] > 0 and secluded_self_harm[5] == 0


def test_self_harm_is_secluded_from_threshold_four_and_observed_above():
    for threshold, last in ((4, "seclusion"), (5, "special_observation")):
        model = scene(2, isolation_threshold=threshold)
        incident(model, "self_harm")
        assert list(model.records.events_frame()["kind"])[-1] == last


# --- calm-down methods --------------------------------------------------------------------------------------
def test_calm_down_methods_settle_an_incident_without_prn():
    usual, calm = scene(2, calm_down_methods=0.0), scene(2, calm_down_methods=1.0, calm_down_success=1.0)
    for model in (usual, calm):
        incident(model, "verbal_aggression", w=(0.99, 0.5, 0.5))
    assert list(usual.records.events_frame()["kind"])[-1] == "prn_medication"
    kinds = list(calm.records.events_frame()["kind"])
    assert "prn_medication" not in kinds and kinds[-1] == "calm_down"
    assert incident_row(calm)["outcome"] == "resolved"
    assert calm.hour.containment_events == 0 and usual.hour.containment_events == 1


# --- observation levels -------------------------------------------------------------------------------------
def test_risk_sets_the_observation_level_counted_as_containment_with_a_staff_member_of_its_own():
    model = scene(3, observation_self_harm_weight=1.0, observation_arms_length_risk=2.0)
    c, s = model.clients, model.staff
    c.self_harm_memory[:] = [2.5, 1.2, 0.0]
    c.self_control[:] = 0.5
    c.agitation[:] = 0.3
    set_clock(model, 9)  # 15:00: a new shift, a review
    movement.change_shift(model)
    on = np.flatnonzero(s.on_duty)
    s.cell[on] = model.plan.zone_cells[ZONE_CODE["corridor"]][: on.size]
    observation.observe(model)
    assert list(c.observation_level) == [ARMS_LENGTH, WITHIN_SIGHT, GENERAL]
    assert model.hour.containment_events == 2
    kinds = model.records.events_frame()["kind"].astype(str)
    assert (kinds == "special_observation").sum() == 2
    arms, sight = c.observation_escort[0], c.observation_escort[1]
    assert arms >= 0 and sight >= 0 and arms != sight
    assert s.cell[arms] == c.cell[0] and s.observe_radius[arms] == 0
    assert s.observe_radius[sight] == model.p["staff_observe_radius"]
    assert movement.observers(model)[0] >= 0
    # the next hour (no review) keeps them; a client whose risk has fallen keeps their level only until the next review
    set_clock(model, 10)
    observation.observe(model)
    assert model.hour.containment_events == 0 and c.observation_escort[0] == arms


def test_close_observation_takes_staff_away_from_where_they_would_be():
    free, busy = scene(3), scene(3)
    busy.clients.self_harm_memory[0] = 3.0
    for model in (free, busy):
        set_clock(model, 9)
        movement.change_shift(model)
        movement.move(model)
        observation.observe(model)
    escort = busy.clients.observation_escort[0]
    assert escort >= 0 and busy.staff.cell[escort] == busy.clients.cell[0]
    assert free.clients.observation_escort[0] == -1


# --- ward climate -------------------------------------------------------------------------------------------
def climate_hour(model, step=None):
    """The climate after this hour (after moving the clock to ``step``, which clears the hour's tallies)."""
    if step is not None:
        set_clock(model, step)
    model.hour.partner_kind[:] = 0
    model.streams["climate"] = FixedStream(0.5)
    climate.update_climate(model)
    return model.climate.values.copy()


def test_incidents_seen_by_many_wear_down_experienced_safety():
    quiet, loud = scene(4), scene(4)
    incident(loud, "aggression_objects")
    assert climate_hour(loud)[SAFETY] < climate_hour(quiet)[SAFETY]


def test_coercion_wears_down_therapeutic_hold_and_staff_time_builds_it():
    model = scene(4)
    base = climate_hour(scene(4))[HOLD]
    model.hour.coercion = 2.0
    assert climate_hour(model)[HOLD] < base
    warm = scene(4)
    set_clock(warm, THERAPY_STEP)
    warm.hour.partner_kind[:] = 2  # every client spends the hour with a staff member, peacefully
    warm.hour.conflictual[:] = False
    warm.streams["climate"] = FixedStream(0.5)
    climate.update_climate(warm)
    assert warm.climate.values[HOLD] > base


def test_positive_words_raise_hold_at_handover_and_a_mutual_help_meeting_raises_cohesion():
    plain, positive = scene(3), scene(3, positive_words=1.0)
    assert climate_hour(positive, 9)[HOLD] > climate_hour(plain, 9)[HOLD]  # 15:00, a handover
    plain, meeting = scene(3), scene(3, mutual_help_meeting=1.0)
    assert climate.MEETING_HOUR == flow.WARD_ROUND_HOUR
    assert climate_hour(meeting, 5)[COHESION] > climate_hour(plain, 5)[COHESION]  # 11:00


def test_know_each_other_makes_peaceful_encounters_build_more_trust():
    from milieu_sim.model.processes import interaction

    gains = {}
    for lever in (0.0, 1.0):
        model = scene(2, know_each_other=lever, interaction_rate=1.0, conflict_rate=0.0)
        model.streams["interaction"] = FixedStream(0.0)
        before = model.clients.trust.copy()
        interaction.interact(model)
        gains[lever] = model.clients.trust - before
    assert np.all(gains[1.0] > gains[0.0])


def test_behaviour_reads_the_climate():
    model = scene(2)
    model.clients.detained[:] = False  # a detained client cannot drop out at all (6.22)
    model.climate.values[:] = model.p["climate_baseline"]
    assert climate.attendance_factor(model) == climate.feedback_factor(model) == climate.dropout_factor(model) == 1
    model.climate.values[HOLD] = 1.0
    model.climate.values[COHESION] = 1.0
    assert climate.attendance_factor(model) > 1 and climate.feedback_factor(model) > 1
    low = flow.dropout_hazard(model)
    model.climate.values[COHESION] = 0.0
    assert np.all(flow.dropout_hazard(model) > low)


def test_the_climate_is_reported_per_hour_and_per_shift():
    tables = MilieuModel(rng=1, days=2).run().tables()
    steps, shifts = tables["steps"], tables["shifts"]
    for scale in ("safety", "cohesion", "hold"):
        column = f"climate_{scale}"
        assert steps[column].between(0, 1).all()
        assert shifts[column].iloc[0] == pytest.approx(steps[column].iloc[:8].mean())

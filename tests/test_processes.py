"""Each process does what its docstring says, on small hand-built states."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import escalation, feedback, flow, isolation, modeling, recovery, staff_response
from milieu_sim.model.records import CONFLICT_KINDS
from milieu_sim.model.state import (
    CLIENT_PARTNER,
    LIMIT_SETTING,
    PRIMARY,
    PROSOCIAL,
    PUNISHMENT,
    SENIOR,
    STAFF_PARTNER,
    TRANSGRESSION,
)
from milieu_sim.model.ward import ZONE_CODE

THERAPY_STEP = 4  # Monday 10:00, therapy group (trains coping)
NIGHT_STEP = 21  # Tuesday 03:00, asleep
WARD_ROUND_STEP = 5  # Monday 11:00


def ward(n: int = 3, **kwargs) -> MilieuModel:
    model = MilieuModel(rng=2, n_clients=n, **kwargs)
    return model


def encounter(model, kinds, partners, behaviour=None):
    """Set this hour's encounters (in place: kernels hold views of the hour's arrays)."""
    h = model.hour
    h.partner_kind[:] = kinds
    h.partner[:] = partners
    h.conflictual[:] = False
    h.behaviour[:] = behaviour if behaviour is not None else 0
    h.active[:] = True


def test_modeling_moves_towards_the_partner_weighted_by_prestige_and_trust():
    model = ward(3, modeling_rate=0.1, staff_prestige=1.0, peer_prestige=0.5, senior_prestige=1.5)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.values[0:4, :] = np.array([[0.2], [0.3], [0.4], [0.5]])
    c.values[0:4, 2] = 0.9  # a skilled peer
    c.trust[:] = [0.5, 1.0, 0.8]
    model.staff.model_quality[0] = 0.8
    encounter(model, [STAFF_PARTNER, CLIENT_PARTNER, 0], [0, 2, -1])
    before = c.values[0:4].copy()
    modeling.learn_by_modeling(model)
    expected_staff = before[:, 0] + 0.1 * 1.0 * 0.5 * (0.8 - before[:, 0])
    expected_peer = before[:, 1] + 0.1 * 0.5 * 1.0 * (0.9 - before[:, 1])
    assert np.allclose(c.values[0:4, 0], expected_staff)
    assert np.allclose(c.values[0:4, 1], expected_peer)
    assert np.allclose(c.values[0:4, 2], before[:, 2])  # no encounter, no learning
    # a senior peer has more prestige than an ordinary one
    c.values[0:4, 1] = before[:, 1]
    c.phase[2] = SENIOR
    modeling.learn_by_modeling(model)
    assert np.all(c.values[0:4, 1] - before[:, 1] > expected_peer - before[:, 1])


def test_peer_feedback_weighs_more_than_staff_feedback():
    model = ward(3, peer_feedback=True, peer_feedback_rate=1.0, staff_feedback_rate=1.0, feedback_learning=0.1)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.values[0:3] = 0.3
    c.trust[:] = 0.6
    model.streams["feedback"] = FixedStream(0.0)
    encounter(model, [CLIENT_PARTNER, STAFF_PARTNER, 0], [2, 0, -1], behaviour=[PROSOCIAL, PROSOCIAL, 0])
    feedback.give_feedback(model)
    peer_gain = c.coping_skill[0] - 0.3
    staff_gain = c.coping_skill[1] - 0.3
    assert peer_gain == pytest.approx(0.1 * model.p["peer_feedback_weight"] * 0.7)
    assert staff_gain == pytest.approx(0.1 * model.p["staff_feedback_weight"] * 0.7)
    assert peer_gain > staff_gain
    rows = model.records.feedback_frame()
    assert list(rows["sender_role"]) == ["client", "staff"]
    assert list(rows["kind"]) == ["affirmation", "affirmation"]
    assert c.affirmation_memory[0] == 1.0 and c.feedback_sent[2] == 1


def test_receiving_affirmations_raises_ones_own_sending():
    model = ward(2, peer_feedback=True, peer_feedback_rate=0.3, affirmation_sending_boost=0.15)
    set_clock(model, THERAPY_STEP)
    model.clients.phase[1] = PRIMARY  # the sender's phase factor is 1 (a newcomer sends less, a senior more)
    model.streams["feedback"] = FixedStream(0.35)
    encounter(model, [CLIENT_PARTNER, 0], [1, -1], behaviour=[PROSOCIAL, 0])
    feedback.give_feedback(model)
    assert model.records.feedback.rows == 0  # chance 0.3 < 0.35
    model.clients.affirmation_memory[1] = 2.0  # the sender has been affirmed twice recently
    feedback.give_feedback(model)
    assert model.records.feedback.rows == 1  # chance 0.3 * (1 + 0.15 * 2) = 0.39 > 0.35


def test_memories_of_affirmations_outlast_corrections():
    model = ward(1)
    decay = recovery.PARAMETERS(model.p)[0]  # the recovery process's per-hour decays
    assert decay.affirmation_decay > decay.correction_decay
    weeks_8 = decay.affirmation_decay ** (8 * 7 * 24)
    assert weeks_8 == pytest.approx(math.exp(-1.0))


def test_no_peer_feedback_when_the_policy_has_none():
    model = ward(2, peer_feedback=False, peer_feedback_rate=1.0)
    set_clock(model, THERAPY_STEP)
    model.streams["feedback"] = FixedStream(0.0)
    encounter(model, [CLIENT_PARTNER, 0], [1, -1], behaviour=[TRANSGRESSION, 0])
    feedback.give_feedback(model)
    assert model.records.feedback.rows == 0


def _observed(model):
    h = model.hour
    h.observer[:] = 0
    h.observer_step = h.step


def test_limit_setting_raises_agitation_more_when_trust_is_low():
    lam = 0.2
    model = ward(2, limit_setting_agitation=lam, punishment_rate=0.0, limit_setting_rate=1.0, request_rate=0.0)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:] = 0.3
    c.trust[:] = [0.2, 0.9]
    _observed(model)
    encounter(model, [0, 0], [-1, -1], behaviour=[TRANSGRESSION, TRANSGRESSION])
    model.streams["staff_response"] = FixedStream(0.5)
    staff_response.respond(model)
    assert c.agitation[0] == pytest.approx(0.3 + lam * (1 - 0.2 / 2))
    assert c.agitation[1] == pytest.approx(0.3 + lam * (1 - 0.9 / 2))
    assert c.antecedent[0] == LIMIT_SETTING
    assert list(model.records.events_frame()["kind"]) == ["limit_setting", "limit_setting"]


def test_punishment_suppresses_now_erodes_trust_and_feeds_agitation():
    lam, loss = 0.1, 0.05
    model = ward(
        2, limit_setting_agitation=lam, punishment_rate=1.0, punishment_trust_loss=loss, punishment_suppression=0.6
    )
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:] = 0.3
    c.trust[:] = 0.6
    c.resentment[:] = 0.0
    _observed(model)
    encounter(model, [0, 0], [-1, -1], behaviour=[TRANSGRESSION, 0])
    model.streams["staff_response"] = FixedStream(table=np.array([0.5, 0.5, 0.99, 0.99]))
    staff_response.respond(model)
    assert c.agitation[0] == pytest.approx(0.3 + 2 * lam * (1 - 0.6 / 2))  # punitive: twice the limit's
    assert c.trust[0] == pytest.approx(0.6 - loss)
    assert c.suppression[0] == 0.6 and c.resentment[0] == model.p["resentment_gain"]
    assert c.antecedent[0] == PUNISHMENT
    assert c.agitation[1] == 0.3 and c.trust[1] == 0.6  # nothing happened to the other client


def test_reinforcement_by_tokens_builds_external_share_and_praise_does_not():
    model = ward(2, reinforcement_rate=1.0, token_rewards=0.5, reinforcement_learning=0.1)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.coping_skill[:] = 0.4
    c.external_share[:] = 0.0
    _observed(model)
    encounter(model, [0, 0], [-1, -1], behaviour=[PROSOCIAL, PROSOCIAL])
    model.streams["staff_response"] = FixedStream(table=np.array([[0.0, 0.1, 0.99, 0.99], [0.0, 0.9, 0.99, 0.99]]))
    staff_response.respond(model)
    assert np.allclose(c.coping_skill, 0.4 + 0.1 * 0.6)
    assert c.external_share[0] == pytest.approx(0.1) and c.external_share[1] == 0.0
    assert list(model.records.events_frame()["kind"]) == ["token_reward", "praise"]


def test_incident_chance_is_the_rate_when_agitation_equals_self_control():
    model = ward(3, incident_rate=0.05)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:] = [0.4, 0.8, 0.1]
    c.self_control[:] = 0.4
    chance = escalation.incident_probability(model)
    assert chance[0] == pytest.approx(0.05)
    assert chance[1] > chance[0] > chance[2]
    set_clock(model, NIGHT_STEP)
    assert escalation.incident_probability(model)[0] == pytest.approx(0.05 * 0.3)


@pytest.mark.parametrize("rate", [0.05, 0.5, 0.9])
def test_incidents_are_the_slots_whose_draw_is_below_their_chance(rate):
    """The hour's incidents skip the chance where the draw is above its ceiling: the slots must still be exactly
    those with u < chance, awake and asleep, with draws on and around the ceiling and the chances."""
    model = ward(12, incident_rate=rate)
    c = model.clients
    rng = np.random.default_rng(3)
    q = escalation.PARAMETERS(model.p)
    for step in (THERAPY_STEP, NIGHT_STEP):
        set_clock(model, step)
        for _ in range(200):
            c.agitation[:] = rng.random(12)
            c.self_control[:] = rng.random(12)
            c.isolated[:] = rng.random(12) < 0.1
            chance = escalation.incident_probability(model)
            ceiling = min(1.0, rate * 2.0) * (1.0 if model.hour.awake else model.p["incident_sleep_factor"])
            u = rng.random(12) * 2.0 * ceiling
            u[:3] = [ceiling, np.nextafter(ceiling, 0.0), chance[3]]  # on and just below the ceiling; a chance
            slots = escalation._incidents(u, c.values, c.present, c.isolated, c.cell, c.antecedent,
                                          c.antecedent_step, model.hour.step, model.hour.awake, q)  # fmt: skip
            assert slots.tolist() == np.flatnonzero(u < chance).tolist()
    assert any(chance > 0) and not all(chance > 0)


def test_more_excess_makes_severe_incidents_likelier_but_any_can_happen():
    model = ward(1)
    c = model.clients
    grid = (np.arange(2000) + 0.5) / 2000

    def shares(agitation):
        c.agitation[0], c.self_control[0] = agitation, 0.3
        kinds = np.array([escalation.incident_kind(model, 0, u) for u in grid])
        return np.bincount(kinds, minlength=len(CONFLICT_KINDS)) / grid.size

    calm, furious = shares(0.3), shares(0.9)
    physical = CONFLICT_KINDS.index("physical_aggression")
    assert calm[physical] > 0  # escalation can jump straight to physical aggression
    assert furious[physical] > 2 * calm[physical]


@pytest.fixture
def incident_ward():
    def build(kind: str, **kwargs):
        model = ward(2, **kwargs)
        set_clock(model, THERAPY_STEP)
        _observed(model)
        isolation.draw(model)
        return model, CONFLICT_KINDS.index(kind)

    return build


def test_successful_de_escalation_calms_without_containment(incident_ward):
    model, model_kind = incident_ward("verbal_aggression", de_escalation_first=1.0, de_escalation_calm=0.5)
    model.staff.de_escalation_skill[0] = 1.0
    model.clients.trust[0] = 1.0
    model.clients.agitation[0] = 0.8
    escalation.answer_incidents(
        model, np.array([0]), np.array([model_kind]), np.array([0.0, 0.5, 0.9])[None, :]
    )  # success chance 0.85 > 0.5
    events = model.records.events_frame()
    assert list(events["kind"]) == ["verbal_de_escalation", "verbal_aggression"]
    assert list(events["outcome"]) == ["resolved", "resolved"]
    assert model.clients.agitation[0] == pytest.approx(0.4)
    assert model.hour.containment_events == 0 and model.hour.conflict_events == 1


def test_failed_de_escalation_of_verbal_aggression_ends_in_prn(incident_ward):
    model, model_kind = incident_ward("verbal_aggression", de_escalation_first=1.0)
    escalation.answer_incidents(model, np.array([0]), np.array([model_kind]), np.array([0.0, 0.999, 0.9])[None, :])
    kinds = list(model.records.events_frame()["kind"])
    assert kinds == ["verbal_de_escalation", "verbal_aggression", "prn_medication"]
    assert model.hour.containment_events == 1


def test_physical_aggression_beyond_the_threshold_ends_in_restraint_and_seclusion(incident_ward):
    model, model_kind = incident_ward("physical_aggression", de_escalation_first=0.0, isolation_threshold=5)
    escalation.answer_incidents(model, np.array([0]), np.array([model_kind]), np.array([0.9, 0.0, 0.9])[None, :])
    kinds = list(model.records.events_frame()["kind"])
    assert kinds == ["physical_aggression", "restraint", "seclusion"]
    c = model.clients
    assert c.isolated[0]
    assert model.plan.zone_of(c.cell[0]) == ZONE_CODE["seclusion_room"]
    assert model.client_agents[0].cell is model.cells[c.cell[0]]
    assert c.violent_incidents[0] == 1 and model.hour.containment_events == 2


def test_a_restrictive_threshold_secludes_aggression_against_objects(incident_ward):
    lenient, lenient_kind = incident_ward("aggression_objects", de_escalation_first=0.0, isolation_threshold=5)
    escalation.answer_incidents(lenient, np.array([0]), np.array([lenient_kind]), np.array([0.9, 0.0, 0.9])[None, :])
    strict, strict_kind = incident_ward("aggression_objects", de_escalation_first=0.0, isolation_threshold=3)
    escalation.answer_incidents(strict, np.array([0]), np.array([strict_kind]), np.array([0.9, 0.0, 0.9])[None, :])
    assert list(lenient.records.events_frame()["kind"])[-1] == "time_out"
    assert list(strict.records.events_frame()["kind"])[-1] == "seclusion"


def test_self_harm_leads_to_special_observation_counted_each_shift(incident_ward):
    from milieu_sim.model.processes import observation

    model, model_kind = incident_ward("self_harm", de_escalation_first=0.0, special_observation_hours=20,
                                      isolation_threshold=5)  # fmt: skip
    escalation.answer_incidents(model, np.array([0]), np.array([model_kind]), np.array([0.9, 0.0, 0.9])[None, :])
    assert model.clients.observation_until[0] == THERAPY_STEP + 20
    set_clock(model, 9)  # 15:00, a new shift: the review keeps the raised level and counts it again
    observation.observe(model)
    assert model.hour.containment_events == 1
    assert list(model.records.events_frame()["outcome"].astype(str))[-1] == "continued"


def test_seclusion_ends_when_due_and_calm_with_after_effects():
    model = ward(2, seclusion_hours=4.0, resentment_gain=0.2)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    model.hour.seclusion_draws[:] = math.exp(-1.0)  # planned duration = 4 hours
    isolation.start_seclusion(model, 0)
    assert c.isolated[0] and c.isolated_until[0] == THERAPY_STEP + 4
    c.agitation[0] = 0.9
    c.resentment[0] = 0.0
    for step in range(THERAPY_STEP, THERAPY_STEP + 5):  # from the start hour, as in the schedule
        set_clock(model, step)
        isolation.isolate(model)
    assert c.isolated[0]  # due, but still agitated
    c.agitation[0] = 0.2
    set_clock(model, THERAPY_STEP + 5)
    isolation.isolate(model)
    assert not c.isolated[0]
    assert c.isolation_hours[0] == 5
    assert c.resentment[0] == pytest.approx(0.1)
    assert c.cell[0] == c.bed[0]


def test_agitation_relaxes_towards_its_symptom_baseline():
    model = ward(1, agitation_decay=0.1, agitation_noise=0.0, unsafe_ward_agitation=0.0, agitation_baseline=0.1)
    set_clock(model, THERAPY_STEP)
    model.streams["recovery"] = FixedStream(normal=0.0)
    c = model.clients
    c.agitation[0], c.symptoms[0], c.resentment[0] = 0.9, 0.4, 0.0
    recovery.recover(model)
    assert c.agitation[0] == pytest.approx(0.9 + 0.1 * (0.1 + 0.25 * 0.4 - 0.9))


def test_discharge_completes_when_goals_are_met_at_the_ward_round():
    model = ward(2, skill_goal=0.5, discharge_symptoms=0.4, min_stay_days=3, dropout_per_day=0.0)
    c = model.clients
    c.admitted_step[:] = -24 * 5
    c.skills[:, 0] = 0.6
    c.symptoms[0] = 0.3
    c.skills[:, 1] = 0.6
    c.symptoms[1] = 0.5  # still too ill
    set_clock(model, WARD_ROUND_STEP - 1)
    flow.discharge(model)
    assert c.present.all()  # not the ward round yet
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    assert list(c.present) == [False, True]
    stays = model.records.stays
    assert stays[0]["exit_reason"] == "completed"
    assert model.client_agents[0] is None


def test_dropout_hazard_is_higher_early_and_with_low_trust():
    model = ward(2, dropout_early_factor=5.0, dropout_early_days=7.0)
    c = model.clients
    c.detained[:] = False  # the hazard of voluntary clients (detained clients cannot drop out: test_casemix)
    c.agitation[:] = 0.2
    c.trust[:] = [0.2, 0.8]
    c.admitted_step[:] = 0
    early = flow.dropout_hazard(model)
    assert early[0] > early[1]
    c.admitted_step[:] = -24 * 60
    late = flow.dropout_hazard(model)
    assert np.all(late < early)
    base = model.p["dropout_per_day"] / 24
    assert late[1] == pytest.approx(base * (1 + 5 * math.exp(-60 / 7)) * math.exp(3.0 * (0.5 - 0.8)))


def test_one_slots_reported_states_are_the_column_of_the_wards():
    model = MilieuModel(rng=4)
    rng = np.random.default_rng(4)
    c = model.clients
    for _ in range(20):
        c.values[:] = rng.random(c.values.shape) * 10.0 ** rng.integers(-3, 3)
        whole = c.reported_states()
        for slot in range(c.n):
            assert np.array_equal(flow.reported_states_of(c, slot), whole[:, slot])


def test_free_beds_are_refilled():  # what tokens do to skill outside: tests/test_aftercare.py
    model = ward(2, admission_delay_hours=0.0)
    c = model.clients
    first_ids = list(c.client_id)
    set_clock(model, 2)
    flow.exit_client(model, 0, "dropout")
    assert not c.present[0]
    set_clock(model, 3)
    flow.admit(model)
    assert c.present[0] and c.client_id[0] not in first_ids
    assert model.admissions == 3


def _observers_by_distance_matrix(model: MilieuModel) -> np.ndarray:
    """The observer rule written directly: the on-duty staff member with the smallest d - radius <= 0
    (Chebyshev d; ties to the lowest index), by a clients x staff matrix."""
    c, s = model.clients, model.staff
    on = np.flatnonzero(s.on_duty & (s.cell >= 0))
    cx, cy = np.divmod(c.cell, model.plan.height)
    sx, sy = np.divmod(s.cell[on], model.plan.height)
    slack = np.maximum(np.abs(cx[:, None] - sx), np.abs(cy[:, None] - sy)) - s.observe_radius[on]
    best = slack.argmin(axis=1)
    seen = (slack[np.arange(c.n), best] <= 0) & c.present & (c.cell >= 0)
    return np.where(seen, on[best], -1)


def test_observers_follow_the_sight_rule():
    from milieu_sim.model.processes import movement

    seen = 0
    for seed in range(5):
        model = MilieuModel(rng=seed, n_clients=40, ward_map="auto", staff_early=9)
        for _ in range(seed * 5 + 3):
            model.step()
        rng = np.random.default_rng(seed)
        model.staff.observe_radius[:] = rng.integers(0, 6, size=model.staff.n)
        model.clients.observation_until[:] = 0
        model.hour.observer_step = -1  # recompute
        observer = movement.observers(model)
        assert np.array_equal(observer, _observers_by_distance_matrix(model))
        seen += int((observer >= 0).sum())
    assert seen > 0


def test_special_observation_keeps_a_client_in_sight():
    from milieu_sim.model.processes import movement

    model = ward(3)
    for _ in range(THERAPY_STEP):
        model.step()
    c = model.clients
    model.staff.observe_radius[:] = 0  # nobody sees anybody unless they stand in the same cell
    set_clock(model, THERAPY_STEP + 1)
    c.observation_until[1] = THERAPY_STEP + 10
    observer = movement.observers(model)
    assert observer[1] == movement.nearest_staff(model, 1) >= 0
    assert observer[0] == -1 or model.staff.cell[observer[0]] == c.cell[0]


def test_only_nurses_give_unprompted_prn():
    from milieu_sim.model.processes import movement

    model = ward(2, prn_threshold=0.5)
    set_clock(model, THERAPY_STEP)
    movement.change_shift(model)
    c, s = model.clients, model.staff
    c.agitation[:] = 0.9
    c.self_control[:] = 1.0
    model.hour.active[:] = True
    nurse = int(np.flatnonzero((s.role == 0) & s.on_duty)[0])
    worker = int(np.flatnonzero((s.role == 1) & s.on_duty)[0])
    model.hour.observer[:] = [nurse, worker]
    model.hour.observer_step = model.hour.step
    model.streams["escalation"] = FixedStream(0.999)  # no incidents
    model.streams["de_escalation"] = FixedStream(0.0)
    escalation.escalate(model)
    events = model.records.events_frame()
    assert list(events["kind"]) == ["prn_medication"]
    assert list(events["client_id"]) == [c.client_id[0]]


def test_new_clients_in_a_community_with_senior_induction_get_a_buddy():
    model = MilieuModel(setting="residential_tc", rng=3, senior_induction=True, senior_days=5.0)
    c = model.clients
    orientation = np.flatnonzero(c.phase == 0)
    assert orientation.size and np.all(c.buddy[orientation] >= 0)
    assert np.all(c.phase[c.buddy[orientation]] > 0)


# --- what each process declares it owns (OWNS) ------------------------------------------------------------------
PROCESS_MODULES = ("aftercare", "climate", "consequences", "escalation", "facilitation", "feedback", "flashpoints",
                   "flow", "home", "initiative", "insight", "interaction", "isolation", "modeling", "movement", "norms",
                   "observation", "planning", "prevention", "recovery", "staff_response")  # fmt: skip


def _parameters_read(module) -> set[str]:
    """Schema names a process module's code reads: string constants outside its OWNS declaration (``p["..."]``,
    record fields, name tables) and fields read from its parameter record (``q.name``)."""
    import ast
    import inspect

    from milieu_sim.model.params import SCHEMA

    tree = ast.parse(inspect.getsource(module))
    owns = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "OWNS" for t in node.targets)
    ]
    assert len(owns) == 1
    skip = {id(n) for node in owns for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SCHEMA:
            found.add(node.value)
        is_record_field = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "q"
        if is_record_field and node.attr in SCHEMA:
            found.add(node.attr)
    return found


@pytest.mark.parametrize("name", PROCESS_MODULES)
def test_each_process_declares_exactly_the_parameters_its_rule_reads(name):
    import importlib

    from milieu_sim.model.schedule import Owns

    module = importlib.import_module(f"milieu_sim.model.processes.{name}")
    assert isinstance(module.OWNS, Owns)
    declared = set(module.OWNS.parameters)
    assert len(declared) == len(module.OWNS.parameters)  # no name twice
    assert _parameters_read(module) == declared


def test_every_parameter_is_owned_by_a_process_or_sets_up_the_run():
    import importlib

    from milieu_sim.model.params import SCHEMA

    owned = set()
    for name in PROCESS_MODULES:
        owned |= set(importlib.import_module(f"milieu_sim.model.processes.{name}").OWNS.parameters)
    assert owned <= set(SCHEMA)
    unowned = {name for name in SCHEMA if name not in owned}
    assert unowned == {name for name, p in SCHEMA.items() if p.group in ("ward", "run")}


@pytest.mark.parametrize("name", PROCESS_MODULES)
def test_declared_streams_events_and_block_columns_exist(name):
    import importlib

    from milieu_sim.model.records import EVENT_KINDS
    from milieu_sim.model.streams import STREAM_NAMES

    module = importlib.import_module(f"milieu_sim.model.processes.{name}")
    owns = module.OWNS
    assert set(owns.streams) <= set(STREAM_NAMES)
    assert set(owns.events) <= set(EVENT_KINDS)
    for stream, columns in owns.streams.items():
        if len(columns) > 1 and stream not in ("admissions",):  # blocks a kernel indexes by column
            assert [getattr(module, column.upper()) for column in columns] == list(range(len(columns))), stream
    for entry in owns.reads + owns.writes:
        assert entry.split(".")[0] in ("clients", "staff", "hour", "model")


def test_every_stream_is_drawn_by_exactly_one_process():
    import importlib

    from milieu_sim.model.streams import STREAM_NAMES

    drawn = [
        s
        for name in PROCESS_MODULES
        for s in importlib.import_module(f"milieu_sim.model.processes.{name}").OWNS.streams
    ]
    assert sorted(drawn) == sorted(STREAM_NAMES)


# --- rules several processes share (processes/common.py, isolation.seclude, movement.nearest_on_duty) ----------
def test_skill_practice_raises_the_trained_skill_or_all_three_and_saturates():
    from milieu_sim.model.processes.common import practise_skills

    x = np.zeros((3, 2))
    x[:, 0] = [0.2, 0.4, 0.6]
    x[:, 1] = 1.0  # nothing left to learn
    change = practise_skills(x, 0, 1, 0.1)  # an activity that trains social skill (row 1)
    assert x[0, 0] == 0.2 and x[2, 0] == 0.6 and x[1, 0] > 0.4
    assert change == pytest.approx(x[1, 0] - 0.4)
    before = x[:, 0].copy()
    change = practise_skills(x, 0, -1, 0.3)  # outside a training activity: all three, each less
    assert np.all(x[:, 0] > before) and change == pytest.approx((x[:, 0] - before).sum())
    assert practise_skills(x, 1, -1, 0.5) == 0.0 and np.all(x[:, 1] == 1.0)


def test_a_staff_reinforcement_and_a_peer_affirmation_of_equal_weight_teach_the_same():
    staff = dict(reinforcement_rate=1.0, token_rewards=0.0, reinforcement_learning=0.05, request_rate=0.0)
    peers = dict(peer_feedback=True, peer_feedback_rate=1.0, feedback_learning=0.05, peer_feedback_weight=1.0)
    model = ward(2, **staff, **peers)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.values[0:3] = 0.3
    _observed(model)
    encounter(model, [0, 0], [-1, -1], behaviour=[PROSOCIAL, 0])
    model.streams["staff_response"] = FixedStream(0.0)
    staff_response.respond(model)
    reinforced = c.values[0:3, 0].copy()
    c.values[0:3] = 0.3
    encounter(model, [CLIENT_PARTNER, 0], [1, -1], behaviour=[PROSOCIAL, 0])
    model.streams["feedback"] = FixedStream(0.0)
    feedback.give_feedback(model)
    assert np.array_equal(c.values[0:3, 0], reinforced)
    assert reinforced[0] > 0.3 and reinforced[1] == 0.3  # the therapy group trains coping only


def test_the_antecedent_counts_only_within_its_window():
    from milieu_sim.model.processes.common import recent_antecedent

    antecedent = np.array([LIMIT_SETTING, PUNISHMENT])
    when = np.array([10, 7])
    assert recent_antecedent(antecedent, when, 0, 12, 2) == LIMIT_SETTING
    assert recent_antecedent(antecedent, when, 1, 12, 2) == 0  # five hours ago: none
    assert recent_antecedent(antecedent, when, 1, 12, 5) == PUNISHMENT


@pytest.mark.parametrize("window, expected", [(2, "limit_setting"), (0, "none")])
def test_an_incident_names_the_limit_that_preceded_it_within_the_window(incident_ward, window, expected):
    model, kind = incident_ward("verbal_aggression", de_escalation_first=0.0, antecedent_window_hours=window)
    model.clients.antecedent[0] = LIMIT_SETTING
    model.clients.antecedent_step[0] = THERAPY_STEP - 1
    escalation.answer_incidents(model, np.array([0]), np.array([kind]), np.array([[0.9, 0.0, 0.9]]))
    assert set(model.records.events_frame()["antecedent"].astype(str)) == {expected}


def test_an_event_row_lands_in_the_events_table_columns():
    from milieu_sim.model.processes.common import write_event
    from milieu_sim.model.records import EVENT_COLUMNS, KIND, OUTCOME

    model = ward(1)
    rows = np.zeros((1, len(EVENT_COLUMNS)), dtype=np.int64)
    write_event(rows, 0, 9, 41, 7, KIND["restraint"], 5, PUNISHMENT, OUTCOME["contained"])
    model.records.events.add_rows(rows)
    row = model.records.events_frame().iloc[0]
    assert (row["step"], row["client_id"], row["staff_id"], row["severity"]) == (9, 41, 7, 5)
    assert (row["kind"], row["antecedent"], row["outcome"]) == ("restraint", "punishment", "contained")
    assert (row["day"], row["shift"]) == (0, "late")  # step 9 is Monday 15:00


def test_starting_a_seclusion_moves_the_client_into_the_seclusion_room_and_ends_a_time_out():
    from milieu_sim.model.processes.isolation import SECLUSION, SeclusionClients, seclude

    model = ward(2)
    c = model.clients
    c.time_out_until[1] = 50
    cells = model.plan.zone_cells[SECLUSION]
    seclude(c.view(SeclusionClients), 1, np.array([0.999, 0.999]), cells, 20, 6.0)
    assert c.isolated[1] and not c.isolated[0]
    assert c.isolated_until[1] == 21  # a near-certain draw still secludes for at least an hour
    assert c.cell[1] == cells[-1] and c.time_out_until[1] == 0 and c.times_isolated[1] == 1


def test_the_nearest_on_duty_staff_member_wherever_they_are():
    from milieu_sim.model.processes.movement import nearest_on_duty

    height = 10
    on_duty = np.array([True, False, True, True])
    staff_cell = np.array([5 * height + 5, 1 * height + 1, 2 * height + 2, 8 * height + 2])
    assert nearest_on_duty(0, on_duty, staff_cell, height) == 2  # staff 1 is nearer but off duty
    staff_cell[3] = 2 * height + 2  # a tie: the lowest index
    assert nearest_on_duty(0, on_duty, staff_cell, height) == 2
    assert nearest_on_duty(-1, on_duty, staff_cell, height) == -1  # off the grid
    assert nearest_on_duty(0, np.zeros(4, dtype=bool), staff_cell, height) == -1


def test_mean_skill_is_one_rule_for_kernels_and_arrays():
    from milieu_sim.model.processes.common import mean_skill

    model = ward(4)
    c = model.clients
    assert [mean_skill(c.values, i) for i in range(4)] == list(c.mean_skill())


def test_shift_of_hour_agrees_for_hours_and_arrays_and_the_clock_starts_the_early_shift():
    from milieu_sim.model.state import START_HOUR, clock_hour, shift_of_hour

    hours = np.arange(24)
    assert list(shift_of_hour(hours)) == [shift_of_hour(int(h)) for h in hours]
    assert shift_of_hour(clock_hour(1)) == 0 and clock_hour(1) == START_HOUR
    assert [shift_of_hour(h) for h in (6, 7, 14, 15, 22, 23)] == [2, 0, 0, 1, 1, 2]


def test_free_time_weights_decide_where_clients_spend_free_time():
    day_room, bed = ZONE_CODE["day_room"], ZONE_CODE["bedroom"]
    only_beds = dict(free_time_day_room=0.0, free_time_corridor=0.0, free_time_quiet_room=0.0, free_time_bed=1.0)
    for weights, zone in ((dict(free_time_day_room=1.0, free_time_corridor=0.0, free_time_quiet_room=0.0,
                                free_time_bed=0.0), day_room), (only_beds, bed)):  # fmt: skip
        model = ward(6, structure=0.0, **weights)
        for _ in range(8):  # to Monday 14:00, free time
            model.step()
        c = model.clients
        free = c.present & ~c.isolated & (c.time_out_until <= model.steps)
        assert free.any() and np.all(model.plan.zone_of(c.cell[free]) == zone)


def test_staff_keep_their_offsets_when_the_policy_changes():
    model = ward(4, staff_spread=0.2)
    s = model.staff
    offsets = s.de_escalation_offset.copy()
    assert offsets.std() > 0.05
    model.set_policy("therapeutic_milieu")
    assert np.array_equal(s.de_escalation_offset, offsets)
    inside = (s.de_escalation_skill > 0) & (s.de_escalation_skill < 1)
    expected = model.p["de_escalation_skill"] + offsets
    assert np.allclose(s.de_escalation_skill[inside], expected[inside])

"""docs/ODD.md as a tested specification: each equation of its Submodels section (6.x) against the process.

Every test sets a hand-built state (a small ward, clients' arrays set by hand, fixed random draws), runs one
phase function and compares the result with the equation as the ODD writes it, computed here from the
parameters.  Test names start with the ODD section (``test_6_8_escalation_...``).  The tests marked
"issue 18" are the six mismatches the audit found between the ODD and the code.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.casemix import case_mix_of, draw_traits
from milieu_sim.model.processes import (
    climate,
    escalation,
    feedback,
    flashpoints,
    flow,
    home,
    interaction,
    isolation,
    modeling,
    movement,
    norms,
    observation,
    recovery,
    staff_response,
)
from milieu_sim.model.records import CONFLICT_KINDS, STAY_COUNTERS
from milieu_sim.model.state import (
    ARMS_LENGTH,
    CLIENT_PARTNER,
    GENERAL,
    INTERMITTENT,
    NO_PARTNER,
    NORM,
    ORIENTATION,
    PEER_CONFLICT,
    PRIMARY,
    PROSOCIAL,
    SENIOR,
    STAFF_PARTNER,
    TRANSGRESSION,
    WITHIN_SIGHT,
)
from milieu_sim.model.ward import ZONE_CODE

# clock steps of the default routine (step 1 = Monday 07:00)
MEAL_STEP = 2  # 08:00 breakfast, a new block
THERAPY_STEP = 4  # 10:00 therapy group (structured, trains coping), a new block
THERAPY_ON = 5  # 11:00 the same block (the ward round)
LATE_SHIFT = 9  # 15:00 recreation, a new shift
SLEEP_STEP = 18  # 00:00, asleep, within the sleep block
EPS = 1e-9


def ward(n: int = 3, **kwargs) -> MilieuModel:
    return MilieuModel(rng=2, n_clients=n, **kwargs)


def climate_at_baseline(model: MilieuModel) -> None:
    """Every climate factor that behaviour reads is then 1 (6.15)."""
    model.climate.values[:] = model.p["climate_baseline"]


def observed_by(model: MilieuModel, staff: int | list[int] = 0) -> None:
    model.hour.observer[:] = staff
    model.hour.observer_step = model.hour.step


def zone_cells(model: MilieuModel, zone: str) -> np.ndarray:
    return model.plan.zone_cells[ZONE_CODE[zone]]


def zone_of(model: MilieuModel, slot: int) -> int:
    return int(model.plan.zone_of(model.clients.cell[slot]))


# --- 6.1 Clock -----------------------------------------------------------------------------------------


def test_6_1_clock_hour_day_weekday_and_shift_as_written():
    model = ward(1)
    for t in range(1, 24 * 9):
        set_clock(model, t)
        h = model.hour
        hour = (7 + t - 1) % 24
        assert (h.hour, h.day, h.weekday) == (hour, (t - 1) // 24, ((7 + t - 1) // 24) % 7)
        assert h.shift == (0 if 7 <= hour < 15 else 1 if 15 <= hour < 23 else 2)


# --- 6.2 Admission, discharge and dropout ---------------------------------------------------------------


def test_6_2_an_admitted_clients_state_as_written_and_nothing_left_of_the_last_stay():
    """The state from the admission draws z (keyed by k): N(mean, s) clipped, agitation from the symptoms drawn,
    trust lowered for a detained client, then the discharge messages' calm and hope; the bed's last stay leaves
    nothing behind (counters, isolation, special observation, phase)."""
    p = dict(admission_spread=0.3, detained_trust=0.25, discharge_messages=0.5, discharge_message_calm=0.4,
             discharge_message_trust=0.3, dropout_per_day=0.0)  # fmt: skip
    model = ward(3, **p)
    c, slot = model.clients, 1
    flow.exit_client(model, slot, "completed")  # the bed falls free
    for name in (*STAY_COUNTERS, "open_transgressions", "progress_acts"):
        getattr(c, name)[slot] = 7  # what the last stay in this bed left
    c.isolated[slot], c.isolated_until[slot], c.observation_until[slot] = True, 10**6, 10**6
    c.phase[slot] = SENIOR
    mix = case_mix_of(model)
    number = next(
        k
        for k in range(model.admissions, 10**4)  # the next admission of a detained client
        if draw_traits(mix, (z := flow.admission_draws(model, k))[9:13], z[13], p["admission_spread"])[1]
    )
    model.admissions = number
    flow.admit_client(model, slot)
    q = model.p
    d, detained = int(c.diagnosis[slot]), bool(c.detained[slot])
    assert detained
    s = p["admission_spread"]

    def clip(value):
        return min(max(value, 0.01), 0.99)

    skill = q["admission_skill"] + mix.skills[d]
    for k in range(3):
        assert c.values[k, slot] == clip(skill + s * z[k])
    assert c.self_control[slot] == clip(q["admission_self_control"] + s * z[3])
    symptoms = clip(q["admission_symptoms"] + mix.symptoms[d] + s * z[6])
    assert c.symptoms[slot] == symptoms and c.independence[slot] == clip(q["admission_independence"] + s * z[5])
    trust = clip(q["admission_trust"] - p["detained_trust"] * detained + s * z[4])
    agitation = clip(q["admission_agitation"] + q["admission_agitation_symptoms"] * symptoms + s * z[7])
    assert c.agitation[slot] == pytest.approx(agitation * (1 - 0.5 * 0.4))
    assert c.trust[slot] == pytest.approx(trust + 0.5 * 0.3 * (1 - trust)) == c.baseline_trust[slot]
    assert c.admission_number[slot] == number and c.admitted_step[slot] == model.steps and c.present[slot]
    assert all(getattr(c, name)[slot] == 0 for name in (*STAY_COUNTERS, "open_transgressions", "progress_acts"))
    assert not c.isolated[slot] and c.isolated_until[slot] == 0 and c.observation_until[slot] == 0
    assert c.phase[slot] == ORIENTATION


def test_6_2_admission_discharge_dropout_hazard_as_written():
    p = dict(dropout_per_day=0.05, dropout_early_factor=2.0, dropout_early_days=5.0, dropout_trust_effect=1.5)
    model = ward(3, **p)
    set_clock(model, THERAPY_STEP)
    climate_at_baseline(model)
    c = model.clients
    c.detained[:] = False  # voluntary clients (a detained client's hazard is 0: 6.2, 6.22)
    c.trust[:] = [0.2, 0.5, 0.9]
    c.agitation[:] = [0.8, 0.3, 0.6]
    c.admitted_step[:] = [model.steps - 24, model.steps - 240, model.steps - 2400]
    hazard = flow.dropout_hazard(model)
    for i in range(3):
        days = (model.steps - c.admitted_step[i]) / 24
        expected = (
            p["dropout_per_day"]
            / 24
            * (1 + p["dropout_early_factor"] * math.exp(-days / p["dropout_early_days"]))
            * math.exp(p["dropout_trust_effect"] * ((0.5 - c.trust[i]) + max(c.agitation[i] - 0.5, 0)))
        )
        assert hazard[i] == pytest.approx(expected)


def test_6_2_admission_discharge_dropout_with_probability_one_minus_exp_of_24_hazards():
    model = ward(2, dropout_per_day=0.2, skill_goal=0.99, max_stay_days=365.0)
    set_clock(model, THERAPY_ON)  # 11:00, the ward round
    climate_at_baseline(model)
    c = model.clients
    c.detained[:] = False  # voluntary clients (6.22)
    c.symptoms[:] = 0.9  # not ready for discharge on the plan
    c.trust[:], c.agitation[:] = 0.5, 0.3
    c.admitted_step[:] = model.steps - 24 * 10
    chance = 1 - math.exp(-24 * flow.dropout_hazard(model)[0])
    ids = c.client_id.copy()
    model.streams["dropout"] = FixedStream(table=np.array([chance - 1e-6, chance + 1e-6]))
    flow.discharge(model)
    stays = model.records.stays_frame([])
    assert list(stays["client_id"]) == [ids[0]] and list(stays["exit_reason"].astype(str)) == ["dropout"]


# --- 6.3 Routine and movement ---------------------------------------------------------------------------


def test_6_3_routine_and_movement_attendance_chance_as_written():
    p = dict(structure=0.8, attendance_base=0.5, attendance_trust=0.4, attendance_initiative=1.2)
    model = ward(2, **p)
    set_clock(model, THERAPY_STEP)
    climate_at_baseline(model)
    c = model.clients
    c.trust[:], c.independence[:] = 0.5, 0.7
    c.plan_attendance[:] = 1.0  # plans without groups (6.23)
    chance = p["structure"] * (p["attendance_base"] + p["attendance_trust"] * 0.5) * (1 + 1.2 * (0.7 - 0.5))
    model.streams["movement"] = FixedStream(
        table=np.array([[chance - EPS, 0.0, 0.5, 0.9], [chance + EPS, 0.0, 0.5, 0.9]])
    )
    movement.move(model)
    assert list(c.attending[:2]) == [True, False]
    assert zone_of(model, 0) == model.hour.zone


def test_6_3_routine_and_movement_independent_clients_join_activities_more():
    """Issue 12: the same draw, the same trust; the more independent client attends, the dependent one does not
    (and with attendance_initiative 0 independence changes nothing)."""
    for initiative, expected in ((1.0, [True, False]), (0.0, [True, True])):
        model = ward(2, structure=1.0, attendance_base=0.5, attendance_trust=0.0, attendance_initiative=initiative)
        set_clock(model, THERAPY_STEP)
        climate_at_baseline(model)
        c = model.clients
        c.trust[:2], c.independence[:2] = 0.5, [0.8, 0.2]
        c.plan_attendance[:] = 1.0  # plans without groups (6.23)
        model.streams["movement"] = FixedStream(table=np.array([0.45, 0.0, 0.5, 0.9]))
        movement.move(model)
        assert list(c.attending[:2]) == expected


def test_6_3_routine_and_movement_a_client_in_time_out_attends_nothing_in_the_quiet_room():
    """Issue 18: the client kept attending (self-control learning and skill practice went on in time-out)."""
    model = ward(
        2, structure=1.0, attendance_base=1.0, attendance_trust=0.0, self_control_learning=0.05, therapy_learning=0.05
    )
    set_clock(model, THERAPY_STEP)
    movement.move(model)
    c = model.clients
    assert c.attending[0] and c.attending[1]
    set_clock(model, THERAPY_ON)  # the incident was in the hour before: time-out until two hours on
    c.time_out_until[0] = THERAPY_STEP + 2
    movement.move(model)
    assert zone_of(model, 0) == ZONE_CODE["quiet_room"]
    assert not c.attending[0] and c.attending[1]
    self_control, coping = c.self_control[:2].copy(), c.coping_skill[:2].copy()
    model.streams["recovery"] = FixedStream(normal=0.0)
    recovery.recover(model)
    assert c.self_control[0] == self_control[0] and c.coping_skill[0] == coping[0]  # no learning in time-out
    assert c.self_control[1] > self_control[1] and c.coping_skill[1] > coping[1]


def test_6_3_routine_and_movement_a_client_rejoins_the_routine_when_time_out_ends():
    """Issue 18: after the stated hours the client stayed in the quiet room until the next block."""
    model = ward(2, structure=1.0, attendance_base=1.0, attendance_trust=0.0, time_out_hours=2)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.time_out_until[0] = THERAPY_ON + 1  # in time-out at 11:00
    movement.move(model)
    assert zone_of(model, 0) == ZONE_CODE["quiet_room"] and not c.attending[0]
    set_clock(model, THERAPY_ON)
    movement.move(model)
    assert zone_of(model, 0) == ZONE_CODE["quiet_room"]
    set_clock(model, THERAPY_ON + 1)  # 12:00, lunch: a new block anyway; check the within-block case too
    c.time_out_until[0] = THERAPY_ON + 1
    movement.move(model)
    assert zone_of(model, 0) == model.hour.zone
    # within a block: time-out ends at 11:00, in the middle of the therapy group
    model = ward(2, structure=1.0, attendance_base=1.0, attendance_trust=0.0)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.time_out_until[0] = THERAPY_ON
    movement.move(model)
    assert zone_of(model, 0) == ZONE_CODE["quiet_room"]
    set_clock(model, THERAPY_ON)
    movement.move(model)
    assert zone_of(model, 0) == model.hour.zone and c.attending[0]


def test_6_3_routine_and_movement_time_out_moves_the_client_in_sleep_hours_without_draws():
    """Issue 18: in sleep hours a time-out never moved the client."""
    model = ward(3)
    set_clock(model, SLEEP_STEP - 1)
    set_clock(model, SLEEP_STEP)  # within the sleep block
    assert not model.hour.new_block and not model.hour.awake
    c = model.clients
    c.cell[:] = c.bed
    c.time_out_until[1] = SLEEP_STEP + 2
    # no movement draws in sleep hours: the streams give next what copies of them taken now give
    untouched = {name: copy.deepcopy(model.streams[name]) for name in ("movement", "staff_movement")}
    movement.move(model)
    assert zone_of(model, 1) == ZONE_CODE["quiet_room"] and not c.attending[1]
    assert c.cell[0] == c.bed[0] and c.cell[2] == c.bed[2]  # nobody else moves
    assert model.client_agents[1].cell is model.cells[c.cell[1]]
    set_clock(model, SLEEP_STEP + 2)  # the time-out ends: back to bed
    movement.move(model)
    assert c.cell[1] == c.bed[1]
    for name, stream in untouched.items():
        assert np.array_equal(model.streams[name].random(8), stream.random(8)), name


# --- 6.4 Interaction ------------------------------------------------------------------------------------


def _two_in_the_day_room(model: MilieuModel) -> None:
    set_clock(model, THERAPY_STEP + 3)  # 13:00, free time
    model.staff.on_duty[:] = False  # people = the two clients
    cells = zone_cells(model, "day_room")
    model.clients.cell[:2] = cells[:2]
    height = model.plan.height
    assert max(abs(cells[0] // height - cells[1] // height), abs(cells[0] % height - cells[1] % height)) <= 1


def test_6_4_interaction_conflict_chance_as_written():
    model = ward(
        2,
        interaction_rate=1.0,
        interaction_radius=1,
        conflict_rate=0.5,
        conflict_agitation=0.1,
        conflict_trust_loss=0.2,
        encounter_trust_gain=0.0,
        prosocial_rate=0.0,
        transgression_rate=0.0,
        empathy_restraint=0.6,
    )
    _two_in_the_day_room(model)
    c = model.clients
    c.agitation[:], c.self_control[:], c.trust[:], c.empathy[:2] = [0.4, 0.6], [0.5, 0.3], 0.5, [0.2, 0.4]
    chance = 0.5 * (0.4 + 0.6) * (1 - (0.5 + 0.3) / 2) * (1 - 0.6 * (0.2 + 0.4) / 2)
    # columns: meet, partner, conflict, behaviour, buddy; each meets the other
    model.streams["interaction"] = FixedStream(
        table=np.array([[0.0, 0.0, chance - EPS, 0.5, 0.9], [0.0, 0.0, chance + EPS, 0.5, 0.9]])
    )
    interaction.interact(model)
    h = model.hour
    assert list(h.partner[:2]) == [1, 0] and list(h.conflictual[:2]) == [True, False]
    # one conflict, of 0 with 1: both get its agitation and lose trust once
    assert c.agitation[0] == pytest.approx(0.5) and c.agitation[1] == pytest.approx(0.7)
    assert c.trust[0] == pytest.approx(0.5 * 0.8) and c.trust[1] == pytest.approx(0.5 * 0.8)


def test_6_4_interaction_trust_falls_once_per_conflict():
    """Issue 18: trust fell once per hour however many conflicts a client was in."""
    loss, gain = 0.2, 0.1
    model = ward(
        2,
        interaction_rate=1.0,
        interaction_radius=1,
        conflict_rate=1.0,
        conflict_agitation=gain,
        conflict_trust_loss=loss,
        prosocial_rate=0.0,
        transgression_rate=0.0,
    )
    _two_in_the_day_room(model)
    c = model.clients
    c.agitation[:], c.self_control[:], c.trust[:] = 0.5, 0.2, 0.6
    model.streams["interaction"] = FixedStream(table=np.array([0.0, 0.0, 0.0, 0.5, 0.9]))
    interaction.interact(model)
    assert list(model.hour.conflictual[:2]) == [True, True]  # two conflicts, each client in both
    assert np.allclose(c.agitation[:2], 0.5 + 2 * gain)
    assert np.allclose(c.trust[:2], 0.6 * (1 - loss) ** 2)


def test_6_4_interaction_peaceful_encounter_and_behaviour_chances_as_written():
    p = dict(
        interaction_rate=1.0,
        interaction_radius=1,
        conflict_rate=0.0,
        encounter_social_gain=0.1,
        encounter_trust_gain=0.05,
        prosocial_rate=0.6,
        transgression_rate=0.5,
        incentive_effect=0.8,
        know_each_other=0.0,
    )
    model = ward(2, **p)
    _two_in_the_day_room(model)
    c = model.clients
    c.skills[:, :2] = 0.4
    c.self_control[:2], c.agitation[:2], c.symptoms[:2], c.suppression[:2], c.trust[:2] = 0.5, 0.3, 0.5, 0.2, 0.5
    c.incentive[:2] = 0.25
    assert norms.transgression_factor(model) == 1.0  # f_norm at the norm's baseline
    s_social = c.social_skill[0]
    # behaviour is drawn after the encounter (skill then includes the social practice)
    skill = (0.4 + 0.4 + 0.4 + p["encounter_social_gain"] * 0.6) / 3
    p_pro = 0.6 * (skill + 0.5) / 2 * (1 - 0.3) * (1 + 0.8 * 0.25)
    p_tr = 0.5 * (1 - 0.5) * (0.3 + 0.5) / 2 * (1 - 0.2)
    model.streams["interaction"] = FixedStream(
        table=np.array([[0.0, 0.0, 0.5, p_pro - EPS, 0.9], [0.0, 0.0, 0.5, 1 - p_tr + EPS, 0.9]])
    )
    interaction.interact(model)
    assert list(model.hour.behaviour[:2]) == [PROSOCIAL, TRANSGRESSION]
    assert c.social_skill[0] == pytest.approx(s_social + 0.1 * (1 - s_social))
    assert c.trust[0] == pytest.approx(0.5 + 0.05 * 0.5)
    model.streams["interaction"] = FixedStream(
        table=np.array([[0.0, 0.0, 0.5, p_pro + 1e-3, 0.9], [0.0, 0.0, 0.5, 1 - p_tr - 1e-3, 0.9]])
    )
    c.skills[:, :2] = 0.4
    interaction.interact(model)
    assert list(model.hour.behaviour[:2]) == [0, 0]


# --- 6.5 Modeling ---------------------------------------------------------------------------------------


def encounter(model, kinds, partners, behaviour=None):
    h = model.hour
    h.partner_kind[:] = kinds
    h.partner[:] = partners
    h.conflictual[:] = False
    h.behaviour[:] = behaviour if behaviour is not None else 0
    h.active[:] = True


def test_6_5_modeling_dx_as_written_for_staff_senior_and_peer_models():
    p = dict(modeling_rate=0.1, staff_prestige=1.2, senior_prestige=0.9, peer_prestige=0.4)
    model = ward(4, **p)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.values[0:4, :] = np.array(
        [[0.2, 0.3, 0.8, 0.6], [0.3, 0.3, 0.7, 0.6], [0.4, 0.3, 0.9, 0.6], [0.5, 0.3, 0.2, 0.6]]
    )
    c.trust[:] = [0.5, 0.7, 0.9, 0.6]
    c.phase[:] = [PRIMARY, PRIMARY, SENIOR, PRIMARY]
    model.staff.model_quality[0] = 0.8
    # 0 watches staff 0, 1 watches the senior 2, 3 watches the primary 1; 2 has no encounter
    encounter(model, [STAFF_PARTNER, CLIENT_PARTNER, NO_PARTNER, CLIENT_PARTNER], [0, 2, -1, 1])
    before = c.values[0:4].copy()
    modeling.learn_by_modeling(model)
    for i, (prestige, shown) in {0: (1.2, np.full(4, 0.8)), 1: (0.9, before[:, 2]), 3: (0.4, before[:, 1])}.items():
        expected = before[:, i] + 0.1 * prestige * c.trust[i] * (shown - before[:, i])
        assert np.allclose(c.values[0:4, i], expected)
    assert np.allclose(c.values[0:4, 2], before[:, 2])


# --- 6.6 Peer and staff feedback ------------------------------------------------------------------------


def test_6_6_feedback_affirmation_and_correction_as_written():
    g = 0.2
    model = ward(3, peer_feedback=True, peer_feedback_rate=1.0, staff_feedback_rate=1.0, feedback_learning=g)
    set_clock(model, THERAPY_STEP)  # trains coping
    climate_at_baseline(model)
    c = model.clients
    c.values[0:4] = 0.3
    c.trust[:], c.agitation[:] = 0.6, 0.2
    c.affirmation_memory[:], c.correction_memory[:] = 0.0, 0.0
    model.streams["feedback"] = FixedStream(0.0)
    # 0's prosocial act seen by the peer 2; 1's transgression seen by staff 0
    encounter(model, [CLIENT_PARTNER, STAFF_PARTNER, NO_PARTNER], [2, 0, -1], behaviour=[PROSOCIAL, TRANSGRESSION, 0])
    feedback.give_feedback(model)
    wp, ws = model.p["peer_feedback_weight"], model.p["staff_feedback_weight"]
    assert c.coping_skill[0] == pytest.approx(0.3 + g * wp * 0.7)
    assert c.social_skill[0] == pytest.approx(0.3)
    assert c.trust[0] == pytest.approx(0.6 + g * wp / 2 * 0.4)
    assert c.affirmation_memory[0] == 1.0 and c.feedback_sent[2] == 1
    assert c.self_control[1] == pytest.approx(0.3 + g * ws * 0.6 * 0.7)
    assert c.agitation[1] == pytest.approx(0.2 + g * ws / 2 * 0.4)
    assert c.correction_memory[1] == 1.0


def test_6_6_feedback_peer_sending_chance_as_written():
    p = dict(peer_feedback=True, peer_feedback_rate=0.2, affirmation_sending_boost=0.5, correction_sending_boost=0.3)
    model = ward(2, **p)
    set_clock(model, THERAPY_STEP)
    climate_at_baseline(model)
    c = model.clients
    c.phase[1] = PRIMARY  # phase factor 1
    c.affirmation_memory[1], c.correction_memory[1] = 2.0, 1.0
    chance = min(1.0, 0.2 * (1 + 0.5 * 2.0 + 0.3 * 1.0))
    for u, sent in ((chance - EPS, 1), (chance + EPS, 0)):
        c.feedback_sent[:] = 0
        model.streams["feedback"] = FixedStream(u)
        encounter(model, [CLIENT_PARTNER, NO_PARTNER], [1, -1], behaviour=[PROSOCIAL, 0])
        feedback.give_feedback(model)
        assert c.feedback_sent[1] == sent


@pytest.mark.parametrize("phase", [ORIENTATION, PRIMARY, SENIOR])
@pytest.mark.parametrize("act", [PROSOCIAL, TRANSGRESSION])
def test_6_6_feedback_phase_and_norm_factors_as_written(phase, act):
    p = dict(peer_feedback=True, peer_feedback_rate=0.3, orientation_sending_factor=0.4, senior_sending_factor=1.8,
             norm_baseline=0.5)  # fmt: skip
    model = ward(2, **p)
    set_clock(model, THERAPY_STEP)
    climate_at_baseline(model)
    model.community.values[NORM] = 0.6
    c = model.clients
    c.phase[1] = phase
    c.affirmation_memory[1], c.correction_memory[1] = 0.0, 0.0
    chance = 0.3 * {ORIENTATION: 0.4, PRIMARY: 1.0, SENIOR: 1.8}[phase] * (0.6 / 0.5 if act == TRANSGRESSION else 1.0)
    for u, sent in ((chance - EPS, 1), (chance + EPS, 0)):
        c.feedback_sent[:] = 0
        model.hour.addressed[:] = False
        model.streams["feedback"] = FixedStream(u)
        encounter(model, [CLIENT_PARTNER, NO_PARTNER], [1, -1], behaviour=[act, 0])
        feedback.give_feedback(model)
        assert c.feedback_sent[1] == sent
        assert model.hour.addressed[0] == (sent == 1 and act == TRANSGRESSION)  # a correction addresses it


# --- 6.7 Staff response ---------------------------------------------------------------------------------


def test_6_7_staff_response_reinforcement_as_written():
    r, e, gt, gp = 0.1, 0.2, 0.3, 0.05
    model = ward(
        2,
        reinforcement_rate=1.0,
        token_rewards=0.5,
        reinforcement_learning=r,
        external_share_rate=e,
        request_rate=0.0,
        token_incentive_gain=gt,
        praise_incentive_gain=gp,
    )
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.coping_skill[:], c.trust[:], c.external_share[:], c.incentive[:] = 0.4, 0.5, 0.3, 0.2
    observed_by(model)
    encounter(model, [0, 0], [-1, -1], behaviour=[PROSOCIAL, PROSOCIAL])
    # columns: response, reward_kind, request, denial; 0 gets a token, 1 praise
    model.streams["staff_response"] = FixedStream(table=np.array([[0.0, 0.1, 0.99, 0.99], [0.0, 0.9, 0.99, 0.99]]))
    staff_response.respond(model)
    assert np.allclose(c.coping_skill[:2], 0.4 + r * 0.6)
    assert np.allclose(c.trust[:2], 0.5 + r / 2 * 0.5)
    assert c.external_share[0] == pytest.approx(0.3 + e * (1 - 0.3))
    assert c.external_share[1] == pytest.approx(0.3 + e * (0 - 0.3))
    assert c.incentive[0] == pytest.approx(0.2 + gt * 0.8) and c.incentive[1] == pytest.approx(0.2 + gp * 0.8)


@pytest.mark.parametrize("soft, expectations", [(0.0, 0.0), (0.6, 0.5)])
def test_6_7_staff_response_limits_punishment_and_safewards_levers_as_written(soft, expectations):
    p = dict(
        limit_setting_agitation=0.2,
        punitive_agitation=1.0,
        punishment_rate=0.3,
        limit_setting_rate=0.5,
        punishment_suppression=0.6,
        punishment_trust_loss=0.05,
        resentment_gain=0.1,
        request_rate=0.0,
        soft_words=soft,
        soft_words_effect=0.5,
        clear_mutual_expectations=expectations,
        expectations_effect=0.4,
        punishment_initiative_loss=0.1,
    )
    model = ward(3, **p)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:], c.trust[:], c.resentment[:], c.suppression[:], c.independence[:] = 0.3, 0.6, 0.0, 0.1, 0.5
    observed_by(model)
    encounter(model, [0, 0, 0], [-1, -1, -1], behaviour=[TRANSGRESSION] * 3)
    keep = 1 - expectations * p["expectations_effect"]
    punish = p["punishment_rate"] * keep
    limit = punish + (1 - p["punishment_rate"]) * p["limit_setting_rate"] * keep
    u = np.array([[punish - EPS, 0.5, 0.99, 0.99], [limit - EPS, 0.5, 0.99, 0.99], [limit + EPS, 0.5, 0.99, 0.99]])
    model.streams["staff_response"] = FixedStream(table=u)
    staff_response.respond(model)
    lam = p["limit_setting_agitation"]
    assert c.agitation[0] == pytest.approx(0.3 + lam * (1 + 1.0) * (1 - 0.6 / 2))  # punishment: not softened
    assert c.suppression[0] == 0.6 and c.trust[0] == pytest.approx(0.6 - 0.05) and c.resentment[0] == 0.1
    assert c.agitation[1] == pytest.approx(0.3 + lam * (1 - 0.6 / 2) * (1 - soft * 0.5))  # a limit
    assert c.agitation[2] == 0.3 and c.trust[2] == 0.6  # settled without a rule dispute, or nothing
    assert c.independence[0] == pytest.approx(0.5 * 0.9) and c.independence[1] == 0.5  # lost initiative
    assert c.punishments[0] == 1 and c.punishments[1] == 0
    h = model.hour
    assert list(h.punished[:3]) == [True, False, False]
    # addressed: punished, limited, and the third only if settled by the clear expectations
    assert list(h.addressed[:3]) == [True, True, expectations > 0]


def test_6_7_staff_response_requests_denied_and_granted_as_written():
    p = dict(
        request_rate=1.0,
        request_denial_rate=0.5,
        limit_setting_agitation=0.2,
        denied_request_trust_loss=0.04,
        granted_request_trust_gain=0.1,
        granted_request_independence_gain=0.05,
        soft_words=0.0,
    )
    model = ward(2, **p)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:], c.trust[:], c.independence[:] = 0.3, 0.6, 0.4
    observed_by(model, -1)  # requests are asked whether or not staff observe
    encounter(model, [0, 0], [-1, -1])
    model.streams["staff_response"] = FixedStream(
        table=np.array([[0.9, 0.9, 0.0, 0.5 - EPS], [0.9, 0.9, 0.0, 0.5 + EPS]])
    )
    staff_response.respond(model)
    assert c.agitation[0] == pytest.approx(0.3 + 0.2 * (1 - 0.6 / 2)) and c.trust[0] == pytest.approx(0.6 - 0.04)
    assert c.trust[1] == pytest.approx(0.6 + 0.1 * 0.4) and c.independence[1] == pytest.approx(0.4 + 0.05 * 0.6)


def test_6_7_staff_response_request_chance_rises_with_independence_as_written():
    model = ward(2, request_rate=0.2, request_denial_rate=0.0, granted_request_trust_gain=0.1)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.trust[:], c.independence[:2] = 0.5, [0.3, 0.3]
    observed_by(model, -1)
    encounter(model, [0, 0], [-1, -1])
    chance = min(1.0, 2 * 0.2 * 0.3)
    model.streams["staff_response"] = FixedStream(
        table=np.array([[0.9, 0.9, chance - EPS, 0.5], [0.9, 0.9, chance + EPS, 0.5]])
    )
    staff_response.respond(model)
    assert c.trust[0] == pytest.approx(0.5 + 0.1 * 0.5) and c.trust[1] == 0.5  # only the first asked


# --- 6.8 Escalation and de-escalation -------------------------------------------------------------------


def test_6_8_escalation_incident_chance_as_written():
    p = dict(incident_rate=0.05, incident_steepness=6.0, incident_sleep_factor=0.3)
    model = ward(3, **p)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[:], c.self_control[:] = [0.4, 0.9, 0.1], 0.4
    chance = escalation.incident_probability(model)
    for i in range(3):
        expected = min(1.0, 0.05 * 2 / (1 + math.exp(-6.0 * (c.agitation[i] - 0.4))))
        assert chance[i] == pytest.approx(expected)
    set_clock(model, SLEEP_STEP)
    assert escalation.incident_probability(model)[1] == pytest.approx(0.3 * chance[1])


def test_6_8_escalation_insight_raises_self_control_only_under_provocation_as_written():
    p = dict(incident_rate=0.05, incident_steepness=6.0, insight_control=0.5, antecedent_window_hours=2)
    model = ward(3, **p)
    set_clock(model, THERAPY_STEP)
    c, step = model.clients, model.hour.step
    c.agitation[:], c.self_control[:], c.insight[:] = 0.6, 0.4, 0.8
    c.antecedent[:] = [PEER_CONFLICT, PEER_CONFLICT, 0]
    c.antecedent_step[:] = [step - 2, step - 3, step]  # provoked within the window, too long ago, no antecedent
    chance = escalation.incident_probability(model)
    provoked = 0.4 + 0.5 * 0.8 * (1 - 0.4)
    assert chance[0] == pytest.approx(min(1.0, 0.05 * 2 / (1 + math.exp(-6.0 * (0.6 - provoked)))))
    assert chance[1] == chance[2] == pytest.approx(min(1.0, 0.05 * 2 / (1 + math.exp(-6.0 * (0.6 - 0.4)))))


def test_6_8_escalation_kind_weights_as_written():
    p = dict(
        severity_excess_effect=2.0,
        weight_refusing_rules=0.3,
        weight_verbal_aggression=0.35,
        weight_absconding=0.1,
        weight_aggression_objects=0.1,
        weight_self_harm=0.1,
        violence_weight=0.05,
    )
    model = ward(1, **p)
    c = model.clients
    c.agitation[0], c.self_control[0], c.symptoms[0], c.trust[0] = 0.8, 0.3, 0.6, 0.2
    c.kind_factor[:, 0] = [1.0, 1.0, 2.0, 1.0, 1.5, 3.0]  # the profile's factors (6.22)
    base = [0.3, 0.35, 0.1 * 2.0, 0.1, 0.1 * 1.5, 0.05 * 3.0]
    severity = [1, 2, 2, 3, 4, 5]
    e = 0.5
    w = np.array([b * math.exp(2.0 * e * (s - 1)) for b, s in zip(base, severity, strict=True)])
    w[CONFLICT_KINDS.index("self_harm")] *= 0.5 + 0.6
    w[CONFLICT_KINDS.index("absconding")] *= 1.5 - 0.2
    edges = np.concatenate(([0.0], np.cumsum(w) / w.sum()))
    for k in range(len(CONFLICT_KINDS)):  # u inside each kind's share of the unit interval gives that kind
        for u in (edges[k] + 1e-6, edges[k + 1] - 1e-6):
            assert escalation.incident_kind(model, 0, u) == k


@pytest.fixture
def incident_ward():
    def build(kind: str, n: int = 2, **kwargs):
        model = ward(n, **kwargs)
        set_clock(model, THERAPY_STEP)
        observed_by(model)
        isolation.draw(model)
        return model, CONFLICT_KINDS.index(kind)

    return build


def answer(model, kind, v, slot=0):
    escalation.answer_incidents(
        model, np.array([slot]), np.array([kind]), np.array(v, dtype=float)[None, :], np.array([[0.99, 0.99, 0.99]])
    )


def test_6_8_escalation_de_escalation_success_chance_and_effect_as_written(incident_ward):
    p = dict(
        de_escalation_first=1.0,
        de_escalation_severity_penalty=0.1,
        de_escalation_calm=0.5,
        de_escalation_trust_gain=0.2,
    )
    for offset, resolved in ((-1e-6, True), (1e-6, False)):
        model, kind = incident_ward("verbal_aggression", **p)
        c = model.clients
        model.staff.de_escalation_skill[0] = 0.8
        c.trust[0], c.agitation[0] = 0.6, 0.7
        chance = 0.8 * (0.5 + 0.5 * 0.6) * (1 - 0.1 * (2 - 1))
        answer(model, kind, [0.0, chance + offset, 0.9])
        outcomes = list(model.records.events_frame()["outcome"].astype(str))
        assert outcomes[0] == ("resolved" if resolved else "failed")
        if resolved:
            assert c.agitation[0] == pytest.approx(0.7 * 0.5)
            assert c.trust[0] == pytest.approx(0.6 + 0.2 * 0.4)


@pytest.mark.parametrize(
    "kind, containment",
    [("verbal_aggression", "prn"), ("aggression_objects", "time_out"), ("physical_aggression", "restraint")],
)
def test_6_8_escalation_containment_effects_as_written(incident_ward, kind, containment):
    p = dict(
        de_escalation_first=0.0,
        isolation_threshold=6 if containment != "restraint" else 5,
        containment_trust_loss=0.1,
        resentment_gain=0.2,
        coerciveness_prn=0.5,
        coerciveness_time_out=0.7,
        coerciveness_restraint=1.0,
        coerciveness_seclusion=1.0,
        prn_agitation_kept=0.6,
        prn_independence_loss=0.05,
        time_out_agitation_kept=0.8,
        time_out_hours=3,
        restraint_agitation_kept=0.7,
        calm_down_methods=0.0,
    )
    if containment == "restraint":
        p["isolation_threshold"] = 5
    model, k = incident_ward(kind, **{**p, "isolation_threshold": 6} if containment == "restraint" else p)
    c = model.clients
    c.agitation[0], c.trust[0], c.resentment[0], c.independence[0] = 0.8, 0.5, 0.1, 0.4
    answer(model, k, [0.9, 0.9, 0.9])
    coer = {"prn": 0.5, "time_out": 0.7, "restraint": 1.0}[containment]
    if containment == "restraint":  # restraint, then time-out (no seclusion below the threshold)
        assert c.agitation[0] == pytest.approx(0.8 * 0.7 * 0.8)
        assert c.trust[0] == pytest.approx(0.5 - 0.1 * 1.0 - 0.1 * 0.7)
        return
    assert c.trust[0] == pytest.approx(0.5 - 0.1 * coer)
    assert c.resentment[0] == pytest.approx(0.1 + 0.2 * coer)
    if containment == "prn":
        assert c.agitation[0] == pytest.approx(0.8 * 0.6) and c.independence[0] == pytest.approx(0.4 - 0.05)
    else:
        assert c.agitation[0] == pytest.approx(0.8 * 0.8) and c.time_out_until[0] == THERAPY_STEP + 3


def test_6_8_escalation_witnesses_and_victim_as_written(incident_ward):
    p = dict(
        de_escalation_first=0.0,
        witness_radius=3,
        witness_agitation=0.2,
        witness_fear=0.3,
        victim_agitation=0.15,
        victim_fear=0.4,
        victim_trust_loss=0.25,
        reassurance=0.0,
    )
    model, kind = incident_ward("verbal_aggression", n=3, **p)
    c = model.clients
    cells = zone_cells(model, "day_room")
    c.cell[:3] = cells[:3]
    model.staff.cell[:] = -1
    model.staff.cell[0] = zone_cells(model, "nurses_station")[0]
    c.antecedent[0] = 0  # no antecedent: verbal aggression targets the nearest person, client 1
    c.agitation[:], c.fear[:], c.trust[:] = 0.4, 0.1, 0.6
    answer(model, kind, [0.9, 0.9, 0.9])
    events = model.records.events_frame()
    incident = events[events["kind"] == "verbal_aggression"].iloc[0]
    assert str(incident["target_role"]) == "client" and incident["target_id"] == c.client_id[1]
    assert incident["witnesses"] == 1
    s = 2 / 5
    assert c.agitation[2] == pytest.approx(0.4 + 0.2 * s)
    assert c.fear[2] == pytest.approx(0.1 + 0.3 * s * 0.9)
    assert c.insight[2] == pytest.approx(model.p["witness_insight"] * s) and c.insight[1] == 0.0
    assert c.agitation[1] == pytest.approx(0.4 + 0.15)
    assert c.fear[1] == pytest.approx(0.1 + 0.4 * 0.9) and c.trust[1] == pytest.approx(0.6 * 0.75)


def _unprompted(model, agitation):
    movement.change_shift(model)
    c, s = model.clients, model.staff
    c.agitation[:] = agitation
    c.self_control[:] = 1.0
    model.hour.active[:] = True
    nurse = int(np.flatnonzero((s.role == 0) & s.on_duty)[0])
    observed_by(model, nurse)
    model.streams["escalation"] = FixedStream(0.999)  # no incidents
    model.streams["de_escalation"] = FixedStream(0.0)
    model.streams["aftermath"] = FixedStream(0.999)  # no calm-down methods
    escalation.escalate(model)
    return list(model.records.events_frame()["kind"].astype(str))


def test_6_8_escalation_a_prn_threshold_above_1_switches_unprompted_prn_off():
    """Issue 18: agitation was compared before the hour's clip, so A = 1.2 met a threshold of 1.01."""
    model = ward(1, prn_threshold=1.01, prn_offer_rate=1.0, calm_down_methods=0.0)
    set_clock(model, THERAPY_STEP)
    assert _unprompted(model, 1.2) == []
    model = ward(1, prn_threshold=0.9, prn_offer_rate=1.0, calm_down_methods=0.0)
    set_clock(model, THERAPY_STEP)
    assert _unprompted(model, 1.2) == ["prn_medication"]


def test_6_8_escalation_containment_costs_are_bounded_where_applied_and_agitation_waits_for_the_clip(incident_ward):
    """Issue 18 (text corrected): besides the hour's clip in recovery, a containment's trust loss stops at 0 and
    its resentment at 1 at once; agitation may leave [0, 1] until the clip."""
    model, kind = incident_ward(
        "verbal_aggression",
        de_escalation_first=0.0,
        containment_trust_loss=1.0,
        resentment_gain=1.0,
        coerciveness_prn=0.9,
        prn_independence_loss=0.5,
        calm_down_methods=0.0,
    )
    c = model.clients
    c.trust[0], c.resentment[0], c.independence[0] = 0.3, 0.5, 0.2
    answer(model, kind, [0.9, 0.9, 0.9])
    assert c.trust[0] == 0.0 and c.resentment[0] == 1.0 and c.independence[0] == 0.0
    model, kind = incident_ward(
        "verbal_aggression", n=3, de_escalation_first=0.0, witness_radius=3, victim_agitation=0.5
    )
    c = model.clients
    c.cell[:3] = zone_cells(model, "day_room")[:3]
    c.antecedent[0] = 0
    c.agitation[1] = 0.8
    answer(model, kind, [0.9, 0.9, 0.9])
    assert c.agitation[1] == pytest.approx(1.3)  # not clipped inside escalation
    model.streams["recovery"] = FixedStream(normal=0.0)
    recovery.recover(model)
    assert c.agitation[1] == 1.0  # the hour's clip


# --- 6.9 Temporary isolation ----------------------------------------------------------------------------


def test_6_9_isolation_planned_duration_as_written():
    model = ward(1, seclusion_hours=6.0)
    set_clock(model, THERAPY_STEP)
    for u, hours in ((0.5, max(1, round(-6.0 * math.log(0.5)))), (0.99, 1), (0.05, round(-6.0 * math.log(0.05)))):
        model.hour.seclusion_draws[:] = u
        isolation.start_seclusion(model, 0)
        assert model.clients.isolated_until[0] == THERAPY_STEP + hours
        model.clients.isolated[0] = False


def test_6_9_isolation_release_hour_is_not_an_isolation_hour_so_stays_and_steps_agree():
    """Issue 18: the release hour was counted in stays.isolation_hours but not in steps.n_isolated."""
    model = MilieuModel(rng=1, policy="restrictive", days=10)
    for _ in range(24 * 10):
        model.step()
    tables = model.tables()
    assert tables["steps"]["n_isolated"].sum() > 50  # seclusions happened
    assert tables["stays"]["isolation_hours"].sum() == tables["steps"]["n_isolated"].sum()
    # and a seclusion's isolation hours are the hours from its start to its release
    model = ward(1, seclusion_hours=4.0, release_agitation=0.5)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    model.hour.seclusion_draws[:] = math.exp(-1.0)  # D = 4
    isolation.start_seclusion(model, 0)
    c.agitation[0] = 0.2
    for step in range(THERAPY_STEP, THERAPY_STEP + 5):
        set_clock(model, step)
        isolation.isolate(model)
    assert not c.isolated[0] and c.isolation_hours[0] == 4


def test_6_9_isolation_release_after_effects_as_written():
    model = ward(
        1,
        seclusion_hours=2.0,
        release_agitation=0.5,
        resentment_gain=0.2,
        release_resentment_share=0.5,
        seclusion_independence_loss=0.1,
    )
    set_clock(model, THERAPY_STEP)
    c = model.clients
    model.hour.seclusion_draws[:] = math.exp(-0.5)  # D = 1
    isolation.start_seclusion(model, 0)
    c.agitation[0], c.resentment[0], c.independence[0] = 0.7, 0.3, 0.5
    set_clock(model, THERAPY_STEP + 1)  # due, but agitated: extended
    isolation.isolate(model)
    assert c.isolated[0]
    set_clock(model, THERAPY_STEP + 3)  # seclusion_hours beyond the planned end: released anyway
    isolation.isolate(model)
    assert not c.isolated[0] and c.cell[0] == c.bed[0]
    assert c.resentment[0] == pytest.approx(0.3 + 0.2 * 0.5) and c.independence[0] == pytest.approx(0.4)


# --- 6.10 Recovery --------------------------------------------------------------------------------------


def test_6_10_recovery_equations_as_written_in_their_order():
    p = dict(
        agitation_decay=0.1,
        agitation_baseline=0.1,
        agitation_symptom_baseline=0.25,
        fear_agitation=0.2,
        unsafe_ward_agitation=0.3,
        resentment_agitation=0.02,
        agitation_noise=0.05,
        fear_days=2.0,
        risk_memory_days=5.0,
        resentment_days=3.0,
        suppression_hours=12.0,
        affirmation_memory_days=56.0,
        correction_memory_days=14.0,
        self_control_learning=0.02,
        trust_recovery=0.01,
        independence_gain=0.02,
        autonomy_support=0.5,
        institutionalisation=0.01,
        custodial_care=0.4,
        symptom_recovery=0.1,
        agitation_symptom_push=0.005,
        therapy_learning=0.03,
        hold_learning_effect=1.0,
    )
    model = ward(1, **p)
    set_clock(model, THERAPY_STEP)  # awake, structured, trains coping
    climate_at_baseline(model)
    x0 = model.p["climate_baseline"]
    model.climate.values[0] = x0 - 0.2  # safety: the ward tension term
    c = model.clients
    A, F, R, U, C, T, T0, I, Y, S = 0.6, 0.3, 0.4, 0.5, 0.4, 0.5, 0.7, 0.6, 0.5, 0.3
    c.agitation[0], c.fear[0], c.resentment[0], c.suppression[0], c.self_control[0] = A, F, R, U, C
    c.trust[0], c.baseline_trust[0], c.independence[0], c.symptoms[0], c.coping_skill[0] = T, T0, I, Y, S
    c.affirmation_memory[0], c.correction_memory[0], c.incident_memory[0], c.self_harm_memory[0] = 2.0, 1.0, 3.0, 1.0
    c.attending[0] = True
    L = 0.6  # how well the group is led (6.20), times the learning of a structured activity
    model.hour.facilitation = L
    model.streams["recovery"] = FixedStream(normal=0.7)
    recovery.recover(model)
    safety = x0 - 0.2
    A0 = 0.1 + 0.25 * Y + 0.2 * F + 0.3 * (1 - safety)
    A1 = A + 0.1 * (A0 - A) + 0.02 * R + 0.05 * 0.7
    assert c.agitation[0] == pytest.approx(A1)
    assert c.fear[0] == pytest.approx(F * math.exp(-1 / (24 * 2.0)))
    assert c.incident_memory[0] == pytest.approx(3.0 * math.exp(-1 / (24 * 5.0)))
    assert c.resentment[0] == pytest.approx(R * math.exp(-1 / (24 * 3.0)))
    assert c.suppression[0] == pytest.approx(U * math.exp(-1 / 12.0))
    assert c.affirmation_memory[0] == pytest.approx(2.0 * math.exp(-1 / (24 * 56.0)))
    assert c.correction_memory[0] == pytest.approx(1.0 * math.exp(-1 / (24 * 14.0)))
    assert c.self_control[0] == pytest.approx(C + 0.02 * L * (0.5 + 0.5 * T) * (1 - C))  # the trust before its update
    T1 = T + 0.01 * (T0 - T)
    assert c.trust[0] == pytest.approx(T1)
    assert c.independence[0] == I  # issue 12: independence has its own process (6.18); recovery only clips it
    Y1 = Y * (1 - 0.1 / 24) + 0.005 * A1
    assert c.symptoms[0] == pytest.approx(Y1)
    assert c.coping_skill[0] == pytest.approx(S + 0.03 * L * (0.5 + 0.5 * T1) * (1 - Y1 / 2) * (1 - S))


def test_6_10_recovery_asleep_calms_by_the_sleep_factor_and_custodial_care_slows_daily_living():
    model = ward(
        1,
        agitation_decay=0.1,
        sleep_calming_factor=2.0,
        agitation_noise=0.0,
        unsafe_ward_agitation=0.0,
        fear_agitation=0.0,
        resentment_agitation=0.0,
        agitation_baseline=0.1,
        agitation_symptom_baseline=0.0,
    )
    set_clock(model, SLEEP_STEP)
    climate_at_baseline(model)
    model.streams["recovery"] = FixedStream(normal=0.0)
    model.clients.agitation[0] = 0.5
    recovery.recover(model)
    assert model.clients.agitation[0] == pytest.approx(0.5 + 0.1 * 2.0 * (0.1 - 0.5))
    # breakfast practises daily living, times 1 - custodial_care
    model = ward(1, therapy_learning=0.04, custodial_care=0.5, agitation_noise=0.0)
    set_clock(model, MEAL_STEP)
    climate_at_baseline(model)
    model.streams["recovery"] = FixedStream(normal=0.0)
    c = model.clients
    c.attending[0], c.daily_living_skill[0], c.symptoms[0] = True, 0.2, 0.4
    T = c.trust[0] + model.p["trust_recovery"] * (c.baseline_trust[0] - c.trust[0])
    Y = c.symptoms[0] * (1 - model.p["symptom_recovery"] / 24)
    recovery.recover(model)
    Y += model.p["agitation_symptom_push"] * c.agitation[0]
    expected = 0.2 + 0.04 * (0.5 + 0.5 * T) * (1 - Y / 2) * 0.8 * (1 - 0.5)
    assert c.daily_living_skill[0] == pytest.approx(expected, rel=1e-4)


# --- 6.12 Flashpoints -----------------------------------------------------------------------------------


def test_6_12_flashpoints_crowding_wait_and_chance_as_written():
    p = dict(
        queue_service_rate=4.0,
        queue_flashpoint_rate=0.5,
        crowding_agitation=0.1,
        turnover_flashpoint_chance=0.0,
        bad_news_rate=0.0,
    )
    model = ward(4, **p)
    set_clock(model, MEAL_STEP)  # 08:00 breakfast, no medication round
    c, h = model.clients, model.hour
    h.active[:] = True
    c.attending[:] = [True, True, True, False]
    c.agitation[:], c.trust[:] = 0.3, 0.4
    k = int(model.staff.on_duty.sum())
    wait = 3 / (2 * k * 4.0)
    assert flashpoints.queue_waits(model) == pytest.approx((wait, 0.0))
    chance = 1 - math.exp(-0.5 * wait)
    model.streams["flashpoints"] = FixedStream(
        table=np.array(
            [
                [chance - EPS, 0.9, 0.9, 0.9],
                [chance + EPS, 0.9, 0.9, 0.9],
                [chance - EPS, 0.9, 0.9, 0.9],
                [0.0, 0.9, 0.9, 0.9],
            ]
        )
    )
    flashpoints.strike(model)
    flared = 0.3 + 0.1 * (1 - 0.4 / 2)
    assert np.allclose(c.agitation[:4], [flared, 0.3, flared, 0.3])  # 3 is not at the meal: no wait


def test_6_12_flashpoints_turnover_and_mitigated_bad_news_as_written():
    p = dict(
        queue_flashpoint_rate=0.0,
        turnover_flashpoint_chance=0.2,
        turnover_agitation=0.1,
        bad_news_rate=0.5,
        bad_news_agitation=0.2,
        bad_news_mitigation=0.5,
        bad_news_mitigated_kept=0.3,
    )
    model = ward(3, **p)
    set_clock(model, LATE_SHIFT)  # a handover: one turnover event
    c, h = model.clients, model.hour
    h.active[:] = True
    c.admitted_step[2] = LATE_SHIFT  # an admission this hour: a second event
    assert flashpoints.turnover_events(model) == 2
    chance = 1 - (1 - 0.2) ** 2
    c.agitation[:], c.trust[:] = 0.3, 0.4
    # columns: queue, unsettled, news, mitigated
    model.streams["flashpoints"] = FixedStream(
        table=np.array(
            [
                [0.9, chance - EPS, 0.9, 0.9],
                [0.9, chance + EPS, 0.5 - EPS, 0.5 - EPS],
                [0.9, chance + EPS, 0.5 - EPS, 0.5 + EPS],
            ]
        )
    )
    flashpoints.strike(model)
    f = 1 - 0.4 / 2
    assert c.agitation[0] == pytest.approx(0.3 + 0.1 * f)
    assert c.agitation[1] == pytest.approx(0.3 + 0.2 * f * 0.3)
    assert c.agitation[2] == pytest.approx(0.3 + 0.2 * f)


def test_6_12_flashpoints_a_staff_member_on_the_floor_buffers_crowding_and_bad_news_as_written():
    """Issue 12: b_k = 1 - staff_presence_buffer for crowding and bad news in a zone with a staff member on the
    floor; turnover is not buffered; staff in the office (the nurses' station) buffer nothing."""
    p = dict(queue_service_rate=1.0, queue_flashpoint_rate=1.0, crowding_agitation=0.1, turnover_flashpoint_chance=0.3,
             turnover_agitation=0.05, bad_news_rate=1.0, bad_news_agitation=0.2, bad_news_mitigation=0.0,
             staff_presence_buffer=0.4)  # fmt: skip
    model = ward(2, **p)
    set_clock(model, MEAL_STEP)
    c, h, s = model.clients, model.hour, model.staff
    h.active[:] = True
    dining = zone_cells(model, "dining_room")
    c.cell[:2], c.attending[:2] = dining[:2], True
    on = np.flatnonzero(s.on_duty)
    s.cell[on] = zone_cells(model, "nurses_station")[: on.size]  # everyone in the office ...
    s.cell[on[1]] = dining[-1]  # ... but one, at the meal
    s.escorting[:] = -1
    c.admitted_step[1] = MEAL_STEP  # an admission this hour: a turnover event
    c.agitation[:2], c.trust[:2] = 0.3, 0.4
    model.streams["flashpoints"] = FixedStream(table=np.array([[0.0, 0.0, 0.0, 0.9], [0.0, 0.9, 0.0, 0.9]]))
    flashpoints.strike(model)
    f, b = 1 - 0.4 / 2, 1 - 0.4
    assert c.agitation[0] == pytest.approx(0.3 + 0.1 * f * b + 0.05 * f + 0.2 * f * b)
    assert c.agitation[1] == pytest.approx(0.3 + 0.1 * f * b + 0.2 * f * b)
    # the same staff member escorting a client 1:1 elsewhere is not on the floor for the others
    s.escorting[on[1]] = 5
    c.agitation[:2] = 0.3
    flashpoints.strike(model)
    assert c.agitation[1] == pytest.approx(0.3 + 0.1 * f + 0.2 * f)


# --- 6.13 Home ------------------------------------------------------------------------------------------


def test_6_13_home_stress_and_support_as_written():
    p = dict(home_stress_rate=0.3, home_stress_agitation=0.2, home_support_rate=0.4, home_support_calm=0.25)
    model = MilieuModel(rng=2, setting="day_program", n_clients=3, **p)
    set_clock(model, 11)  # Monday 17:00: away, awake at home
    assert model.hour.away and home.awake_at_home(model.hour)
    c = model.clients
    c.on_unit[:] = False
    c.agitation[:], c.trust[:] = 0.4, 0.6
    model.streams["home"] = FixedStream(table=np.array([[0.3 - EPS, 0.9], [0.9, 0.4 - EPS], [0.3 - EPS, 0.4 - EPS]]))
    home.live_at_home(model)
    stressed = 0.4 + 0.2 * (1 - 0.6 / 2)
    assert np.allclose(c.agitation[:3], [stressed, 0.4 * 0.75, stressed * 0.75])
    set_clock(model, 18)  # 00:00 at home: asleep, nothing happens
    home.live_at_home(model)
    assert np.allclose(c.agitation[:3], [stressed, 0.4 * 0.75, stressed * 0.75])


# --- 6.14 Observation levels ----------------------------------------------------------------------------


def test_6_14_observation_levels_risk_and_review_as_written():
    p = dict(
        observation_incident_weight=0.2,
        observation_self_harm_weight=0.5,
        observation_intermittent_risk=0.6,
        observation_within_sight_risk=1.0,
        observation_arms_length_risk=1.5,
        containment_trust_loss=0.1,
        resentment_gain=0.2,
        coerciveness_special_observation=0.5,
    )
    model = ward(4, **p)
    set_clock(model, LATE_SHIFT)  # a shift change: the review
    c = model.clients
    c.agitation[:], c.self_control[:] = [0.9, 0.6, 0.3, 0.2], [0.3, 0.4, 0.3, 0.6]
    c.incident_memory[:] = [0.0, 2.0, 2.0, 0.0]
    c.self_harm_memory[:] = [0.0, 1.0, 2.0, 0.0]
    c.trust[:], c.resentment[:] = 0.5, 0.0
    c.observation_level[:] = GENERAL
    c.observation_until[:] = 0
    risks = [
        max(a - s, 0) + 0.2 * m + 0.5 * h
        for a, s, m, h in zip(
            c.agitation[:4], c.self_control[:4], c.incident_memory[:4], c.self_harm_memory[:4], strict=True
        )
    ]
    assert risks == pytest.approx([0.6, 0.2 + 0.4 + 0.5, 0.4 + 1.0, 0.0])
    observation.observe(model)
    assert list(c.observation_level[:4]) == [INTERMITTENT, WITHIN_SIGHT, WITHIN_SIGHT, GENERAL]
    assert model.hour.containment_events == 3
    assert c.trust[0] == pytest.approx(0.5 - 0.1 * 0.5) and c.resentment[0] == pytest.approx(0.2 * 0.5)
    assert c.trust[3] == 0.5
    c.incident_memory[1] = 5.0
    set_clock(model, LATE_SHIFT + 8)
    observation.observe(model)
    assert c.observation_level[1] == ARMS_LENGTH


# --- 6.15 Ward climate ----------------------------------------------------------------------------------


def test_6_15_climate_equations_as_written():
    p = dict(
        climate_baseline=0.5,
        climate_days=2.0,
        safety_incident_loss=0.3,
        cohesion_group_gain=0.02,
        cohesion_encounter_gain=0.01,
        cohesion_affirmation_gain=0.05,
        cohesion_conflict_loss=0.1,
        hold_staff_gain=0.04,
        hold_coercion_loss=0.2,
        know_each_other=0.5,
        know_each_other_effect=1.0,
        mutual_help_meeting=0.0,
    )
    model = ward(4, **p)
    set_clock(model, THERAPY_STEP)  # awake, structured, no meeting, no handover
    c, h = model.clients, model.hour
    model.climate.values[:] = [0.6, 0.4, 0.7]
    c.attending[:] = [True, True, False, True]
    h.active[:] = True
    h.partner_kind[:] = [CLIENT_PARTNER, CLIENT_PARTNER, STAFF_PARTNER, NO_PARTNER]
    h.conflictual[:] = [False, True, False, False]
    model.climate.affirmations_seen = c.affirmations_received.copy()
    model.climate.counting[0] = True  # the count of affirmations has started: those seen are as set here
    c.affirmations_received[2] += 2
    h.incident_exposure, h.incidents_on_clients, h.incidents_on_staff, h.coercion = 1.2, 1, 1, 0.5
    climate.update_climate(model)
    N, k, X0 = 4, 1 / (24 * 2.0), 0.5
    ke = 0.5 * 1.0
    G, P, S, Q, F, Vc, Vs, K, E = 3, 1, 1, 1, 2, 1, 1, 0.5, 1.2
    safety = 0.6 + k * (X0 - 0.6)  # in the order written: relaxation, then the hour's gains, then its losses
    safety -= 0.3 * safety * E / N
    cohesion = 0.4 + k * (X0 - 0.4)
    cohesion += (1 - cohesion) * (0.02 * G + 0.01 * (1 + ke) * P + 0.05 * F) / N
    cohesion -= 0.1 * cohesion * (Q + Vc) / N
    hold = 0.7 + k * (X0 - 0.7)
    hold += 0.04 * (1 - hold) * S / N
    hold -= 0.2 * hold * (K + Vs) / N
    assert model.climate.values == pytest.approx([safety, cohesion, hold])


# --- 6.24 Life after discharge: follow-up and readmission -------------------------------------------------
def _first_day(wanted) -> np.ndarray:
    """A follow-up generator (streams.KeyedGenerator.words) whose first day's draws (stressor, use of each skill,
    aftercare, referral: NumPy's first six uniforms of it) are as ``wanted`` says."""
    from milieu_sim.model.streams import KeyedGenerator

    keyed = KeyedGenerator(0)
    return next(keyed.words("day", k) for k in range(100_000) if wanted(keyed("day", k).random(6)))


def test_6_24_one_day_outside_as_written():
    from milieu_sim.model.processes import aftercare

    model = ward(1, practice_chance=0.0, practice_independence=0.0, practice_insight=0.0, transition_stress=0.0)
    c, p = model.clients, model.p
    c.skills[:, 0], c.external_share[0], c.symptoms[0], c.support[0] = 0.5, 0.4, 0.3, 0.6
    flow.exit_client(model, 0, "completed")
    f = model.followup
    f.generators[0] = _first_day(lambda u: u[0] < 0.02 and min(u[4:]) > 0.9)  # a stressor; no skill used (no
    f.exit_step[0] -= 24  # chance of use); no aftercare; no referral
    aftercare.follow_up(model)
    own = 0.5 * 0.6 * math.exp(-1 / p["skill_disuse_days"])
    token = 0.5 * 0.4 * math.exp(-1 / p["token_fade_days"])
    buffer = 1 - (1 - p["followup_support_buffer"] * 0.6) * (1 - p["followup_skill_buffer"] * (own + token))
    y = 0.3 + p["followup_stress_symptoms"] * (1 - buffer)
    y -= p["followup_recovery"] * buffer * y
    assert f.x[aftercare.OWN, 0] == pytest.approx(own) and f.x[aftercare.TOKEN, 0] == pytest.approx(token)
    assert f.x[aftercare.Y, 0] == pytest.approx(y)

"""Treatment plans, the team's reviews and discharge on the plan (docs/ODD.md 6.23 and 6.2), on hand-built states."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import flow, movement, planning, staff_response
from milieu_sim.model.state import DAILY_LIVING, PRIMARY, PROSOCIAL, SENIOR

WARD_ROUND_STEP = 5  # Monday 11:00
REVIEW_STEP = WARD_ROUND_STEP + 24 * planning.REVIEW_WEEKDAY  # the weekly review's ward round


def ward(n: int = 2, **kwargs) -> MilieuModel:
    kwargs.setdefault("dropout_per_day", 0.0)
    return MilieuModel(rng=2, n_clients=n, **kwargs)


def history(model, slot):
    return planning.plan_history(model, int(model.clients.client_id[slot]))


def test_a_plan_is_set_at_admission_from_the_profile():
    model = ward(2, skill_goal=0.55, plan_skill_gain=0.2)
    c = model.clients
    rows = history(model, 0)
    assert set(rows.loc[rows["change"] == "set", "reason"]) == {"admission"}
    assert {"symptoms", "risk"} <= set(rows["goal"])
    for k, name in enumerate(planning.SKILL_GOALS):  # a skill is a goal exactly when it was below the standard
        assert (name in set(rows["goal"])) == bool(c.at_admission[0, 0] >= 0 and c.skills[k, 0] < 0.55)
    goals = {row["goal"]: row for row in planning.plan_summary(model, 0)}
    assert goals["symptoms"]["target"] == model.p["discharge_symptoms"]
    assert goals["risk"]["role"] == "nurse"


def test_a_stalled_plan_is_changed_at_the_review_with_the_reason():
    model = ward(2, plan_stall_gain=0.01, plan_target_step=0.05)
    c = model.clients
    c.skills[:, :] = 0.3
    planning.set_plan(model, 0)  # a fresh plan on the hand-built state
    c.one_to_one[0] = False
    c.plan_focus[0] = 0
    target = c.skill_target[0, 0]
    set_clock(model, REVIEW_STEP)
    planning.review(model)  # no progress since admission
    rows = history(model, 0)
    added = rows[(rows["goal"] == "one_to_one") & (rows["change"] == "added")]
    assert list(added["reason"]) == ["progress stalled"]
    assert c.skill_target[0, 0] == target  # first the sessions, not a lower target
    set_clock(model, REVIEW_STEP + 24 * 7)
    planning.review(model)  # still no progress, with sessions
    rows = history(model, 0)
    lowered = rows[rows["change"] == "lowered"]
    assert len(lowered) >= 1 and set(lowered["reason"]) == {"still stalled"}
    assert c.skill_target[0, 0] == pytest.approx(target - 0.05)
    for _ in range(20):  # never below the floor: the admission level plus plan_min_gain
        planning.review(model)
    assert c.skill_target[0, 0] == pytest.approx(c.skill_floor[0, 0]) and c.skill_floor[0, 0] > 0.3


def test_progress_keeps_the_plan_and_a_goal_reached_is_marked_met():
    model = ward(2)
    c = model.clients
    c.skills[:, :] = 0.3
    planning.set_plan(model, 0)
    c.one_to_one[0] = False
    set_clock(model, REVIEW_STEP)
    c.skills[:, 0] = c.skill_target[:, 0] + 0.01  # every skill goal reached
    planning.review(model)
    rows = history(model, 0)
    assert not (rows["change"] == "lowered").any()
    assert not ((rows["goal"] == "one_to_one") & (rows["change"] == "added")).any()
    met = rows[rows["change"] == "met"]
    assert set(planning.SKILL_GOALS) & set(met["goal"]) == {g for k, g in enumerate(planning.SKILL_GOALS)
                                                              if c.plan_skill[k, 0]}  # fmt: skip


def test_one_to_one_sessions_practise_the_plans_skill_on_weekdays():
    model = ward(2, one_to_one_learning=0.05)
    c = model.clients
    c.skills[:, :] = 0.3
    c.one_to_one[:] = [True, False]
    c.plan_focus[:] = [1, 1]
    set_clock(model, WARD_ROUND_STEP)
    planning.daily(model)
    assert c.skills[1, 0] > 0.3 and c.skills[0, 0] == 0.3 and c.skills[2, 0] == 0.3
    assert np.all(c.skills[:, 1] == 0.3)
    set_clock(model, WARD_ROUND_STEP + 24 * 5)  # Saturday: no sessions
    before = c.skills[1, 0]
    planning.daily(model)
    assert c.skills[1, 0] == before


def test_an_acute_client_at_the_symptom_and_risk_targets_leaves_one_with_skills_but_symptoms_stays():
    model = ward(3, waiting_referrals=0, min_stay_days=3)
    c = model.clients
    c.admitted_step[:] = -24 * 10
    c.symptom_target[:] = 0.4
    c.risk_target[:] = 1
    c.skills[:, :] = [[0.2, 0.9, 0.2]] * 3  # client 1 has every skill, clients 0 and 2 few
    c.symptoms[:] = [0.35, 0.6, 0.35]
    c.incidents_week[:] = [0, 0, 3]  # client 2 is at the symptom target but not the risk target
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    assert list(c.present) == [False, True, True]
    assert model.records.stays[0]["exit_reason"] == "completed"


def test_bed_pressure_discharges_the_readiest_client_first():
    model = ward(4, waiting_referrals=1, bed_pressure_relax=0.2, min_stay_days=3)
    c = model.clients
    c.admitted_step[:] = -24 * 10
    c.symptom_target[:] = 0.4
    c.risk_target[:] = 1
    c.incidents_week[:] = 0
    c.symptoms[:] = [0.55, 0.45, 0.5, 0.9]  # nobody at target; client 1 the readiest
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    assert list(c.present) == [True, False, True, True]
    row = model.records.stays[0]
    assert row["exit_reason"] == "completed" and row["bed_pressure"] and row["plan_goals_met"] < row["plan_goals"]
    # with a free bed (nobody waits for this one) nobody else leaves sooner
    set_clock(model, WARD_ROUND_STEP + 24)
    flow.discharge(model)
    assert list(c.present) == [True, False, True, True]


def test_bed_pressure_makes_room_only_where_other_exits_have_not_and_breaks_ties_by_slot():
    """Two referrals wait; a transfer already frees one bed, so one client leaves sooner: of two equally ready
    clients the lower slot, never the secluded one (readier still) and never one who is not ready enough."""
    model = ward(5, waiting_referrals=2, bed_pressure_relax=0.2, min_stay_days=3, max_stay_days=60)
    c = model.clients
    c.admitted_step[:] = -24 * 10
    c.admitted_step[0] = -24 * 61  # past the stay limit: a transfer
    c.symptom_target[:] = 0.4
    c.risk_target[:] = 1
    c.incidents_week[:] = 0
    c.symptoms[:] = [0.9, 0.5, 0.5, 0.42, 0.7]  # 1 and 2 tie; 3 the readiest but secluded; 4 beyond the relax
    c.isolated[3] = True
    set_clock(model, WARD_ROUND_STEP)
    before = flow.ready_for_discharge(model, 0.2)
    assert list(before) == [False, True, True, True, False]  # secluded or not, the thresholds alone
    flow.discharge(model)
    assert list(c.present) == [False, False, True, True, True]
    reasons = {row["exit_reason"]: row["bed_pressure"] for row in model.records.stays}
    assert reasons == {"transfer": False, "completed": True}


def test_graduation_needs_every_skill_goal_and_the_senior_phase_served():
    """Under ``plan_goals``, the symptom and risk targets are not enough: every skill the plan names must be at
    its target (a skill the plan leaves out does not count), in the senior phase for ``graduation_days``."""
    model = ward(3, discharge_rule="plan_goals", graduation_days=14, waiting_referrals=0)
    c = model.clients
    set_clock(model, WARD_ROUND_STEP)
    c.symptom_target[:] = 0.4
    c.symptoms[:] = 0.3
    c.risk_target[:] = 1
    c.incidents_week[:] = 0
    c.phase[:] = SENIOR
    c.senior_step[:] = model.steps - 24 * 20
    c.plan_skill[:, :] = False
    c.plan_skill[0, :] = True
    c.skill_target[0, :] = 0.6
    c.values[0, :] = [0.6, 0.59, 0.6]
    c.values[1, :] = 0.0  # not a goal of the plan
    c.senior_step[2] = model.steps - 24 * 13  # a day short of the re-entry phase
    assert list(flow.ready_for_discharge(model)) == [True, False, False]
    c.phase[0] = PRIMARY
    assert not flow.ready_for_discharge(model)[0]


def test_without_waiting_referrals_nobody_leaves_sooner():
    model = ward(4, waiting_referrals=0, bed_pressure_relax=0.2, min_stay_days=3)
    c = model.clients
    c.admitted_step[:] = -24 * 10
    c.symptom_target[:] = 0.4
    c.incidents_week[:] = 0
    c.symptoms[:] = [0.55, 0.45, 0.5, 0.9]
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    assert c.present.all()


def test_a_community_graduates_a_client_when_the_plans_goals_are_met():
    model = MilieuModel(
        setting="residential_tc", rng=2, n_clients=4, dropout_per_day=0.0, min_stay_days=28, graduation_days=14
    )
    c = model.clients
    c.admitted_step[:] = -24 * 60
    c.phase[:] = SENIOR
    c.senior_step[:] = -24 * 20  # seniors for 20 days: the re-entry phase served
    c.plan_skill[:, :] = False
    c.plan_skill[DAILY_LIVING, :] = True
    c.skill_target[DAILY_LIVING, :] = 0.6
    c.symptom_target[:] = 0.4
    c.symptoms[:] = 0.3
    c.incidents_week[:] = 0
    c.skills[DAILY_LIVING, :] = [0.65, 0.5, 0.65, 0.65]
    c.phase[2] = PRIMARY  # not yet a senior: not graduated
    c.senior_step[3] = -24 * 3  # a senior for 3 days only: goals met, re-entry not yet served
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    # the second has not met its goal, the third is no senior, the fourth has not served graduation_days
    assert list(c.present) == [False, True, True, True]
    row = model.records.stays[0]
    assert row["exit_reason"] == "completed" and not row["bed_pressure"]


def test_medication_review_is_added_when_symptoms_stall_and_brings_them_down():
    model = ward(2, medication_review_effect=0.1)
    c = model.clients
    c.symptoms[:] = 0.7
    planning.set_plan(model, 0)
    set_clock(model, REVIEW_STEP)
    planning.review(model)
    assert c.medication_review[0]
    rows = history(model, 0)
    assert "symptoms not falling" in set(rows.loc[rows["goal"] == "medication_review", "reason"])
    planning.review(model)
    assert c.symptoms[0] == pytest.approx(0.7 * 0.9)


def test_the_plans_table_and_the_app_functions():
    model = MilieuModel(rng=3, days=21)
    model.run()
    tables = model.tables()
    plans = tables["plans"]
    assert list(plans.columns) == ["client_id", "day", "goal", "target", "status", "change", "reason"]
    assert (plans["change"] == "set").any() and len(plans) > model.clients.n
    slot = int(np.flatnonzero(model.clients.present)[0])
    summary = planning.plan_summary(model, slot)
    assert {"goal", "role", "target", "current", "status"} <= set(summary[0])
    assert not history(model, slot).empty or model.clients.admitted_step[slot] <= 0
    stays = tables["stays"]
    assert {"diagnosis", "detained", "plan_goals", "plan_goals_met", "bed_pressure"} <= set(stays.columns)
    assert (stays["plan_goals_met"] <= stays["plan_goals"]).all()


def test_a_detained_client_is_never_dropped_by_the_hourly_run():
    model = MilieuModel(rng=5, days=30, dropout_per_day=0.2)
    model.streams["dropout"] = FixedStream(0.0)
    model.run()
    stays = model.tables()["stays"]
    assert not ((stays["exit_reason"] == "dropout") & stays["detained"]).any()
    assert ((stays["exit_reason"] == "dropout") & ~stays["detained"]).any()


def test_a_warm_start_keeps_the_plans_of_the_clients_present():
    model = MilieuModel(rng=3, warm_start_days=14, days=7)
    model.run()
    plans = model.tables()["plans"]
    c = model.clients
    admitted_before = [int(i) for i, step in zip(c.client_id, c.admitted_step, strict=True)
                       if step < model.clock_start and i >= 0]  # fmt: skip
    assert admitted_before
    for client in admitted_before:
        rows = planning.plan_history(model, client)
        assert (rows["change"] == "set").any() and rows["day"].min() < 0
    assert set(plans["client_id"]) <= set(c.client_id) | set(model.tables()["stays"]["client_id"])


def test_a_one_to_one_session_follows_the_equation():
    model = ward(1, one_to_one_learning=0.04)
    c = model.clients
    c.skills[:, 0] = [0.3, 0.4, 0.5]
    c.trust[0], c.symptoms[0] = 0.6, 0.5
    c.one_to_one[0], c.plan_focus[0] = True, 2
    set_clock(model, WARD_ROUND_STEP)
    planning.daily(model)
    assert c.skills[2, 0] == pytest.approx(0.5 + 0.04 * (0.5 + 0.3) * (1 - 0.25) * 0.5)


def test_the_social_workers_discharge_planning_brings_support_to_its_target():
    model = ward(1, support_target=0.5, social_work_gain=0.1)
    c = model.clients
    c.support[0] = 0.3
    planning.set_plan(model, 0)
    assert c.discharge_planning[0] and c.plan_support[0]
    set_clock(model, REVIEW_STEP)
    for _ in range(8):
        planning.review(model)
    rows = history(model, 0)
    assert ((rows["goal"] == "support") & (rows["change"] == "met")).any()
    assert 0.5 <= c.support[0] < 0.6  # the work stops once support is at its target


def test_staff_reinforce_what_the_plan_works_on_outside_a_training_activity():
    """The same reinforced act in free time raises the plan's focus skill for one client and all three skills a
    little for a twin whose plan has no skill goal."""
    model = MilieuModel(rng=3, n_clients=2, reinforcement_rate=1.0, token_rewards=0.0)
    set_clock(model, 7)  # 13:00, free time: no skill trained
    assert model.hour.trains < 0
    c, h = model.clients, model.hour
    c.skills[:, :] = 0.4
    c.plan_focus[:] = [DAILY_LIVING, -1]
    movement.move(model)
    h.behaviour[:] = PROSOCIAL
    h.active[:] = False  # no requests
    h.observer[:] = 0
    h.observer_step = h.step
    model.streams["staff_response"] = FixedStream(value=0.0)
    staff_response.respond(model)
    focus_rise = c.skills[:, 0] - 0.4
    spread_rise = c.skills[:, 1] - 0.4
    assert focus_rise[DAILY_LIVING] > 0 and focus_rise[[k for k in range(3) if k != DAILY_LIVING]].max() == 0
    assert (spread_rise > 0).all() and spread_rise.max() < focus_rise[DAILY_LIVING]


def test_the_review_the_app_and_the_stays_row_read_the_goals_alike():
    """One rule decides whether a goal is at its target (``planning.goals_of``): a skill a hair under its target
    (within 1e-12) is met, symptoms above theirs are not, support counts only when in the plan; the review marks
    the goals it finds met, the app shows them so, and the `stays` row counts them so at exit."""
    model = ward(2, skill_goal=0.9)
    c = model.clients
    c.skills[:, 0] = 0.3
    planning.set_plan(model, 0)
    c.plan_support[0] = False
    c.support[0] = 0.0  # far below the support target, but not in the plan
    c.skills[:, 0] = c.skill_target[:, 0] - 1e-13  # at the targets, to within rounding
    c.symptoms[0] = c.symptom_target[0] + 0.05  # above the symptom target
    c.incidents_week[0] = 0
    in_plan = {name: bool(c.plan_skill[k, 0]) for k, name in enumerate(planning.SKILL_GOALS)}
    expected = {name for name, planned in in_plan.items() if planned} | {"risk"}
    assert {row["goal"] for row in planning.plan_summary(model, 0) if row["status"] == "met"} == expected
    set_clock(model, REVIEW_STEP)
    planning.review(model)
    rows = history(model, 0)
    assert set(rows.loc[rows["change"] == "met", "goal"]) == expected
    row = flow.stay_row(model, 0, "completed")
    assert (row["plan_goals"], row["plan_goals_met"]) == (sum(in_plan.values()) + 2, len(expected))
    assert np.isnan(flow.stay_row(model, 0, "still_present")["exit_day"])

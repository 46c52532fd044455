"""The outpatient group setting: clients live at home and meet once a week (issue 13, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from milieu_sim import MilieuModel
from milieu_sim.errors import WardMapError
from milieu_sim.model.params import SETTING_NAMES
from milieu_sim.model.routine import load_routine
from milieu_sim.model.ward import ZONE_CODE, load_floor_plan, parse_floor_plan

GROUP_HOURS = {(2, 17), (2, 18)}  # (weekday, clock hour): Wednesday 17-19
GROUP_ROOM, QUIET = ZONE_CODE["group_room"], ZONE_CODE["quiet_room"]


def _hours(model: MilieuModel, days: int):
    """Step the model ``days`` days, yielding after every hour."""
    for _ in range(24 * days):
        model.step()
        yield model.hour


@pytest.fixture(scope="module")
def half_year():
    model = MilieuModel(setting="outpatient_group", rng=5, days=180)
    return model, model.run().tables()


def test_the_setting_is_a_weekly_group_in_a_clinic_without_beds():
    assert "outpatient_group" in SETTING_NAMES
    routine = load_routine("outpatient_group.toml")
    on_unit = np.flatnonzero(routine.kind != routine.kind[0])  # hour 0 (Monday 00:00) is away
    assert [(int(k) // 24, int(k) % 24) for k in on_unit] == sorted(GROUP_HOURS)
    assert routine.from_home[on_unit].all() and routine.structured[on_unit].all() and not routine.needs_beds
    model = MilieuModel(setting="outpatient_group", rng=1, days=7)
    assert model.plan.n_beds == 0 and (model.clients.bed == -1).all()
    assert set(model.plan.zones_present()) == {"corridor", "day_room", "group_room", "nurses_station", "quiet_room"}
    assert 8 <= model.p["n_clients"] <= 12
    late = model.staff.shift == 1  # the group's shift (15-23): a facilitator and a colleague in the office
    assert 1 <= late.sum() <= 2


def test_clients_are_off_the_grid_except_in_group_hours():
    model = MilieuModel(setting="outpatient_group", rng=2, days=14)
    c = model.clients
    assert model.census == 0 and (c.cell[c.present] == -1).all()  # admitted at home
    seen = set()
    for h in _hours(model, 14):
        if (h.weekday, h.hour) in GROUP_HOURS:
            here = c.present & (c.cell >= 0)
            seen.add(h.day)
            # who is on the unit is in the group room, or stepped out to the interview room (time-out)
            assert np.isin(model.plan.zone_of(c.cell[here]), [GROUP_ROOM, QUIET]).all()
            assert (c.on_unit == here).all()
        else:
            assert model.census == 0 and not c.on_unit.any()
            assert (c.cell[c.present] == -1).all()
            assert all(a.cell is None for a in model.clients_present)
    assert seen == {2, 9}  # two Wednesdays


def test_the_group_meets_weekly_with_its_members_and_a_facilitator(half_year):
    model, tables = half_year
    steps = tables["steps"]
    weekday = ((7 + steps["step"] - 1) // 24) % 7
    in_group = np.array([(w, h) in GROUP_HOURS for w, h in zip(weekday, steps["hour"], strict=True)])
    assert (steps.loc[~in_group, "census"] == 0).all()
    group = steps[in_group]
    assert len(group) == 2 * 26  # the Wednesdays of 180 days: days 2, 9, ..., 177
    assert (group["staff_on_duty"] == 2).all()
    # most members come, not all: attendance by structure and trust; who does not come stays at home
    share = group["census"].mean() / model.p["n_clients"]
    assert 0.3 < share < 0.95 and group["census"].min() >= 1
    model2 = MilieuModel(setting="outpatient_group", rng=3, days=7)
    for h in _hours(model2, 3):
        if (h.weekday, h.hour) == (2, 17):
            s = model2.staff
            facilitators = s.on_duty & (s.cell >= 0) & (model2.plan.zone_of(np.maximum(s.cell, 0)) == GROUP_ROOM)
            assert facilitators.sum() >= 1
            c = model2.clients
            members = np.flatnonzero(c.present)
            assert ((c.cell[members] >= 0) == c.attending[members]).all()  # who did not come is at home
            break


def test_who_does_not_come_stays_at_home_but_a_client_in_time_out_stays_out_of_the_room():
    from milieu_sim.model.processes.home import stay_home

    model = MilieuModel(setting="outpatient_group", rng=4, days=7)
    for h in _hours(model, 3):
        if (h.weekday, h.hour) == (2, 17):
            break
    c = model.clients
    came = np.flatnonzero(c.present & (c.cell >= 0))
    assert came.size >= 2
    first, second = came[:2]
    c.attending[[first, second]] = False
    c.time_out_until[second] = model.hour.step + 1
    assert set(stay_home(model).tolist()) == {int(first)}
    assert c.cell[first] == -1 and not c.on_unit[first] and model.client_agents[first].cell is None
    assert c.cell[second] >= 0


def test_peer_feedback_happens_in_the_group_when_on():
    counts = {}
    for on in (False, True):  # a year: two hours a week with about six members give a few pieces a season
        model = MilieuModel(setting="outpatient_group", policy="therapeutic_milieu", rng=2, days=364, peer_feedback=on)
        model.run()
        feedback = model.tables()["feedback"]
        step = feedback["step"]
        hours = list(zip(((7 + step - 1) // 24) % 7, (7 + step - 1) % 24, strict=True))
        assert all(h in GROUP_HOURS for h in hours)  # feedback only where people meet
        counts[on] = int((feedback["sender_role"] == "client").sum())
    assert counts[False] == 0 and counts[True] > 0


def test_a_half_year_completes_with_the_usual_tables_and_courses_that_end(half_year):
    model, tables = half_year
    assert {"steps", "shifts", "events", "feedback", "stays"} <= set(tables)
    stays = tables["stays"]
    ended = stays[stays["exit_reason"] != "still_present"]
    reasons = set(ended["exit_reason"].astype(str))
    assert "completed" in reasons and "dropout" in reasons and "transfer" not in reasons  # a course ends, completed
    assert ended["length_of_stay_days"].max() <= model.p["max_stay_days"] + 1
    assert not (tables["events"]["kind"] == "seclusion").any()  # no seclusion room
    from milieu_sim.experiments.outcomes import measure

    result = measure(tables, outcomes=["conflict_per_shift", "shifts"])
    assert result["conflict_per_shift"] == pytest.approx(
        tables["shifts"].loc[tables["shifts"]["census"] > 0, "conflict_events"].mean()
    )  # per shift with the group on the unit, not per empty shift
    assert result["shifts"] == int((tables["shifts"]["census"] > 0).sum()) < len(tables["shifts"]) / 10


def test_clients_at_home_are_not_put_on_special_observation():
    model = MilieuModel(setting="outpatient_group", rng=7, days=7)
    c = model.clients
    c.incident_memory[:] = 5.0  # high risk everywhere
    for _ in _hours(model, 1):  # Monday: three shift changes, everyone at home
        assert not c.on_unit.any()
    assert not (model.tables()["events"]["kind"] == "special_observation").any()


def test_levers_that_cannot_act_in_a_clinic_break_nothing():
    for policy in ("restrictive", "therapeutic_milieu", "safewards"):
        tables = MilieuModel(setting="outpatient_group", policy=policy, rng=8, days=28, isolation_threshold=1).run()
        kinds = set(tables.tables()["events"]["kind"].astype(str))
        assert not kinds & {"seclusion", "restraint", "prn"}


def test_a_floor_plan_without_beds_goes_only_with_a_routine_without_sleep(tmp_path):
    clinic = "######\n#GGGQ#\n#GG.D#\n######\n"
    plan = parse_floor_plan(clinic)
    assert plan.n_beds == 0 and (plan.bed_cells(3) == -1).all()
    path = tmp_path / "clinic.txt"
    path.write_text(clinic)
    with pytest.raises(WardMapError, match="no beds, but the routine sends clients to bed"):
        MilieuModel(ward_map=str(path), n_clients=2)
    with pytest.raises(WardMapError, match="group-room cells"):
        load_floor_plan(str(path), 6, needs_beds=False)
    secluding = tmp_path / "secluding.txt"
    secluding.write_text(clinic.replace("D", "S"))
    with pytest.raises(WardMapError, match="seclusion room"):
        load_floor_plan(str(secluding), 2, needs_beds=False)
    model = MilieuModel(setting="outpatient_group", ward_map=str(path), n_clients=5, rng=1, days=7).run()
    assert len(model.tables()["stays"]) >= 5


def test_compare_runs_in_the_outpatient_group():
    from milieu_sim.analysis.comparison import compare_policies

    result = compare_policies(
        ["usual_care", "therapeutic_milieu"], replicates=2, base={"setting": "outpatient_group", "days": 56}
    )
    assert result.failures.empty
    assert set(result.runs["policy"]) == {"usual_care", "therapeutic_milieu"}
    assert result.runs["conflict_per_bed_day"].notna().any()

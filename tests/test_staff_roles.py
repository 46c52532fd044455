"""Staff as facilitators and preventers (docs/ODD.md 6.20 Facilitation, 6.21 Prevention; 6.3 and 6.12).

Each test builds small hand-made states, runs the phase and compares consequences between states: who leads a
group and how well changes what it teaches; staff in the office see, lead and prevent nothing; a check-in
calms a rising client and leaves a calm one alone; how engaged the staff are decides whether the same
agitated client is reached.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.experiments.runner import run_experiment
from milieu_sim.model.processes import facilitation, flashpoints, movement, prevention, recovery
from milieu_sim.model.processes.movement import observers
from milieu_sim.model.records import KIND
from milieu_sim.model.state import SENIOR
from milieu_sim.model.ward import ZONE_CODE

THERAPY_STEP = 4  # Monday 10:00: the therapy group, structured, trains coping; a new block
NURSES = ZONE_CODE["nurses_station"]
DAY_ROOM = ZONE_CODE["day_room"]


FREE_TIME_STEP = 7  # 13:00 on the first Monday: free time (not structured)


def ward(n: int = 2, **kwargs) -> MilieuModel:
    model = MilieuModel(rng=2, n_clients=n, **kwargs)
    set_clock(model, THERAPY_STEP)
    model.climate.values[:] = model.p["climate_baseline"]  # every climate factor behaviour reads is 1
    return model


def on_duty(model: MilieuModel) -> np.ndarray:
    return np.flatnonzero(model.staff.on_duty)


def send_all_to_office(model: MilieuModel) -> None:
    s = model.staff
    station = model.plan.zone_cells[NURSES]
    for k, j in enumerate(on_duty(model)):
        s.cell[j] = station[k % station.size]
        s.escorting[j] = -1


def cells_of(model: MilieuModel, zone: int) -> np.ndarray:
    return model.plan.zone_cells[zone]


def far_from_station(model: MilieuModel, zone: int) -> np.ndarray:
    """Cells of a zone beyond every station cell's field of view (staff_observe_radius)."""
    h, r = model.plan.height, model.p["staff_observe_radius"]
    station = cells_of(model, NURSES)
    cells = cells_of(model, zone)
    dx = np.abs(cells[:, None] // h - station[None, :] // h)
    dy = np.abs(cells[:, None] % h - station[None, :] % h)
    d = np.maximum(dx, dy).min(axis=1)  # Chebyshev distance to the nearest station cell
    return cells[d > r]


# --- 6.20 Facilitation ------------------------------------------------------------------------------------------


def _group_learning(leader_quality: float | None, **kwargs) -> tuple[float, float, float]:
    """One hour of the therapy group with the given leader in the room (None: every staff member in the office):
    (facilitation, self-control gained, coping skill gained) of an attending client."""
    model = ward(2, agitation_noise=0.0, **kwargs)
    send_all_to_office(model)
    s, c, h = model.staff, model.clients, model.hour
    room = cells_of(model, h.zone)
    if leader_quality is not None:
        j = on_duty(model)[1]
        s.cell[j], s.model_quality[j] = room[0], leader_quality
    c.cell[:2], c.attending[:2] = room[1:3], True
    c.self_control[:2], c.coping_skill[:2], c.trust[:2], c.symptoms[:2] = 0.3, 0.3, 0.5, 0.4
    facilitation.lead(model)
    model.streams["recovery"] = FixedStream(normal=0.0)
    recovery.recover(model)
    return h.facilitation, c.self_control[0] - 0.3, c.coping_skill[0] - 0.3


def test_a_skilled_facilitator_in_the_room_teaches_more_than_an_unskilled_one_or_none():
    skilled, unskilled, nobody = _group_learning(0.9), _group_learning(0.2), _group_learning(None)
    assert skilled[0] > unskilled[0] > nobody[0]
    assert skilled[1] > unskilled[1] > nobody[1] > 0  # self-control
    assert skilled[2] > unskilled[2] > nobody[2] > 0  # skill practice
    # a group led by nobody still teaches a little, and less the smaller that share
    assert _group_learning(None, unfacilitated_share=0.1)[1] < nobody[1]


def test_staff_in_the_office_lead_no_group():
    model = ward(2)
    send_all_to_office(model)
    model.staff.model_quality[:] = 1.0
    facilitation.lead(model)
    assert facilitation.facilitator(model) == -1
    assert model.hour.facilitation == pytest.approx(model.p["unfacilitated_share"])


def test_a_senior_resident_leads_when_no_staff_member_is_there_only_in_a_community_with_peer_feedback():
    def led(peer_feedback: bool) -> float:
        model = ward(2, peer_feedback=peer_feedback, peer_facilitation=0.5)
        send_all_to_office(model)
        c = model.clients
        c.cell[:2], c.attending[:2] = cells_of(model, model.hour.zone)[:2], True
        c.phase[0] = SENIOR
        c.skills[:, 0] = 0.8
        facilitation.lead(model)
        return model.hour.facilitation

    u = MilieuModel(rng=2, n_clients=1).p["unfacilitated_share"]
    assert led(True) == pytest.approx(u + (1 - u) * 0.5 * 0.8)
    assert led(False) == pytest.approx(u)


# --- 6.3 staff engagement: the office --------------------------------------------------------------------------


@pytest.mark.parametrize("engagement", [0.0, 1.0])
def test_staff_engagement_sends_staff_to_the_office_or_to_the_activity(engagement):
    model = ward(3, staff_engagement=engagement)
    movement.move(model)
    s = model.staff
    zones = model.plan.zone_of(s.cell[on_duty(model)])
    assert zones[0] == NURSES  # the first on duty keeps the nurses' station either way
    assert zones[1] == model.hour.zone  # a therapy group is scheduled with its leader, whatever the draw
    if engagement == 0.0:
        assert (zones[2:] == NURSES).all()
    else:
        assert (zones[1:] == model.hour.zone).all()


def test_staff_in_the_office_observe_nobody_on_the_floor_beyond_the_station():
    for engagement, seen in ((0.0, False), (1.0, True)):
        model = ward(3, staff_engagement=engagement)
        movement.move(model)
        c = model.clients
        far = far_from_station(model, model.hour.zone)
        assert far.size >= 3
        c.cell[:3] = far[:3]  # clients at the activity, out of the station's reach
        model.hour.observer_step = -1
        assert (observers(model)[:3] >= 0).all() == seen
        assert (observers(model)[:3] >= 0).any() == seen


def test_staff_in_the_office_buffer_no_flashpoint():
    """Bad news strikes two clients in the day room; only a staff member on the floor there softens it."""

    def rise(staff_on_floor: bool) -> float:
        model = ward(1, bad_news_rate=1.0, bad_news_mitigation=0.0, queue_flashpoint_rate=0.0,
                     turnover_flashpoint_chance=0.0, staff_presence_buffer=0.4)  # fmt: skip
        send_all_to_office(model)
        c, h = model.clients, model.hour
        day_room = far_from_station(model, DAY_ROOM)
        c.cell[0] = day_room[0]
        if staff_on_floor:
            model.staff.cell[on_duty(model)[1]] = day_room[-1]
        h.active[:] = False
        h.active[0] = True
        c.agitation[0], c.trust[0] = 0.3, 0.4
        model.streams["flashpoints"] = FixedStream(0.0)
        flashpoints.strike(model)
        return c.agitation[0] - 0.3

    alone, with_staff = rise(False), rise(True)
    assert alone > 0
    assert with_staff == pytest.approx(alone * (1 - 0.4))


# --- 6.21 Prevention ----------------------------------------------------------------------------------------


def _floor_ward(n: int, staff_on_floor: int, **kwargs) -> MilieuModel:
    """n active clients in the day room (out of the station's reach) and the given number of staff there."""
    model = ward(n, **kwargs)
    send_all_to_office(model)
    s, c, h = model.staff, model.clients, model.hour
    day_room = far_from_station(model, DAY_ROOM)
    for k in range(staff_on_floor):
        s.cell[on_duty(model)[1 + k]] = day_room[k]
    s.observe_radius[:] = 4
    c.cell[:n] = day_room[:n]
    h.active[:] = False
    h.active[:n] = True
    c.trust[:n] = 0.5
    model.streams["prevention"] = FixedStream(0.0)  # every talk succeeds (skill > 0)
    return model


def test_a_check_in_calms_a_rising_client_and_leaves_a_calm_one_alone():
    model = _floor_ward(2, 2, early_warning_agitation=0.45, check_in_calm=0.3, check_in_trust_gain=0.02)
    c = model.clients
    c.agitation[:2] = [0.6, 0.2]
    prevention.check_in(model)
    assert c.agitation[0] == pytest.approx(0.6 * 0.7)
    assert c.trust[0] == pytest.approx(0.5 + 0.02 * 0.5)
    assert c.agitation[1] == 0.2 and c.trust[1] == 0.5
    events = model.tables()["events"]
    assert list(events[events.kind == "check_in"].outcome) == ["resolved"]


def test_a_failed_check_in_changes_nothing_and_is_logged_as_failed():
    model = _floor_ward(1, 1, early_warning_agitation=0.45)
    model.streams["prevention"] = FixedStream(0.999)
    model.clients.agitation[0] = 0.6
    prevention.check_in(model)
    assert model.clients.agitation[0] == 0.6
    events = model.tables()["events"]
    assert list(events[events.kind == "check_in"].outcome) == ["failed"]


def test_one_staff_member_checks_in_with_one_client_an_hour_the_most_agitated():
    model = _floor_ward(3, 1, early_warning_agitation=0.45, check_in_calm=0.3)
    c = model.clients
    c.agitation[:3] = [0.5, 0.7, 0.6]
    prevention.check_in(model)
    assert np.allclose(c.agitation[:3], [0.5, 0.7 * 0.7, 0.6])
    # two staff: two clients reached; a client is checked in with once an hour however many staff are near
    model = _floor_ward(3, 2, early_warning_agitation=0.45, check_in_calm=0.3)
    c = model.clients
    c.agitation[:3] = [0.5, 0.7, 0.6]
    prevention.check_in(model)
    assert np.allclose(c.agitation[:3], [0.5, 0.7 * 0.7, 0.6 * 0.7])
    model = _floor_ward(1, 3, early_warning_agitation=0.45, check_in_calm=0.3)
    model.clients.agitation[0] = 0.7
    prevention.check_in(model)
    assert model.clients.agitation[0] == pytest.approx(0.7 * 0.7)
    assert (model.tables()["events"].kind == "check_in").sum() == 1


def test_staff_engagement_decides_whether_the_same_agitated_client_is_reached():
    """Staffing acts through prevention: the same client, the same staff, the same draws; only where the staff
    spend their time differs."""

    def after_check_in(engagement: float) -> float:
        model = ward(2, staff_engagement=engagement, early_warning_agitation=0.45, check_in_calm=0.3)
        set_clock(model, FREE_TIME_STEP)  # no structured activity, so no leader is sent whatever the draws
        movement.move(model)
        s, c, h = model.staff, model.clients, model.hour
        target = far_from_station(model, h.zone)[0]  # a cell of the activity out of the station's reach
        c.cell[0], c.agitation[0], c.trust[0] = target, 0.7, 0.5
        c.cell[1], c.agitation[1] = c.bed[1], 0.1
        for j in on_duty(model)[1:]:
            if model.plan.zone_of(s.cell[j]) != NURSES:  # on the floor: next to the client
                s.cell[j] = target
        h.active[:] = False
        h.active[:2] = True
        model.streams["prevention"] = FixedStream(0.0)
        prevention.check_in(model)
        return float(c.agitation[0])

    assert after_check_in(1.0) == pytest.approx(0.7 * 0.7)
    assert after_check_in(0.0) == 0.7


def test_check_in_events_are_prevention_not_conflict_or_containment():
    from milieu_sim.model.records import CATEGORIES, CATEGORY_CODE

    assert CATEGORIES[CATEGORY_CODE[KIND["check_in"]]] == "prevention"


# --- a seeded sweep ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_more_staff_time_with_clients_changes_conflict_under_usual_care():
    """staff_engagement 0.2 vs 0.9 under usual care, paired seeds: the direction is a result, not a rule; the
    test only asks that the lever changes the ward's conflict (a lever that changes nothing is a bug)."""
    diffs = []
    for seed in range(10):
        low = run_experiment({"seed": seed, "days": 60, "staff_engagement": 0.2})["conflict_per_shift"]
        high = run_experiment({"seed": seed, "days": 60, "staff_engagement": 0.9})["conflict_per_shift"]
        diffs.append(high - low)
    diffs = np.asarray(diffs)
    se = diffs.std(ddof=1) / np.sqrt(diffs.size)
    assert abs(diffs.mean()) > 2 * se

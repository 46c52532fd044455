"""Community norms and community meetings (processes/norms.py; the sending factors of processes/feedback.py).

Each test sets a small ward by hand, runs one phase function and compares two hand-built states: a consequence
that a different state or parameter would reverse.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import feedback, norms
from milieu_sim.model.state import CLIENT_PARTNER, NORM, ORIENTATION, PRIMARY, PROSOCIAL, SENIOR, TRANSGRESSION

MEETING_STEP = 3  # Monday 09:00: the acute ward's community meeting, a new block
MEETING_ON = 4  # 10:00: the therapy group (no meeting)


def ward(n: int = 4, **kwargs) -> MilieuModel:
    model = MilieuModel(rng=3, n_clients=n, **kwargs)
    set_clock(model, 20)  # 02:00, asleep: no meeting
    model.clients.phase[:] = PRIMARY
    model.clients.admitted_step[:] = -1000
    return model


def norm(model: MilieuModel) -> float:
    return float(model.community.values[NORM])


def run_hours(model: MilieuModel, hours: int, unaddressed: int = 0, addressed: int = 0) -> None:
    for _ in range(hours):
        model.hour.step += 1
        model.hour.unaddressed_transgressions, model.hour.addressed_transgressions = unaddressed, addressed
        norms.update_norm(model)


# --- the norm ---------------------------------------------------------------------------------------------------
def test_unaddressed_transgressions_wear_the_norm_down_and_addressed_ones_build_it():
    levels = {}
    for case, (unaddressed, addressed) in {"none": (0, 0), "unaddressed": (2, 0), "addressed": (0, 2)}.items():
        model = ward()
        run_hours(model, 48, unaddressed, addressed)
        levels[case] = norm(model)
    assert levels["unaddressed"] < levels["none"] < levels["addressed"]


def test_without_erosion_unaddressed_transgressions_cost_the_norm_nothing():
    model = ward(norm_erosion=0.0)
    run_hours(model, 48, unaddressed=3)
    assert norm(model) == pytest.approx(model.p["norm_baseline"])


def test_seniors_hold_the_norm_up_where_a_ward_of_newcomers_lets_it_sink():
    levels = {}
    for phase in (SENIOR, ORIENTATION):
        model = ward(n=10)
        model.community.values[NORM] = 0.65
        model.clients.phase[:] = phase
        if phase == ORIENTATION:  # newcomers: one admitted every day
            for day in range(20):
                model.clients.admitted_step[day % 10] = model.hour.step + 1
                run_hours(model, 24)
        else:
            run_hours(model, 20 * 24)
        levels[phase] = norm(model)
    assert levels[SENIOR] > 0.65 > model.p["norm_baseline"] > levels[ORIENTATION]


def test_an_admission_dilutes_the_norm_and_a_ward_without_turnover_keeps_it():
    kept, diluted = ward(), ward()
    diluted.clients.admitted_step[0] = diluted.hour.step + 1
    run_hours(kept, 1)
    run_hours(diluted, 1)
    assert diluted.community.values[NORM] < kept.community.values[NORM]


# --- peer pressure ----------------------------------------------------------------------------------------------
def test_a_weak_norm_raises_every_clients_chance_of_a_transgression_and_a_strong_one_lowers_it():
    model = ward(norm_baseline=0.5, norm_transgression_effect=1.0)
    model.community.values[NORM] = 0.2
    weak = norms.transgression_factor(model)
    model.community.values[NORM] = 0.8
    strong = norms.transgression_factor(model)
    assert strong < 1.0 < weak
    model.p["norm_transgression_effect"] = 0.0  # no peer pressure: the norm changes nothing
    assert norms.transgression_factor(model) == 1.0


# --- community meetings -----------------------------------------------------------------------------------------
def meeting_ward(n: int = 2, **kwargs) -> MilieuModel:
    model = ward(n, **kwargs)
    set_clock(model, MEETING_STEP)
    assert model.hour.kind == "community_meeting" and model.hour.new_block
    c = model.clients
    c.attending[:] = True
    model.hour.active[:] = True
    c.trust[:], c.self_control[:], c.agitation[:] = 0.6, 0.3, 0.2
    c.open_transgressions[:], c.progress_acts[:] = 0, 0
    return model


def test_a_meeting_confronts_an_open_transgressor_and_not_a_client_without_one():
    model = meeting_ward()
    c = model.clients
    c.open_transgressions[0] = 2
    model.streams["community_meeting"] = FixedStream(0.0)
    norms.hold_meeting(model)
    assert c.corrections_received.tolist() == [1, 0]
    assert c.self_control[0] > 0.3 and c.self_control[1] == 0.3
    assert c.open_transgressions.tolist() == [0, 0]
    rows = model.records.feedback_frame()
    assert rows["sender_role"].tolist() == ["community"] and rows["kind"].tolist() == ["correction"]
    assert rows["sender_id"].tolist() == [-1] and rows["receiver_id"].tolist() == [c.client_id[0]]


def test_a_stronger_norm_confronts_more_transgressors():
    confronted = {}
    for level in (0.3, 0.8):
        model = meeting_ward(n=20)
        model.community.values[NORM] = level
        model.clients.open_transgressions[:] = 1
        model.streams["community_meeting"] = FixedStream(table=np.linspace(0.0, 1.0, 20)[:, None])
        norms.hold_meeting(model)
        confronted[level] = int(model.clients.corrections_received.sum())
    assert 0 < confronted[0.3] < confronted[0.8] < 20


def test_a_meeting_affirms_progress_in_public_and_builds_trust():
    model = meeting_ward()
    c = model.clients
    c.progress_acts[1] = 3
    model.streams["community_meeting"] = FixedStream(0.0)
    norms.hold_meeting(model)
    assert c.affirmations_received.tolist() == [0, 1]
    assert c.trust[1] > 0.6 and c.trust[0] == 0.6
    assert c.progress_acts[1] == 0


def test_a_well_attended_meeting_builds_the_norm_more_than_a_poorly_attended_one():
    levels = {}
    for attending in (1, 4):
        model = meeting_ward(n=4)
        model.clients.attending[:] = np.arange(4) < attending
        model.streams["community_meeting"] = FixedStream(0.5)
        norms.hold_meeting(model)
        levels[attending] = norm(model)
    assert model.p["norm_baseline"] < levels[1] < levels[4]


def test_no_meeting_outside_the_first_hour_of_a_community_meeting_block():
    model = meeting_ward()
    set_clock(model, MEETING_ON)
    model.clients.attending[:] = True
    model.hour.active[:] = True
    model.clients.open_transgressions[:] = 1
    model.streams["community_meeting"] = FixedStream(0.0)
    norms.hold_meeting(model)
    assert model.clients.corrections_received.sum() == 0
    assert model.clients.open_transgressions.tolist() == [1, 1]
    assert norm(model) == model.p["norm_baseline"]


# --- who sends feedback -----------------------------------------------------------------------------------------
def sent_by(phase: int, act: int, level: float | None = None) -> int:
    """How many of 40 peers in ``phase`` (same memories, uniforms spread over [0, 1)) give feedback."""
    model = MilieuModel(rng=3, n_clients=80, ward_map="auto", peer_feedback=True, peer_feedback_rate=0.3)
    set_clock(model, MEETING_ON)
    model.climate.values[:] = model.p["climate_baseline"]
    if level is not None:
        model.community.values[NORM] = level
    c, h = model.clients, model.hour
    c.affirmation_memory[:], c.correction_memory[:] = 0.0, 0.0
    c.phase[:] = PRIMARY
    c.phase[40:] = phase
    h.partner_kind[:] = 0
    h.partner_kind[:40] = CLIENT_PARTNER
    h.partner[:40] = np.arange(40, 80)
    h.behaviour[:] = 0
    h.behaviour[:40] = act
    h.active[:] = True
    model.streams["feedback"] = FixedStream(
        table=np.r_[np.linspace(0.0, 1.0, 40, endpoint=False), np.ones(40)][:, None]
    )
    feedback.give_feedback(model)
    return int(c.feedback_sent[40:].sum())


def test_a_senior_sends_more_feedback_than_a_newcomer_in_the_same_state():
    assert sent_by(ORIENTATION, PROSOCIAL) < sent_by(PRIMARY, PROSOCIAL) < sent_by(SENIOR, PROSOCIAL)


def test_under_a_strong_norm_peers_confront_more_and_affirm_as_often():
    assert sent_by(PRIMARY, TRANSGRESSION, 0.3) < sent_by(PRIMARY, TRANSGRESSION, 0.8)
    assert sent_by(PRIMARY, PROSOCIAL, 0.3) == sent_by(PRIMARY, PROSOCIAL, 0.8)

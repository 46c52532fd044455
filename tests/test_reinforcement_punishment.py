"""Both sides of reinforcement and punishment (issue 12), each on a hand-built state (docs/ODD.md 6.4, 6.7, 6.16).

Each test sets a small ward's arrays by hand, runs the phase functions concerned and checks a consequence that a
different parameter value (or a different hand-built state) would change.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import consequences, interaction, staff_response
from milieu_sim.model.state import CLIENT_PARTNER, NO_PARTNER, PEER_CONFLICT, PROSOCIAL, TRANSGRESSION
from milieu_sim.model.ward import ZONE_CODE

FREE_TIME = 7  # 13:00 on the first day: free time, waking hours


def ward(n: int, **kwargs) -> MilieuModel:
    model = MilieuModel(rng=2, n_clients=n, **kwargs)
    set_clock(model, FREE_TIME)
    return model


def day_room(model: MilieuModel) -> np.ndarray:
    return model.plan.zone_cells[ZONE_CODE["day_room"]]


def acts(model: MilieuModel, behaviour, partner_kind=None, partner=None, observer=None) -> None:
    """The hour's acts, encounters and observers, set by hand."""
    n = len(behaviour)
    h = model.hour
    h.active[:n] = True
    h.behaviour[:n] = behaviour
    h.partner_kind[:n] = partner_kind if partner_kind is not None else NO_PARTNER
    h.partner[:n] = partner if partner is not None else -1
    h.observer[:n] = observer if observer is not None else -1
    h.observer_step = h.step


def alike(model: MilieuModel) -> None:
    """Every client the same, in the day room, apart from each other."""
    c = model.clients
    c.skills[:] = 0.5
    c.self_control[:], c.agitation[:], c.symptoms[:], c.trust[:] = 0.5, 0.2, 0.4, 0.6
    c.suppression[:], c.incentive[:], c.empathy[:] = 0.0, 0.0, 0.0
    c.cell[:] = day_room(model)[: c.n * 7 : 7]


def prosocial_at(model: MilieuModel, u: float) -> np.ndarray:
    """Who acts prosocially this hour when every behaviour draw is ``u`` (nobody meets anyone)."""
    model.streams["interaction"] = FixedStream(table=np.array([0.99, 0.0, 0.99, u, 0.99]))
    interaction.interact(model)
    return model.hour.behaviour == PROSOCIAL


@pytest.mark.parametrize("effect", [0.0, 1.0])
def test_a_token_shapes_the_behaviour_of_the_client_who_got_it_and_fades_when_rewards_stop(effect):
    model = ward(2, interaction_rate=0.0, transgression_rate=0.0, prosocial_rate=0.5, reinforcement_rate=1.0,
                 token_rewards=1.0, token_incentive_gain=0.3, incentive_effect=effect, incentive_days=2.0,
                 request_rate=0.0)  # fmt: skip
    alike(model)
    staff = int(np.flatnonzero(model.staff.on_duty)[0])
    # both act prosocially; staff see only client 0, who gets a token
    acts(model, [PROSOCIAL, PROSOCIAL], observer=[staff, -1])
    model.streams["staff_response"] = FixedStream(table=np.array([0.0, 0.0, 0.99, 0.99]))
    staff_response.respond(model)
    assert model.clients.incentive[0] > 0 and model.clients.incentive[1] == 0
    # a draw just above the chance of a client who never got a reward
    base = 0.5 * (0.5 + 0.5) / 2 * (1 - 0.2)
    assert list(prosocial_at(model, base * 1.05)[:2]) == [effect > 0, False]
    # rewards stop: two weeks of waking hours without any, and the once-rewarded client is like the other
    acts(model, [0, 0])
    for _ in range(14 * 24):
        consequences.follow(model)
    assert model.clients.incentive[0] < 0.01
    assert list(prosocial_at(model, base * 1.05)[:2]) == [False, False]


def test_rewards_that_continue_keep_the_expectation_that_stopped_rewards_lose():
    model = ward(2, reinforcement_rate=1.0, token_rewards=1.0, token_incentive_gain=0.1, incentive_days=3.0,
                 request_rate=0.0)  # fmt: skip
    alike(model)
    staff = int(np.flatnonzero(model.staff.on_duty)[0])
    model.clients.incentive[:2] = 0.5
    model.streams["staff_response"] = FixedStream(table=np.array([0.0, 0.0, 0.99, 0.99]))
    for _ in range(5 * 24):  # client 0 is rewarded every other hour, client 1 never
        acts(model, [PROSOCIAL, 0], observer=[staff, staff])
        if model.hour.step % 2 == 0:
            staff_response.respond(model)
        consequences.follow(model)
        model.hour.step += 1
    incentive = model.clients.incentive
    assert incentive[0] > 0.5 > incentive[1]


def test_a_praise_teaches_less_expectation_of_reward_than_a_token():
    model = ward(2, reinforcement_rate=1.0, token_rewards=0.5, request_rate=0.0)
    alike(model)
    staff = int(np.flatnonzero(model.staff.on_duty)[0])
    acts(model, [PROSOCIAL, PROSOCIAL], observer=[staff, staff])
    # reward-kind draws: client 0 a token, client 1 praise
    model.streams["staff_response"] = FixedStream(table=np.array([[0.0, 0.1, 0.99, 0.99], [0.0, 0.9, 0.99, 0.99]]))
    staff_response.respond(model)
    assert model.clients.incentive[0] > model.clients.incentive[1] > 0


def _transgression_on_a_peer(addressed: bool, **kwargs) -> MilieuModel:
    model = ward(2, **kwargs)
    alike(model)
    acts(model, [TRANSGRESSION, 0], partner_kind=[CLIENT_PARTNER, NO_PARTNER], partner=[1, -1])
    model.hour.addressed[0] = addressed
    consequences.follow(model)
    return model


def test_an_unaddressed_transgression_harms_its_target_more_and_counts_against_the_norm():
    left = _transgression_on_a_peer(False)
    answered = _transgression_on_a_peer(True)
    for model in (left, answered):
        c = model.clients
        assert c.agitation[1] > 0.2 and c.trust[1] < 0.6  # the target pays either way ...
        assert c.antecedent[1] == PEER_CONFLICT and c.antecedent_source[1] == 0  # ... and may strike back
        assert c.agitation[0] == 0.2 and c.transgressions[0] == 1
    # ... more when nobody answered it
    assert left.clients.agitation[1] > answered.clients.agitation[1]
    assert left.clients.trust[1] < answered.clients.trust[1]
    assert (left.hour.unaddressed_transgressions, left.hour.addressed_transgressions) == (1, 0)
    assert (answered.hour.unaddressed_transgressions, answered.hour.addressed_transgressions) == (0, 1)
    assert left.clients.open_transgressions[0] == 1 and answered.clients.open_transgressions[0] == 0
    # when an answer on the spot repairs nothing, the two are alike
    same = _transgression_on_a_peer(True, addressed_harm_share=1.0)
    assert same.clients.agitation[1] == pytest.approx(left.clients.agitation[1])


def test_a_transgression_is_logged_with_its_target_its_observer_and_how_it_was_answered():
    model = ward(3)
    alike(model)
    staff = int(np.flatnonzero(model.staff.on_duty)[0])
    acts(model, [TRANSGRESSION, TRANSGRESSION, PROSOCIAL], partner_kind=[CLIENT_PARTNER, NO_PARTNER, NO_PARTNER],
         partner=[2, -1, -1], observer=[staff, -1, -1])  # fmt: skip
    model.hour.addressed[0] = model.hour.punished[0] = True
    consequences.follow(model)
    events = model.records.events_frame()
    assert list(events["kind"]) == ["transgression", "transgression"]
    assert list(events["outcome"]) == ["punished", "unaddressed"]
    assert list(events["target_role"]) == ["client", "none"]
    assert events["target_id"].iloc[0] == model.clients.client_id[2]
    assert events["staff_id"].iloc[0] == model.staff.staff_id[staff] and events["staff_id"].isna().iloc[1]
    assert model.clients.progress_acts[2] == 1 and model.clients.progress_acts[0] == 0


@pytest.mark.parametrize("deterrence", [0.0, 0.4])
def test_those_who_saw_a_punishment_are_deterred_and_those_out_of_sight_are_not(deterrence):
    model = ward(4, punishment_deterrence=deterrence, punishment_suppression=0.5, witness_radius=2)
    alike(model)
    cells = day_room(model)
    h = model.plan.height
    near, far = cells[6], cells[48]  # one cell apart from cells[0], and eight
    assert max(abs(near // h - cells[0] // h), abs(near % h - cells[0] % h)) == 1
    model.clients.cell[:4] = [cells[0], near, far, near]
    acts(model, [TRANSGRESSION, 0, 0, 0])
    model.hour.active[3] = False  # in the room but not active (asleep, secluded): sees nothing
    model.hour.addressed[0] = model.hour.punished[0] = True
    consequences.follow(model)
    suppression = model.clients.suppression
    assert suppression[1] == pytest.approx(deterrence * 0.5)
    assert suppression[0] == 0.0 and suppression[2] == 0.0 and suppression[3] == 0.0


def test_empathy_lowers_the_chance_that_a_peer_encounter_turns_to_conflict():
    def conflicts(empathy: float) -> bool:
        model = ward(2, interaction_rate=1.0, interaction_radius=1, conflict_rate=0.5, empathy_restraint=0.5)
        alike(model)
        model.staff.on_duty[:] = False
        model.clients.cell[:2] = day_room(model)[:2]
        model.clients.agitation[:2] = 0.5
        model.clients.empathy[:2] = empathy
        chance_without = 0.5 * (0.5 + 0.5) * (1 - 0.5)
        model.streams["interaction"] = FixedStream(table=np.array([0.0, 0.0, chance_without * 0.9, 0.5, 0.9]))
        interaction.interact(model)
        return bool(model.hour.conflictual[0])

    assert conflicts(0.0) and not conflicts(0.8)


def test_the_punishment_tradeoff_pairs_each_point_with_its_own_no_punishment_twin(tmp_path):
    """analysis.punishment on a tiny sweep: both time scales are reported, each point against punishment 0 at the
    same reinforcement rate, and the page is written."""
    from milieu_sim.analysis.punishment import LONG_TERM, SHORT_TERM, tradeoff, write_tradeoff
    from milieu_sim.experiments.executors import SerialExecutor
    from milieu_sim.experiments.spec import load_spec
    from milieu_sim.experiments.sweep import run_sweep

    path = tmp_path / "tiny.toml"
    path.write_text(
        'name = "tiny_tradeoff"\nsetting = "acute_ward"\npolicy = "usual_care"\nreplicates = 2\ndays = 8\n'
        "seed = 3\n[vary]\npunishment_rate = [0.0, 0.9]\nreinforcement_rate = [0.1, 0.5]\n[outputs]\n"
        f"outcomes = {list((*SHORT_TERM, *LONG_TERM))!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    run_sweep(load_spec(path), tmp_path / "out", executor=SerialExecutor(), progress=False)
    estimates, differences = tradeoff(tmp_path / "out")
    assert set(estimates["punishment_rate"]) == {0.0, 0.9}
    assert set(differences["punishment_rate"]) == {0.9}  # each punishing point against its own twin
    assert {float(v) for v in differences["reinforcement_rate"]} == {0.1, 0.5}
    assert {"transgressions_per_bed_day", "conflict_per_bed_day"} <= set(differences["outcome"])
    page = write_tradeoff(tmp_path / "out").read_text(encoding="utf-8")
    assert "Short term" in page and "Long term" in page

"""Whole-model behaviour: invariants, determinism, common random numbers, the data contract, Mesa tools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel, Policy
from milieu_sim.errors import ParameterError
from milieu_sim.model import processes
from milieu_sim.model.agents import Client, Staff
from milieu_sim.model.processes.flow import admission_draws
from milieu_sim.model.records import TABLE_COLUMNS
from milieu_sim.model.schedule import Phase
from milieu_sim.model.state import SHIFTS
from milieu_sim.model.ward import ZONE_CODE


def test_invariants_hold_every_hour():
    model = MilieuModel(policy="restrictive", rng=5, days=10)
    staffing = {0: model.p["staff_early"], 1: model.p["staff_late"], 2: model.p["staff_night"]}
    seclusion = ZONE_CODE["seclusion_room"]
    for _ in range(24 * 10):
        model.step()
        c = model.clients
        assert model.census <= model.plan.n_beds and model.census == c.present.sum()
        isolated = np.flatnonzero(c.isolated)
        assert np.all(c.present[isolated])
        assert np.all(model.plan.zone_of(c.cell[isolated]) == seclusion)
        assert model.staff_on_duty == staffing[model.hour.shift]
        clients = model.agents_by_type.get(Client, [])
        assert len(clients) == model.census
        assert len(model.agents_by_type[Staff]) == model.staff.n
        for agent in clients:
            index = c.cell[agent.slot]
            assert (agent.cell is None) if index < 0 else (agent.cell is model.cells[index])
        on_grid_staff = [a for a in model.agents_by_type[Staff] if a.cell is not None]
        assert len(on_grid_staff) == model.staff_on_duty
        assert np.all((c.values[:8, c.present] >= 0) & (c.values[:8, c.present] <= 1))
    assert model.running is False
    assert model.records.events.rows > 0


def test_same_seed_gives_identical_tables_and_other_seeds_differ():
    first = MilieuModel(rng=11, days=6).run().tables()
    second = MilieuModel(rng=11, days=6).run().tables()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_exact=True)
    other = MilieuModel(rng=12, days=6).run().tables()
    assert not first["steps"]["mean_agitation"].equals(other["steps"]["mean_agitation"])


def test_changing_a_policy_lever_leaves_the_admission_stream_untouched():
    """Common random numbers: the same clients arrive, whatever the policy."""
    lenient = MilieuModel(rng=3, days=40, punishment_rate=0.0).run().tables()["stays"]
    harsh = MilieuModel(rng=3, days=40, punishment_rate=1.0).run().tables()["stays"]
    admission_columns = [c for c in TABLE_COLUMNS["stays"] if c.endswith("_at_admission")]
    new = [stays[stays["previous_stays"] == 0] for stays in (lenient, harsh)]  # readmissions come from outside
    both = new[0].merge(new[1], on="admission_number", suffixes=("_lenient", "_harsh"))
    assert len(both) >= 25  # the initial cohort and many later admissions
    for column in admission_columns:
        assert np.array_equal(both[f"{column}_lenient"], both[f"{column}_harsh"]), column
    # and the draws behind an admission depend only on the seed and the admission number
    one, two = MilieuModel(rng=3, n_clients=1), MilieuModel(rng=3, n_clients=2, policy="custodial")
    assert np.array_equal(admission_draws(one, 7), admission_draws(two, 7))


def test_other_streams_are_not_shifted_by_a_lever_they_do_not_use():
    """Fixed-size draws: the movement stream gives the same numbers whatever the reinforcement policy."""
    a = MilieuModel(rng=4, reinforcement_rate=0.0)
    b = MilieuModel(rng=4, reinforcement_rate=1.0)
    for _ in range(30):
        a.step()
        b.step()
    assert a.streams["movement"].random() == b.streams["movement"].random()


def test_tables_follow_the_data_contract():
    model = MilieuModel(policy="therapeutic_milieu", rng=1, days=4).run()
    tables = model.tables()
    assert set(tables) == set(TABLE_COLUMNS)
    for name, frame in tables.items():
        assert tuple(frame.columns) == TABLE_COLUMNS[name]
    steps, shifts, events = tables["steps"], tables["shifts"], tables["events"]
    assert len(steps) == 4 * 24 and steps["step"].is_monotonic_increasing
    assert len(shifts) == 4 * 3 and list(shifts["shift"][:3]) == list(SHIFTS)
    assert shifts["conflict_events"].sum() == steps["conflict_events"].sum()
    assert shifts["containment_events"].sum() == steps["containment_events"].sum()
    kinds = [c for c in shifts.columns if c.startswith("conflict_") and c != "conflict_events"]
    assert (shifts[kinds].sum(axis=1) == shifts["conflict_events"]).all()
    conflicts = events[events["category"] == "conflict"]
    assert len(conflicts) == steps["conflict_events"].sum()
    assert set(events["antecedent"].astype(str)) <= {
        "none",
        "limit_setting",
        "denied_request",
        "peer_conflict",
        "punishment",
        "crowding",
        "turnover",
        "bad_news",
    }
    stays = tables["stays"]
    assert stays["client_id"].is_unique
    assert (stays["exit_reason"] == "still_present").sum() == model.census


def test_mesa_tools_see_the_model():
    model = MilieuModel(rng=2, days=2).run()
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 48
    assert frame["census"].iloc[-1] == model.census
    assert np.isclose(frame["mean_agitation"].iloc[-1], model.tables()["steps"]["mean_agitation"].iloc[-1])
    clients = model.agents_by_type[Client]
    calm = clients.select(lambda a: a.agitation < 0.5)
    assert len(calm) <= len(clients)
    assert all(isinstance(v, float) for v in clients.get("trust"))
    on_grid = model.grid.agents
    assert len(on_grid) == sum(a.cell is not None for a in model.agents)


def test_policy_switch_mid_run_changes_levers_not_people():
    model = MilieuModel(policy="restrictive", rng=8)
    for _ in range(24):
        model.step()
    people = set(model.clients.client_id[model.clients.present])
    model.set_policy("therapeutic_milieu")
    assert model.policy.name == "therapeutic_milieu" and model.p["punishment_rate"] == 0.05
    assert set(model.clients.client_id[model.clients.present]) == people
    assert model.staff.de_escalation_skill.mean() > 0.6
    model.step()


def test_policy_hooks_are_called():
    class Counting(Policy):
        def __post_init__(self):
            super().__post_init__()
            self.hours = 0
            self.admitted = 0

        def before_hour(self, model):
            self.hours += 1

        def on_admission(self, model, client):
            self.admitted += 1

    policy = Counting(name="counting", parameters={"punishment_rate": 0.0})
    model = MilieuModel(policy=policy, rng=0, n_clients=5)
    assert policy.admitted == 5
    for _ in range(10):
        model.step()
    assert policy.hours == 10 and model.p["punishment_rate"] == 0.0


def test_day_programme_clients_leave_the_grid_outside_programme_hours():
    model = MilieuModel(setting="day_program", rng=1)
    for _ in range(24):
        model.step()
        present = model.clients.present
        if model.routine.activities[model.hour.activity] == "away":
            assert np.all(model.clients.cell[present] == -1)
            assert all(a.cell is None for a in model.clients_present)
        elif 10 <= model.hour.hour < 12:
            assert np.any(model.clients.cell[present] >= 0)


def test_residential_community_has_seniors_and_peer_feedback():
    model = MilieuModel(setting="residential_tc", rng=1, days=60).run()
    tables = model.tables()
    assert (model.clients.phase[model.clients.present] == 2).any()
    feedback = tables["feedback"]
    person_to_person = feedback[feedback["sender_role"] != "community"]  # not the community meetings' (norms)
    assert (person_to_person["sender_role"] == "client").mean() > 0.5
    assert (feedback["sender_role"] == "community").any()


def test_staffing_levels_do_not_shift_the_clients_random_draws():
    """Client streams are sized by beds, not staff, so a staffing sweep keeps common random numbers."""
    few = MilieuModel(rng=6, staff_early=2, staff_late=2, staff_night=1)
    many = MilieuModel(rng=6, staff_early=9, staff_late=7, staff_night=4)
    for _ in range(30):
        few.step()
        many.step()
    for name in ("movement", "interaction", "escalation", "recovery", "feedback"):
        assert few.streams[name].random() == many.streams[name].random(), name


# --- agents: views a Mesa user can write to and give behaviour -------------------------------------------
def test_writes_through_agents_reach_the_arrays_and_the_tables():
    def settle(client):
        client.agitation = 0.25

    model = MilieuModel(rng=3, n_clients=8, days=2)
    model.schedule.append(Phase.for_agents("settle", settle, when="every_hour"))  # after every process acted
    model.run()
    steps = model.tables()["steps"]
    assert np.allclose(steps["mean_agitation"], 0.25) and np.allclose(steps["sd_agitation"], 0.0)
    clients = model.agents_by_type[Client]
    clients.set("trust", 0.9)  # Mesa's own tools write through too
    assert np.all(model.clients.trust[model.clients.present] == 0.9)
    client = next(iter(clients))
    client.agitation -= 0.1
    assert model.clients.agitation[client.slot] == client.agitation == 0.15
    staff = model.staff_agents[0]
    staff.de_escalation_skill, staff.observe_radius = 0.7, 3
    assert model.staff.de_escalation_skill[0] == 0.7 and model.staff.observe_radius[0] == 3


def test_agent_writes_out_of_range_are_clipped_and_bad_values_refused_in_one_line():
    model = MilieuModel(rng=3, n_clients=4)
    client, staff = model.client_agents[0], model.staff_agents[0]
    client.agitation = 1.7
    client.trust = -0.2
    staff.model_quality = 3
    assert (client.agitation, client.trust, staff.model_quality) == (1.0, 0.0, 1.0)
    for write in (
        lambda: setattr(client, "self_control", float("nan")),
        lambda: setattr(client, "symptoms", "high"),
        lambda: setattr(staff, "observe_radius", -1),
        lambda: setattr(staff, "observe_radius", 1.5),
    ):
        with pytest.raises(ParameterError) as error:
            write()
        assert "\n" not in str(error.value)
    with pytest.raises(AttributeError):
        client.skill = 0.5  # the mean of three skills: read-only
    processes.flow.exit_client(model, client.slot, "transfer")
    processes.flow.admit_client(model, client.slot)  # the bed slot now holds someone else
    with pytest.raises(ParameterError):
        client.agitation = 0.0  # a departed client is not written through to the new occupant


def test_a_behaviour_of_ones_own_changes_the_run():
    """A user phase that calms every client each hour (through the agents) means fewer incidents, same seed."""

    def calm(client):
        client.agitation *= 0.5

    def calming(model):
        model.agents_by_type[Client].do(calm)

    calmed = MilieuModel(rng=7, days=10)
    calmed.schedule.insert(Phase("calming", calming, when="awake"), after="staff_response")
    usual = MilieuModel(rng=7, days=10)
    calm_steps, usual_steps = calmed.run().tables()["steps"], usual.run().tables()["steps"]
    assert calm_steps["conflict_events"].sum() < usual_steps["conflict_events"].sum()
    # Client.step is a no-op hook: a phase calling it leaves the run as it was
    hooked = MilieuModel(rng=7, days=10)
    hooked.schedule.insert(Phase.for_agents("own_step", "step"), after="staff_response")
    assert hooked.run().tables()["steps"].equals(usual_steps)


class SteadyClient(Client):
    """A Mesa user's own client: each waking hour it takes a breath and its agitation falls by a fifth."""

    def step(self) -> None:
        self.agitation = 0.8 * self.agitation


class SteadyWard(MilieuModel):
    client_class = SteadyClient


def test_a_model_subclass_creates_its_own_agents_whose_step_changes_the_run():
    model = SteadyWard(rng=6, extra_phases=[Phase.for_agents("breathe", after="staff_response")])
    assert all(type(agent) is SteadyClient for agent in model.clients_present)
    assert set(model.agents_by_type) == {SteadyClient, Staff}
    steady = model.run(days=10).tables()["steps"]
    usual = MilieuModel(rng=6).run(days=10).tables()["steps"]
    assert steady["mean_agitation"].mean() < usual["mean_agitation"].mean()
    assert steady["conflict_events"].sum() < usual["conflict_events"].sum()
    assert all(type(agent) is SteadyClient for agent in model.clients_present)  # admissions too
    plain = SteadyWard(rng=6).run(days=10).tables()["steps"]  # without the phase, step() is never called
    pd.testing.assert_frame_equal(plain, usual)

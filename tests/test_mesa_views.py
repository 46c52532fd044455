"""Mesa's views of the model (the DataCollector, agents' cells, the grid) agree with the model whenever read."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel, Policy
from milieu_sim.model.collector import MODEL_REPORTERS
from milieu_sim.model.policies import resolve_policy
from milieu_sim.model.schedule import Phase

RUNS = (
    {"rng": 4},
    {"rng": 11, "policy": "restrictive", "warm_start_days": 2},
    {"rng": 5, "setting": "day_program"},
)


@pytest.mark.parametrize("kwargs", RUNS)
def test_datacollector_gives_the_frame_of_meses_hourly_collect_read_mid_run_or_at_the_end(kwargs):
    model = MilieuModel(**kwargs)
    hourly = mesa.DataCollector(model_reporters=dict(MODEL_REPORTERS))  # Mesa's own, collected every hour
    held = model.datacollector  # a reference kept across hours sees the later hours too
    times = []
    for hour in range(60):
        model.step()
        hourly.collect(model)
        times.append(model.time)
        if hour in (0, 1, 29):  # read mid-run, then go on
            pd.testing.assert_frame_equal(
                model.datacollector.get_model_vars_dataframe(), hourly.get_model_vars_dataframe(), check_exact=True
            )
    frame = held.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(frame, hourly.get_model_vars_dataframe(), check_exact=True)
    assert len(frame) == 60 and held._collection_steps == times
    assert frame["census"].tolist() == model.tables()["steps"]["census"].tolist()
    assert all(type(v) is int for v in held.model_vars["conflict_events"])


def test_a_datacollector_of_ones_own_is_collected_every_hour():
    model = MilieuModel(rng=2)
    model.datacollector = mesa.DataCollector(
        model_reporters={"census": "census", "calm": lambda m: sum(a.agitation < 0.3 for a in m.clients_present)},
        agent_reporters={"agitation": lambda a: getattr(a, "agitation", None)},
    )
    model.run(days=1)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 24 and frame["census"].iloc[-1] == model.census
    agents = model.datacollector.get_agent_vars_dataframe()
    assert agents.index.get_level_values(0).nunique() == 24


# --- positions: Mesa's agents and grid against the arrays ------------------------------------------------------------
FIRST_READS = (
    lambda m: m.client_agents[0] and m.client_agents[0].cell,
    lambda m: m.staff_agents[-1].pos,
    lambda m: m.cells[len(m.cells) // 2].agents,
    lambda m: m.cells[3].is_empty,
    lambda m: m.cells[5].empty,
    lambda m: m.grid.agents,
    lambda m: m.grid.all_cells.agents,
    lambda m: m.grid.empty.data.sum(),
    lambda m: m.cells[7].neighborhood.agents,
    lambda m: next(iter(m.grid)).agents,
)


def assert_mesa_agrees_with_the_arrays(model, first_read=0):
    """Every Mesa view of positions says what clients.cell and staff.cell say (read first through one view)."""
    FIRST_READS[first_read % len(FIRST_READS)](model)
    where = {}  # agent -> cell index in the arrays
    for agents, cells in ((model.client_agents, model.clients.cell), (model.staff_agents, model.staff.cell)):
        for k, agent in enumerate(agents):
            if agent is not None:
                where[agent] = int(cells[k])
    for agent, index in where.items():
        cell = model.cells[index] if index >= 0 else None
        assert agent.cell is cell, (agent, index)
        assert agent.pos == (None if cell is None else cell.coordinate)
    for index, cell in enumerate(model.cells):
        inside = {a for a, i in where.items() if i == index}
        assert set(cell.agents) == inside and len(cell.agents) == len(inside)
        assert cell.is_empty is (not inside) and bool(cell.empty) is (not inside)
        assert bool(model.grid.empty.data[cell.coordinate]) is (not inside)
    on_grid = {a for a, i in where.items() if i >= 0}
    assert set(model.grid.agents) == on_grid and len(model.grid.agents) == len(on_grid)
    assert sum(len(c.agents) for c in model.grid.all_cells) == len(on_grid)
    assert {a for a in model.agents if a.cell is not None} == on_grid


class Watcher(Policy):
    """A policy whose hooks read Mesa's views: at admission (the new agent is in its bed) and after some hours."""

    def __init__(self, base, reads):
        super().__init__(name=base.name, parameters=base.parameters)
        self.reads = reads
        self.admitted = 0

    def on_admission(self, model, client):
        index = model.clients.cell[client.slot]
        assert client.cell is (model.cells[index] if index >= 0 else None)
        self.admitted += 1

    def after_hour(self, model):
        if model.steps in self.reads:
            assert_mesa_agrees_with_the_arrays(model, first_read=model.steps)


@pytest.mark.parametrize("often", (False, True), ids=("read_rarely", "read_every_phase"))
@pytest.mark.parametrize(
    "kwargs",
    (
        {"rng": 1},
        {"rng": 2, "policy": "restrictive"},
        {"rng": 3, "setting": "day_program"},
        {"rng": 4, "setting": "residential_tc", "warm_start_days": 1},
        {"rng": 5, "n_clients": 60, "ward_map": "auto", "staff_early": 15, "staff_late": 12, "staff_night": 6},
    ),
)
def test_mesa_views_agree_with_the_arrays_whenever_read(kwargs, often):
    """Read at irregular hours (several unread hours between), in the hour an admission, a discharge or a
    seclusion moved someone, from a policy hook and from a phase after the escalation phase; ``often``: also
    read after every phase (so that a process that moves someone without saying so would be seen)."""
    kwargs = dict(kwargs)
    pick = np.random.default_rng(kwargs["rng"])
    reads = set((np.cumsum(pick.integers(1, 9, size=200)) + 1).tolist())
    policy = Watcher(resolve_policy(kwargs.pop("policy", "usual_care")), reads)
    seen = {"mid_hour": 0}

    def mid_hour(model):  # after the escalation phase: seclusions started this hour
        if model.hour.containment_events:
            assert_mesa_agrees_with_the_arrays(model, first_read=model.steps + 3)
            seen["mid_hour"] += 1

    def glance(model):
        FIRST_READS[model.steps % len(FIRST_READS)](model)

    model = MilieuModel(policy=policy, extra_phases=[Phase("look", mid_hour, after="escalation")], **kwargs)
    if often:
        for k, name in enumerate(model.schedule.names()):
            model.schedule.insert(Phase(f"glance_{k}", glance), after=name)
    census, isolated = model.census, model.n_isolated
    for hour in range(24 * 6):
        model.step()
        if often or model.census != census or model.n_isolated != isolated:  # admissions, discharges, seclusions
            assert_mesa_agrees_with_the_arrays(model, first_read=hour)
            census, isolated = model.census, model.n_isolated
    assert_mesa_agrees_with_the_arrays(model)
    assert policy.admitted > 0 and seen["mid_hour"] > 0


def test_the_models_counts_are_the_hours_steps_row_and_read_only():
    model = MilieuModel(rng=6, policy="restrictive")
    rows = []
    for _ in range(30):
        model.step()
        rows.append((model.census, model.n_isolated, model.conflict_events, model.mean_agitation, model.climate_hold))
    steps = model.tables()["steps"]
    assert rows == list(
        steps[["census", "n_isolated", "conflict_events", "mean_agitation", "climate_hold"]].itertuples(
            index=False, name=None
        )
    )
    assert type(model.census) is int and type(model.mean_agitation) is float
    with pytest.raises(AttributeError, match="read-only"):
        model.census = 3


def test_an_agent_moved_by_hand_is_back_where_the_model_has_it_at_the_next_read():
    model = MilieuModel(rng=7).run(days=1)
    client = model.clients_present[0]
    home = client.cell
    elsewhere = next(cell for cell in model.cells if cell is not home)
    client.cell = elsewhere  # Mesa's own move: the model's position (clients.cell) is unchanged
    assert home.agents.count(client) == 1 and client not in elsewhere.agents  # read through a cell ...
    client.cell = elsewhere
    assert client.cell is home  # ... or through the agent
    client.cell = elsewhere
    model.step()
    assert client.cell is model.cells[model.clients.cell[client.slot]]
    assert_mesa_agrees_with_the_arrays(model)


def test_a_finished_model_is_freed_with_its_grid():
    """Mesa keeps each grid's cell class alive; the class must not keep the model (and its tables) alive, or
    every run of a sweep or a calibration leaks a whole model (this once ran a calibration out of memory)."""
    import gc
    import weakref

    model = MilieuModel(rng=1, days=2)
    model.run()
    assert model.grid.all_cells.cells[0].agents is not None  # the views were used
    reference = weakref.ref(model)
    del model
    gc.collect()
    assert reference() is None


@pytest.mark.parametrize("dimensions", [(1, 1), (2, 3), (16, 32), (7, 5)])
def test_the_ward_grid_connects_its_cells_as_mesas_moore_grid_does(dimensions):
    from milieu_sim.model.positions import MesaPositions, WardGrid

    model = MilieuModel(rng=0)
    ward = WardGrid(dimensions, MesaPositions(model, 1, 1), torus=False, random=model.random)
    mesas = mesa.discrete_space.OrthogonalMooreGrid(dimensions, torus=False, random=model.random)
    for coordinate, cell in mesas._cells.items():
        ours = ward._cells[coordinate]
        assert list(ours.connections) == list(cell.connections)  # the same offsets, in Mesa's order
        assert [c.coordinate for c in ours.connections.values()] == [c.coordinate for c in cell.connections.values()]
        assert sorted(c.coordinate for c in ours.neighborhood) == sorted(c.coordinate for c in cell.neighborhood)

"""Floor plans and routines: parsing, the Mesa grid they build, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from milieu_sim import MilieuModel
from milieu_sim.errors import RoutineError
from milieu_sim.model.routine import HOURS_PER_WEEK, KINDS, load_routine, parse_routine
from milieu_sim.model.ward import (
    BUILTIN_MAPS,
    ZONE_CODE,
    ZONES,
    builtin_map_text,
    generated_map_text,
    parse_floor_plan,
)


@pytest.mark.parametrize("name", [m for m in BUILTIN_MAPS if m != "outpatient"])  # (a clinic: tests/test_outpatient)
def test_builtin_maps_have_every_zone(name):
    plan = parse_floor_plan(builtin_map_text(name), name)
    # the residential community's plan has no seclusion room (issue 11); the hospital plans have every zone
    without = {"seclusion_room"} if name == "residential" else set()
    assert set(plan.zones_present()) == set(ZONES) - {"wall"} - without
    assert plan.n_beds in (20, 30)
    assert np.all(plan.zone_of(plan.beds) == ZONE_CODE["bedroom"])


def test_a_floor_plan_without_a_seclusion_room_is_a_unit_that_cannot_seclude():
    plan = parse_floor_plan("#######\n#bD.Qb#\n#######\n")
    assert ZONE_CODE["seclusion_room"] not in plan.zone_cells
    model = MilieuModel(setting="residential_tc", rng=3, days=1)
    assert model.p["ward_map"] == "residential" and ZONE_CODE["seclusion_room"] not in model.plan.zone_cells
    with_room = MilieuModel(setting="residential_tc", rng=3, days=1, ward_map="community")
    assert ZONE_CODE["seclusion_room"] in with_room.plan.zone_cells


def test_text_top_row_is_the_top_of_the_grid():
    plan = parse_floor_plan("###\n#S#\n#b#\n#.#\n###\n")  # (a plan needs a corridor cell)
    assert plan.width == 3 and plan.height == 5
    assert plan.zone[1, 3] == ZONE_CODE["seclusion_room"]  # second text row -> y = 3
    assert plan.zone[1, 2] == ZONE_CODE["bedroom"]
    assert list(plan.beds) == [1 * 5 + 2]


def test_neighbour_table_never_leaves_a_zone():
    plan = parse_floor_plan(builtin_map_text("default"))
    zone = plan.zone.reshape(-1)
    walkable = np.flatnonzero(zone > 0)
    neighbours = plan.same_zone_neighbours[walkable]
    assert np.all(zone[neighbours] == zone[walkable][:, None])


@pytest.mark.parametrize("beds", [1, 37, 1000])
def test_generated_maps_fit_the_clients(beds):
    plan = parse_floor_plan(generated_map_text(beds))
    assert plan.n_beds >= beds
    assert set(plan.zones_present()) == set(ZONES) - {"wall"}


def test_grid_carries_the_zone_layer_and_agents_sit_in_cells():
    model = MilieuModel(rng=0, n_clients=8)
    assert np.array_equal(model.grid.zone.data, model.plan.zone)
    for client in model.clients_present:
        assert client.cell is model.cells[model.clients.cell[client.slot]]
        assert client.cell.coordinate == tuple(int(v) for v in model.plan.xy(model.clients.cell[client.slot]))


@pytest.mark.parametrize("name", ["acute_ward.toml", "residential_tc.toml", "day_program.toml"])
def test_shipped_routines_cover_every_hour_of_the_week(name):
    routine = load_routine(name)
    assert routine.activity.shape == (HOURS_PER_WEEK,)
    assert np.all(routine.activity >= 0)
    assert KINDS[routine.kind[3]] in ("sleep", "away")  # Monday 03:00


def test_routine_is_data_the_model_follows():
    model = MilieuModel(rng=0, n_clients=6)
    seen = {}
    for _ in range(24):
        model.step()
        seen[model.hour.hour] = model.routine.activities[model.hour.activity]
    assert seen[3] == "sleep" and seen[8] == "breakfast" and seen[10] == "therapy_group"


BLOCK = '[[activity]]\nname = "{name}"\nstart = {start}\nend = {end}\nzone = "{zone}"\nkind = "{kind}"\n'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (BLOCK.format(name="day", start=0, end=12, zone="day_room", kind="free_time"), ["no activity", "12:00"]),
        (
            BLOCK.format(name="a", start=0, end=24, zone="day_room", kind="free_time")
            + BLOCK.format(name="b", start=5, end=6, zone="day_room", kind="free_time"),
            ["overlaps", "'a'"],
        ),
        (BLOCK.format(name="a", start=0, end=24, zone="garden", kind="free_time"), ["'zone' = 'garden'"]),
        (BLOCK.format(name="a", start=0, end=24, zone="day_room", kind="party"), ["'kind' = 'party'"]),
        (BLOCK.format(name="a", start=0, end=25, zone="day_room", kind="sleep"), ["'end' = 25"]),
        ("[[activity]]\nname = 1\n", ["'name' = 1"]),
        ("x = [", ["not valid TOML"]),
    ],
)
def test_bad_routines_name_the_block_and_key(text, words):
    with pytest.raises(RoutineError) as caught:
        parse_routine(text, "test")
    for word in words:
        assert word in str(caught.value)

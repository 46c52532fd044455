"""The parameter schema, policies and every bad-input case of the Python API."""

from __future__ import annotations

import pytest

from milieu_sim import MilieuModel
from milieu_sim.errors import MilieuInputError, ParameterError, PolicyError, WardMapError
from milieu_sim.model.params import SCHEMA, SETTINGS, check_values, defaults, schema_table
from milieu_sim.model.policies import POLICY_LEVERS, PRESETS, Policy, load_policy_file, presets_table


def test_every_parameter_documents_itself():
    for param in SCHEMA.values():
        assert param.meaning and param.group and param.source
        assert param.check(param.default) == param.default, param.name
    table = schema_table()
    assert list(table["name"]) == list(SCHEMA)


def test_settings_and_presets_obey_the_schema():
    for name, values in SETTINGS.items():
        assert check_values(values) == values, name
    for name, values in PRESETS.items():
        assert set(values) <= set(POLICY_LEVERS), name
    table = presets_table()
    assert list(table.columns) == list(PRESETS)
    assert table.loc["punishment_rate", "restrictive"] > table.loc["punishment_rate", "therapeutic_milieu"]


def test_resolution_order_schema_setting_policy_keyword():
    model = MilieuModel(setting="residential_tc", policy="restrictive", rng=0, punishment_rate=0.01)
    assert model.p["n_clients"] == SETTINGS["residential_tc"]["n_clients"]  # setting over schema
    assert model.p["limit_setting_rate"] == PRESETS["restrictive"]["limit_setting_rate"]  # policy over schema
    assert model.p["punishment_rate"] == 0.01  # keyword over policy
    assert model.p["reinforcement_rate"] != defaults()["reinforcement_rate"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"punishmnt_rate": 0.1}, ["unknown parameter 'punishmnt_rate'", "did you mean 'punishment_rate'"]),
        ({"punishment_rate": 1.5}, ["'punishment_rate' = 1.5", "out of range", "from 0 to 1"]),
        ({"punishment_rate": "a lot"}, ["'punishment_rate' = 'a lot'", "a number"]),
        ({"n_clients": 2.5}, ["'n_clients' = 2.5", "an integer"]),
        ({"n_clients": True}, ["'n_clients' = True", "an integer"]),
        ({"peer_feedback": "maybe"}, ["'peer_feedback' = 'maybe'", "true or false"]),
        ({"setting": "prison"}, ["'setting' = 'prison'", "acute_ward, residential_tc, day_program"]),
        ({"policy": "kind_care"}, ["'policy' = 'kind_care'", "usual_care"]),
        ({"n_clients": 25}, ["'n_clients' = 25", "20 beds", "at most 20"]),
        ({"ward_map": "/no/such/map.txt"}, ["'ward_map'", "no such file"]),
        ({"rng": -3}, ["'rng' = -3", "non-negative integer"]),
        ({"rng": "seven"}, ["'rng' = 'seven'"]),
        ({"days": 0}, ["'days' = 0", "from 1"]),
    ],
)
@pytest.mark.parametrize("make", [MilieuModel, MilieuModel.check], ids=["build", "check"])
def test_bad_input_is_refused_in_one_line_naming_parameter_value_and_allowed(kwargs, words, make):
    with pytest.raises(MilieuInputError) as caught:
        make(**kwargs)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_policy_file_is_a_preset_plus_overrides(tmp_path):
    path = tmp_path / "gentle.toml"
    path.write_text('base = "therapeutic_milieu"\ndescription = "x"\n[parameters]\npunishment_rate = 0.0\n')
    policy = load_policy_file(path)
    assert policy.name == "gentle"
    assert policy.parameters["punishment_rate"] == 0.0
    assert policy.parameters["peer_feedback"] is True  # from the base preset
    model = MilieuModel(policy=str(path), rng=0)
    assert model.policy.name == "gentle" and model.p["punishment_rate"] == 0.0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('base = "strict"\n', ["'base' = 'strict'", "not a preset"]),
        ("[parameters]\npunish = 0.1\n", ["unknown parameter 'punish'"]),
        ("[parameters]\npunishment_rate = 7\n", ["'punishment_rate' = 7", "out of range"]),
        ("colour = 1\n", ["unknown key 'colour'"]),
        ("[parameters\n", ["not valid TOML"]),
    ],
)
@pytest.mark.parametrize("make", [MilieuModel, MilieuModel.check], ids=["build", "check"])
def test_bad_policy_files_name_the_file_and_key(tmp_path, text, words, make):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        make(policy=str(path))
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message


def test_policy_object_cannot_set_the_setting():
    with pytest.raises(PolicyError):
        Policy(name="odd", parameters={"setting": "acute_ward"})


@pytest.mark.parametrize(
    ("ward", "words"),
    [
        ("#####\n#bDS#\n#####\n#####\n", ["fewer", "beds"]),
        ("#####\n#DDS#\n#####\n", ["no beds"]),
        ("#####\n#bDX#\n#####\n", ["unknown character 'X'", "row 2, column 4"]),
        ("#####\n#bDS\n#####\n", ["row 2 has 4 cells"]),
    ],
)
@pytest.mark.parametrize("make", [MilieuModel, MilieuModel.check], ids=["build", "check"])
def test_bad_ward_maps_are_refused(tmp_path, ward, words, make):
    path = tmp_path / "ward.txt"
    path.write_text(ward)
    with pytest.raises(WardMapError) as caught:
        make(ward_map=str(path), n_clients=2)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word.replace("fewer", "more than") in message or word in message


@pytest.mark.parametrize("make", [MilieuModel, MilieuModel.check], ids=["build", "check"])
def test_a_ward_missing_a_routine_zone_is_refused(tmp_path, make):
    path = tmp_path / "ward.txt"
    path.write_text("#######\n#bbDS.#\n#######\n")
    with pytest.raises(ParameterError, match="group_room"):
        make(ward_map=str(path), n_clients=2)


@pytest.mark.parametrize(
    "text",
    ["[groups\n", "[groups.psychosis]\nshare = 2.0\n"],
)
def test_checking_refuses_a_bad_case_mix_file_as_building_does(tmp_path, text):
    path = tmp_path / "mix.toml"
    path.write_text(text)
    with pytest.raises(ParameterError) as built:
        MilieuModel(case_mix=str(path))
    with pytest.raises(ParameterError) as checked:
        MilieuModel.check(case_mix=str(path))
    assert str(checked.value) == str(built.value) and "\n" not in str(built.value)
    MilieuModel.check(policy="safewards", rng=3, days=5)  # good input: nothing raised, nothing built


def test_assumed_defaults_state_a_plausible_range_that_holds_the_default():
    import re

    assumed = [p for p in SCHEMA.values() if p.source.startswith("assumed")]
    assert len(assumed) >= 25  # the numbers that used to sit inside the rules (issue 10)
    for p in assumed:
        low, high = map(float, re.fullmatch(r"assumed \(no source\); plausible (\S+)-(\S+)", p.source).groups())
        assert low <= p.default <= high, p.name
        assert (p.low is None or p.low <= low) and (p.high is None or high <= p.high), p.name


def test_a_rule_constant_is_a_command_line_option_and_changes_the_run():
    import argparse

    from milieu_sim.cli.common import add_schema_options, schema_values

    parser = argparse.ArgumentParser()
    add_schema_options(parser)
    args = parser.parse_args(["--conflict-trust-loss", "0.2", "--time-out-hours", "3"])
    assert schema_values(args) == {"conflict_trust_loss": 0.2, "time_out_hours": 3}
    with pytest.raises(ParameterError, match="conflict_trust_loss"):
        MilieuModel(conflict_trust_loss=1.5)
    usual = MilieuModel(rng=4).run(days=2).tables()["steps"]["mean_trust"].iloc[-1]
    eroded = MilieuModel(rng=4, conflict_trust_loss=0.2).run(days=2).tables()["steps"]["mean_trust"].iloc[-1]
    assert eroded < usual

"""Who arrives: case-mix files, the profiles drawn from them, and what the traits do (docs/ODD.md 6.22)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.errors import MilieuInputError
from milieu_sim.model.casemix import GROUP_KEYS, load_case_mix, profile_of
from milieu_sim.model.params import SETTING_NAMES
from milieu_sim.model.processes import escalation, flow
from milieu_sim.model.records import CONFLICT_KINDS
from milieu_sim.model.state import DIAGNOSES

WARD_ROUND_STEP = 5  # Monday 11:00


def write_mix(path, groups: dict[str, dict[str, float]], extra: str = "") -> str:
    lines = [extra]
    for name, values in groups.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def group(share: float, detained: float = 0.0, violence: float = 0.0, self_harm: float = 0.0) -> dict[str, float]:
    return {"share": share, "detained": detained, "violence_history": violence, "self_harm_history": self_harm,
            "symptoms": 0.0, "skills": 0.0, "support": 0.5}  # fmt: skip


SHARES = {"psychosis": 0.1, "mood_disorder": 0.2, "personality_disorder": 0.3, "substance_use": 0.4}


@pytest.mark.parametrize("setting", [*SETTING_NAMES, "outpatient_group"])
def test_every_setting_has_a_valid_case_mix_file(setting):
    mix = load_case_mix("default", setting)
    assert mix.share.sum() == pytest.approx(1.0)
    assert mix.share.size == len(DIAGNOSES)


def test_profiles_drawn_from_a_users_file_follow_its_shares(tmp_path):
    groups = {name: group(share, detained=0.8 if name == "psychosis" else 0.1, violence=0.5) for name, share in
              SHARES.items()}  # fmt: skip
    path = write_mix(tmp_path / "mine.toml", groups)
    model = MilieuModel(rng=4, n_clients=800, ward_map="auto", case_mix=path)
    c = model.clients
    n = c.n
    for code, name in enumerate(DIAGNOSES):
        share = np.mean(c.diagnosis == code)
        se = np.sqrt(SHARES[name] * (1 - SHARES[name]) / n)
        assert abs(share - SHARES[name]) < 4 * se, name
    psychosis = c.diagnosis == 0
    assert abs(c.detained[psychosis].mean() - 0.8) < 4 * np.sqrt(0.16 / psychosis.sum())
    assert abs(c.detained[~psychosis].mean() - 0.1) < 4 * np.sqrt(0.09 / (~psychosis).sum())
    assert abs(c.violence_history.mean() - 0.5) < 4 * np.sqrt(0.25 / n)
    assert not c.self_harm_history.any()  # a share of 0 is never drawn


def test_the_same_seed_admits_the_same_people_under_every_policy():
    usual = MilieuModel(rng=7, policy="usual_care")
    custodial = MilieuModel(rng=7, policy="custodial")
    for slot in range(usual.clients.n):
        assert profile_of(usual, slot) | {"client_id": 0} == profile_of(custodial, slot) | {"client_id": 0}
    assert np.array_equal(usual.clients.symptoms, custodial.clients.symptoms)


def test_a_detained_client_never_drops_out():
    model = MilieuModel(rng=2, n_clients=4, dropout_per_day=1.0, waiting_referrals=0)
    c = model.clients
    c.detained[:] = [True, True, False, False]
    c.symptoms[:] = 0.9  # nobody is ready for discharge
    c.admitted_step[:] = -24 * 5
    assert np.all(flow.dropout_hazard(model)[:2] == 0.0)
    assert np.all(flow.dropout_hazard(model)[2:] > 0.0)
    model.streams["dropout"] = FixedStream(0.0)  # the surest dropout draw there is
    set_clock(model, WARD_ROUND_STEP)
    flow.discharge(model)
    assert list(c.present) == [True, True, False, False]
    assert [row["exit_reason"] for row in model.records.stays] == ["dropout", "dropout"]


def _kind_shares(model, slot, draws=4000):
    u = (np.arange(draws) + 0.5) / draws
    kinds = escalation.incident_kinds(model, np.full(draws, slot), u)
    return np.bincount(kinds, minlength=len(CONFLICT_KINDS)) / draws


def test_risk_histories_and_detention_shift_the_kinds_of_incidents():
    model = MilieuModel(rng=2, n_clients=2, violence_history_factor=2.0, self_harm_history_factor=3.0,
                        detained_absconding_factor=2.0)  # fmt: skip
    c = model.clients
    c.values[:, 1] = c.values[:, 0]  # the same state; only the traits differ
    c.kind_factor[:] = 1.0
    plain = _kind_shares(model, 0)
    c.kind_factor[CONFLICT_KINDS.index("physical_aggression"), 1] = model.p["violence_history_factor"]
    violent = _kind_shares(model, 1)
    physical = CONFLICT_KINDS.index("physical_aggression")
    assert violent[physical] > plain[physical]
    assert violent[CONFLICT_KINDS.index("refusing_rules")] < plain[CONFLICT_KINDS.index("refusing_rules")]


def test_admission_sets_the_kind_factors_from_the_traits(tmp_path):
    groups = {name: group(share, detained=1.0, violence=1.0, self_harm=0.0) for name, share in SHARES.items()}
    model = MilieuModel(rng=1, n_clients=3, case_mix=write_mix(tmp_path / "all.toml", groups),
                        detained_absconding_factor=2.5, violence_history_factor=1.5)  # fmt: skip
    c = model.clients
    assert c.detained.all() and c.violence_history.all() and not c.self_harm_history.any()
    assert np.all(c.kind_factor[CONFLICT_KINDS.index("absconding")] == 2.5)
    assert np.all(c.kind_factor[CONFLICT_KINDS.index("physical_aggression")] == 1.5)
    assert np.all(c.kind_factor[CONFLICT_KINDS.index("self_harm")] == 1.0)
    voluntary = MilieuModel(rng=1, n_clients=3, case_mix=write_mix(tmp_path / "none.toml", {
        name: group(share) for name, share in SHARES.items()}))  # fmt: skip
    assert np.all(c.trust < voluntary.clients.trust)  # detained clients start with less trust


def _error_line(path) -> str:
    with pytest.raises(MilieuInputError) as caught:
        MilieuModel(rng=1, n_clients=2, case_mix=str(path))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_bad_case_mix_file_gives_one_clear_line(tmp_path):
    groups = {name: group(share) for name, share in SHARES.items()}
    groups["substance_use"]["share"] = 0.3
    assert "sum to 0.9" in _error_line(write_mix(tmp_path / "sum.toml", groups))
    groups["substance_use"]["share"] = 0.4
    groups["mood_disorder"]["detained"] = 1.5
    message = _error_line(write_mix(tmp_path / "range.toml", groups))
    assert "mood_disorder.detained" in message and "1.5" in message and "from 0 to 1" in message
    groups["mood_disorder"]["detained"] = 0.5
    groups["psychosis"]["shares"] = 0.1
    assert "psychosis.shares" in _error_line(write_mix(tmp_path / "unknown.toml", groups))
    del groups["psychosis"]
    assert "[psychosis] is missing" in _error_line(write_mix(tmp_path / "missing.toml", groups))
    (tmp_path / "broken.toml").write_text("[psychosis\nshare = 1", encoding="utf-8")
    assert "not valid TOML" in _error_line(tmp_path / "broken.toml")
    assert "cannot be read" in _error_line(tmp_path / "absent.toml")
    assert "'case_mix'" in _error_line(tmp_path / "mix.csv")


def test_the_schema_keys_are_documented_in_the_user_guide():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "user_guide.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Your service's case mix") :]
    for key in GROUP_KEYS:
        assert f"`{key}`" in section

"""Personal responsibility and institutionalisation (docs/ODD.md 6.18): independence as initiative, idle hours."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import initiative
from milieu_sim.model.schedule import Phase
from milieu_sim.model.state import CLIENT_PARTNER, NO_ACT, NO_PARTNER, PROSOCIAL

MEAL_STEP = 2  # 08:00 breakfast (everyone attends)
THERAPY_STEP = 4  # 10:00 therapy group (structured)
FREE_STEP = 7  # 13:00 free time (not structured)
#: Only the rule under test acts: no autonomy support or custodial drift, no practice unless a test sets it.
QUIET = dict(independence_gain=0.0, institutionalisation=0.0, self_care_rate=0.0)


def ward(n: int = 2, **kwargs) -> MilieuModel:
    return MilieuModel(rng=2, n_clients=n, **{**QUIET, **kwargs})


def hour_of(model: MilieuModel, step: int, u: float = 0.5) -> None:
    """Put the clock at ``step``, every client active, nobody attending, meeting anyone or acting."""
    set_clock(model, step)
    h, c = model.hour, model.clients
    h.active[:] = c.present
    c.attending[:] = False
    h.partner_kind[:] = NO_PARTNER
    h.behaviour[:] = NO_ACT
    model.streams["initiative"] = FixedStream(u)


def test_an_idle_client_loses_independence_where_engaged_twins_do_not():
    model = ward(4, idle_erosion=0.01)
    hour_of(model, THERAPY_STEP)
    c, h = model.clients, model.hour
    assert h.structured
    c.independence[:] = 0.6
    c.attending[1] = True  # in the group
    h.partner_kind[2] = CLIENT_PARTNER  # talked with someone
    h.behaviour[3] = PROSOCIAL  # did something
    practices, idle = initiative.take_initiative(model)
    assert (practices, idle) == (0, 1)
    assert c.independence[0] < 0.6
    assert np.all(c.independence[1:] == 0.6)


def test_without_idle_erosion_an_idle_hour_costs_nothing():
    model = ward(1, idle_erosion=0.0)
    hour_of(model, FREE_STEP)
    model.clients.independence[0] = 0.6
    initiative.take_initiative(model)
    assert model.clients.independence[0] == 0.6


def test_independence_drives_unprompted_practice():
    """At the same uniform, the more independent twin practises a daily-living task and the other does not."""
    model = ward(2, self_care_rate=0.5, custodial_care=0.0, idle_erosion=0.0)
    hour_of(model, FREE_STEP, u=0.3)
    c = model.clients
    assert not model.hour.structured
    c.independence[:] = [0.8, 0.4]  # chances 0.4 and 0.2
    c.daily_living_skill[:] = 0.3
    practices, _ = initiative.take_initiative(model)
    assert practices == 1
    assert c.daily_living_skill[0] > 0.3 and c.independence[0] > 0.8
    assert c.daily_living_skill[1] == 0.3 and c.independence[1] == 0.4


@pytest.mark.parametrize("custodial_care", [0.0, 1.0])
def test_custodial_care_stops_unprompted_practice(custodial_care):
    model = ward(1, self_care_rate=1.0, custodial_care=custodial_care, idle_erosion=0.01)
    hour_of(model, FREE_STEP, u=0.5)
    c = model.clients
    c.independence[0], c.daily_living_skill[0] = 0.8, 0.3
    practices, idle = initiative.take_initiative(model)
    if custodial_care == 0.0:
        assert (practices, idle) == (1, 0)
        assert c.daily_living_skill[0] > 0.3 and c.independence[0] > 0.8
    else:  # staff do the task: no practice, and the hour is idle
        assert (practices, idle) == (0, 1)
        assert c.daily_living_skill[0] == 0.3 and c.independence[0] < 0.8


@pytest.mark.parametrize("step", [THERAPY_STEP, MEAL_STEP])
def test_attending_an_activity_is_neither_practice_nor_idleness(step):
    model = ward(1, self_care_rate=1.0, custodial_care=0.0, idle_erosion=0.01)
    hour_of(model, step, u=0.0)
    c = model.clients
    c.attending[0] = True
    c.independence[0], c.daily_living_skill[0] = 0.8, 0.3
    assert initiative.take_initiative(model) == (0, 0)
    assert c.daily_living_skill[0] == 0.3 and c.independence[0] == 0.8


def test_autonomy_support_builds_independence_and_custodial_care_wears_it_down():
    supportive = ward(1, independence_gain=0.01, autonomy_support=1.0, custodial_care=0.0, idle_erosion=0.0)
    custodial = ward(1, institutionalisation=0.01, autonomy_support=0.0, custodial_care=1.0, idle_erosion=0.0)
    for model in (supportive, custodial):
        hour_of(model, FREE_STEP)
        model.clients.independence[0] = 0.5
        initiative.take_initiative(model)
    assert supportive.clients.independence[0] > 0.5 > custodial.clients.independence[0]


def test_secluded_or_absent_clients_take_no_initiative():
    model = ward(2, self_care_rate=1.0, custodial_care=0.0, idle_erosion=0.01)
    hour_of(model, FREE_STEP, u=0.0)
    model.hour.active[:] = False
    model.clients.independence[:] = 0.5
    assert initiative.take_initiative(model) == (0, 0)
    assert np.all(model.clients.independence == 0.5)


def _custodial_vs_milieu(seed: int, days: int) -> dict[str, tuple[float, float]]:
    """Per policy: (share of active waking hours that are idle, mean independence at exit), with the direct
    autonomy and custodial terms switched off (independence_gain = institutionalisation = 0)."""
    out = {}
    for policy in ("custodial", "therapeutic_milieu"):
        tally = np.zeros(2)

        def counting(model, tally=tally):
            _, idle = initiative.take_initiative(model)
            tally += (idle, model.hour.active.sum())

        model = MilieuModel(rng=seed, policy=policy, independence_gain=0.0, institutionalisation=0.0)
        model.schedule.replace("initiative", Phase("initiative", counting, when="awake", module=initiative.__name__))
        for _ in range(24 * days):
            model.step()
        stays = model.records.stays_frame([])
        out[policy] = (tally[0] / tally[1], float(stays["independence_at_exit"].mean()))
    return out


@pytest.mark.slow
def test_custodial_care_breeds_dependence_through_idle_hours_not_a_rule():
    """Replaces the removed formula test: with no term in custodial care or the stay's length acting on
    independence directly, the custodial preset still has more idle hours and lower independence at exit than
    the therapeutic milieu, on every seed."""
    for seed in range(3):
        result = _custodial_vs_milieu(seed, days=45)
        idle_custodial, exit_custodial = result["custodial"]
        idle_milieu, exit_milieu = result["therapeutic_milieu"]
        assert idle_custodial > idle_milieu
        assert exit_custodial < exit_milieu

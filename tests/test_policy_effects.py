"""Claims about policies: consequences on hand-built states that could come out either way, and statistical
claims tested over seeded paired replicates with tolerances in standard errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.experiments.runner import run_experiment
from milieu_sim.model.processes import consequences, interaction, norms, recovery, staff_response
from milieu_sim.model.processes.norms import transgression_factor
from milieu_sim.model.state import CLIENT_PARTNER, NO_PARTNER, TRANSGRESSION
from milieu_sim.model.ward import ZONE_CODE

SEEDS = range(8)
DAYS = 30


def paired(outcome: str, a: dict, b: dict, days: int = DAYS) -> tuple[float, float]:
    """Mean and standard error of the paired difference b - a over SEEDS."""
    diffs = []
    for seed in SEEDS:
        first = run_experiment({**a, "seed": seed, "days": days})[outcome]
        second = run_experiment({**b, "seed": seed, "days": days})[outcome]
        diffs.append(second - first)
    diffs = np.asarray(diffs)
    assert np.isfinite(diffs).all(), f"{outcome} undefined in some replicate; run longer"
    return float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(diffs.size))


@pytest.mark.slow
def test_therapeutic_milieu_contains_less_than_usual_care():
    mean, se = paired("containment_per_shift", {"policy": "usual_care"}, {"policy": "therapeutic_milieu"})
    assert mean < -2 * se


@pytest.mark.slow
def test_restrictive_policy_secludes_more_than_the_therapeutic_milieu():
    mean, se = paired("isolation_hours_per_day", {"policy": "therapeutic_milieu"}, {"policy": "restrictive"})
    assert mean > 2 * se


@pytest.mark.slow
def test_safewards_lowers_conflict_and_lowers_containment_more():
    conflict, se_conflict = paired("conflict_per_shift", {"policy": "usual_care"}, {"policy": "safewards"})
    containment, se_containment = paired("containment_per_shift", {"policy": "usual_care"}, {"policy": "safewards"})
    assert conflict < -2 * se_conflict
    assert containment < -2 * se_containment


@pytest.mark.slow
def test_a_residential_community_without_seclusion_prn_or_restraint_contains_differently():
    """Not a rate fixed by a flag: the community's conflict and containment emerge from what it has."""
    mean, se = paired(
        "containment_per_shift",
        {"setting": "residential_tc", "ward_map": "community", "prn_available": True, "restraint_available": True},
        {"setting": "residential_tc"},
    )
    assert abs(mean) > 2 * se


# --- the punishment trade-off (issue 12): consequences on hand-built states ------------------------------------
FREE_TIME = 7  # 13:00 on the first day: free time


def _restless_ward(n: int = 20, **kwargs) -> MilieuModel:
    """n alike clients prone to transgress (a high transgression_rate, for enough acts to count), in the day room,
    in free time."""
    model = MilieuModel(rng=3, n_clients=n, **{"transgression_rate": 0.8, **kwargs})
    set_clock(model, FREE_TIME)
    c = model.clients
    c.skills[:] = 0.4
    c.self_control[:], c.agitation[:], c.symptoms[:], c.trust[:] = 0.3, 0.3, 0.6, 0.6
    c.suppression[:], c.resentment[:] = 0.0, 0.0
    cells = model.plan.zone_cells[ZONE_CODE["day_room"]]
    c.cell[:] = cells[np.linspace(0, cells.size - 1, n).astype(int)]
    return model


def _transgressions_in_the_hours_after(model: MilieuModel, slots: np.ndarray, hours: int = 12) -> int:
    """The slots' transgressions over the next hours (interaction and recovery only; the model's own streams, so
    twins built with one seed share every draw)."""
    count = 0
    for k in range(1, hours + 1):
        set_clock(model, FREE_TIME + k)
        interaction.interact(model)
        count += int((model.hour.behaviour[slots] == TRANSGRESSION).sum())
        recovery.recover(model)
    return count


def _after_an_answered_transgression(punish: bool, **kwargs) -> int:
    model = _restless_ward(punishment_rate=1.0 if punish else 0.0, limit_setting_rate=0.0, request_rate=0.0,
                           **kwargs)  # fmt: skip
    staff = int(np.flatnonzero(model.staff.on_duty)[0])
    h = model.hour
    h.active[:], h.behaviour[:], h.partner_kind[:], h.observer[:] = True, TRANSGRESSION, NO_PARTNER, staff
    h.observer_step = h.step
    model.streams["staff_response"] = FixedStream(table=np.array([0.0, 0.5, 0.99, 0.99]))
    staff_response.respond(model)
    return _transgressions_in_the_hours_after(model, np.arange(model.clients.n))


def test_punished_transgressors_transgress_less_in_the_next_hours_than_unpunished_twins():
    """Suppression against its costs (agitation, resentment): with the default suppression the punished twins
    transgress less; without it, the costs alone make them transgress more."""
    assert _after_an_answered_transgression(True) < _after_an_answered_transgression(False)
    no_suppression = dict(punishment_suppression=0.0)
    assert _after_an_answered_transgression(True, **no_suppression) > _after_an_answered_transgression(
        False, **no_suppression
    )


def _onlookers_after_a_punishment(deterrence: float) -> int:
    model = _restless_ward(punishment_deterrence=deterrence, witness_radius=20)
    h = model.hour
    h.active[:], h.behaviour[:], h.partner_kind[:] = True, 0, NO_PARTNER
    h.behaviour[0] = TRANSGRESSION
    h.addressed[0] = h.punished[0] = True
    consequences.follow(model)
    return _transgressions_in_the_hours_after(model, np.arange(1, model.clients.n))


def test_those_who_saw_a_punishment_transgress_less_in_the_next_hours():
    assert _onlookers_after_a_punishment(0.4) < _onlookers_after_a_punishment(0.0)


def _after_transgressions_on_peers(addressed: bool) -> tuple[float, float]:
    """Ten transgressions, each on a peer, all answered or none: the targets' mean agitation and the norm's pull
    on everyone's transgressions an hour later."""
    model = _restless_ward()
    h = model.hour
    h.active[:], h.behaviour[:], h.partner_kind[:] = True, 0, NO_PARTNER
    h.behaviour[:10], h.partner_kind[:10], h.partner[:10] = TRANSGRESSION, CLIENT_PARTNER, np.arange(10, 20)
    h.addressed[:10] = addressed
    consequences.follow(model)
    norms.update_norm(model)
    return float(model.clients.agitation[10:].mean()), transgression_factor(model)


def test_unaddressed_transgressions_harm_their_targets_and_pull_the_norm_towards_more():
    left_agitation, left_pull = _after_transgressions_on_peers(False)
    answered_agitation, answered_pull = _after_transgressions_on_peers(True)
    assert left_agitation > answered_agitation > 0.3
    assert left_pull > answered_pull


@pytest.mark.slow
def test_punishment_cuts_transgressions_in_the_short_term_whatever_it_does_to_incidents():
    """The short-term side of the trade-off (robust: about 13 standard errors in 8 paired seeds of 30 days): more
    punishment, fewer transgressions.  The long-term side is measured, not asserted: with the defaults of this
    writing incidents rose (experiments/punishment_tradeoff.toml), and its sign depends on the costs of punishment
    against those of transgressions, which are assumed."""
    mean, se = paired("transgressions_per_bed_day", {"punishment_rate": 0.0}, {"punishment_rate": 0.6})
    assert mean < -2 * se
    incidents, _ = paired("conflict_per_bed_day", {"punishment_rate": 0.0}, {"punishment_rate": 0.6})
    assert np.isfinite(incidents)

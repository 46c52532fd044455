"""Insight and empathy (docs/ODD.md 6.19): where they come from, and what insight does (6.8, 6.2)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FixedStream, set_clock

from milieu_sim import MilieuModel
from milieu_sim.model.processes import escalation, insight
from milieu_sim.model.state import LIMIT_SETTING, NO_ANTECEDENT, STRUGGLES

COMMUNITY_MEETING_STEP = 3  # 09:00 community meeting (structured)
THERAPY_STEP = 4  # 10:00 therapy group (structured)
RECREATION_STEP = 9  # 15:00 recreation (structured, not a group that talks struggles through)
FREE_STEP = 7  # 13:00 free time


def ward(n: int = 2, **kwargs) -> MilieuModel:
    return MilieuModel(rng=2, n_clients=n, **kwargs)


def group_hour(model: MilieuModel, step: int = THERAPY_STEP, facilitation: float = 1.0) -> None:
    """Everyone present active and attending the activity of ``step``, led with ``facilitation``."""
    set_clock(model, step)
    c, h = model.clients, model.hour
    h.active[:] = c.present
    c.attending[:] = c.present
    h.facilitation = facilitation


def _after(days_calm: float, exposure: float) -> float:
    """A client's insight gain in a therapy group held after an hour with ``exposure`` and ``days_calm`` calm days."""
    model = ward(4, struggles_gain=1.0, struggles_days=3.0)
    set_clock(model, FREE_STEP)
    model.hour.incident_exposure = exposure
    insight.reflect(model)
    for _ in range(int(24 * days_calm)):  # calm hours: no incidents, no groups
        set_clock(model, FREE_STEP)
        insight.reflect(model)
    group_hour(model)
    c = model.clients
    c.insight[:], c.trust[:] = 0.1, 0.5
    insight.reflect(model)
    return float(c.insight[0] - 0.1)


def test_insight_grows_more_in_a_group_after_incidents_than_after_a_calm_week():
    assert _after(0.0, exposure=3.0) > _after(7.0, exposure=3.0)
    assert _after(0.0, exposure=3.0) > _after(0.0, exposure=0.0) > 0.0


def test_a_group_without_a_facilitator_teaches_no_insight_or_empathy_and_talks_nothing_through():
    led, unled = ward(3), ward(3)
    for model, facilitation in ((led, 1.0), (unled, 0.0)):
        group_hour(model, facilitation=facilitation)
        model.community.values[STRUGGLES] = 0.6
        model.clients.insight[:], model.clients.empathy[:] = 0.2, 0.2
        insight.reflect(model)
    assert np.all(unled.clients.insight == 0.2) and np.all(unled.clients.empathy == 0.2)
    assert np.all(led.clients.insight > 0.2) and np.all(led.clients.empathy > 0.2)
    assert led.community.struggles < unled.community.struggles


@pytest.mark.parametrize("step", [COMMUNITY_MEETING_STEP, THERAPY_STEP])
def test_groups_and_community_meetings_talk_struggles_through_and_other_hours_do_not(step):
    grouped, other = ward(3), ward(3)
    group_hour(grouped, step)
    group_hour(other, RECREATION_STEP)  # structured and attended, but not a group
    for model in (grouped, other):
        model.community.values[STRUGGLES] = 0.6
        insight.reflect(model)
    assert grouped.community.struggles < other.community.struggles
    assert np.all(grouped.clients.insight > 0.0) and np.all(other.clients.insight == 0.0)


def test_only_attending_active_clients_learn_in_a_group():
    model = ward(3)
    group_hour(model)
    c, h = model.clients, model.hour
    c.attending[1] = False
    h.active[2] = False  # secluded, say
    insight.reflect(model)
    assert c.insight[0] > 0.0 and c.insight[1] == 0.0 and c.insight[2] == 0.0


def test_incidents_raise_the_communitys_struggles_and_they_fade():
    model = ward(4, struggles_gain=1.0, struggles_days=2.0)
    set_clock(model, FREE_STEP)
    model.hour.incident_exposure = 2.0
    insight.reflect(model)
    raised = model.community.struggles
    assert raised > 0.0
    set_clock(model, FREE_STEP)
    insight.reflect(model)
    assert model.community.struggles < raised


def test_helping_peers_builds_empathy():
    model = ward(2, helping_empathy_gain=0.1)
    set_clock(model, FREE_STEP)
    c = model.clients
    insight.reflect(model)  # notes the counts so far
    c.feedback_sent[0] += 2  # client 0 sent two pieces of feedback this hour
    set_clock(model, FREE_STEP)
    insight.reflect(model)
    assert c.empathy[0] == pytest.approx(1 - 0.9**2) and c.empathy[1] == 0.0
    set_clock(model, FREE_STEP)
    insight.reflect(model)  # no new feedback: no further gain
    assert c.empathy[0] == pytest.approx(1 - 0.9**2)


# --- what insight does ----------------------------------------------------------------------------------------


def _incidents(insight_level: float, antecedent: int) -> int:
    """Incidents in one hour of a client with A = 0.6, C = 0.3 and the given insight, at a fixed uniform."""
    model = ward(1, incident_rate=0.1, incident_steepness=6.0, insight_control=0.8, de_escalation_first=0.0)
    set_clock(model, THERAPY_STEP)
    c = model.clients
    c.agitation[0], c.self_control[0], c.insight[0] = 0.6, 0.3, insight_level
    c.antecedent[0], c.antecedent_step[0] = antecedent, model.hour.step
    without = float(escalation.incident_probability(model)[0])  # the chance at this insight
    model.streams["escalation"] = FixedStream(0.11)  # between the insightful and the uninsightful chance
    escalation.escalate(model)
    assert (without > 0.11) == (model.hour.conflict_events == 1)
    return model.hour.conflict_events


def test_a_provoked_client_with_insight_has_fewer_incidents_than_a_twin_without():
    assert _incidents(0.0, LIMIT_SETTING) == 1
    assert _incidents(0.9, LIMIT_SETTING) == 0


def test_insight_does_not_help_without_provocation():
    assert _incidents(0.9, NO_ANTECEDENT) == _incidents(0.0, NO_ANTECEDENT) == 1

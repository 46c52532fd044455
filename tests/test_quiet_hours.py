"""Runs of quiet hours as one compiled call (milieu_sim.model.hours): the same run as calling step() hour by hour,
Mesa's clock where stepping leaves it, and hour by hour wherever something of one's own could act in an hour."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel
from milieu_sim.model.policies import Policy
from milieu_sim.model.schedule import Phase
from milieu_sim.model.state import clock_hour


def _stepped(hours: int, **kwargs) -> MilieuModel:
    model = MilieuModel(**kwargs)
    for _ in range(hours):
        model.step()
    return model


def _same_tables(a: MilieuModel, b: MilieuModel) -> None:
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name], check_exact=True, obj=name)


def _quiet_runs(model: MilieuModel, monkeypatch) -> list[int]:
    """Record the length of each quiet run the model makes from now on."""
    runs: list[int] = []
    original = type(model)._run_quiet

    def spy(self, n_hours, *due):
        runs.append(n_hours)
        original(self, n_hours, *due)

    monkeypatch.setattr(type(model), "_run_quiet", spy)
    return runs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rng": 3, "policy": "restrictive"},
        {"rng": 4, "setting": "residential_tc", "warm_start_days": 3},
        {"rng": 5, "setting": "day_program"},  # away hours: clients at home
    ],
)
def test_run_gives_the_tables_and_the_clock_of_stepping_hour_by_hour(kwargs, monkeypatch):
    days = 6
    stepped = _stepped(24 * days, **kwargs)  # a warm start runs when the model is built
    fast = MilieuModel(**kwargs)
    runs = _quiet_runs(fast, monkeypatch)
    fast.run(days=days)
    assert runs and sum(runs) > 24 * days // 2  # most hours ran in quiet runs
    _same_tables(stepped, fast)
    for model in (stepped, fast):
        assert model._default_schedule.next_scheduled_time == model.time + 1
    assert (fast.steps, fast.time, fast._default_schedule.execution_count) == (
        stepped.steps,
        stepped.time,
        stepped._default_schedule.execution_count,
    )
    np.testing.assert_array_equal(fast.hour.clock, stepped.hour.clock)
    assert fast.census == stepped.census and fast.mean_agitation == stepped.mean_agitation
    # and both go on alike, by step() or by run()
    stepped.step()
    fast.step()
    assert fast.steps == stepped.steps == fast.time
    fast.run(days=1)
    for _ in range(24):
        stepped.step()
    _same_tables(stepped, fast)


def test_quiet_runs_end_with_the_ward_round_go_through_the_community_day_and_admit_only_in_their_first_hour(
    monkeypatch,
):
    """The ward round's phases come after every part: a quiet run may end with their hour (its parts compiled, its
    own phases from Python), never go past it.  The community model's day may be done after the parts of later
    hours: runs go through its hour.  Admission comes before the hour's parts: a run may begin with an hour in
    which it is due (admission from Python, then the hour's later parts compiled), and no admission is due in the
    rest of the run."""
    model = MilieuModel(rng=1, admission_delay_hours=6.0)
    cohort = model.admissions
    starts: list[tuple[int, int, int, bool, int]] = []  # (first step, hours, admission due, begun, admissions)
    original = MilieuModel._run_quiet

    def spy(self, n_hours, due=False):
        first, admitted = self.steps + 1, self.admissions
        original(self, n_hours, due)
        hours = self.steps - first + 1  # the run's own count (worked out again after an admission)
        starts.append((first, hours, self.next_admission_due, due, self.admissions - admitted))

    monkeypatch.setattr(MilieuModel, "_run_quiet", spy)
    model.run(days=10)
    assert starts
    for first, n_hours, due_after, begun, admitted in starts:
        hours = [clock_hour(step) for step in range(first, first + n_hours)]
        assert 11 not in hours[:-1]  # the ward round: last
        assert first + n_hours - 1 < due_after  # no admission due in the rest of the run
        assert (admitted > 0) == begun  # admitted only in the first hour, when it began with admission due
    ends = [clock_hour(first + n_hours - 1) for first, n_hours, *_ in starts]
    inside = [clock_hour(step) for first, n_hours, *_ in starts for step in range(first, first + n_hours - 1)]
    assert 11 in ends and 12 in inside  # runs end with the ward round and go on through the community day
    assert sum(admitted for *_, admitted in starts) == model.admissions - cohort >= 3  # every admission began a run
    _same_tables(model, _stepped(240, rng=1, admission_delay_hours=6.0))


#: Many referrals back from follow-up, and beds filled within hours: the follow-up day's results (the readmission
#: queue, the slots it frees) are read by the admissions and discharges soon after it.
READMITTING = {"readmission_chance": 1.0, "relapse_symptoms": 0.15, "followup_days": 20, "admission_delay_hours": 2.0}


def test_the_follow_up_day_is_done_after_the_quiet_run_with_its_own_hours_step(monkeypatch):
    """The follow-up day, passed by a quiet run, is done once a day with the step of its hour (12:00), right after
    the run's compiled call and before any phase runs from Python (the ward round, the next admission); the
    referrals it makes are admitted as when stepping hour by hour, and the tables are stepping's."""
    from milieu_sim.model.processes import aftercare, flow

    log: list[tuple[str, int, int]] = []  # (what, its step, model.steps when it ran)
    day, discharge, admit_client = aftercare.follow_up_day, flow.discharge, flow.admit_client

    def followed(model, step):
        log.append(("followup", step, model.steps))
        day(model, step)

    def discharged(model):
        if model.hour.hour == flow.WARD_ROUND_HOUR:
            log.append(("discharge", model.steps, model.steps))
        discharge(model)

    def admitted(model, slot, prior_days=None):
        log.append(("admission", model.steps, model.steps))
        return admit_client(model, slot, prior_days)

    monkeypatch.setattr(aftercare.follow_up, "later", followed)
    monkeypatch.setattr(flow, "discharge", discharged)
    monkeypatch.setattr(flow, "admit_client", admitted)
    days = 30
    model = MilieuModel(rng=7, **READMITTING)
    log.clear()  # the first cohort's admissions
    runs = _quiet_runs(model, monkeypatch)
    model.run(days=days)
    followups = [(step, at) for what, step, at in log if what == "followup"]
    assert [step for step, _ in followups] == [s for s in range(1, 24 * days + 1) if clock_hour(s) == 12]
    assert all(at >= step for step, at in followups)  # in its hour, or after the run that went through it
    assert sum(at > step for step, at in followups) >= days // 2  # mostly the latter
    for k, (what, step, at) in enumerate(log):
        if what == "followup":  # nothing ran from Python between its hour and it
            assert all(other == "followup" or s <= step for other, s, _ in log[:k]), log[max(0, k - 3) : k + 1]
            assert all(s >= at for _, s, _ in log[k + 1 :])
    assert max(runs) > 12  # runs longer than from one community day to the next ward round

    stepped = _stepped(24 * days, rng=7, **READMITTING)
    _same_tables(stepped, model)
    stays = model.tables()["stays"]
    assert (stays["previous_stays"] > 0).sum() >= 10  # readmitted people: the queue the follow-up day fills was read


def test_a_phase_of_ones_own_after_the_follow_up_day_sees_that_days_follow_up(monkeypatch):
    """A phase of one's own at 12:00 after the follow-up day ends quiet runs with that hour: the follow-up day is
    then done in its place among the hour's phases, before it, as when stepping hour by hour."""
    from milieu_sim.model.processes import aftercare

    def build() -> MilieuModel:
        note = Phase("note", lambda m: m.seen.append((m.steps, aftercare.waiting_count(m), len(m.records.stays))),
                     when="daily", after="followup")  # fmt: skip
        model = MilieuModel(rng=11, extra_phases=[note], **READMITTING)
        model.seen = []
        return model

    stepped = build()
    for _ in range(24 * 12):
        stepped.step()
    model = build()
    runs = _quiet_runs(model, monkeypatch)
    model.run(days=12)
    assert runs and model.seen == stepped.seen and len(model.seen) == 12
    assert any(waiting for _, waiting, _ in model.seen)  # referrals the day's follow-up made, waiting for a bed
    _same_tables(stepped, model)


def test_a_year_of_quiet_runs_is_a_year_of_steps():
    """A year of runs that begin with admissions and end with ward rounds (thousands of buffer top-ups between
    and inside them) draws every number stepping draws, no more and no fewer: the same tables."""
    fast = MilieuModel(rng=1).run(days=365)
    _same_tables(fast, _stepped(24 * 365, rng=1))


class HookPolicy(Policy):
    def before_hour(self, model):
        model.hooked = getattr(model, "hooked", 0) + 1


def _calm(model):
    model.clients.agitation[model.clients.present] *= 0.99


@pytest.mark.parametrize(
    "change",
    ["hook", "phase", "collector", "subclass", "event"],
)
def test_hours_in_which_something_of_ones_own_acts_run_one_by_one(change, monkeypatch):
    """A policy hook, a phase of one's own, a DataCollector called hourly, a subclass's step or a Mesa event:
    every hour is stepped, and the run is the one stepping gives."""

    class Counting(MilieuModel):
        def step(self):
            self.counted = getattr(self, "counted", 0) + 1
            super().step()

    kind = Counting if change == "subclass" else MilieuModel
    kwargs = {"rng": 2, "policy": HookPolicy(name="hooked") if change == "hook" else "usual_care"}

    def build() -> MilieuModel:
        model = kind(**kwargs)
        if change == "phase":
            model.schedule.insert(Phase("calm", _calm, when="awake"), after="recovery")
        if change == "collector":
            model.datacollector = mesa.DataCollector(model_reporters={"census": "census"})
        if change == "event":
            model.fired = []

            def fire() -> None:
                model.fired.append(model.steps)

            model.fire = fire  # kept: Mesa holds an event's function weakly
            model.schedule_event(fire, at=30.5)
        return model

    stepped = build()
    for _ in range(72):
        stepped.step()
    model = build()
    runs = _quiet_runs(model, monkeypatch)
    model.run(days=3)
    _same_tables(stepped, model)
    if change == "event":  # quiet runs up to the event, the event at its time, then quiet runs again
        assert model.fired == stepped.fired == [30]
        assert runs
    else:
        assert runs == []
    if change == "hook":
        assert model.hooked == stepped.hooked == 72
    if change == "subclass":
        assert model.counted == 72
    if change == "collector":
        assert len(model.datacollector.get_model_vars_dataframe()) == 72


@pytest.mark.parametrize("place", [{"after": "discharge"}, {"before": "movement"}])
def test_a_phase_of_ones_own_at_the_ward_round_keeps_the_other_hours_quiet(place, monkeypatch):
    """After every part, the phase runs at the end of a quiet run that ends with the ward round's hour; before a
    part (movement), the ward round's hour is stepped and no run goes into it.  Either way the phase runs once a
    day, in its hour, and the tables are stepping's."""
    seen: list[tuple[int, int]] = []
    note = Phase("note", lambda m: seen.append((m.steps, m.hour.hour)), when="ward_round", **place)
    model = MilieuModel(rng=6, extra_phases=[note])
    starts: list[tuple[int, int]] = []
    original = MilieuModel._run_quiet

    def spy(self, n_hours, due=False):
        first = self.steps + 1
        original(self, n_hours, due)
        starts.append((first, self.steps - first + 1))

    monkeypatch.setattr(MilieuModel, "_run_quiet", spy)
    model.run(days=3)
    assert [hour for _, hour in seen] == [11, 11, 11] and starts
    ends = {first + n_hours - 1 for first, n_hours in starts}
    inside = {step for first, n_hours in starts for step in range(first, first + n_hours)}
    for step, _ in seen:
        if "after" in place:
            assert step in ends  # the run ended with the ward round's hour; the phase ran after its parts
        else:
            assert step not in inside  # stepped
    stepped = _stepped(72, rng=6)
    _same_tables(stepped, model)


def _visit(model):
    """A phase of one's own that acts every 30 hours and says so (``quiet_until``): a visitor calms everyone."""
    if model.steps >= getattr(model, "next_visit", 30):
        model.visits = [*getattr(model, "visits", []), model.steps]
        model.clients.agitation[model.clients.present] *= 0.9
        model.next_visit = model.steps + 30


_visit.quiet_until = lambda model: getattr(model, "next_visit", 30)


@pytest.mark.parametrize("place", [{"before": "movement"}, {"after": "followup"}])
def test_a_phase_of_ones_own_that_says_when_it_acts_begins_runs_or_is_stepped(place, monkeypatch):
    """Before the parts, the hour it acts in begins a quiet run (it runs from Python, then the hour's later parts
    compiled); after the last part, that hour is stepped.  Either way it acts in its hours, and the tables are
    stepping's."""

    def build() -> MilieuModel:
        return MilieuModel(rng=12, extra_phases=[Phase("visit", _visit, **place)])

    stepped = build()
    for _ in range(96):
        stepped.step()
    model = build()
    begun: list[int] = []
    original = MilieuModel._run_quiet

    def spy(self, n_hours, due=False):
        if due:
            begun.append(self.steps + 1)
        original(self, n_hours, due)

    monkeypatch.setattr(MilieuModel, "_run_quiet", spy)
    model.run(days=4)
    assert model.visits == stepped.visits == [30, 60, 90]
    if "before" in place:
        assert set(model.visits) <= set(begun)
    else:
        assert not set(model.visits) & set(begun)
    _same_tables(stepped, model)


def test_a_user_who_never_calls_run_gets_the_same_model():
    """step() alone (the app, a notebook) and run() build the same state."""
    a = _stepped(48, rng=9)
    b = MilieuModel(rng=9).run(days=2)
    np.testing.assert_array_equal(a.clients.values, b.clients.values)
    assert [x.cell.coordinate for x in a.clients_present] == [x.cell.coordinate for x in b.clients_present]


def test_mesas_run_model_runs_quiet_hours_too_and_stops_where_stepping_does(monkeypatch):
    model = MilieuModel(rng=8, days=3)
    runs = _quiet_runs(model, monkeypatch)
    model.run_model()
    assert runs and not model.running and model.steps == 72
    _same_tables(_stepped(72, rng=8, days=3), model)


def test_run_model_stops_when_a_hook_says_so():
    class StopAtNoon(Policy):
        def after_hour(self, model):
            if model.hour.hour == 12:
                model.running = False

    model = MilieuModel(rng=8, days=3, policy=StopAtNoon(name="noon"))
    model.run_model()
    assert model.steps == 6 and model.hour.hour == 12  # 07:00 is step 1

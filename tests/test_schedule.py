"""The hour's schedule as data: the order it runs, phases of one's own, the printed schedule, the worked example."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from milieu_sim import MilieuModel, Policy
from milieu_sim.errors import ParameterError
from milieu_sim.model.schedule import SCHEDULE, Owns, Phase, schedule_markdown, schedule_text
from milieu_sim.model.streams import stream

DEFAULT_ORDER = [
    "shift_change",
    "admission",
    "movement",
    "facilitation",
    "observation",
    "home",
    "interaction",
    "modeling",
    "feedback",
    "staff_response",
    "consequences",
    "initiative",
    "community_meeting",
    "flashpoints",
    "prevention",
    "seclusion_draws",
    "escalation",
    "isolation",
    "climate",
    "norms",
    "insight",
    "recovery",
    "plan_sessions",
    "plan_review",
    "discharge",
    "followup",
]


def logged(model: MilieuModel) -> list[tuple[int, str]]:
    """Make every phase of ``model`` note (step, phase name) when it runs; return the log."""
    log: list[tuple[int, str]] = []
    for phase in list(model.schedule):

        def run(m, entry=phase.entry, name=phase.name):
            log.append((m.hour.step, name))
            entry(m)

        model.schedule.replace(phase.name, dataclasses.replace(phase, function=run))
    return log


def test_each_phase_runs_in_order_under_its_condition():
    model = MilieuModel(rng=2, n_clients=8)
    assert model.schedule.names() == [p.name for p in SCHEDULE] == DEFAULT_ORDER
    log = logged(model)
    awake, clock = {}, {}
    for _ in range(48):
        model.step()
        awake[model.hour.step], clock[model.hour.step] = model.hour.awake, model.hour.hour
    for step in range(1, 49):
        ran = [name for s, name in log if s == step]
        assert ran == [n for n in DEFAULT_ORDER if n in ran]  # the schedule's order
        assert ("shift_change" in ran) == (step == 1 or clock[step] in (7, 15, 23))
        assert ("discharge" in ran) == ("plan_sessions" in ran) == (clock[step] == 11)
        assert ("plan_review" in ran) == (step == 29)  # the weekly review: Tuesday 11:00
        assert ("followup" in ran) == (clock[step] == 12)  # the community model's day (processes.aftercare)
        assert ("interaction" in ran) == ("staff_response" in ran) == awake[step]
        assert {"admission", "movement", "escalation", "isolation", "recovery"} <= set(ran)
    assert not all(awake.values()) and any(awake.values())  # both kinds of hour were seen


def test_the_logged_schedule_leaves_the_run_unchanged():
    """Wrapping every phase (same functions, same order) gives the same tables: the step is the schedule."""
    plain = MilieuModel(rng=9, n_clients=8).run(days=3).tables()
    wrapped = MilieuModel(rng=9, n_clients=8)
    logged(wrapped)
    tables = wrapped.run(days=3).tables()
    for name, frame in plain.items():
        assert frame.equals(tables[name]), name


def calm_everyone(model: MilieuModel) -> None:
    """A user's phase: every client present loses half their agitation."""
    c = model.clients
    c.agitation[c.present] *= 0.5


def test_an_inserted_phase_runs_in_its_place_and_changes_the_run():
    model = MilieuModel(rng=4)
    log = logged(model)
    model.schedule.insert(Phase("calming", calm_everyone, when="awake"), after="staff_response")
    seen = []
    model.schedule.insert(Phase("probe", lambda m: seen.append(m.hour.step), when="awake"), before="escalation")
    names = model.schedule.names()
    at = names.index("staff_response")
    assert names[at : at + 2] == ["staff_response", "calming"]
    assert names[names.index("escalation") - 1] == "probe"
    model.run(days=10)
    for step in set(seen):
        ran = [name for s, name in log if s == step]
        after = DEFAULT_ORDER[DEFAULT_ORDER.index("staff_response") + 1]
        assert ran[ran.index("staff_response") + 1] == after  # the logged neighbours of calming and probe
    assert len(seen) == sum(name == "staff_response" for _, name in log)  # every waking hour, only then
    calm = model.tables()["steps"]
    usual = MilieuModel(rng=4).run(days=10).tables()["steps"]
    assert calm["conflict_events"].sum() < usual["conflict_events"].sum()
    assert calm["mean_agitation"].mean() < usual["mean_agitation"].mean()


def test_a_bad_anchor_or_phase_is_refused_in_one_line():
    model = MilieuModel(rng=0, n_clients=4)
    with pytest.raises(ParameterError) as error:
        model.schedule.insert(Phase("calming", calm_everyone), after="staf_response")
    message = str(error.value)
    assert "\n" not in message and "'after' = 'staf_response'" in message and "staff_response" in message
    for bad in (
        lambda: model.schedule.insert(Phase("calming", calm_everyone)),  # no anchor
        lambda: model.schedule.insert(Phase("calming", calm_everyone), after="movement", before="recovery"),
        lambda: model.schedule.insert(Phase("recovery", calm_everyone), after="movement"),  # name taken
        lambda: Phase("calming", calm_everyone, when="at_dawn"),
        lambda: Phase("calm down", calm_everyone),
        lambda: model.schedule.insert(Phase("calming", "flow.admitt"), after="movement"),  # no such function
        lambda: MilieuModel(rng=0, extra_phases=[Phase("calming", calm_everyone, before="lunch")]),
    ):
        with pytest.raises(ParameterError) as error:
            bad()
        assert "\n" not in str(error.value)
    assert model.schedule.names() == DEFAULT_ORDER


def test_one_models_schedule_does_not_leak_into_another():
    first = MilieuModel(rng=1, n_clients=4)
    first.schedule.insert(Phase("calming", calm_everyone), after="staff_response")
    first.schedule.remove("modeling")
    second = MilieuModel(rng=1, n_clients=4)
    assert second.schedule.names() == DEFAULT_ORDER == [p.name for p in SCHEDULE]
    assert "calming" in first.schedule and "modeling" not in first.schedule


def test_phases_given_when_building_and_by_a_policy_join_the_schedule():
    class Visiting(Policy):
        phases = (Phase("visits", calm_everyone, when="awake", before="recovery"),)

    model = MilieuModel(
        rng=3,
        n_clients=4,
        policy=Visiting(name="visiting"),
        extra_phases=[Phase("calming", calm_everyone, after="admission")],
    )
    names = model.schedule.names()
    assert names[names.index("admission") + 1] == "calming"
    assert names[names.index("recovery") - 1] == "visits"
    model.set_policy("usual_care")  # the policy's phases leave with it; the model's own stay
    assert "visits" not in model.schedule and "calming" in model.schedule


# --- the printed schedule ---------------------------------------------------------------------------------
def test_the_printed_schedule_fits_a_terminal_and_names_every_phase_in_order():
    text = schedule_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    heads = [re.match(r"^ *(\d+|-)  (\w+) ", line) for line in text.splitlines()]
    assert [m.group(2) for m in heads if m] == ["clock", "before_hour", *DEFAULT_ORDER, "records", "after_hour"]
    wide = schedule_text(wide=True).splitlines()
    assert len(wide) == 1 + 2 + len(SCHEDULE) + 2  # header, clock and hook, phases, records and hook
    markdown = schedule_markdown()
    for phase in SCHEDULE:
        assert f"`{phase.label}`" in markdown and phase.section in markdown


def test_the_printed_schedule_shows_what_a_module_declares():
    owns = Owns(
        parameters=("visit_calm",),
        reads=("hour.hour",),
        writes=("clients.agitation",),
        streams={"visits": ("visited",)},
    )
    module = type(sys)("visiting_example")
    module.OWNS = owns
    sys.modules["visiting_example"] = module
    try:
        phase = Phase("visiting", calm_everyone, when="awake", module="visiting_example")
        assert phase.owns is owns
        text = schedule_text([*SCHEDULE, phase])
        block = text[text.index(" visiting ") :]
        assert "visit_calm" in block and "clients.agitation" in block and "visits (visited)" in block
        undeclared = Phase("mine", calm_everyone, module="json")  # a module without OWNS: shown as "-"
        assert undeclared.owns is None
        assert schedule_markdown([undeclared]).count("| - | - | - | - |") == 1
    finally:
        del sys.modules["visiting_example"]


def test_a_module_with_two_phases_declares_once_or_per_phase():
    shared = Owns(parameters=("visit_calm",))
    module = type(sys)("two_phases_example")
    module.OWNS = shared
    sys.modules["two_phases_example"] = module
    try:
        first = Phase("first", calm_everyone, module="two_phases_example")
        second = Phase("second", print, module="two_phases_example")
        text = schedule_text([first, second])
        assert "one declaration with second" in text and "as first" in text
        assert text.count("visit_calm") == 1
        module.PHASE_OWNS = {"print": Owns(parameters=("visit_chance",))}  # the second phase's own declaration
        assert first.owns is shared and second.owns.parameters == ("visit_chance",)
        assert "one declaration" not in schedule_text([first, second])
    finally:
        del sys.modules["two_phases_example"]


def test_schedule_command_prints_the_hour_and_ends_quietly_on_a_closed_pipe():
    command = [sys.executable, "-m", "milieu_sim.cli.main", "schedule"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == schedule_text() + "\n"
    markdown = subprocess.run([*command, "--format", "markdown"], capture_output=True, text=True, timeout=120)
    assert markdown.stdout == schedule_markdown() + "\n"
    closed = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    closed.stdout.close()  # the reader is gone before the command writes (as with `| head -0`)
    _, stderr = closed.communicate(timeout=120)
    assert closed.returncode == 0 and b"Traceback" not in stderr


# --- the worked example of docs/architecture.md: visiting hours -----------------------------------------------
# In the package, `visit` and OWNS are milieu_sim/model/processes/visiting.py, the parameters are schema entries
# and the "visiting" stream is made on first use from the run's seed and its name; here the test gives one model
# the parameters, so that it does not change the package.
VISITING = {"visiting_start": 15, "visiting_end": 18, "visit_chance": 0.3, "visit_calm": 0.3}

OWNS = Owns(
    parameters=("visiting_start", "visiting_end", "visit_chance", "visit_calm"),
    reads=("hour.hour", "clients.present", "clients.isolated"),
    writes=("clients.agitation",),
    streams={"visiting": ("visited",)},
)


def visit(model: MilieuModel) -> None:
    """Visits of this hour: from visiting_start to visiting_end each client present and not secluded has a visitor
    with probability visit_chance; a visit lowers agitation: A <- A * (1 - visit_calm)."""
    h, c, p = model.hour, model.clients, model.p
    if not p["visiting_start"] <= h.hour < p["visiting_end"]:
        return
    u = model.streams["visiting"].random(c.n)  # one number per bed slot: common random numbers
    visited = c.present & ~c.isolated & (u < p["visit_chance"])
    c.agitation[visited] *= 1.0 - p["visit_calm"]


def with_visiting_hours(seed: int) -> MilieuModel:
    model = MilieuModel(rng=seed)
    model.p.update(VISITING)  # in the package: schema entries
    assert "visiting" not in model.streams  # made on first use, from the seed and the name
    model.schedule.insert(
        Phase("visiting", visit, when="awake", section="Visiting hours", summary="visitors calm the clients they see"),
        after="staff_response",
    )
    return model


def test_worked_example_visiting_hours():
    model = with_visiting_hours(5)
    names = model.schedule.names()
    assert names[names.index("staff_response") + 1] == "visiting"
    assert model.schedule["visiting"].owns is OWNS  # the declaration of the phase's module
    printed = schedule_text(model.schedule)
    assert "visit_chance" in printed and "visiting (visited)" in printed
    model.run(days=3)
    usual = MilieuModel(rng=5).run(days=3)
    a, b = model.tables()["steps"], usual.tables()["steps"]
    assert a.columns.equals(b.columns)
    before = a["step"] < 9  # 07:00-14:00 of the first day: no visit yet, the same ward hour by hour
    assert a[before].equals(b[before])
    first_visit = a.index[a["hour"] == 15][0]
    assert a.loc[first_visit, "mean_agitation"] < b.loc[first_visit, "mean_agitation"]
    visiting = a["hour"].between(15, 17)
    assert a.loc[visiting, "mean_agitation"].mean() < b.loc[visiting, "mean_agitation"].mean()
    # visits draw from their own stream: the escalation stream is where it would be without them
    assert model.streams["escalation"].random() == usual.streams["escalation"].random()
    # a stream made on first use is the one the seed and its name give, whenever it is first drawn
    late = MilieuModel(rng=5).run(days=1)
    assert late.streams["visiting"].random() == stream(late.seed, "visiting").random()

"""MilieuModel: a therapeutic milieu on a Mesa grid, one step per hour."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from milieu_sim.errors import ParameterError
from milieu_sim.model import processes
from milieu_sim.model.agents import Client, Staff
from milieu_sim.model.casemix import load_case_mix
from milieu_sim.model.collector import RecordsCollector
from milieu_sim.model.compiled_hour import HEADROOM_HOURS, CompiledHour
from milieu_sim.model.hours import can_skip_steps, count_hour, set_clock, skip_steps
from milieu_sim.model.params import (
    SCHEMA,
    SETTING_ROUTINE,
    RunParameters,
    check_combinations,
    check_values,
    setting_defaults,
)
from milieu_sim.model.policies import POLICY_LEVERS, Policy, resolve_policy
from milieu_sim.model.positions import MesaPositions, WardGrid
from milieu_sim.model.processes import stretch  # the module, not its names: it is written from the schedule
from milieu_sim.model.records import STEP_COLUMNS, TABLE_COLUMNS, Records, shift_of_hour
from milieu_sim.model.routine import load_routine
from milieu_sim.model.schedule import SCHEDULE, Phase, QuietPlan, Schedule
from milieu_sim.model.state import (
    SHIFTS,
    ClientArrays,
    Community,
    Hour,
    StaffArrays,
    WardClimate,
    clock_hour,
)
from milieu_sim.model.streams import make_streams, root_entropy
from milieu_sim.model.ward import ZONE_CODE, load_floor_plan

SHIFT_OF_HOUR = shift_of_hour(np.arange(24)).astype(np.int64)  # the shift (code) of each clock hour


class HourCount:
    """A model-level count or mean of the last hour (``model.census``, ``model.mean_agitation`` ...): the value of
    the column of the same name in the hour's ``steps`` row, computed once after all processes acted; read-only."""

    def __init__(self, kind: type) -> None:
        self.kind = kind

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.index = name, STEP_COLUMNS.index(name)

    def __get__(self, model: MilieuModel | None, owner: type | None = None) -> Any:
        if model is None:
            return self
        return self.kind(model._summary[self.index])

    def __set__(self, model: MilieuModel, value: Any) -> None:
        raise AttributeError(f"'{self.name}' is read-only: the model counts it after each hour")


def _checked(setting: Any, policy: Any, rng: Any, parameters: dict[str, Any]) -> tuple:
    """The model's arguments checked and resolved, before anything is built: (setting, policy, the user's
    parameters, every parameter's value, routine, floor plan).  Bad input raises one line here."""
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0):
        raise ParameterError(f"parameter 'rng' = {rng!r} is not allowed; allowed: a non-negative integer seed")
    user = check_values(parameters)
    setting = SCHEMA["setting"].check(setting)
    policy = resolve_policy(policy)
    values = setting_defaults(setting)
    values.update(policy.parameters)
    values.update(user)
    check_combinations(values)  # impossible combinations (min_stay_days > max_stay_days, ...)
    values["policy"] = policy.name
    load_case_mix(values["case_mix"], setting)  # a case-mix file that cannot be read or is wrong (model.casemix)
    routine = load_routine(SETTING_ROUTINE[setting])
    plan = load_floor_plan(values["ward_map"], values["n_clients"], routine.needs_beds)
    missing = [z for z in routine.zones_used() if z not in plan.zone_cells]
    if missing:
        from milieu_sim.model.ward import ZONES

        raise ParameterError(
            f"parameter 'ward_map' = {values['ward_map']!r}: the map has no "
            f"{', '.join(ZONES[z] for z in missing)}, which the {setting} routine uses"
        )
    return setting, policy, user, values, routine, plan


class MilieuModel(mesa.Model):
    """A psychiatric or residential treatment unit in which the community is the treatment.

    Build it with flat keyword arguments from the parameter schema
    (``milieu-sim params`` lists them)::

        MilieuModel(setting="acute_ward", policy="therapeutic_milieu", rng=1, days=30)

    Parameters resolve as schema defaults < setting < policy < keywords.  Bad
    names, types, ranges and impossible combinations raise
    :class:`~milieu_sim.errors.MilieuInputError` (one line) before anything is built.

    **One step is one hour**: the clock, the policy's ``before_hour`` hook, the
    phases of ``self.schedule`` in order (each if its condition holds), then the
    records (counts of the hour, the DataCollector, the policy's ``after_hour``
    hook).  The phases and their order are written once, as data, in
    :data:`milieu_sim.model.schedule.SCHEDULE`; ``milieu-sim schedule`` prints
    them.  ``self.schedule`` is this model's own copy: insert a phase of one's
    own with ``model.schedule.insert(Phase(...), after="staff_response")`` or
    build with ``extra_phases=[Phase(..., after=...)]`` (a policy may carry
    such phases in a ``phases`` attribute).  The equations of each process are
    in its docstring and in ``docs/ODD.md``.

    Agents of one's own: a subclass may set ``client_class`` / ``staff_class`` to
    subclasses of :class:`Client` / :class:`Staff` (say, with a ``step()``), which
    the model then creates at admission and for the roster; a phase made with
    ``Phase.for_agents("name")`` calls their ``step()`` each waking hour.
    """

    #: The agent classes the model creates (a subclass may replace them with its own subclasses).
    client_class: type[Client] = Client
    staff_class: type[Staff] = Staff

    # the last hour's counts and means (the Mesa DataCollector's model reporters among them)
    census = HourCount(int)
    staff_on_duty = HourCount(int)
    n_isolated = HourCount(int)
    conflict_events = HourCount(int)
    containment_events = HourCount(int)
    mean_skill = HourCount(float)
    mean_self_control = HourCount(float)
    mean_agitation = HourCount(float)
    mean_trust = HourCount(float)
    mean_independence = HourCount(float)
    climate_safety = HourCount(float)
    climate_cohesion = HourCount(float)
    climate_hold = HourCount(float)

    def __init__(
        self,
        setting: str = SCHEMA["setting"].default,
        policy: str | Policy | Path = SCHEMA["policy"].default,
        rng: int | None = None,
        extra_phases: Iterable[Phase] = (),
        **parameters: Any,
    ) -> None:
        checked = _checked(setting, policy, rng, parameters)
        self.setting, self.policy, self.user_parameters, values, self.routine, self.plan = checked
        self.p: dict[str, Any] = RunParameters(values)  # counts its changes (params.RunParameters)
        r = self.routine
        # the routine of each hour of the week: activity, kind (its code, routine.KINDS), zone, structured, trained
        # skill (hours.set_clock reads it)
        self._week = np.column_stack([r.activity, r.kind, r.zone, r.structured, r.trains]).astype(np.int64)
        self.schedule = Schedule(SCHEDULE)
        for phase in (*extra_phases, *_policy_phases(self.policy)):
            self.schedule.insert(phase)
        self.seed = root_entropy(rng)
        super().__init__(rng=self.seed)
        self.streams = make_streams(self.seed)
        self.compiled_hour = CompiledHour(self)  # the phases' compiled parts and their random buffers

        n = values["n_clients"]
        staffing = (values["staff_early"], values["staff_late"], values["staff_night"])
        # Mesa's view of where everyone is: brought in step with the arrays when read (model.positions)
        self.positions = MesaPositions(self, n, sum(staffing))
        self.grid = WardGrid((self.plan.width, self.plan.height), self.positions, torus=False, random=self.random)
        self.grid.create_property_layer("zone", default_value=0, dtype=int)
        self.grid.zone.data[:] = self.plan.zone  # type: ignore[attr-defined]
        self.cells = [self.grid[(x, y)] for x in range(self.plan.width) for y in range(self.plan.height)]

        self.clients = ClientArrays(n)
        self.clients.bed[:] = self.plan.bed_cells(n)  # -1: no bed, the client lives at home (outpatients)
        self.client_agents: list[Client | None] = [None] * n
        self.staff = StaffArrays(sum(staffing))
        self.staff_agents: list[Staff] = []
        # A warm start: the ward runs this many hours before the user's clock starts (day 0, Monday 07:00);
        # steps keep counting from the first hour of the warm-up, the tables count from the clock's start.
        self.clock_start = 24 * int(values["warm_start_days"])
        self.records = Records(self._last_step)  # the steps log made as long as the run at once
        self.hour = Hour.for_slots(n)
        self.admissions = 0
        self.next_admission_due = processes.flow.NEVER  # the step at which the next free bed is filled
        self.zones = processes.movement.Zones(self.plan)  # the floor plan by zone, as movement reads it
        self.climate = WardClimate(values["climate_baseline"])  # the ward climate (processes.climate)
        self.community = Community(values["norm_baseline"])  # the community's norms and struggles (norms, insight)
        self.followup = processes.aftercare.FollowUp(values["followup_days"])  # life after discharge (aftercare)
        processes.flow.create_staff(self, staffing)
        processes.flow.admit_initial_cohort(self)
        processes.movement.start_first_shift(self)

        self.datacollector = RecordsCollector(self)  # Mesa's DataCollector, filled from the steps log when read
        self._summary = np.zeros(len(STEP_COLUMNS))
        self._update_counts()
        self.running = True
        if self.clock_start:
            self._warm_up()

    @classmethod
    def check(
        cls,
        setting: str = SCHEMA["setting"].default,
        policy: str | Policy | Path = SCHEMA["policy"].default,
        rng: int | None = None,
        **parameters: Any,
    ) -> None:
        """Make every check the model makes of its arguments, and build nothing: raises the one-line
        :class:`~milieu_sim.errors.MilieuInputError` that ``MilieuModel(...)`` would raise, without its cost
        (no agents, no grid, no compiled code loaded)."""
        _checked(setting, policy, rng, parameters)

    def _warm_up(self) -> None:
        """Run the hours before the clock starts (part of the seeded run), then drop what they recorded.

        The clients present at the end stay, with their state, their history in the per-stay counters
        and their admission day (negative: before day 0); the logs, the stays that ended and the
        DataCollector's rows start afresh, so every table begins at day 0.
        """
        self._advance(self.clock_start)
        warm = self.records
        self.records = Records(self._last_step - self.steps)
        processes.planning.carry_over(self, warm)  # the present clients' plans stay (negative days)
        self.datacollector = RecordsCollector(self)

    def set_policy(self, policy: str | Policy | Path) -> None:
        """Switch the unit's policy mid-run (the policy levers change; clients and staff stay).

        The user's own keyword overrides of policy levers are dropped, since the
        new policy decides them; the old policy's phases (if any) leave the
        schedule and the new policy's join it.  Staff attributes drawn from policy levers
        (de-escalation skill, role-model quality, observation radius) are redrawn
        from the new policy's means with the same staff stream offsets.
        """
        new = resolve_policy(policy)
        for phase in _policy_phases(self.policy):
            self.schedule.remove(phase.name)
        for phase in _policy_phases(new):
            self.schedule.insert(phase)
        values = setting_defaults(self.setting)
        values.update(new.parameters)
        values.update({k: v for k, v in self.user_parameters.items() if k not in POLICY_LEVERS})
        values["policy"] = new.name
        self.policy = new
        self.p = RunParameters(values)
        processes.flow.set_staff_attributes(self)

    @property
    def datacollector(self) -> mesa.DataCollector:
        """Mesa's DataCollector of the model reporters (``collector.MODEL_REPORTERS``), one row per hour.

        The model's own collector (:class:`~milieu_sim.model.collector.RecordsCollector`) costs nothing in the
        hour: it is filled from the ``steps`` log when read.  Set it to a ``mesa.DataCollector`` of one's own
        (agent reporters, callables) and the model calls its ``collect`` every hour, after the hour's counts.
        """
        return self._datacollector

    @datacollector.setter
    def datacollector(self, collector: mesa.DataCollector) -> None:
        self._datacollector = collector
        self._collects_hourly = not isinstance(collector, RecordsCollector)

    # --- the hour ---------------------------------------------------------------------
    def step(self) -> None:
        """Advance the ward by one hour: clock, policy hook, the phases of ``self.schedule``, records."""
        self._clock()
        self.policy.before_hour(self)
        self.schedule.run(self)
        self._update_counts()
        if self._collects_hourly:  # a DataCollector of the user's own; the model's own is filled when read
            self._datacollector.collect(self)
        self.policy.after_hour(self)
        self._stop_at_end()

    @property
    def _last_step(self) -> int:
        """The run's last hour (the ``days`` parameter's, after a warm start's hours)."""
        return self.clock_start + 24 * self.p["days"]

    def _stop_at_end(self) -> None:
        """``running`` turns False once the run's last hour is done (Mesa's ``run_model`` stops there)."""
        if self.steps >= self._last_step:
            self.running = False

    def _clock(self) -> None:
        """The hour's clock (hours.set_clock: the hour, ward day, weekday, shift and the routine's activity)."""
        h = self.hour
        set_clock(h.clock, self.steps, self.clock_start, self._week, SHIFT_OF_HOUR, h.addressed, h.punished, h.active)

    def hour_arguments(self) -> tuple:
        """What ``processes.stretch.run_hours`` reads besides the parts' arguments (held with them:
        ``CompiledHour.held_arguments``): the clock's start, the routine's week, the shift of each clock hour, the
        hour's (addressed, punished, active) arrays, and what the hour's counts read (hours.count_hour)."""
        h = self.hour
        return self.clock_start, self._week, SHIFT_OF_HOUR, (h.addressed, h.punished, h.active), self._counted()

    def _counted(self) -> tuple:
        """What the hour's counts read (hours.count_hour)."""
        c = self.clients
        return (c.values, c.present, c.on_unit, c.isolated, self.staff.on_duty, self.climate.values,
                self.community.values)  # fmt: skip

    def _update_counts(self) -> None:
        """Model-level counts of the hour, computed once after all processes acted."""
        row = self._summary
        count_hour(row, self.hour.clock, *self._counted())
        # the model's counts (census, n_isolated, mean_agitation ...) read this row: see HourCount
        if self.steps:
            self.records.steps.add(row)

    # --- convenience ------------------------------------------------------------------
    @property
    def clients_present(self) -> list[Client]:
        """The Client agents now on the unit."""
        return [a for a in self.client_agents if a is not None]

    def run(self, days: int | None = None) -> MilieuModel:
        """Run for ``days`` simulated days (default: the ``days`` parameter); return self.

        The same as calling :meth:`step` once an hour, and the tables are the same bit for bit; but each run of
        quiet hours (only compiled parts in them: see :mod:`milieu_sim.model.hours`) goes as one compiled call."""
        self._advance(24 * (days if days is not None else self.p["days"]))
        return self

    def run_model(self) -> None:
        """Mesa's way to run a model to its end: hours until ``running`` turns False (at the end of the ``days``
        parameter, or when a hook of one's own says so), quiet hours in compiled runs as in :meth:`run`."""
        self._advance(self._last_step - self.steps, until_stopped=True)

    def _advance(self, hours: int, until_stopped: bool = False) -> None:
        """Run ``hours`` hours, or with ``until_stopped`` as long as ``running`` is True (quiet runs then stop at
        ``hours``, where the run's end sets it False): quiet hours in compiled runs, the others with :meth:`step`."""
        end = self.steps + hours
        while self.running if until_stopped else self.steps < end:
            quiet, due = self._quiet_hours(end - self.steps)
            if quiet:
                self._run_quiet(quiet, due)
            else:
                self.step()

    def _quiet_hours(self, limit: int) -> tuple[int, bool]:
        """How many of the next hours (at most ``limit``) are quiet, and whether a phase with a ``quiet_until`` is
        due in the first of them.  Quiet: only compiled parts act in them, nothing of one's own runs in them (hooks,
        phases, a DataCollector called hourly, Mesa events), and a compiled call may advance Mesa's clock over them
        (:func:`milieu_sim.model.hours.skip_steps`).  The last of them may be an hour whose own phases come after
        every part (the ward round's, the community model's day: ``QuietPlan.tails``), which the run ends with; the
        first may be one in which admission is due (``QuietPlan.head_to``), which the run begins in Python with
        (with it due, the count is at most what the run may take: it is worked out again after admission)."""
        plan = self.schedule.quiet_plan()
        if plan is None:
            return 0, False
        first = self.steps + 1
        hour = clock_hour(first - self.clock_start)
        quiet = min(limit, HEADROOM_HOURS, plan.hours_to_stop[hour])
        due = False
        for until in plan.quiet_until:
            step = until(self)
            due = due or step <= first
            quiet = quiet if step <= first else min(quiet, step - first)
        if due and plan.head_to is None:  # due after the last part: its hour is stepped
            return 0, False
        if quiet < 1 or self._collects_hourly or not self.policy.quiet or not _steps_as_built(type(self)):
            return 0, False
        return (quiet, due) if can_skip_steps(self) else (0, False)

    def _run_quiet(self, n_hours: int, due: bool = False) -> None:
        """Run the next ``n_hours`` quiet hours as one compiled call (hours.run_hours), then log them and move
        Mesa's clock on by as many steps.  With ``due``, the first hour begins in Python: its clock and the phases
        up to admission (``Schedule.head``), after which the hours are counted again (at most ``n_hours``); the
        call goes on from the hour's next part.  When the last hour is a tail hour (``QuietPlan.tails``), its
        phases after the parts run next, from Python (``Schedule.tail``), and then its counts, as ``step`` runs
        them."""
        plan = self.schedule.quiet_plan()
        if not self.compiled_hour.holds(plan.order):  # a stand-in stream: hour by hour
            for _ in range(n_hours if not due else 1):
                self.step()
            return
        first = self.steps + 1
        if due:
            skip_steps(self, 1)
            self._clock()
            for function in self.schedule.head(self):
                function(self)
            for until in plan.quiet_until:  # the hour begun counts whatever they say now
                n_hours = max(1, min(n_hours, until(self) - first))
        held = self.compiled_hour.held_for_hours(n_hours, plan.order)  # after the head, which may top buffers up
        if held is None:  # the head put a stand-in stream in place: the rest of its hour from Python
            for function in self.schedule.after_head(self):
                function(self)
            self._update_counts()
            self._stop_at_end()
            return
        rows = np.empty((n_hours, len(STEP_COLUMNS)))
        events, feedback, change, moved = stretch.run_hours(self.hour.clock, plan.masks, held, first, rows, due)
        skip_steps(self, n_hours - due)
        if events.shape[0]:
            self.records.events.add_rows(events)
        if feedback.shape[0]:
            self.records.feedback.add_rows(feedback, change)
        if moved:
            self.positions.moved()
        if plan.later:
            self._do_later(plan, first, due)
        if plan.tails[self.hour.hour]:  # the last hour's own phases, then its counts
            self.records.steps.add_rows(rows[:-1])
            for function in self.schedule.tail(self):
                function(self)
            self._update_counts()
        else:
            self.records.steps.add_rows(rows)
            self._summary[:] = rows[-1]
        self._stop_at_end()

    def _do_later(self, plan: QuietPlan, first: int, due: bool) -> None:
        """What the phases a quiet run went through (``QuietPlan.later``: the follow-up day) do, for each hour of the
        run (``first`` to the present step) in which they held, in hour then schedule order, with that hour's step.
        Not where Python runs them in their place among the hour's phases: in a first hour begun in Python
        (``due``: ``Schedule.head``, the phases before ``head_to``) and in a last hour that is a tail
        (``Schedule.tail``, the phases from ``tail_from`` on)."""
        last = self.steps
        first_hour = clock_hour(first - self.clock_start)
        done: list[tuple[int, int, Callable[[MilieuModel, int], Any]]] = []
        for index, hours, function in plan.later:
            for hour in hours:
                for step in range(first + (hour - first_hour) % 24, last + 1, 24):
                    if step == first and due and plan.head_to is not None and index < plan.head_to:
                        continue
                    if step == last and plan.tails[hour] and index >= plan.tail_from:
                        continue
                    done.append((step, index, function))
        for step, _, function in sorted(done, key=lambda item: item[:2]):
            function(self, step)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tidy tables: steps, shifts, events, feedback, stays, followup (see docs/outputs.md)."""
        steps = self.records.steps.frame(self.routine.activities)
        events = self.records.events_frame()
        tables = {
            "steps": steps,
            "shifts": self.records.shifts_frame(steps, events),
            "events": events,
            "feedback": self.records.feedback_frame(),
            "stays": self.records.stays_frame(processes.flow.still_present_rows(self)),
            "plans": self.records.plans_frame(),  # the treatment plans (processes.planning)
            "followup": self.records.followup_frame(),  # life after discharge (processes.aftercare)
        }
        for name, frame in tables.items():
            assert tuple(frame.columns) == TABLE_COLUMNS[name], name
        return self.on_the_clock(tables)

    def on_the_clock(self, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Tables built from the logs, with steps and days counted from the clock's start (a warm start's end).

        Without a warm start this changes nothing.  With one, ``step`` 1 is the first hour of day 0,
        every ``day`` is the ward day on the clock, and a stay's ``admitted_day`` is negative when the
        client came in during the warm-up.
        """
        if not self.clock_start:
            return tables
        days = self.clock_start // 24
        for frame in tables.values():
            if "step" in frame.columns:
                frame["step"] -= self.clock_start
                if "day" in frame.columns:
                    frame["day"] = (frame["step"] - 1) // 24
            elif "day" in frame.columns:
                frame["day"] -= days
            for column in ("admitted_day", "exit_day"):
                if column in frame.columns:
                    frame[column] -= days
        return tables

    def parameters(self) -> dict[str, Any]:
        """Every resolved parameter of this run (plus the seed)."""
        return {**self.p, "rng": self.seed, "setting": self.setting}

    def __repr__(self) -> str:
        return (
            f"MilieuModel(setting={self.setting!r}, policy={self.policy.name!r}, rng={self.seed}, "
            f"day={self.hour.day}, hour={self.hour.hour:02d}, census={getattr(self, 'census', 0)})"
        )


__all__ = ["SHIFTS", "ZONE_CODE", "MilieuModel", "Phase"]


@functools.cache
def _steps_as_built(kind: type[MilieuModel]) -> bool:
    """Whether an hour of this class is MilieuModel's own (no step, clock or counts of a subclass's own)."""
    return all(getattr(kind, name) is getattr(MilieuModel, name) for name in ("step", "_clock", "_update_counts"))


def _policy_phases(policy: Policy) -> tuple[Phase, ...]:
    """The phases a policy brings (its ``phases``: Phase records with ``after`` or ``before``)."""
    return tuple(policy.phases)

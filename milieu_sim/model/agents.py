"""Client and Staff agents: Mesa CellAgents whose state lives in the model's arrays.

Agents are in ``model.agents`` and on ``model.grid`` like any Mesa agent, so
Mesa's tools can select, inspect, change and draw them
(``model.agents_by_type[Client]``, ``agent.cell``, ``AgentSet.set``).  For
speed, their state is kept in the arrays of :mod:`milieu_sim.model.state` and
the model's own behaviour runs, vectorised over all agents, in the processes of
:mod:`milieu_sim.model.processes`, in the order of the schedule
(:data:`milieu_sim.model.schedule.SCHEDULE`).  An agent is a view into those arrays:

* **Reading** an attribute reads the array (``client.agitation`` is
  ``model.clients.agitation[client.slot]``).
* **Writing** a documented attribute writes the array, so the processes and the
  tables see it: ``client.agitation -= 0.1``.  The client states and the staff
  attributes below lie in [0, 1]: a value outside is *clipped* to [0, 1] (as the
  model clips its own states once an hour); a value that is not a finite number
  is refused with a one-line error.  Writing to a client who has left the unit
  is refused (their bed slot may already hold someone else).  The other
  attributes (phase, isolated, role, shift, on duty, ...) are read-only: the
  processes keep them consistent with the grid and the records.
* **Where they are**: ``agent.cell`` (Mesa's cell, None off the grid) and
  ``agent.pos`` (its coordinate) read the model's positions (``clients.cell``,
  ``staff.cell``); Mesa's view of them (the agents, the grid's cells) is brought
  in step when something reads it (:mod:`milieu_sim.model.positions`).
  Positions are the model's: moving an agent by hand is undone at the next read.
* **Behaviour of one's own**: ``Client.step`` and ``Staff.step`` do nothing.
  Run a behaviour from a phase of the schedule, e.g. ::

      from milieu_sim.model.schedule import Phase

      def calm(client):
          client.agitation *= 0.9

      model.schedule.insert(Phase.for_agents("calming", calm), after="staff_response")

  (each client present, in bed-slot order, in waking hours), or a phase of
  your own that calls ``model.agents_by_type[Client].do(calm)``.  With a
  method name instead of a function (``Phase.for_agents("own_step", "step")``)
  the phase calls that method of each agent.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

from mesa.discrete_space import Cell, CellAgent
from mesa.discrete_space.cell_agent import HasCell

from milieu_sim.errors import ParameterError
from milieu_sim.model.state import PHASES, ROW, SHIFTS, STAFF_ROLES

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel


def unit_interval(name: str, value: object) -> float:
    """``value`` as a number clipped to [0, 1]; a one-line error if it is not a finite number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ParameterError(f"attribute '{name}' = {value!r} is not allowed; allowed: a number (clipped to 0-1)")
    return min(1.0, max(0.0, number))


def _client_state(name: str, meaning: str):
    row = ROW[name]

    def getter(self: Client) -> float:
        return float(self.model.clients.values[row, self.slot])

    def setter(self: Client, value: float) -> None:
        self._check_present(name)
        self.model.clients.values[row, self.slot] = unit_interval(name, value)

    return property(getter, setter, doc=f"The client's {meaning} (0-1; writable, clipped to 0-1).")


class OnTheWard(CellAgent):
    """A Mesa CellAgent whose cell is read from the model's positions (:mod:`milieu_sim.model.positions`)."""

    model: MilieuModel

    @property
    def cell(self) -> Cell | None:
        """The Mesa cell the agent is in (None off the grid: off duty, at home, discharged)."""
        self.model.positions.bring_in_step()
        return HasCell.cell.fget(self)  # type: ignore[attr-defined]

    @cell.setter
    def cell(self, cell: Cell | None) -> None:
        positions = self.model.positions
        positions.bring_in_step()
        HasCell.cell.fset(self, cell)  # type: ignore[attr-defined]
        self._placed(positions)

    def _placed(self, positions) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        """Take the agent out of the model and off the grid (Mesa's ``CellAgent.remove``), leaving the others'
        Mesa positions to be brought in step when read."""
        super(CellAgent, self).remove()  # Mesa's Agent.remove: out of model.agents
        positions = self.model.positions
        positions.take_off_grid(self)  # off whichever cell Mesa has it in
        self._placed(positions)

    @property
    def pos(self) -> tuple[int, int] | None:
        """The coordinate (x, y) of the agent's cell, None off the grid (read-only)."""
        cell = self.cell
        return None if cell is None else cell.coordinate

    @pos.setter
    def pos(self, value: object) -> None:
        if value is not None:  # Mesa's Agent.__init__ sets pos = None
            raise ParameterError(
                f"attribute 'pos' = {value!r} cannot be set; allowed: read it (the model moves people)"
            )


class Client(OnTheWard):
    """A client (patient or resident) in a bed slot of the unit: a view into ``model.clients``."""

    model: MilieuModel

    def __init__(self, model: MilieuModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    def _placed(self, positions) -> None:
        positions.placed_client(self.slot, self)

    coping_skill = _client_state("coping_skill", "coping skill (a treatment-goal skill)")
    social_skill = _client_state("social_skill", "social skill (a treatment-goal skill)")
    daily_living_skill = _client_state("daily_living_skill", "daily-living skill (a treatment-goal skill)")
    self_control = _client_state("self_control", "self-control")
    agitation = _client_state("agitation", "agitation")
    trust = _client_state("trust", "trust in staff and peers")
    independence = _client_state("independence", "independence")
    symptoms = _client_state("symptoms", "symptom severity")

    def step(self) -> None:
        """The client's own behaviour in an hour: nothing (the model's behaviour is in the processes).

        A hook: ``Phase.for_agents(name, "step")`` calls it for each client present (in waking hours by default).
        """

    def _check_present(self, name: str) -> None:
        if self.model.client_agents[self.slot] is not self:
            raise ParameterError(
                f"attribute '{name}' of client {self.unique_id} cannot be set; allowed: only while the client is "
                "on the unit"
            )

    @property
    def skill(self) -> float:
        """Mean of the three treatment-goal skills (coping, social, daily living); read-only."""
        return float(self.model.clients.skills[:, self.slot].mean())

    @property
    def isolated(self) -> bool:
        """Whether the client is in the seclusion room."""
        return bool(self.model.clients.isolated[self.slot])

    @property
    def phase(self) -> str:
        """Seniority phase of the stay: orientation, primary or senior."""
        return PHASES[self.model.clients.phase[self.slot]]

    @property
    def days_in_treatment(self) -> float:
        """Days since admission."""
        return (self.model.steps - self.model.clients.admitted_step[self.slot]) / 24.0

    def state(self) -> dict[str, float | str | bool]:
        """The client's current state as a dict (for inspection and the app)."""
        return {
            "client_id": self.unique_id,
            "phase": self.phase,
            "days_in_treatment": round(self.days_in_treatment, 2),
            "skill": self.skill,
            "coping_skill": self.coping_skill,
            "social_skill": self.social_skill,
            "daily_living_skill": self.daily_living_skill,
            "self_control": self.self_control,
            "agitation": self.agitation,
            "trust": self.trust,
            "independence": self.independence,
            "symptoms": self.symptoms,
            "isolated": self.isolated,
        }

    def __repr__(self) -> str:
        return f"Client(id={self.unique_id}, slot={self.slot}, agitation={self.agitation:.2f})"


def _staff_attribute(name: str, meaning: str):
    def getter(self: Staff) -> float:
        return float(getattr(self.model.staff, name)[self.index])

    def setter(self: Staff, value: float) -> None:
        getattr(self.model.staff, name)[self.index] = unit_interval(name, value)

    return property(
        getter,
        setter,
        doc=f"{meaning} (0-1; writable, clipped to 0-1; redrawn from the policy's mean by ``set_policy``).",
    )


class Staff(OnTheWard):
    """A member of the nursing staff on one of the three shifts: a view into ``model.staff``."""

    model: MilieuModel

    def __init__(self, model: MilieuModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    def _placed(self, positions) -> None:
        positions.placed_staff(self.index, self)

    de_escalation_skill = _staff_attribute("de_escalation_skill", "Skill at talking an agitated client down")
    model_quality = _staff_attribute("model_quality", "Quality as a role model")

    def step(self) -> None:
        """The staff member's own behaviour in an hour: nothing (a hook, like :meth:`Client.step`)."""

    @property
    def role(self) -> str:
        """Nurse or support worker (read-only)."""
        return STAFF_ROLES[self.model.staff.role[self.index]]

    @property
    def shift(self) -> str:
        """The shift this person works: early, late or night (read-only)."""
        return SHIFTS[self.model.staff.shift[self.index]]

    @property
    def on_duty(self) -> bool:
        """Whether this person's shift is on the ward now (read-only)."""
        return bool(self.model.staff.on_duty[self.index])

    @property
    def observe_radius(self) -> int:
        """How far (cells) this staff member notices what clients do (writable: an integer >= 0)."""
        return int(self.model.staff.observe_radius[self.index])

    @observe_radius.setter
    def observe_radius(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ParameterError(
                f"attribute 'observe_radius' = {value!r} is not allowed; allowed: an integer >= 0 (cells)"
            )
        self.model.staff.observe_radius[self.index] = value

    def __repr__(self) -> str:
        return f"Staff(id={self.unique_id}, {self.role}, {self.shift} shift)"

"""Client and Staff agents: Mesa CellAgents whose state lives in the model's arrays.

Agents are in ``model.agents`` and on ``model.grid`` like any Mesa agent, so
Mesa's tools can select, inspect and draw them (``model.agents_by_type[Client]``,
``agent.cell``).  Their attributes are read-only views into the arrays of
:mod:`milieu_sim.model.state`; behaviour is implemented, vectorised over all agents,
by the processes in :mod:`milieu_sim.model.processes`, which ``MilieuModel.step``
runs in the order its docstring states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.discrete_space import CellAgent

from milieu_sim.model.state import PHASES, SHIFTS, STAFF_ROLES

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel


def _client_state(name: str):
    def getter(self: Client) -> float:
        return float(getattr(self.model.clients, name)[self.slot])

    getter.__doc__ = f"The client's {name.replace('_', ' ')} (0-1)."
    return property(getter)


class Client(CellAgent):
    """A client (patient or resident) in a bed slot of the unit."""

    model: MilieuModel

    def __init__(self, model: MilieuModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    coping_skill = _client_state("coping_skill")
    social_skill = _client_state("social_skill")
    daily_living_skill = _client_state("daily_living_skill")
    self_control = _client_state("self_control")
    agitation = _client_state("agitation")
    trust = _client_state("trust")
    independence = _client_state("independence")
    symptoms = _client_state("symptoms")

    @property
    def skill(self) -> float:
        """Mean of the three treatment-goal skills (coping, social, daily living)."""
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


class Staff(CellAgent):
    """A member of the nursing staff on one of the three shifts."""

    model: MilieuModel

    def __init__(self, model: MilieuModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def role(self) -> str:
        return STAFF_ROLES[self.model.staff.role[self.index]]

    @property
    def shift(self) -> str:
        return SHIFTS[self.model.staff.shift[self.index]]

    @property
    def on_duty(self) -> bool:
        return bool(self.model.staff.on_duty[self.index])

    @property
    def de_escalation_skill(self) -> float:
        return float(self.model.staff.de_escalation_skill[self.index])

    @property
    def model_quality(self) -> float:
        """Quality as a role model (0-1)."""
        return float(self.model.staff.model_quality[self.index])

    @property
    def observe_radius(self) -> int:
        """How far (cells) this staff member notices what clients do."""
        return int(self.model.staff.observe_radius[self.index])

    def __repr__(self) -> str:
        return f"Staff(id={self.unique_id}, {self.role}, {self.shift} shift)"

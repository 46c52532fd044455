"""Admission, discharge and dropout: the unit's open cohort.

Rules (docs/ODD.md, "Admission, discharge and dropout"):

* Staff roster: ``staff_early``, ``staff_late`` and ``staff_night`` people, the
  first ``nurse_share`` (rounded up) of each shift nurses, the rest support workers; each
  person's de-escalation skill and role-model quality are the policy's mean plus
  N(0, ``staff_spread``) (clipped to 0-1), with the offsets drawn once from the ``staff``
  stream and kept with the staff (``staff.de_escalation_offset``, ``staff.model_quality_offset``),
  so a policy switch changes the means but not who is better than whom.
* Admissions: a bed that falls free is filled after G ~ Geometric(1 - exp(-1 /
  admission_delay_hours)) hours, drawn from a generator keyed by the bed and
  its vacancy count.  The k-th admitted client's initial
  state is drawn from a generator keyed by k alone (common random numbers:
  every policy run with the same seed admits the same people in the same order):
  each goal skill ~ N(admission_skill, s), C ~ N(admission_self_control, s),
  T ~ N(admission_trust, s), I ~ N(admission_independence, s),
  Y ~ N(admission_symptoms, s), A ~ N(admission_agitation + admission_agitation_symptoms Y, s),
  s = admission_spread, all clipped to [0.01, 0.99].  The unit starts full; the initial cohort's
  clients have already spent U(0, min(initial_stay_days, max_stay_days)) days in treatment.
  Under ``senior_induction`` a new client is given the present senior (else
  primary-phase) client with the longest stay as a buddy.  Under ``discharge_messages``
  (Safewards: messages of hope from discharged patients, fidelity f) a newly admitted
  client reads them: ``A *= 1 - f * discharge_message_calm`` and trust (and the baseline trust it
  relaxes to) ``T += f * discharge_message_trust * (1 - T)``; no random draw, so the admission
  sequence is the same under every policy.
* Phases, at the daily ward round (11:00, :data:`WARD_ROUND_HOUR`, part of the routine):
  orientation -> primary after ``orientation_days``; primary -> senior after ``senior_days``
  with mean skill (``common.mean_skill``) >= ``senior_skill``.
* Discharge at the ward round: *completed* when the stay is at least
  ``min_stay_days``, every goal skill >= ``skill_goal`` and symptoms <=
  ``discharge_symptoms``; *transfer* after ``max_stay_days``.  Secluded clients
  are not discharged.
* Dropout, decided at the ward round with probability ``1 - exp(-24 h)`` from
  the hourly hazard::

      h = dropout_per_day / 24 * (1 + dropout_early_factor * exp(-days / dropout_early_days))
                               * exp(dropout_trust_effect * ((0.5 - T) + max(A - 0.5, 0)))

* At exit each stay is closed with an estimate of how the client fares outside::

      outside_functioning = S * g * (1 - token_transfer_loss * E) * (0.5 + 0.5 I),
      g = generalisation + insight_transfer * X * (1 - generalisation)

  (S mean goal skill, E share kept up by external rewards, I independence, X insight:
  on-ward skill generalises imperfectly, less so when it was kept up by
  tokens, more so with insight into one's own struggles; Dickerson et al. 2005, Glowacki et al. 2016), and
  ``outside_gain`` = that minus the same estimate at admission (with E = 0 and X = 0, insight's value at
  admission).  A formula for now: issue 13 replaces it with a simulated follow-up outside.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from milieu_sim.model.agents import Client
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.climate import dropout_factor
from milieu_sim.model.processes.common import mean_skill
from milieu_sim.model.records import STAY_COUNTERS, TABLE_COLUMNS
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    ORIENTATION,
    PRIMARY,
    REPORTED_STATES,
    SENIOR,
    SKILL_GOAL,
    SYMPTOMS,
    TRUST,
)
from milieu_sim.model.streams import stream

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "staff_spread",
        "nurse_share",
        "de_escalation_skill",
        "staff_model_quality",
        "staff_observe_radius",
        "admission_delay_hours",
        "admission_skill",
        "admission_self_control",
        "admission_trust",
        "admission_independence",
        "admission_symptoms",
        "admission_spread",
        "admission_agitation",
        "admission_agitation_symptoms",
        "skill_goal",
        "initial_stay_days",
        "max_stay_days",
        "min_stay_days",
        "senior_induction",
        "orientation_days",
        "senior_days",
        "senior_skill",
        "discharge_symptoms",
        "dropout_per_day",
        "dropout_early_factor",
        "dropout_early_days",
        "dropout_trust_effect",
        "generalisation",
        "insight_transfer",
        "token_transfer_loss",
        "discharge_messages",
        "discharge_message_calm",
        "discharge_message_trust",
    ),
    reads=("hour.hour", "clients.isolated"),
    writes=(
        "clients.present",
        "clients.values",
        "clients.phase",
        "clients.buddy",
        "clients.admitted_step",
        "clients.next_admission_step",
        "clients.vacancies",
        "clients.vacated_step",
        "clients.on_unit",
        "clients.cell",
        "staff.de_escalation_skill",
        "staff.model_quality",
        "staff.observe_radius",
        "staff.de_escalation_offset",
        "staff.model_quality_offset",
    ),
    streams={
        "staff": ("de_escalation_offset", "model_quality_offset"),
        # one generator per admitted client, keyed by the admission number (admission_draws)
        "admissions": (
            "coping_skill",
            "social_skill",
            "daily_living_skill",
            "self_control",
            "trust",
            "independence",
            "symptoms",
            "agitation",
            "prior_stay",
        ),
        "arrivals": ("delay",),  # one generator per vacancy, keyed by bed and vacancy count
        "dropout": ("dropout",),
    },
    columns=tuple(f"stays.{name}" for name in TABLE_COLUMNS["stays"]),
)
# columns of the staff block (OWNS.streams order)
DE_ESCALATION_OFFSET, MODEL_QUALITY_OFFSET = range(2)

#: The clock hour of the daily ward round: part of the routine, like its hours (structure, not a quantity).
WARD_ROUND_HOUR = 11
NEVER = 2**62  # `next_admission_due` while every bed is taken


# --- staff ------------------------------------------------------------------------------
def create_staff(model: MilieuModel, staffing: tuple[int, int, int]) -> None:
    """Create the staff roster (one Staff agent per person) and draw their attributes."""
    s = model.staff
    index = 0
    for shift, count in enumerate(staffing):
        nurses = math.ceil(count * model.p["nurse_share"])
        for k in range(count):
            s.shift[index] = shift
            s.role[index] = 0 if k < nurses else 1
            agent = model.staff_class(model, index)
            s.staff_id[index] = agent.unique_id
            model.staff_agents.append(agent)
            index += 1
    offsets = model.streams["staff"].normal(0.0, model.p["staff_spread"], size=(s.n, 2))
    s.de_escalation_offset[:] = offsets[:, DE_ESCALATION_OFFSET]
    s.model_quality_offset[:] = offsets[:, MODEL_QUALITY_OFFSET]
    set_staff_attributes(model)


def set_staff_attributes(model: MilieuModel) -> None:
    """Staff attributes from the current policy's means plus each person's fixed offset."""
    s, p = model.staff, model.p
    s.de_escalation_skill[:] = np.clip(p["de_escalation_skill"] + s.de_escalation_offset, 0.0, 1.0)
    s.model_quality[:] = np.clip(p["staff_model_quality"] + s.model_quality_offset, 0.0, 1.0)
    s.observe_radius[:] = p["staff_observe_radius"]


# --- admissions ---------------------------------------------------------------------------
def admission_draws(model: MilieuModel, number: int) -> np.ndarray:
    """The standard normals and uniform that define the ``number``-th admitted client."""
    generator = stream(model.seed, "admissions", number)
    return np.concatenate((generator.standard_normal(8), generator.random(1)))


def admit_client(model: MilieuModel, slot: int, prior_days: float | None = None) -> Client:
    """Admit the next client of the admission sequence into a free bed slot."""
    c, p = model.clients, model.p
    number = model.admissions
    model.admissions += 1
    z = admission_draws(model, number)
    spread = p["admission_spread"]
    means = np.array(
        [p["admission_skill"]] * 3
        + [p["admission_self_control"], p["admission_trust"], p["admission_independence"], p["admission_symptoms"]]
    )
    state = np.clip(means + spread * z[:7], 0.01, 0.99)
    c.values[:, slot] = 0.0
    c.values[0:4, slot] = state[0:4]  # skills and self-control
    c.trust[slot] = state[4]
    c.independence[slot] = state[5]
    c.symptoms[slot] = state[6]
    agitation = p["admission_agitation"] + p["admission_agitation_symptoms"] * state[6]
    c.agitation[slot] = np.clip(agitation + spread * z[7], 0.01, 0.99)
    hope = p["discharge_messages"]  # Safewards discharge messages (0 under usual care: no change)
    if hope > 0.0:
        c.agitation[slot] *= 1.0 - hope * p["discharge_message_calm"]
        c.trust[slot] += hope * p["discharge_message_trust"] * (1.0 - c.trust[slot])
    c.baseline_trust[slot] = c.trust[slot]
    c.skill_goal[slot] = p["skill_goal"]
    step = model.steps
    if prior_days is not None:
        prior = z[8] * min(p["initial_stay_days"], p["max_stay_days"])
        step -= int(prior * 24)
    c.admitted_step[slot] = step
    c.admission_number[slot] = number
    c.present[slot] = True
    c.on_unit[slot] = True  # until movement sends a day-programme client home
    c.phase[slot] = ORIENTATION
    c.isolated[slot] = False
    c.isolated_until[slot] = 0
    c.time_out_until[slot] = 0
    c.observation_until[slot] = 0
    c.attending[slot] = False
    c.antecedent_step[slot] = -(10**9)
    for name in (*STAY_COUNTERS, "transgressions", "punishments", "open_transgressions", "progress_acts"):
        getattr(c, name)[slot] = 0
    c.at_admission[:, slot] = c.reported_states()[:, slot]
    c.buddy[slot] = _buddy(model, slot) if p["senior_induction"] else -1
    agent = model.client_class(model, slot)
    c.client_id[slot] = agent.unique_id
    model.client_agents[slot] = agent
    bed = int(c.bed[slot])
    c.cell[slot] = bed
    agent.cell = model.cells[bed]
    model.policy.on_admission(model, agent)
    return agent


def _buddy(model: MilieuModel, slot: int) -> int:
    c = model.clients
    for phase in (SENIOR, PRIMARY):
        candidates = np.flatnonzero(c.present & (c.phase == phase))
        candidates = candidates[candidates != slot]
        if candidates.size:
            return int(candidates[np.argmin(c.admitted_step[candidates])])
    return -1


def admit_initial_cohort(model: MilieuModel) -> None:
    """Fill every bed at the start; the clients have been in treatment for a while already."""
    c = model.clients
    for slot in range(c.n):
        admit_client(model, slot, prior_days=True)
    _update_phases(model)
    if model.p["senior_induction"]:  # buddies once everyone's phase is known
        for slot in np.flatnonzero(c.phase == ORIENTATION).tolist():
            c.buddy[slot] = _buddy(model, slot)


def admit(model: MilieuModel) -> None:
    """Fill the free beds whose next admission is due."""
    c = model.clients
    if model.steps < model.next_admission_due:
        return
    for slot in np.flatnonzero(~c.present & (c.next_admission_step <= model.steps)).tolist():
        admit_client(model, slot)
    free = ~c.present
    model.next_admission_due = int(c.next_admission_step[free].min()) if free.any() else NEVER


def admission_chance(p: dict[str, Any]) -> float:
    """Hourly chance that a free bed is filled: 1 - exp(-1 / admission_delay_hours) (1 with no delay)."""
    return 1.0 if p["admission_delay_hours"] <= 0 else 1.0 - math.exp(-1.0 / p["admission_delay_hours"])


def schedule_admission(model: MilieuModel, slot: int) -> None:
    """When a bed falls free, draw when it is filled: after G ~ Geometric(1 - exp(-1/delay)) hours.

    The draw comes from a generator keyed by the bed and how often it has
    fallen free, so the timing does not depend on what happened elsewhere.
    """
    c = model.clients
    generator = stream(model.seed, "arrivals", slot, int(c.vacancies[slot]))
    c.vacancies[slot] += 1
    c.next_admission_step[slot] = model.steps + int(generator.geometric(admission_chance(model.p)))
    model.next_admission_due = min(model.next_admission_due, int(c.next_admission_step[slot]))


# --- phases, discharge and dropout ----------------------------------------------------------
def _update_phases(model: MilieuModel) -> None:
    c = model.clients
    p = model.p
    _phases(c.values, c.present, c.phase, c.buddy, c.admitted_step, model.steps, p["orientation_days"],
            p["senior_days"], p["senior_skill"])  # fmt: skip


@kernel
def _phases(x, present, phase, buddy, admitted_step, step, orientation_days, senior_days, senior_skill):
    """orientation -> primary after orientation_days; primary -> senior after senior_days with mean skill >=
    senior_skill; buddies only for clients in orientation, and only while the buddy is present."""
    for i in range(present.size):
        days = (step - admitted_step[i]) / 24.0
        if present[i] and phase[i] == ORIENTATION and days >= orientation_days:
            phase[i] = PRIMARY
        if present[i] and phase[i] == PRIMARY and days >= senior_days and mean_skill(x, i) >= senior_skill:
            phase[i] = SENIOR
        if phase[i] != ORIENTATION:
            buddy[i] = -1
    for i in range(present.size):
        if buddy[i] >= 0 and not present[buddy[i]]:
            buddy[i] = -1


def dropout_hazard(model: MilieuModel) -> np.ndarray:
    """Hourly dropout hazard of every slot (rule in the module docstring)."""
    c, p = model.clients, model.p
    base = p["dropout_per_day"] * dropout_factor(model)  # the ward climate's cohesion (processes.climate)
    return np.array([_hazard(c.values, i, c.admitted_step, model.steps, base, p["dropout_early_factor"],
                             p["dropout_early_days"], p["dropout_trust_effect"]) for i in range(c.n)])  # fmt: skip


@kernel
def _hazard(x, i, admitted_step, step, dropout_per_day, early_factor, early_days, trust_effect):
    days = (step - admitted_step[i]) / 24.0
    early = 1.0 + early_factor * np.exp(-days / early_days)
    state = (0.5 - x[TRUST, i]) + max(x[AGITATION, i] - 0.5, 0.0)
    return dropout_per_day / 24.0 * early * np.exp(trust_effect * state)


@kernel
def _leavers(u, x, present, isolated, admitted_step, step, dropout_per_day, early_factor, early_days, trust_effect,
             discharge_symptoms, min_stay_days, max_stay_days):  # fmt: skip
    """Who leaves at this ward round: (dropouts, completed, transfers), each in slot order, each client at most once.

    Secluded clients stay.  Dropout with probability 1 - exp(-24 h); then completion when every goal skill
    is met, symptoms <= discharge_symptoms and the stay is >= min_stay_days; then transfer after max_stay_days.
    """
    n = present.size
    reason = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if not present[i] or isolated[i]:
            continue
        hazard = _hazard(x, i, admitted_step, step, dropout_per_day, early_factor, early_days, trust_effect)
        days = (step - admitted_step[i]) / 24.0
        goals_met = x[SYMPTOMS, i] <= discharge_symptoms
        for k in range(3):
            goals_met = goals_met and x[k, i] >= x[SKILL_GOAL, i]
        if u[i] < 1.0 - np.exp(-24.0 * hazard):
            reason[i] = 0
        elif goals_met and days >= min_stay_days:
            reason[i] = 1
        elif days >= max_stay_days:
            reason[i] = 2
    return np.flatnonzero(reason == 0), np.flatnonzero(reason == 1), np.flatnonzero(reason == 2)


def discharge(model: MilieuModel) -> None:
    """At the daily ward round: dropouts, completed discharges, transfers and phase changes."""
    c, h, p = model.clients, model.hour, model.p
    if h.hour != WARD_ROUND_HOUR:
        return
    u = model.streams["dropout"].random(c.n)
    dropouts, completed, transfers = _leavers(
        u,
        c.values,
        c.present,
        c.isolated,
        c.admitted_step,
        model.steps,
        p["dropout_per_day"] * dropout_factor(model),  # the ward climate's cohesion (processes.climate)
        p["dropout_early_factor"],
        p["dropout_early_days"],
        p["dropout_trust_effect"],
        p["discharge_symptoms"],
        p["min_stay_days"],
        p["max_stay_days"],
    )
    for slots, reason in ((dropouts, "dropout"), (completed, "completed"), (transfers, "transfer")):
        for slot in slots.tolist():
            exit_client(model, slot, reason)
    _update_phases(model)


def outside_functioning(model: MilieuModel, slot: int, at_admission: bool = False) -> float:
    """Estimated functioning outside the unit (rule in the module docstring)."""
    c, p = model.clients, model.p
    if at_admission:  # insight is zero at admission
        skill, independence, external, insight = c.at_admission[0, slot], c.at_admission[4, slot], 0.0, 0.0
    else:
        skill, independence = c.skills[:, slot].mean(), c.independence[slot]
        external, insight = c.external_share[slot], c.insight[slot]
    generalisation = p["generalisation"] + p["insight_transfer"] * insight * (1.0 - p["generalisation"])
    return float(skill * generalisation * (1.0 - p["token_transfer_loss"] * external) * (0.5 + 0.5 * independence))


def stay_row(model: MilieuModel, slot: int, reason: str) -> dict[str, Any]:
    """The `stays` table row of the stay in a slot."""
    c = model.clients
    now = c.reported_states()[:, slot]
    exit_step = model.steps
    row: dict[str, Any] = {
        "client_id": int(c.client_id[slot]),
        "admission_number": int(c.admission_number[slot]),
        "admitted_day": float(c.admitted_step[slot] / 24.0),
        "exit_day": float(exit_step / 24.0) if reason != "still_present" else float("nan"),
        "exit_reason": reason,
        "length_of_stay_days": float((exit_step - c.admitted_step[slot]) / 24.0),
    }
    for k, name in enumerate(REPORTED_STATES):
        row[f"{name}_at_admission"] = float(c.at_admission[k, slot])
    for k, name in enumerate(REPORTED_STATES):
        row[f"{name}_at_exit"] = float(now[k]) if reason != "still_present" else float("nan")
    for name in STAY_COUNTERS:
        row[name] = int(getattr(c, name)[slot])
    row["external_share"] = float(c.external_share[slot])
    functioning = outside_functioning(model, slot)
    row["outside_functioning"] = functioning if reason != "still_present" else float("nan")
    row["outside_gain"] = (
        functioning - outside_functioning(model, slot, at_admission=True) if reason != "still_present" else float("nan")
    )
    return row


def exit_client(model: MilieuModel, slot: int, reason: str) -> None:
    """Close a stay: record it, take the agent off the grid and free the bed."""
    c = model.clients
    model.records.stays.append(stay_row(model, slot, reason))
    agent = model.client_agents[slot]
    if agent is not None:
        agent.remove()
    model.client_agents[slot] = None
    c.present[slot] = False
    c.on_unit[slot] = False
    c.vacated_step[slot] = model.steps
    c.isolated[slot] = False
    c.cell[slot] = -1
    c.client_id[slot] = -1
    c.buddy[c.buddy == slot] = -1
    schedule_admission(model, slot)


def still_present_rows(model: MilieuModel) -> list[dict[str, Any]]:
    """Rows for the stays still open at the end of the run."""
    return [stay_row(model, slot, "still_present") for slot in np.flatnonzero(model.clients.present).tolist()]

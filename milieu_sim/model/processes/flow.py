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
  first the profile (``model.casemix``: diagnosis d, detained D, histories of violence and
  self-harm, support outside, from the setting's case mix), then
  each goal skill ~ N(admission_skill + skills_d, s), C ~ N(admission_self_control, s),
  T ~ N(admission_trust - detained_trust D, s), I ~ N(admission_independence, s),
  Y ~ N(admission_symptoms + symptoms_d, s), A ~ N(admission_agitation + admission_agitation_symptoms Y, s),
  s = admission_spread, all clipped to [0.01, 0.99]; the traits set the client's factors on the
  conflict kinds (``clients.kind_factor``: absconding x ``detained_absconding_factor`` when detained,
  physical aggression x ``violence_history_factor``, self-harm x ``self_harm_history_factor``), and
  the team sets the treatment plan (``planning.set_plan``).  The unit starts full; the initial cohort's
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
* Discharge on the plan at the ward round: *completed* when the stay is at least
  ``min_stay_days`` and the client is ready (:func:`ready_for_discharge`: under ``discharge_rule`` =
  ``symptoms_and_risk`` symptoms <= the plan's symptom target and incidents in the last 7 days <= its
  risk target; under ``plan_goals`` also every skill goal at its target, in the senior phase); bed
  pressure (in :func:`_leavers`): while every bed is taken, up to ``waiting_referrals`` of the
  readiest clients (within ``bed_pressure_relax`` of the symptom target) leave sooner, *completed*;
  *transfer* after ``max_stay_days`` (with ``stay_limit_exit`` =
  ``completed``, an outpatient group's course of ``max_stay_days``, *completed*).  Secluded clients
  are not discharged.
* Dropout (voluntary clients only: a detained client absconds instead), decided at the ward round
  with probability ``1 - exp(-24 h)`` from the hourly hazard::

      h = dropout_per_day / 24 * (1 + dropout_early_factor * exp(-days / dropout_early_days))
                               * exp(dropout_trust_effect * ((0.5 - T) + max(A - 0.5, 0)))

* At exit each stay is closed (its `stays` row) and the client's follow-up starts
  (``processes.aftercare``: life after discharge, readmission; it fills the row's
  ``days_to_readmission``, ``followup_days``, ``outside_functioning`` and ``outside_gain``).
* Readmission: when a free bed's admission is due and a referral from follow-up waits, the
  longest-waiting one is admitted instead of the next new person (``aftercare.admit_person``);
  new people keep their numbers (the k-th new person is the same under every policy), and every
  person keeps one ``client_id`` (``aftercare.person_id``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from milieu_sim.model import keyed_draws
from milieu_sim.model.agents import Client
from milieu_sim.model.casemix import TABLE_ROWS, case_mix_of, traits_of
from milieu_sim.model.kernels import kernel
from milieu_sim.model.keyed_draws import NORMAL, UNIFORM, wrapping_products
from milieu_sim.model.processes import aftercare, planning
from milieu_sim.model.processes.climate import dropout_factor
from milieu_sim.model.processes.common import ParameterRecord, clipped, mean_skill
from milieu_sim.model.processes.planning import GoalClients, goal_arrays, goals_of
from milieu_sim.model.records import CONFLICT_KINDS, STAY_COUNTERS, TABLE_COLUMNS
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    BASELINE_TRUST,
    DIAGNOSES,
    INDEPENDENCE,
    ORIENTATION,
    PRIMARY,
    REPORTED_STATES,
    SELF_CONTROL,
    SENIOR,
    SYMPTOMS,
    TRUST,
)
from milieu_sim.model.streams import keyed_state

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
        "graduation_days",
        "senior_skill",
        "dropout_per_day",
        "dropout_early_factor",
        "dropout_early_days",
        "dropout_trust_effect",
        "discharge_messages",
        "discharge_message_calm",
        "discharge_message_trust",
        # issue 13: the profile's traits, discharge on the plan, bed pressure
        "detained_trust",
        "detained_absconding_factor",
        "violence_history_factor",
        "self_harm_history_factor",
        "discharge_rule",
        "waiting_referrals",
        "bed_pressure_relax",
        "stay_limit_exit",  # issue 13: the outpatient group (the course's end is a completion)
    ),
    reads=(
        "hour.hour",
        "clients.isolated",
        "clients.symptom_target",
        "clients.risk_target",
        "clients.incidents_week",
        "clients.plan_skill",
        "clients.skill_target",
    ),
    writes=(
        "clients.present",
        "clients.values",
        "clients.phase",
        "clients.senior_step",
        "clients.buddy",
        "clients.admitted_step",
        "clients.next_admission_step",
        "clients.vacancies",
        "clients.vacated_step",
        "clients.on_unit",
        "clients.cell",
        "clients.diagnosis",
        "clients.detained",
        "clients.violence_history",
        "clients.self_harm_history",
        "clients.support",
        "clients.kind_factor",
        "clients.pressure_discharge",
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
            "diagnosis",
            "detained",
            "violence_history",
            "self_harm_history",
            "support",
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
# rows of clients.kind_factor that the profile's traits change
ABSCONDING_KIND, SELF_HARM_KIND = CONFLICT_KINDS.index("absconding"), CONFLICT_KINDS.index("self_harm")
PHYSICAL_KIND = CONFLICT_KINDS.index("physical_aggression")


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
    """The draws that define the ``number``-th admitted client: 8 standard normals (state), a uniform (prior stay),
    4 uniforms (diagnosis, detained, violence history, self-harm history) and a standard normal (support); the
    profile's draws come after the older ones, so those are unchanged.  They are the first numbers of
    ``stream(seed, "admissions", number)``, seeded and drawn in one compiled call (streams.keyed_state,
    keyed_draws); an admission draws them inside its own call (:func:`_admission`)."""
    keyed = model.streams.keyed
    with wrapping_products():
        return _admission_numbers(keyed.entropy_words, keyed.code("admissions"), number, _ADMISSION_KINDS)


@kernel(inline=True)
def admission_numbers(entropy, code, number, kinds):
    """The admission draws of :func:`admission_draws`, in compiled code."""
    generators = keyed_state(entropy, code, np.array([number], dtype=np.int64)).reshape((1, 4))
    return keyed_draws.numbers_of(generators, kinds)


@kernel
def _admission_numbers(entropy, code, number, kinds):
    return admission_numbers(entropy, code, number, kinds)


#: The kinds of the admission draws, in order (``admission_draws``).
_ADMISSION_KINDS = np.array([NORMAL] * 8 + [UNIFORM] * 5 + [NORMAL], dtype=np.int64)


def admit_client(model: MilieuModel, slot: int, prior_days: float | None = None) -> Client:
    """Admit the next client of the admission sequence into a free bed slot."""
    c, p = model.clients, model.p
    returning = aftercare.next_readmission(model) if prior_days is None else None  # a readmission comes first
    number = model.admissions
    model.admissions += 1
    keyed = model.streams.keyed
    # the draws, the profile from the case mix (model.casemix), its traits, the state and the stay: one call
    with wrapping_products():
        _admission(keyed.entropy_words, keyed.code("admissions"), number, _ADMISSION_KINDS, case_mix_of(model).table,
                   c.packed(AdmittedClients), c.packed(TraitClients), c.packed(StayCounters), slot, model.steps,
                   prior_days is not None, ADMISSION(p))  # fmt: skip
    aftercare.admit_person(model, slot, returning)  # a readmitted person: the same person, state from outside
    c.at_admission[:, slot] = reported_states_of(c, slot)
    c.buddy[slot] = _buddy(model, slot) if p["senior_induction"] else -1
    agent = model.client_class(model, slot)
    agent.unique_id = aftercare.person_id(model, int(c.admission_number[slot]))  # one id per person
    c.client_id[slot] = agent.unique_id
    model.client_agents[slot] = agent
    bed = int(c.bed[slot])  # -1: no bed (an outpatient lives at home and comes for the group)
    c.cell[slot] = bed
    model.positions.new_client(slot)  # Mesa puts the agent in its bed when its view is next read
    model.policy.on_admission(model, agent)
    planning.set_plan(model, slot)  # the team's plan at admission (processes.planning)
    return agent


@kernel
def _admission(entropy, code, number, kinds, mix, clients, traits, counters, slot, step, initial, parameters):
    """The ``number``-th admission into ``slot``, in one call: its draws (:func:`admission_numbers`), the profile
    from the case mix's table (``casemix.traits_of``: diagnosis, legal status, risk histories, support outside),
    the traits' factors on the conflict kinds (:func:`set_traits`), then the state and the stay (:func:`_admitted`,
    with the group's shifts of skills and symptoms)."""
    z = admission_numbers(entropy, code, number, kinds)
    diagnosis, detained, violent, self_harm, support = traits_of(mix, z[9], z[10], z[11], z[12], z[13],
                                                                 parameters[0].admission_spread)  # fmt: skip
    set_traits(TraitClients(*traits), slot, diagnosis, detained, violent, self_harm, support, parameters[0])
    _admitted(clients, counters, slot, z, mix[SKILLS_ROW, diagnosis], mix[SYMPTOMS_ROW, diagnosis], detained, step,
              initial, number, parameters)  # fmt: skip


#: The rows of the case mix's table with each group's shift of the admission skills and symptoms.
SKILLS_ROW, SYMPTOMS_ROW = TABLE_ROWS.index("skills"), TABLE_ROWS.index("symptoms")


class AdmittedClients(NamedTuple):
    """The client arrays an admission sets (:func:`_admitted`), besides the per-stay counters."""

    values: np.ndarray
    skill_goal: np.ndarray
    admitted_step: np.ndarray
    admission_number: np.ndarray
    present: np.ndarray
    on_unit: np.ndarray
    bed: np.ndarray
    phase: np.ndarray
    isolated: np.ndarray
    isolated_until: np.ndarray
    time_out_until: np.ndarray
    observation_until: np.ndarray
    attending: np.ndarray
    antecedent_step: np.ndarray
    open_transgressions: np.ndarray
    progress_acts: np.ndarray


_ADMISSION_READS = ("admission_spread", "admission_skill", "admission_self_control", "admission_trust",
                    "detained_trust", "admission_independence", "admission_symptoms", "admission_agitation",
                    "admission_agitation_symptoms", "discharge_messages", "discharge_message_calm",
                    "discharge_message_trust", "skill_goal", "initial_stay_days", "max_stay_days",
                    "detained_absconding_factor", "violence_history_factor", "self_harm_history_factor")  # fmt: skip
ADMISSION = ParameterRecord(_ADMISSION_READS, dict.fromkeys(_ADMISSION_READS, float))


@kernel(inline=True)
def _admitted(clients, counters, slot, z, skill_shift, symptom_shift, detained, step, initial, number, parameters):
    """The admitted client's state and stay (rules in the module docstring): each state N(mean, spread) from the
    normals ``z[:7]``, clipped to [0.01, 0.99] (the skills' mean shifted by the diagnosis group, ``skill_shift``,
    the symptoms' by ``symptom_shift``, trust lowered for a detained client), agitation from the symptoms and
    ``z[7]``, then the discharge messages' hope; every other state row 0.  The stay starts now, or with
    ``initial`` (the first cohort) ``z[8]`` of the way through a first stay; in orientation, nothing under way,
    every per-stay counter 0."""
    q = parameters[0]
    c = AdmittedClients(*clients)
    v = c.values
    spread = q.admission_spread
    v[:, slot] = 0.0
    skill = q.admission_skill + skill_shift
    means = (skill, skill, skill, q.admission_self_control, q.admission_trust - q.detained_trust * detained,
             q.admission_independence, q.admission_symptoms + symptom_shift)  # fmt: skip
    rows = (0, 1, 2, SELF_CONTROL, TRUST, INDEPENDENCE, SYMPTOMS)  # the skills, self-control, trust, ...
    for r in range(7):
        v[rows[r], slot] = clipped(means[r] + spread * z[r], 0.01, 0.99)
    agitation = q.admission_agitation + q.admission_agitation_symptoms * v[SYMPTOMS, slot]
    v[AGITATION, slot] = clipped(agitation + spread * z[7], 0.01, 0.99)
    hope = q.discharge_messages  # Safewards discharge messages (0 under usual care: no change)
    if hope > 0.0:
        v[AGITATION, slot] *= 1.0 - hope * q.discharge_message_calm
        v[TRUST, slot] += hope * q.discharge_message_trust * (1.0 - v[TRUST, slot])
    v[BASELINE_TRUST, slot] = v[TRUST, slot]
    c.skill_goal[slot] = q.skill_goal
    if initial:
        prior = z[8] * min(q.initial_stay_days, q.max_stay_days)
        step -= int(prior * 24)
    c.admitted_step[slot] = step
    c.admission_number[slot] = number
    c.present[slot] = True
    c.on_unit[slot] = c.bed[slot] >= 0  # until movement sends a day-programme client home (no bed: at home)
    c.phase[slot] = ORIENTATION
    c.isolated[slot] = False
    c.isolated_until[slot] = 0
    c.time_out_until[slot] = 0
    c.observation_until[slot] = 0
    c.attending[slot] = False
    c.antecedent_step[slot] = -(10**9)
    for j in range(len(counters)):
        counters[j][slot] = 0
    c.open_transgressions[slot] = 0
    c.progress_acts[slot] = 0


class TraitClients(NamedTuple):
    """The client arrays of the profile's stable traits (:func:`set_traits`)."""

    diagnosis: np.ndarray
    detained: np.ndarray
    support: np.ndarray
    violence_history: np.ndarray
    self_harm_history: np.ndarray
    kind_factor: np.ndarray


@kernel(inline=True)
def set_traits(c, slot, diagnosis, detained, violence_history, self_harm_history, support, q):
    """Give the client in a slot their profile's stable traits and the factors they put on the kinds of incidents
    (``clients.kind_factor``, read by escalation)."""
    c.diagnosis[slot], c.detained[slot], c.support[slot] = diagnosis, detained, support
    c.violence_history[slot], c.self_harm_history[slot] = violence_history, self_harm_history
    c.kind_factor[:, slot] = 1.0
    c.kind_factor[ABSCONDING_KIND, slot] = q.detained_absconding_factor if detained else 1.0
    c.kind_factor[PHYSICAL_KIND, slot] = q.violence_history_factor if violence_history else 1.0
    c.kind_factor[SELF_HARM_KIND, slot] = q.self_harm_history_factor if self_harm_history else 1.0


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


def _next_admission(model: MilieuModel) -> int:
    """The step before which :func:`admit` has nothing to do: the next admission due."""
    return model.next_admission_due


admit.quiet_until = _next_admission  # type: ignore[attr-defined]  # hours before it may run compiled (model.hours)


def admission_chance(p: dict[str, Any]) -> float:
    """Hourly chance that a free bed is filled: 1 - exp(-1 / admission_delay_hours) (1 with no delay)."""
    return 1.0 if p["admission_delay_hours"] <= 0 else 1.0 - math.exp(-1.0 / p["admission_delay_hours"])


def schedule_admission(model: MilieuModel, slot: int) -> None:
    """When a bed falls free, draw when it is filled: after G ~ Geometric(1 - exp(-1/delay)) hours.

    The draw comes from a generator keyed by the bed and how often it has
    fallen free, so the timing does not depend on what happened elsewhere.
    """
    c, keyed = model.clients, model.streams.keyed
    with wrapping_products():
        wait = _arrival_wait(keyed.entropy_words, keyed.code("arrivals"), slot, c.vacancies, admission_chance(model.p))
    c.next_admission_step[slot] = model.steps + wait
    model.next_admission_due = min(model.next_admission_due, int(c.next_admission_step[slot]))


@kernel
def _arrival_wait(entropy, code, slot, vacancies, chance):
    """The first ``geometric(chance)`` draw of ``stream(seed, "arrivals", slot, vacancies[slot])``, seeded here
    (streams.keyed_state); the vacancy is counted."""
    key = np.array([slot, vacancies[slot]], dtype=np.int64)
    vacancies[slot] += 1
    return keyed_draws.geometric(keyed_state(entropy, code, key).reshape((1, 4)), 0, chance)


# --- phases, discharge and dropout ----------------------------------------------------------
def _update_phases(model: MilieuModel) -> None:
    c = model.clients
    p = model.p
    _phases(c.values, c.present, c.phase, c.senior_step, c.buddy, c.admitted_step, model.steps,
            p["orientation_days"], p["senior_days"], p["senior_skill"])  # fmt: skip


@kernel
def _phases(x, present, phase, senior_step, buddy, admitted_step, step, orientation_days, senior_days, senior_skill):
    """orientation -> primary after orientation_days; primary -> senior after senior_days with mean skill >=
    senior_skill (noting when: ``senior_step``); buddies only for clients in orientation, and only while the
    buddy is present."""
    for i in range(present.size):
        days = (step - admitted_step[i]) / 24.0
        if present[i] and phase[i] == ORIENTATION and days >= orientation_days:
            phase[i] = PRIMARY
        if present[i] and phase[i] == PRIMARY and days >= senior_days and mean_skill(x, i) >= senior_skill:
            phase[i] = SENIOR
            senior_step[i] = step
        if phase[i] != ORIENTATION:
            buddy[i] = -1
    for i in range(present.size):
        if buddy[i] >= 0 and not present[buddy[i]]:
            buddy[i] = -1


def dropout_hazard(model: MilieuModel) -> np.ndarray:
    """Hourly dropout hazard of every slot (rule in the module docstring); 0 for a detained client."""
    c, p = model.clients, model.p
    base = p["dropout_per_day"] * dropout_factor(model)  # the ward climate's cohesion (processes.climate)
    hazard = np.array([_hazard(c.values, i, c.admitted_step, model.steps, base, p["dropout_early_factor"],
                               p["dropout_early_days"], p["dropout_trust_effect"]) for i in range(c.n)])  # fmt: skip
    return np.where(c.detained, 0.0, hazard)


@kernel
def _hazard(x, i, admitted_step, step, dropout_per_day, early_factor, early_days, trust_effect):
    days = (step - admitted_step[i]) / 24.0
    early = 1.0 + early_factor * np.exp(-days / early_days)
    state = (0.5 - x[TRUST, i]) + max(x[AGITATION, i] - 0.5, 0.0)
    return dropout_per_day / 24.0 * early * np.exp(trust_effect * state)


def ready_for_discharge(model: MilieuModel, relax: float = 0.0) -> np.ndarray:
    """Which clients meet their plan's discharge thresholds (the symptom target raised by ``relax``).

    ``symptoms_and_risk`` (an acute ward): symptoms <= the plan's symptom target and incidents in the last 7 days
    <= its risk target.  ``plan_goals`` (graduation through the phases): those and every skill goal at its
    target, after at least ``graduation_days`` in the senior phase.  The rule is :func:`_ready`, which the ward
    round (:func:`_leavers`) applies.
    """
    return _all_ready(model.clients.packed(WardRoundClients), relax, model.steps, WARD_ROUND(model.p))


class WardRoundClients(NamedTuple):
    """The client arrays the ward round's decisions read (``_leavers``), and the one they write
    (``pressure_discharge``)."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    detained: np.ndarray
    admitted_step: np.ndarray
    symptom_target: np.ndarray
    incidents_week: np.ndarray
    risk_target: np.ndarray
    plan_skill: np.ndarray
    skill_target: np.ndarray
    phase: np.ndarray
    senior_step: np.ndarray
    pressure_discharge: np.ndarray


#: The parameters of the ward round's decisions (``plan_goals``: ``discharge_rule`` is ``plan_goals``).
_WARD_ROUND_READS = ("dropout_early_factor", "dropout_early_days", "dropout_trust_effect", "min_stay_days",
                     "max_stay_days", "discharge_rule", "graduation_days", "waiting_referrals",
                     "bed_pressure_relax")  # fmt: skip
WARD_ROUND = ParameterRecord(
    _WARD_ROUND_READS,
    {name: float for name in _WARD_ROUND_READS if name not in ("discharge_rule", "waiting_referrals")}
    | {"waiting_referrals": int, "plan_goals": bool},
    lambda v: {**v, "plan_goals": v["discharge_rule"] == "plan_goals"},
)


@kernel(inline=True)
def _ready(c, i, relax, step, q):
    """Whether client ``i`` (present) meets the plan's discharge thresholds, the symptom target raised by
    ``relax`` (the rule of :func:`ready_for_discharge`)."""
    if not c.present[i]:
        return False
    if not (c.values[SYMPTOMS, i] <= c.symptom_target[i] + relax and c.incidents_week[i] <= c.risk_target[i]):
        return False
    if q.plan_goals:
        for k in range(3):  # every skill goal of the plan at its target
            if c.plan_skill[k, i] and not c.values[k, i] >= c.skill_target[k, i] - 1e-12:
                return False
        return c.phase[i] == SENIOR and (step - c.senior_step[i]) / 24.0 >= q.graduation_days  # re-entry served
    return True


@kernel
def _all_ready(clients, relax, step, parameters):
    c = WardRoundClients(*clients)
    ready = np.zeros(c.present.size, dtype=np.bool_)
    for i in range(c.present.size):
        ready[i] = _ready(c, i, relax, step, parameters[0])
    return ready


@kernel
def _leavers(u, clients, step, dropout_per_day, parameters):
    """Who leaves at this ward round: (dropouts, completed, transfers), each in slot order, each client at most once.

    Secluded clients stay.  Dropout (voluntary clients only) with probability 1 - exp(-24 h); then completion
    when the client is ready (:func:`_ready`) and the stay is >= min_stay_days; then transfer after
    max_stay_days.  Then bed pressure: while every bed is taken and ``waiting_referrals`` referrals wait for a
    bed, the readiest clients (least above their symptom target, within ``bed_pressure_relax`` of it, risk target
    met, stay >= min_stay_days, not secluded, not already leaving; ties in slot order) complete sooner, one per
    waiting referral that the other exits have not already made room for (marked ``pressure_discharge``).
    """
    c = WardRoundClients(*clients)
    q = parameters[0]
    n = c.present.size
    reason = np.full(n, -1, dtype=np.int64)
    leaving = 0
    for i in range(n):
        if not c.present[i] or c.isolated[i]:
            continue
        days = (step - c.admitted_step[i]) / 24.0
        hazard = 0.0
        if not c.detained[i]:
            hazard = _hazard(c.values, i, c.admitted_step, step, dropout_per_day, q.dropout_early_factor,
                             q.dropout_early_days, q.dropout_trust_effect)  # fmt: skip
        if u[i] < 1.0 - np.exp(-24.0 * hazard):
            reason[i] = 0
        elif _ready(c, i, 0.0, step, q) and days >= q.min_stay_days:
            reason[i] = 1
        elif days >= q.max_stay_days:
            reason[i] = 2
        if reason[i] >= 0:
            leaving += 1
    room = q.waiting_referrals - leaving
    if room > 0 and c.present.all():
        candidates = np.empty(n, dtype=np.int64)
        m = 0
        for i in range(n):
            days = (step - c.admitted_step[i]) / 24.0
            if reason[i] < 0 and not c.isolated[i] and days >= q.min_stay_days and _ready(c, i, q.bed_pressure_relax,
                                                                                           step, q):  # fmt: skip
                candidates[m] = i
                m += 1
        above = np.empty(m)
        for j in range(m):
            above[j] = c.values[SYMPTOMS, candidates[j]] - c.symptom_target[candidates[j]]
        order = np.argsort(above, kind="mergesort")  # stable: ties in slot order
        for j in range(min(room, m)):
            i = candidates[order[j]]
            reason[i] = 1
            c.pressure_discharge[i] = True
    return np.flatnonzero(reason == 0), np.flatnonzero(reason == 1), np.flatnonzero(reason == 2)


def discharge(model: MilieuModel) -> None:
    """At the daily ward round: dropouts, completed discharges (on the plan), bed pressure, transfers, phases."""
    c, h, p = model.clients, model.hour, model.p
    if h.hour != WARD_ROUND_HOUR:
        return
    u = model.streams["dropout"].random(c.n)
    dropouts, completed, transfers = _leavers(
        u,
        c.packed(WardRoundClients),
        model.steps,
        p["dropout_per_day"] * dropout_factor(model),  # the ward climate's cohesion (processes.climate)
        WARD_ROUND(p),
    )
    limit = p["stay_limit_exit"]  # the stay limit: a transfer on, or an outpatient course completed
    for slots, reason in ((dropouts, "dropout"), (completed, "completed"), (transfers, limit)):
        for slot in slots.tolist():
            exit_client(model, slot, reason)
    _update_phases(model)


def reported_states_of(c: Any, slot: int) -> np.ndarray:
    """One slot's column of ``c.reported_states()``, the same values without the whole ward's matrix
    (:func:`reported_states_into`; tests/test_processes.py checks that the two agree)."""
    states = np.empty(len(REPORTED_STATES))
    reported_states_into(c.values, slot, states, 0)
    return states


@kernel(inline=True)
def reported_states_into(v, slot, out, start):
    """A slot's reported states into ``out`` from ``start`` on: the skill as NumPy's ``mean(axis=0)`` computes it,
    ((S_coping + S_social) + S_daily) / 3, then the state rows 3 to 7 (``ClientArrays.reported_states``)."""
    out[start] = (v[0, slot] + v[1, slot] + v[2, slot]) / 3.0
    for r in range(3, 8):
        out[start + r - 2] = v[r, slot]


class StayClients(NamedTuple):
    """The client arrays a stay's `stays` row reads besides its plan's goals and its counters (:func:`stay_row`)."""

    values: np.ndarray
    client_id: np.ndarray
    admission_number: np.ndarray
    admitted_step: np.ndarray
    diagnosis: np.ndarray
    detained: np.ndarray
    pressure_discharge: np.ndarray
    previous_stays: np.ndarray
    external_share: np.ndarray
    at_admission: np.ndarray


#: The per-stay counters (records.STAY_COUNTERS), as a record of the client arrays that hold them.
StayCounters = NamedTuple("StayCounters", [(name, np.ndarray) for name in STAY_COUNTERS])  # type: ignore[misc]
_AT_ADMISSION = tuple(f"{name}_at_admission" for name in REPORTED_STATES)  # the `stays` columns of the states
_AT_EXIT = tuple(f"{name}_at_exit" for name in REPORTED_STATES)
#: The `stays` columns :func:`_stay_numbers` works out, whole numbers then the others, in its order.
_STAY_INTS = ("client_id", "admission_number", "plan_goals", "plan_goals_met", "diagnosis", "detained", "bed_pressure",
              "previous_stays", *STAY_COUNTERS)  # fmt: skip
_STAY_FLOATS = ("admitted_day", "exit_day", "length_of_stay_days", "external_share", *_AT_ADMISSION, *_AT_EXIT)


def stay_row(model: MilieuModel, slot: int, reason: str) -> dict[str, Any]:
    """The `stays` table row of the stay in a slot."""
    c = model.clients
    goals, support_target = planning.goal_inputs(model)
    ints, floats = _stay_numbers(c.packed(StayClients), goals, c.packed(StayCounters), slot, model.steps,
                                 reason == "still_present", support_target)  # fmt: skip
    row: dict[str, Any] = dict(zip(_STAY_INTS, ints.tolist(), strict=True))
    row.update(zip(_STAY_FLOATS, floats.tolist(), strict=True))
    row["exit_reason"] = reason
    # issue 13: the profile and the plan at exit
    row["diagnosis"], row["detained"] = DIAGNOSES[row["diagnosis"]], bool(row["detained"])
    row["bed_pressure"] = bool(row["bed_pressure"])
    # the follow-up fills the outcomes outside (processes.aftercare.start_followup); NaN for a stay still open
    row["days_to_readmission"] = row["outside_functioning"] = row["outside_gain"] = math.nan
    return row


@kernel
def _stay_numbers(stay, goals, counters, slot, exit_step, still_present, support_target):
    """The numbers of a stay's row (``_STAY_INTS``, ``_STAY_FLOATS``): who, the plan's goals and how many are at
    their targets (``planning.goals_of``), the profile, the counters; the days of admission, exit (NaN while the
    stay is open) and the stay's length, and the reported states at admission and at exit (NaN while open)."""
    c = StayClients(*stay)
    in_plan, value, target, met = goal_arrays()
    goals_of(GoalClients(*goals), slot, support_target, in_plan, value, target, met)
    ints = np.empty(8 + len(counters), dtype=np.int64)
    ints[0], ints[1], ints[2], ints[3] = c.client_id[slot], c.admission_number[slot], 0, 0
    for g in range(in_plan.size):
        if in_plan[g]:
            ints[2] += 1
            ints[3] += met[g]
    ints[4], ints[5], ints[6] = c.diagnosis[slot], c.detained[slot], c.pressure_discharge[slot]
    ints[7] = c.previous_stays[slot]
    for j in range(len(counters)):
        ints[8 + j] = counters[j][slot]
    n_states = c.at_admission.shape[0]
    floats = np.empty(4 + 2 * n_states)
    floats[0] = c.admitted_step[slot] / 24.0
    floats[1] = np.nan if still_present else exit_step / 24.0
    floats[2] = (exit_step - c.admitted_step[slot]) / 24.0
    floats[3] = c.external_share[slot]
    for r in range(n_states):
        floats[4 + r] = c.at_admission[r, slot]
    if still_present:
        floats[4 + n_states :] = np.nan
    else:
        reported_states_into(c.values, slot, floats, 4 + n_states)
    return ints, floats


def exit_client(model: MilieuModel, slot: int, reason: str) -> None:
    """Close a stay: record it, take the agent off the grid and free the bed."""
    c = model.clients
    row = stay_row(model, slot, reason)
    model.records.stays.append(row)
    aftercare.start_followup(model, slot, row)  # every client who leaves the unit is followed outside
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
    """Rows for the stays still open at the end of the run (and the ended stays' days of follow-up so far)."""
    aftercare.update_stay_rows(model)
    return [stay_row(model, slot, "still_present") for slot in np.flatnonzero(model.clients.present).tolist()]

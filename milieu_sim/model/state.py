"""The ward's state, kept in arrays for speed.

Every client occupies a *bed slot* (0 .. n_clients-1) for the length of a stay;
all client state lives in arrays indexed by slot, and the Mesa ``Client``
agents (:mod:`milieu_sim.model.agents`) are views into them.  Staff are a fixed
roster indexed 0 .. n_staff-1.

The continuous client state is one matrix ``ClientArrays.values`` with one row
per state variable (:data:`STATE_VARIABLES`); the named attributes
(``clients.agitation`` ...) are views of its rows, so processes must update
them in place (``+=``, ``np.clip(..., out=...)``, ``a[mask] = ...``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Continuous client state (rows of ClientArrays.values).  All lie in [0, 1].
STATE_VARIABLES: tuple[str, ...] = (
    "coping_skill",
    "social_skill",
    "daily_living_skill",
    "self_control",
    "agitation",
    "trust",
    "independence",
    "symptoms",
    "resentment",  # slow after-effect of punishment and coercion, feeds agitation
    "suppression",  # fast after-effect of punishment, suppresses transgressions
    "external_share",  # share of skill kept up by external rewards (tokens)
    "affirmation_memory",  # decaying count of affirmations received
    "correction_memory",  # decaying count of corrections received
    "baseline_trust",  # trust at admission, towards which trust relaxes
    "skill_goal",  # the treatment plan's goal for each skill
    "fear",  # felt unsafety after being the victim or witness of an incident (felt safety = 1 - fear)
    "incident_memory",  # decaying count of one's own incidents (risk, for observation levels)
    "self_harm_memory",  # decaying count of one's own self-harm and absconding (risk, for observation levels)
    "insight",  # understanding of one's own and others' struggles (processes.insight)
    "empathy",  # feeling for peers, which restrains aggression towards them (processes.insight)
    "incentive",  # learned expectation of reward for prosocial acts, fading when rewards stop (staff_response)
)
SKILL_ROWS = slice(0, 3)
#: Row of each state variable in ``ClientArrays.values`` (compiled kernels index the matrix by these).
ROW: dict[str, int] = {name: row for row, name in enumerate(STATE_VARIABLES)}
COPING, SOCIAL, DAILY_LIVING = ROW["coping_skill"], ROW["social_skill"], ROW["daily_living_skill"]
SELF_CONTROL, AGITATION, TRUST = ROW["self_control"], ROW["agitation"], ROW["trust"]
INDEPENDENCE, SYMPTOMS, RESENTMENT = ROW["independence"], ROW["symptoms"], ROW["resentment"]
SUPPRESSION, EXTERNAL_SHARE = ROW["suppression"], ROW["external_share"]
AFFIRMATION_MEMORY, CORRECTION_MEMORY = ROW["affirmation_memory"], ROW["correction_memory"]
BASELINE_TRUST, SKILL_GOAL = ROW["baseline_trust"], ROW["skill_goal"]
FEAR, INCIDENT_MEMORY, SELF_HARM_MEMORY = ROW["fear"], ROW["incident_memory"], ROW["self_harm_memory"]
INSIGHT, EMPATHY, INCENTIVE = ROW["insight"], ROW["empathy"], ROW["incentive"]
# The client states summarised in the `steps` table (skill = mean of the three goal skills).
REPORTED_STATES: tuple[str, ...] = ("skill", "self_control", "agitation", "trust", "independence", "symptoms")

# Behaviour codes for one hour.
NO_ACT, PROSOCIAL, TRANSGRESSION = 0, 1, 2
# Phases of a stay (seniority).
ORIENTATION, PRIMARY, SENIOR = 0, 1, 2
PHASES = ("orientation", "primary", "senior")
# Antecedent codes (what immediately preceded an incident).
ANTECEDENTS = (
    "none", "limit_setting", "denied_request", "peer_conflict", "punishment",
    "crowding", "turnover", "bad_news",  # flashpoints (processes.flashpoints)
)  # fmt: skip
NO_ANTECEDENT, LIMIT_SETTING, DENIED_REQUEST, PEER_CONFLICT, PUNISHMENT = range(5)
CROWDING, TURNOVER, BAD_NEWS = range(5, 8)
# Partner kinds in an encounter (also: who set a client's antecedent, ``antecedent_source_kind``).
NO_PARTNER, CLIENT_PARTNER, STAFF_PARTNER = 0, 1, 2
# Whom an incident targets (the events table's ``target_role``; the order is the code).
TARGET_ROLES = ("none", "client", "staff", "self", "property")
TARGET_NONE, TARGET_CLIENT, TARGET_STAFF, TARGET_SELF, TARGET_PROPERTY = range(5)
# Observation levels (risk-based; levels from intermittent up are special observation, i.e. containment).
OBSERVATION_LEVELS = ("general", "intermittent", "within_sight", "arms_length")
GENERAL, INTERMITTENT, WITHIN_SIGHT, ARMS_LENGTH = range(4)
# The ward climate's three scales (after the EssenCES: Schalast et al. 2008), rows of ``WardClimate.values``.
CLIMATE_SCALES = ("safety", "cohesion", "hold")
SAFETY, COHESION, HOLD = range(3)
# The patient community's own ward-level states, rows of ``Community.values``: the strength of its norms
# (processes.norms) and the struggles it has seen and not yet talked through (processes.insight).
COMMUNITY_STATES = ("norm", "struggles")
NORM, STRUGGLES = range(2)

# Who arrives (model.casemix): diagnosis groups, the code is the index.  The goals of a treatment plan
# (processes.planning), the order is the code: three skills, symptoms, risk, support outside.
DIAGNOSES = ("psychosis", "mood_disorder", "personality_disorder", "substance_use")
PLAN_GOALS = ("coping_skill", "social_skill", "daily_living_skill", "symptoms", "risk", "support")
GOAL_SYMPTOMS, GOAL_RISK, GOAL_SUPPORT = 3, 4, 5

SHIFTS = ("early", "late", "night")
STAFF_ROLES = ("nurse", "support_worker")
ROLE_NURSE, ROLE_SUPPORT_WORKER = 0, 1
#: The clock: step 1 is day 0 (a Monday) from START_HOUR:00, the start of the early shift; shifts start at
#: these clock hours (early 07-15, late 15-23, night 23-07).
START_HOUR = 7
SHIFT_STARTS = (7, 15, 23)


def shift_of_hour(hour: Any) -> Any:
    """Shift code (0 early, 1 late, 2 night) of a clock hour, or of an array of clock hours."""
    early, late, night = SHIFT_STARTS
    code = np.where((hour >= early) & (hour < late), 0, np.where((hour >= late) & (hour < night), 1, 2))
    return int(code) if code.ndim == 0 else code


def clock_hour(step: Any) -> Any:
    """Clock hour (0-23) of a step (1-based) or an array of steps."""
    return (START_HOUR + step - 1) % 24


def _views[View](owner: Any, record: type[View]) -> tuple[View, tuple]:
    """The arrays of ``owner`` that ``record`` (a namedtuple class) names, as a ``record`` and as a plain tuple
    in the record's field order; built once per owner and record."""
    pair = owner._views.get(record)
    if pair is None:
        view = record(*(getattr(owner, name) for name in record._fields))
        pair = owner._views[record] = (view, tuple(view))
        owner._packed[record] = pair[1]
    return pair


class ClientArrays:
    """State of the clients, one entry per bed slot."""

    def __init__(self, n_slots: int) -> None:
        self.n = n_slots
        self.values = np.zeros((len(STATE_VARIABLES), n_slots))
        self._rows_as_views()
        self.present = np.zeros(n_slots, dtype=bool)  # holds a bed (the stay is open)
        self.on_unit = np.zeros(n_slots, dtype=bool)  # present and on the unit (not at home in away hours)
        self.client_id = np.full(n_slots, -1, dtype=np.int64)
        self.admission_number = np.full(n_slots, -1, dtype=np.int64)
        self.admitted_step = np.zeros(n_slots, dtype=np.int64)
        self.phase = np.zeros(n_slots, dtype=np.int64)
        self.bed = np.zeros(n_slots, dtype=np.int64)  # cell index of the slot's bed
        self.cell = np.full(n_slots, -1, dtype=np.int64)  # current cell index, -1 off the grid
        self.buddy = np.full(n_slots, -1, dtype=np.int64)  # slot of the senior buddy, -1 none
        self.next_admission_step = np.zeros(n_slots, dtype=np.int64)  # when a free bed is filled
        self.vacancies = np.zeros(n_slots, dtype=np.int64)  # how often the bed has fallen free
        self.vacated_step = np.full(n_slots, -(10**9), dtype=np.int64)  # when the bed last fell free
        self.isolated_until = np.zeros(n_slots, dtype=np.int64)  # seclusion ends at this step
        self.isolated = np.zeros(n_slots, dtype=bool)
        self.time_out_until = np.zeros(n_slots, dtype=np.int64)
        self.observation_until = np.zeros(n_slots, dtype=np.int64)  # special observation ends
        self.attending = np.zeros(n_slots, dtype=bool)  # attends the current structured activity
        self.free_zone = np.zeros(n_slots, dtype=np.int64)  # zone chosen for free time
        self.antecedent = np.zeros(n_slots, dtype=np.int64)
        self.antecedent_step = np.full(n_slots, -(10**9), dtype=np.int64)
        # who set the antecedent: a client slot or staff index (kind NO_PARTNER / CLIENT_PARTNER / STAFF_PARTNER)
        self.antecedent_source = np.full(n_slots, -1, dtype=np.int64)
        self.antecedent_source_kind = np.zeros(n_slots, dtype=np.int64)
        self.observation_level = np.zeros(n_slots, dtype=np.int64)  # GENERAL ... ARMS_LENGTH
        self.observation_escort = np.full(n_slots, -1, dtype=np.int64)  # staff index on 1:1 observation, or -1
        # per-stay counters (reported in the `stays` table)
        self.incidents = np.zeros(n_slots, dtype=np.int64)
        self.violent_incidents = np.zeros(n_slots, dtype=np.int64)
        self.times_isolated = np.zeros(n_slots, dtype=np.int64)
        self.isolation_hours = np.zeros(n_slots, dtype=np.int64)
        self.containments = np.zeros(n_slots, dtype=np.int64)
        self.affirmations_received = np.zeros(n_slots, dtype=np.int64)
        self.corrections_received = np.zeros(n_slots, dtype=np.int64)
        self.feedback_sent = np.zeros(n_slots, dtype=np.int64)
        self.transgressions = np.zeros(n_slots, dtype=np.int64)
        self.punishments = np.zeros(n_slots, dtype=np.int64)
        # since the last community meeting (processes.norms): transgressions nobody addressed, prosocial acts
        self.open_transgressions = np.zeros(n_slots, dtype=np.int64)
        self.progress_acts = np.zeros(n_slots, dtype=np.int64)
        self.at_admission = np.zeros((len(REPORTED_STATES), n_slots))
        # --- issue 13: who arrives (model.casemix) and the treatment plan (processes.planning) ---------------
        # the profile's stable traits, drawn at admission from the setting's case mix
        self.diagnosis = np.zeros(n_slots, dtype=np.int64)  # code: index into DIAGNOSES
        self.detained = np.zeros(n_slots, dtype=bool)  # legal status: detained (True) or voluntary
        self.violence_history = np.zeros(n_slots, dtype=bool)
        self.self_harm_history = np.zeros(n_slots, dtype=bool)
        self.support = np.zeros(n_slots)  # support outside (0-1); the social worker's plan raises it
        # factor on each conflict kind's weight (CONFLICT_KINDS order), from the traits (escalation reads it)
        self.kind_factor = np.ones((6, n_slots))
        # the plan: which skills are goals and their targets, the symptom and risk targets, and its parts
        self.plan_skill = np.zeros((3, n_slots), dtype=bool)
        self.skill_target = np.zeros((3, n_slots))
        self.plan_support = np.zeros(n_slots, dtype=bool)  # support outside is a goal (set below support_target)
        self.skill_floor = np.zeros((3, n_slots))  # the lowest a stalled skill target may be lowered to
        self.symptom_target = np.zeros(n_slots)
        self.risk_target = np.zeros(n_slots, dtype=np.int64)  # incidents in the last 7 days, at most
        self.plan_attendance = np.ones(n_slots)  # factor on structured-activity attendance (movement reads it)
        self.plan_groups = np.zeros(n_slots, dtype=bool)
        self.one_to_one = np.zeros(n_slots, dtype=bool)
        self.medication_review = np.zeros(n_slots, dtype=bool)
        self.leave = np.zeros(n_slots, dtype=bool)
        self.discharge_planning = np.zeros(n_slots, dtype=bool)
        self.senior_step = np.zeros(n_slots, dtype=np.int64)  # when the client became a senior (flow)
        self.plan_focus = np.full(n_slots, -1, dtype=np.int64)  # the skill one-to-one sessions practise, or -1
        self.goal_met = np.zeros((len(PLAN_GOALS), n_slots), dtype=bool)  # marked met at a review
        self.review_skills = np.zeros((3, n_slots))  # skills at the last review (for stalled progress)
        self.review_symptoms = np.zeros(n_slots)
        self.incident_log = np.zeros((7, n_slots), dtype=np.int64)  # `incidents` at the last 7 daily rounds
        self.incidents_week = np.zeros(n_slots, dtype=np.int64)  # incidents in the last 7 days
        self.pressure_discharge = np.zeros(n_slots, dtype=bool)  # discharged sooner for a waiting referral
        # --- end of issue 13 (who arrives, the plan) -------------------------------------------------------------
        self.previous_stays = np.zeros(n_slots, dtype=np.int64)  # the person's earlier stays (processes.aftercare)
        self._views: dict[type, Any] = {}
        self._packed: dict[type, tuple] = {}

    def _rows_as_views(self) -> None:
        """Each state variable's name (``agitation`` ...) and ``skills`` are views of rows of ``values``."""
        for row, name in enumerate(STATE_VARIABLES):
            setattr(self, name, self.values[row])
        self.skills = self.values[SKILL_ROWS]

    def __getstate__(self) -> dict[str, Any]:
        """Copied or pickled without the row views and the kernels' views (a copy would hold them as arrays of
        their own, apart from ``values``); :meth:`__setstate__` makes them again."""
        views = set(STATE_VARIABLES) | {"skills", "_views", "_packed"}
        return {name: value for name, value in self.__dict__.items() if name not in views}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rows_as_views()
        self._views, self._packed = {}, {}

    def view[View](self, record: type[View]) -> View:
        """The client arrays a process reads and writes, by name: ``record`` is a namedtuple class whose fields
        are attribute names of this object (``values``, ``present``, ``cell`` ...); its instance holds the very
        arrays (not copies), built once.  Processes update the arrays in place, never replace them."""
        return _views(self, record)[0]

    def packed(self, record: type) -> tuple:
        """The same arrays as a plain tuple in ``record``'s field order, for a compiled kernel, which names
        them again with ``record(*packed)``: a plain tuple enters compiled code as cheaply as separate
        arguments, a namedtuple costs about half a microsecond more per call."""
        packed = self._packed.get(record)
        return packed if packed is not None else _views(self, record)[1]

    def mean_skill(self) -> np.ndarray:
        """Every slot's skill: the mean of the three goal skills (``processes.common.mean_skill``)."""
        return self.skills.mean(axis=0)

    def reported_states(self) -> np.ndarray:
        """(len(REPORTED_STATES), n) matrix of the states summarised in the tables."""
        v = self.values
        return np.vstack((v[SKILL_ROWS].mean(axis=0), v[3:8]))


class StaffArrays:
    """State of the staff roster."""

    def __init__(self, n_staff: int) -> None:
        self.n = n_staff
        self.staff_id = np.full(n_staff, -1, dtype=np.int64)
        self.shift = np.zeros(n_staff, dtype=np.int64)
        self.role = np.zeros(n_staff, dtype=np.int64)
        self.de_escalation_skill = np.zeros(n_staff)
        self.model_quality = np.zeros(n_staff)
        self.observe_radius = np.zeros(n_staff, dtype=np.int64)
        self.on_duty = np.zeros(n_staff, dtype=bool)
        self.cell = np.full(n_staff, -1, dtype=np.int64)
        self.escorting = np.full(n_staff, -1, dtype=np.int64)  # client slot this person observes 1:1, or -1
        # each person's fixed offsets from the policy's means (drawn once, by processes.flow.create_staff)
        self.de_escalation_offset = np.zeros(n_staff)
        self.model_quality_offset = np.zeros(n_staff)
        self._views: dict[type, Any] = {}
        self._packed: dict[type, tuple] = {}

    def view[View](self, record: type[View]) -> View:
        """The staff arrays a process reads and writes, by name (see ``ClientArrays.view``)."""
        return _views(self, record)[0]

    def packed(self, record: type) -> tuple:
        """The same arrays as a plain tuple, for a kernel (see ``ClientArrays.packed``)."""
        packed = self._packed.get(record)
        return packed if packed is not None else _views(self, record)[1]


#: The hour's clock fields and tallies, in the order of ``Hour.clock`` (a float64 array that compiled code reads
#: and writes; :mod:`milieu_sim.model.compiled_hour`), with their Python type and starting value.  Whole numbers
#: and true/false are held exactly as floats; ``kind`` is held as its index in routine.KINDS.
CLOCK_FIELDS: dict[str, tuple[type, Any]] = {
    "step": (int, 0),
    "day": (int, 0),
    "hour": (int, 7),
    "weekday": (int, 0),
    "shift": (int, 0),
    "activity": (int, 0),
    "kind": (str, ""),  # the routine's kind of activity (held as its index in routine.KINDS, -1 for "")
    "zone": (int, 0),
    "structured": (bool, False),
    "trains": (int, -1),
    "awake": (bool, True),
    "away": (bool, False),
    "new_block": (bool, True),
    "new_shift": (bool, True),
    "observer_step": (int, -1),  # the step for which `observer` was computed
    "facilitation": (float, 1.0),  # how well this hour's structured activity is led (processes.facilitation)
    "conflict_events": (int, 0),
    "containment_events": (int, 0),
    # the hour's tallies that the ward climate reads (reset by the clock, filled by escalation)
    "incident_exposure": (float, 0.0),  # sum over incidents of severity / 5 * (1 + witnesses)
    "incidents_on_clients": (int, 0),  # incidents whose target was a client
    "incidents_on_staff": (int, 0),  # incidents whose target was a staff member
    "coercion": (float, 0.0),  # sum of the coerciveness of the hour's containments
    # the hour's transgressions left unaddressed and addressed (consequences), which the community norm reads
    "unaddressed_transgressions": (int, 0),
    "addressed_transgressions": (int, 0),
    "moved": (bool, False),  # someone moved in compiled code: Mesa's view of positions follows (positions.moved)
}
CLOCK_INDEX = {name: k for k, name in enumerate(CLOCK_FIELDS)}


class _ClockField:
    """An hour field held in ``Hour.clock``, read and set as a Python int, bool, float (or ``kind``'s name)."""

    def __init__(self, name: str) -> None:
        self.index, self.kind = CLOCK_INDEX[name], CLOCK_FIELDS[name][0]

    def __get__(self, hour: Hour | None, owner: type | None = None) -> Any:
        if hour is None:
            return self
        value = hour.clock[self.index]
        if self.kind is str:
            return _kinds()[int(value)] if value >= 0 else ""
        return self.kind(value)

    def __set__(self, hour: Hour, value: Any) -> None:
        if self.kind is str:
            hour.clock[self.index] = _kinds().index(value) if value else -1
        else:
            hour.clock[self.index] = value


def _kinds() -> tuple[str, ...]:
    from milieu_sim.model.routine import KINDS

    return KINDS


class Hour:
    """What the processes of one hour share: the clock fields (set every hour, held in the float array ``clock``
    that compiled code shares: :data:`CLOCK_FIELDS`) and per-slot arrays that the processes fill in place every
    hour (never replaced, so a kernel's view of them stays valid)."""

    def __init__(self, n_slots: int = 0, **fields: Any) -> None:
        self.clock = np.zeros(len(CLOCK_FIELDS))
        for name, (_, start) in CLOCK_FIELDS.items():
            setattr(self, name, fields.pop(name, start))
        self.active = np.zeros(n_slots, dtype=bool)  # awake, present, not isolated
        self.behaviour = np.zeros(n_slots, dtype=np.int64)
        self.partner_kind = np.zeros(n_slots, dtype=np.int64)
        self.partner = np.full(n_slots, -1, dtype=np.int64)
        self.conflictual = np.zeros(n_slots, dtype=bool)
        self.observer = np.full(n_slots, -1, dtype=np.int64)  # nearest staff or -1
        # what answered each client's act this hour: staff addressed it (punishment, limit, reinforcement) or a
        # peer or staff member gave feedback (filled by staff_response and feedback, read by consequences)
        self.addressed = np.zeros(n_slots, dtype=bool)
        self.punished = np.zeros(n_slots, dtype=bool)
        # this hour's isolation-stream uniforms (slot x (duration, room cell)), drawn every hour into this array by
        # processes.isolation.draw before any seclusion starts (escalation starts them)
        self.seclusion_draws = np.zeros((n_slots, 2))
        self._views: dict[type, Any] = {}
        self._packed: dict[type, tuple] = {}
        for name, value in fields.items():
            if not hasattr(self, name):
                raise TypeError(f"Hour has no field {name!r}")
            setattr(self, name, value)

    @classmethod
    def for_slots(cls, n_slots: int) -> Hour:
        """An Hour whose per-client arrays have one entry per bed slot (the processes fill them in place)."""
        return cls(n_slots)

    def view[View](self, record: type[View]) -> View:
        """The hour's per-slot arrays a process reads and writes, by name (see ``ClientArrays.view``)."""
        return _views(self, record)[0]

    def packed(self, record: type) -> tuple:
        """The same arrays as a plain tuple, for a kernel (see ``ClientArrays.packed``)."""
        packed = self._packed.get(record)
        return packed if packed is not None else _views(self, record)[1]

    def __repr__(self) -> str:
        return f"Hour({', '.join(f'{name}={getattr(self, name)!r}' for name in CLOCK_FIELDS)})"


for _name in CLOCK_FIELDS:
    setattr(Hour, _name, _ClockField(_name))


class WardClimate:
    """The ward's climate: three ward-level states in [0, 1] after the EssenCES scales (experienced safety,
    patients' cohesion and mutual support, therapeutic hold; Schalast et al. 2008), rows of ``values``
    (:data:`CLIMATE_SCALES`); updated hourly by ``processes.climate``."""

    def __init__(self, start: float) -> None:
        self.values = np.full(len(CLIMATE_SCALES), float(start))
        # the per-slot counts of affirmations received at the end of the last hour (to count this hour's), taken
        # from the climate's first hour on (``counting``)
        self.affirmations_seen = np.zeros(0, dtype=np.int64)
        self.counting = np.zeros(1, dtype=bool)

    @property
    def safety(self) -> float:
        return float(self.values[SAFETY])

    @property
    def cohesion(self) -> float:
        return float(self.values[COHESION])

    @property
    def hold(self) -> float:
        return float(self.values[HOLD])


class Community:
    """The patient community's ward-level states in [0, 1], rows of ``values`` (:data:`COMMUNITY_STATES`): the
    strength of its norms (``processes.norms``) and the struggles it has seen and not yet talked through
    (``processes.insight``)."""

    def __init__(self, norm: float) -> None:
        self.values = np.zeros(len(COMMUNITY_STATES))
        self.values[NORM] = float(norm)
        # each slot's count of feedback sent at the end of the last hour (processes.insight counts the hour's), taken
        # from insight's first hour on (``counting``)
        self.feedback_seen = np.zeros(0, dtype=np.int64)
        self.counting = np.zeros(1, dtype=bool)

    @property
    def norm(self) -> float:
        return float(self.values[NORM])

    @property
    def struggles(self) -> float:
        return float(self.values[STRUGGLES])

"""Life after discharge: a daily community model of every discharged client, and readmission.

Rules (docs/ODD.md, "Life after discharge: follow-up and readmission").  Every client who leaves the
unit (``completed``, ``dropout`` or ``transfer``: a transfer leaves this unit too, and what becomes of
the person afterwards is followed the same way) is followed for ``followup_days`` days, off the grid,
once a day (the ``followup`` phase, at 12:00), all people in follow-up at once in one compiled kernel.

At discharge each goal skill S_k is split into the part kept up by the person's own practice,
O_k = (1 - E) S_k, and the part kept up by tokens, K_k = E S_k (E = ``clients.external_share``).
The person carries their independence I, insight N, symptoms Y and support outside U (``clients.support``:
the profile's, raised by the plan's social work).  Each day d of the follow-up:

* aftercare: on days 0, 7, 14, ... the person is in aftercare for the coming week with
  probability ``aftercare_attendance``;
* use of skills: skill k is used today with probability
  ``u = min(1, practice_chance + practice_independence I + practice_insight N + aftercare_practice [in aftercare])``;
  a used skill is kept up; an unused one fades, O_k <- O_k exp(-1 / skill_disuse_days);
* tokens stop: nobody outside gives tokens, so every day K_k <- K_k exp(-1 / token_fade_days), used or not
  (the extinction of token-maintained behaviour once the reinforcer is withdrawn);
* buffer: B = 1 - (1 - followup_support_buffer U) (1 - followup_skill_buffer C), C = O_coping + K_coping;
  in a week of aftercare B <- B + aftercare_buffer (1 - B);
* symptoms: a stressor comes with probability
  ``followup_stress_rate (1 + transition_stress exp(-d / transition_days))`` (the first weeks out, when
  housing, money, routine and relationships are set up again, bring more) and raises Y by
  ``followup_stress_symptoms`` (1 - B); then Y <- Y - followup_recovery B Y (clipped to [0, 1]);
* relapse and readmission: a person with Y >= ``relapse_symptoms`` is referred back with probability
  ``readmission_chance`` that day, and joins the queue for beds (:func:`next_readmission`): when a
  bed's next admission is due, the longest-waiting referral is admitted before a new person.
  A referred person stays in the community model (their state goes on changing) until admitted.

Functioning outside = S (1 - Y) with S the mean skill (O + K over the three skills): the stay's
``outside_functioning`` is its value on day :data:`OUTSIDE_DAY` of the follow-up, or at readmission if
that came first (NaN while the follow-up is shorter: censored); ``outside_gain`` is that minus the same
quantity at admission.

A readmitted person comes back as the same person: the same ``client_id`` (the Mesa agent of the new stay
gets it), the same person number (``admission_number``) and stable traits (the profile arrays of
:data:`PROFILE_TRAITS` that exist), ``previous_stays`` one more; their skills, symptoms and external share
come from the community model (skills O + K, external share K / (O + K)), independence, self-control,
trust, insight and empathy are as they left, the token incentive has faded like the token-kept skill,
and agitation follows the admission rule from their symptoms
(``admission_agitation + admission_agitation_symptoms Y``).

Random draws: each follow-up draws its daily block (stressor, use of each skill, aftercare, readmission) day
after day from a generator keyed by the person's number and their stay count (stream ``aftercare``), kept as
its PCG64 state in compiled code (``keyed_draws.pcg64_uniform``), so the same person discharged under two policies
meets the same days outside.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.keyed_draws import pcg64_uniform, wrapping_products
from milieu_sim.model.processes.common import ParameterRecord, clipped
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import (
    AGITATION,
    BASELINE_TRUST,
    EMPATHY,
    EXTERNAL_SHARE,
    INCENTIVE,
    INDEPENDENCE,
    INSIGHT,
    SELF_CONTROL,
    SKILL_ROWS,
    STATE_VARIABLES,
    SYMPTOMS,
    TRUST,
)
from milieu_sim.model.streams import keyed_state

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

OWNS = Owns(
    parameters=(
        "followup_days",
        "followup_stress_rate",
        "followup_stress_symptoms",
        "transition_stress",
        "transition_days",
        "followup_support_buffer",
        "followup_skill_buffer",
        "followup_recovery",
        "aftercare_attendance",
        "aftercare_buffer",
        "aftercare_practice",
        "practice_chance",
        "practice_independence",
        "practice_insight",
        "skill_disuse_days",
        "token_fade_days",
        "relapse_symptoms",
        "readmission_chance",
        "admission_agitation",
        "admission_agitation_symptoms",
    ),
    reads=(
        "hour.step",
        "clients.skills",
        "clients.external_share",
        "clients.independence",
        "clients.insight",
        "clients.symptoms",
        "clients.support",
    ),
    writes=("clients.values", "clients.previous_stays", "clients.admission_number"),
    # one generator per follow-up, keyed by the person's number and stay count: a block of days x columns
    streams={"aftercare": ("stress", "use_coping", "use_social", "use_daily_living", "aftercare", "readmission")},
    columns=(
        "stays.previous_stays",
        "stays.days_to_readmission",
        "stays.followup_days",
        "stays.outside_functioning",
        "stays.outside_gain",
        "followup.client_id",
        "followup.exit_day",
        "followup.week",
        "followup.symptoms",
        "followup.skill",
        "followup.in_aftercare",
        "followup.readmitted",
    ),
)
# columns of a follow-up's daily block (OWNS.streams order)
STRESS, USE_COPING, USE_SOCIAL, USE_DAILY_LIVING, AFTERCARE, READMISSION = range(6)
USE = USE_COPING  # skill s is used today if its column USE + s is below the day's chance of use
N_DRAWS = 6
# rows of FollowUp.x: own (practice-kept) part of each skill, token-kept part, then the person's state outside
OWN, TOKEN = 0, 3
Y, IND, INS, SUP, FUNCTIONING = 6, 7, 8, 9, 10
N_ROWS = 11
# what happened to a follow-up today (bit flags the kernel returns)
REFERRED, OUTSIDE_DAY_REACHED, ENDED = 1, 2, 4
#: The day of follow-up at which the stay's ``outside_functioning`` is read (a measurement choice, not a quantity).
OUTSIDE_DAY = 90
#: The profile arrays a person keeps across stays (stable traits, and what they do to the kinds of incidents),
#: where the case mix provides them.
PROFILE_TRAITS = ("diagnosis", "detained", "violence_history", "self_harm_history", "support", "kind_factor")
#: State rows a readmitted person brings back as they left them (skills and symptoms come from the community model).
CARRIED = (SELF_CONTROL, TRUST, INDEPENDENCE, INSIGHT, EMPATHY)
#: Days per follow-up week (the `followup` table's rows).
WEEK = 7

PARAMETERS = ParameterRecord(
    OWNS.parameters,
    {name: float for name in OWNS.parameters if name not in ("followup_days",)} | {"followup_days": int},
)


@dataclass
class Person:
    """A discharged person, kept for their return: their number, stable traits and stays so far."""

    number: int
    traits: dict[str, Any] = field(default_factory=dict)
    stays: int = 1


class FollowUp:
    """Everyone in follow-up, in reusable follow-up slots (arrays for the kernel), the queue of referrals
    waiting for a bed, and the people who have left the unit (by ``client_id``)."""

    def __init__(self, days: int) -> None:
        self.days = max(int(days), 1)  # days of draws per follow-up
        self.cap = 0
        self.x = np.zeros((N_ROWS, 0))
        self.carried = np.zeros((len(STATE_VARIABLES), 0))  # the state row values at discharge
        self.generators = np.zeros((0, 4), dtype=np.uint64)  # each slot's aftercare generator (pcg64_uniform)
        self.client_id = np.zeros(0, dtype=np.int64)
        self.exit_step = np.zeros(0, dtype=np.int64)
        self.days_done = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self.waiting = np.zeros(0, dtype=bool)
        self.in_aftercare = np.zeros(0, dtype=bool)
        self.logged = np.zeros(0, dtype=bool)
        self.rows: list[dict[str, Any] | None] = []
        self.free: list[int] = []
        self.queue: deque[int] = deque()
        self.people: dict[int, Person] = {}
        self.rows_i = np.zeros((0, 4), dtype=np.int64)  # the day's `followup` rows (kernel output buffers)
        self.rows_f = np.zeros((0, 3))
        self.what = np.zeros(0, dtype=np.int64)

    def take_slot(self) -> int:
        if self.free:
            return self.free.pop()
        k = self.cap
        new = max(16, 2 * self.cap)
        grow = new - self.cap
        self.x = np.concatenate((self.x, np.zeros((N_ROWS, grow))), axis=1)
        self.carried = np.concatenate((self.carried, np.zeros((self.carried.shape[0], grow))), axis=1)
        self.generators = np.concatenate((self.generators, np.zeros((grow, 4), dtype=np.uint64)))
        for name in ("client_id", "exit_step", "days_done"):
            setattr(self, name, np.concatenate((getattr(self, name), np.zeros(grow, dtype=np.int64))))
        for name in ("live", "waiting", "in_aftercare", "logged"):
            setattr(self, name, np.concatenate((getattr(self, name), np.zeros(grow, dtype=bool))))
        self.rows.extend([None] * grow)
        self.free.extend(range(new - 1, k, -1))  # the lowest free slot is taken next
        self.rows_i = np.zeros((2 * new, 4), dtype=np.int64)
        self.rows_f = np.zeros((2 * new, 3))
        self.what = np.zeros(new, dtype=np.int64)
        self.cap = new
        return k

    def release(self, k: int) -> None:
        self.live[k] = self.waiting[k] = False
        self.rows[k] = None
        self.free.append(k)


def person_id(model: MilieuModel, number: int) -> int:
    """The ``client_id`` of the person with this number: staff ids come first (1 .. staff), then one id per
    person, so the k-th new person has the same id under every policy and keeps it when readmitted."""
    return int(model.staff.n + 1 + number)


# --- discharge: the follow-up starts -------------------------------------------------------------------
def start_followup(model: MilieuModel, slot: int, row: dict[str, Any]) -> None:
    """Start the follow-up of the client leaving ``slot`` (their stay's row is ``row``)."""
    c, p = model.clients, model.p
    f = model.followup
    client = int(c.client_id[slot])
    number = int(c.admission_number[slot])
    stays = int(c.previous_stays[slot]) + 1
    traits = {name: np.array(getattr(c, name)[..., slot]) for name in PROFILE_TRAITS if hasattr(c, name)}
    f.people[client] = Person(number, traits, stays)
    row["followup_days"] = 0.0  # days followed so far (update_stay_rows, follow_up, _end_by_readmission)
    if p["followup_days"] <= 0:
        return
    k = f.take_slot()
    keyed = model.streams.keyed
    logged = model.steps > model.clock_start  # the warm start's stays are not in the tables
    with wrapping_products():
        _enter(f.x, f.carried, f.generators, f.client_id, f.exit_step, f.days_done, f.live, f.waiting, f.in_aftercare,
               f.logged, k, c.values, c.support, slot, keyed.entropy_words, keyed.code("aftercare"), number, stays,
               client, model.steps, logged)  # fmt: skip
    f.rows[k] = row


@kernel
def _enter(x, carried, generators, client_id, exit_step, days_done, live, waiting, in_aftercare, logged, k, values,
           support, slot, entropy, code, number, stays, client, step, is_logged):  # fmt: skip
    """Follow-up slot ``k`` takes the client leaving bed slot ``slot``: the state rows as they leave (``carried``),
    the community model's rows (module docstring) OWN and TOKEN (each goal skill split by the external share E,
    clipped to [0, 1]: (1 - E) S and E S), Y, IND, INS, SUP, and FUNCTIONING not yet known (NaN); the aftercare
    generator's starting state, that of ``stream(seed, "aftercare", number, stays)`` (``entropy``: the run's words,
    ``code``: the name's, streams.keyed_state); who, when, no day done, live, not waiting, not in aftercare."""
    carried[:, k] = values[:, slot]
    e = clipped(values[EXTERNAL_SHARE, slot], 0.0, 1.0)
    for s in range(3):  # the goal skills (SKILL_ROWS)
        x[OWN + s, k] = (1.0 - e) * values[s, slot]
        x[TOKEN + s, k] = e * values[s, slot]
    x[Y, k], x[IND, k], x[INS, k] = values[SYMPTOMS, slot], values[INDEPENDENCE, slot], values[INSIGHT, slot]
    x[SUP, k], x[FUNCTIONING, k] = support[slot], np.nan
    generators[k, :] = keyed_state(entropy, code, np.array([number, stays], dtype=np.int64))
    client_id[k], exit_step[k], days_done[k] = client, step, 0
    live[k], waiting[k], in_aftercare[k], logged[k] = True, False, False, is_logged


# --- the daily step ------------------------------------------------------------------------------------
def follow_up(model: MilieuModel) -> None:
    """One day of everyone in follow-up (rules in the module docstring), in the hour of the community model's day."""
    follow_up_day(model, model.steps)


def follow_up_day(model: MilieuModel, step: int) -> None:
    """The follow-up day whose hour is ``step``: what :func:`follow_up` does in that hour.

    It writes only the follow-up's own arrays, the readmission queue, the stays' rows and the `followup` log, which
    no compiled part and not the hour's counts read, and reads nothing they write; so a quiet run of hours goes
    through the follow-up's hour and this runs right after it, with that hour's step, before anything else runs
    from Python (``follow_up.later``; ``schedule.QuietPlan.later``).  The same days, the same tables."""
    f = model.followup
    if not f.live.any():
        return
    with wrapping_products():
        n_rows, flagged = _follow(
            f.x,
            f.generators,
            f.days,
            f.client_id,
            f.exit_step,
            f.days_done,
            f.live,
            f.waiting,
            f.in_aftercare,
            f.logged,
            step,
            PARAMETERS(model.p),
            f.rows_i,
            f.rows_f,
            f.what,
        )
    if n_rows:
        _log(model, f.rows_i[:n_rows].copy(), f.rows_f[:n_rows].copy())  # the log keeps what it is given
    for k in flagged.tolist():  # in slot order (each slot's referral, outcome, end are its own)
        what = int(f.what[k])
        if what & REFERRED:
            f.queue.append(k)
        if what & OUTSIDE_DAY_REACHED:
            _outside_outcome(f.rows[k], float(f.x[FUNCTIONING, k]))
        if what & ENDED:
            row = f.rows[k]
            if row is not None:
                row["followup_days"] = float(model.p["followup_days"])
            f.release(k)


follow_up.later = follow_up_day  # type: ignore[attr-defined]  # may be done after a quiet run (schedule.QuietPlan)


def _outside_outcome(row: dict[str, Any] | None, functioning: float) -> None:
    if row is None or math.isfinite(row["outside_functioning"]):
        return
    row["outside_functioning"] = functioning
    row["outside_gain"] = functioning - row["skill_at_admission"] * (1.0 - row["symptoms_at_admission"])


def _log(model: MilieuModel, ints: np.ndarray, floats: np.ndarray) -> None:
    """Append rows to the `followup` log: ints (client_id, week, in_aftercare, readmitted),
    floats (exit step, symptoms, skill)."""
    model.records.followup.add_rows(ints, floats)


@kernel
def _follow(x, generators, days, client_id, exit_step, days_done, live, waiting, in_aftercare, logged, step,
            parameters, rows_i, rows_f, what):  # fmt: skip
    """One day of follow-up for every live follow-up slot (module docstring); fills the day's `followup` rows
    and, per slot, bit flags of what happened (referred, day OUTSIDE_DAY reached, follow-up ended).  Each day of a
    slot takes the next N_DRAWS uniforms of its generator (``generators[k]``, :func:`pcg64_uniform`), for at most
    ``days`` days.  Returns the number of rows and the slots with a flag, in slot order."""
    q = parameters[0]
    horizon = min(q.followup_days, days)
    u = np.empty(N_DRAWS)
    disuse = np.exp(-1.0 / q.skill_disuse_days)
    fade = np.exp(-1.0 / q.token_fade_days)
    n = 0
    for k in range(live.size):
        what[k] = 0
        if not live[k]:
            continue
        elapsed = (step - exit_step[k]) // 24
        while days_done[k] < elapsed and days_done[k] < horizon:
            d = days_done[k]
            for j in range(N_DRAWS):
                u[j] = pcg64_uniform(generators, k)
            if d % 7 == 0:
                in_aftercare[k] = u[AFTERCARE] < q.aftercare_attendance
            care = 1.0 if in_aftercare[k] else 0.0
            use = q.practice_chance + q.practice_independence * x[IND, k] + q.practice_insight * x[INS, k]
            use = min(1.0, use + care * q.aftercare_practice)
            for s in range(3):
                x[TOKEN + s, k] *= fade
                if u[USE + s] >= use:
                    x[OWN + s, k] *= disuse
            coping = x[OWN, k] + x[TOKEN, k]
            buffer = 1.0 - (1.0 - q.followup_support_buffer * x[SUP, k]) * (1.0 - q.followup_skill_buffer * coping)
            buffer += care * q.aftercare_buffer * (1.0 - buffer)
            transition = 1.0 + q.transition_stress * np.exp(-d / q.transition_days)
            if u[STRESS] < q.followup_stress_rate * transition:
                x[Y, k] += q.followup_stress_symptoms * (1.0 - buffer)
            x[Y, k] -= q.followup_recovery * buffer * x[Y, k]
            x[Y, k] = min(1.0, max(0.0, x[Y, k]))
            if not waiting[k] and x[Y, k] >= q.relapse_symptoms and u[READMISSION] < q.readmission_chance:
                waiting[k] = True
                what[k] |= REFERRED
            days_done[k] += 1
            skill = 0.0
            for s in range(3):
                skill += x[OWN + s, k] + x[TOKEN + s, k]
            skill /= 3.0
            if days_done[k] == OUTSIDE_DAY:
                x[FUNCTIONING, k] = skill * (1.0 - x[Y, k])
                what[k] |= OUTSIDE_DAY_REACHED
            if logged[k] and days_done[k] % 7 == 0 and n < rows_i.shape[0]:
                rows_i[n, 0], rows_i[n, 1] = client_id[k], days_done[k] // 7
                rows_i[n, 2], rows_i[n, 3] = 1 if in_aftercare[k] else 0, 0
                rows_f[n, 0], rows_f[n, 1], rows_f[n, 2] = exit_step[k], x[Y, k], skill
                n += 1
        if days_done[k] >= horizon and not waiting[k]:
            what[k] |= ENDED
    return n, np.flatnonzero(what)


# --- readmission ----------------------------------------------------------------------------------------
def next_readmission(model: MilieuModel) -> int | None:
    """The follow-up slot of the longest-waiting referral, taken off the queue (None when nobody waits)."""
    f = model.followup
    if not f.queue:
        return None
    return f.queue.popleft()


def admit_person(model: MilieuModel, slot: int, returning: int | None) -> None:
    """Who the admission in ``slot`` is: a new person (no earlier stays) or, for a referral from follow-up
    slot ``returning``, the same person as before (rules in the module docstring)."""
    c, p = model.clients, model.p
    if returning is None:
        c.previous_stays[slot] = 0
        return
    f = model.followup
    k = returning
    client = int(f.client_id[k])
    person = f.people[client]
    model.admissions -= 1  # the new person drawn for this bed was not admitted: their number stays free
    c.admission_number[slot] = person.number
    c.previous_stays[slot] = person.stays
    for name, value in person.traits.items():
        getattr(c, name)[..., slot] = value
    days = (model.steps - int(f.exit_step[k])) / 24.0
    x, carried, v = f.x[:, k], f.carried[:, k], c.values
    for row in CARRIED:  # as they left; the other rows are fresh, as for any admission
        v[row, slot] = carried[row]
    own, token = x[OWN : OWN + 3], x[TOKEN : TOKEN + 3]
    v[SKILL_ROWS, slot] = np.clip(own + token, 0.01, 0.99)
    total = float((own + token).sum())
    v[EXTERNAL_SHARE, slot] = float(token.sum()) / total if total > 0 else 0.0
    v[INCENTIVE, slot] = carried[INCENTIVE] * math.exp(-days / p["token_fade_days"])
    v[SYMPTOMS, slot] = min(0.99, max(0.01, float(x[Y])))
    agitation = p["admission_agitation"] + p["admission_agitation_symptoms"] * v[SYMPTOMS, slot]
    v[AGITATION, slot] = min(0.99, max(0.01, agitation))
    v[BASELINE_TRUST, slot] = v[TRUST, slot]
    _end_by_readmission(model, k, days)


def _end_by_readmission(model: MilieuModel, k: int, days: float) -> None:
    """Close a follow-up at readmission: the stay's row learns when, the `followup` log gets the week's row."""
    f, p = model.followup, model.p
    row = f.rows[k]
    within = days <= p["followup_days"]
    skill = float((f.x[OWN : OWN + 3, k] + f.x[TOKEN : TOKEN + 3, k]).mean())
    if row is not None:
        row["days_to_readmission"] = days if within else math.nan
        row["followup_days"] = days if within else float(p["followup_days"])
        if int(f.days_done[k]) < OUTSIDE_DAY:
            _outside_outcome(row, skill * (1.0 - float(f.x[Y, k])))
    if f.logged[k] and within:
        week = int(f.days_done[k]) // WEEK + 1
        ints = np.array([[f.client_id[k], week, int(f.in_aftercare[k]), 1]], dtype=np.int64)
        floats = np.array([[float(f.exit_step[k]), float(f.x[Y, k]), skill]])
        _log(model, ints, floats)
    f.release(k)


def update_stay_rows(model: MilieuModel) -> None:
    """Bring the `followup_days` of the stays still in follow-up up to date (days followed so far)."""
    f = model.followup
    limit = float(model.p["followup_days"])
    for k in np.flatnonzero(f.live).tolist():
        row = f.rows[k]
        if row is not None:
            row["followup_days"] = min((model.steps - int(f.exit_step[k])) / 24.0, limit)


def waiting_count(model: MilieuModel) -> int:
    """How many referrals from follow-up wait for a bed (the readmission queue)."""
    return len(model.followup.queue)

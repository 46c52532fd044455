"""Life after discharge (processes.aftercare): follow-up, relapse, readmission as the same person, censoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel
from milieu_sim.experiments.outcomes import MeasuredRun, measure
from milieu_sim.model.agents import Client
from milieu_sim.model.processes import aftercare, flow
from milieu_sim.model.processes.aftercare import OWN, SUP, TOKEN, Y
from milieu_sim.model.records import TABLE_COLUMNS
from milieu_sim.model.streams import KeyedGenerator


def ward(n: int = 4, **parameters) -> MilieuModel:
    return MilieuModel(rng=5, n_clients=n, **parameters)


def follow_days(model: MilieuModel, days: int) -> None:
    """Let ``days`` days pass for everyone in follow-up (the ward itself does not run): the discharges move back
    one day and the daily step runs."""
    f = model.followup
    for _ in range(days):
        f.exit_step[f.live] -= 24
        aftercare.follow_up(model)


def slot_of(model: MilieuModel, client_id: int) -> int:
    f = model.followup
    return int(np.flatnonzero(f.live & (f.client_id == client_id))[0])


def skill_outside(model: MilieuModel, k: int) -> float:
    x = model.followup.x
    return float((x[OWN : OWN + 3, k] + x[TOKEN : TOKEN + 3, k]).mean())


def test_a_readmitted_client_is_the_same_person_with_one_more_stay():
    model = ward(4, readmission_chance=1.0)
    c = model.clients
    c.diagnosis[0], c.detained[0], c.violence_history[0], c.support[0] = 2, True, True, 0.35
    person, number = int(c.client_id[0]), int(c.admission_number[0])
    flow.exit_client(model, 0, "completed")
    k = slot_of(model, person)
    model.followup.x[Y, k] = 0.95  # relapsed outside
    follow_days(model, 2)
    assert list(model.followup.queue) == [k]  # referred back, waiting for a bed
    new_people = model.admissions
    flow.exit_client(model, 1, "dropout")  # a bed falls free: the waiting readmission comes before a new person
    agent = flow.admit_client(model, 1)
    assert agent.unique_id == person and int(c.client_id[1]) == person
    assert agent in model.agents_by_type[Client] and agent.cell is model.cells[int(c.bed[1])]
    assert int(c.admission_number[1]) == number and model.admissions == new_people  # no new person's number used
    assert (c.diagnosis[1], c.detained[1], c.violence_history[1], c.support[1]) == (2, True, True, 0.35)
    assert c.previous_stays[1] == 1 and c.previous_stays[2] == 0
    assert c.symptoms[1] == pytest.approx(min(0.99, model.followup.x[Y, k]), abs=0.2)  # state from outside
    stays = model.tables()["stays"]
    mine = stays[stays["client_id"] == person]
    assert list(mine["previous_stays"]) == [0, 1]
    first = mine.iloc[0]
    assert first["days_to_readmission"] == pytest.approx(2.0)
    assert first["followup_days"] == pytest.approx(2.0)
    # the next new person still gets the next number, and ids never collide
    newcomer = flow.admit_client(model, 0)
    assert int(c.admission_number[0]) == new_people and newcomer.unique_id != person


def test_the_kth_new_person_is_the_same_under_every_policy():
    runs = [MilieuModel(rng=9, policy=policy, days=40).run().tables()["stays"]
            for policy in ("usual_care", "therapeutic_milieu")]  # fmt: skip
    new = [s[s["previous_stays"] == 0].set_index("admission_number") for s in runs]
    common = new[0].index.intersection(new[1].index)
    assert len(common) > 20
    for column in ("client_id", "skill_at_admission", "symptoms_at_admission"):
        assert (new[0].loc[common, column] == new[1].loc[common, column]).all()


def test_a_discharge_ten_days_before_the_end_is_censored_not_counted_as_no_readmission():
    model = ward(4, readmission_chance=0.0, days=30)
    for _ in range(20 * 24):
        model.step()
    leaver = int(model.clients.client_id[0])
    flow.exit_client(model, 0, "completed")
    for _ in range(10 * 24):
        model.step()
    stays = model.tables()["stays"]
    row = stays[stays["client_id"] == leaver].iloc[0]
    assert row["followup_days"] == pytest.approx(10.0)
    assert math.isnan(row["days_to_readmission"])
    followed = MeasuredRun(model.tables()).followed(30.0)
    assert leaver not in set(followed["client_id"])  # left out of the 30-day share, not a "no"


def test_readmission_shares_leave_censored_follow_ups_out():
    stays = pd.DataFrame(
        {
            "client_id": [1, 2, 3, 4],
            "exit_reason": pd.Categorical(["completed", "dropout", "transfer", "completed"]),
            "exit_day": [50.0, 60.0, 95.0, 10.0],
            "followup_days": [40.0, 10.0, 3.0, 100.0],
            "days_to_readmission": [math.nan, math.nan, 3.0, math.nan],
        }
    )
    steps = pd.DataFrame({"step": [100 * 24], "day": [99]})
    run = MeasuredRun({"stays": stays, "steps": steps})
    # client 2 was followed 10 days only: unknown, not "not readmitted"; client 3 was readmitted on day 3
    assert set(run.followed(30.0)["client_id"]) == {1, 3, 4}
    assert run.followed(30.0)["days_to_readmission"].le(30).mean() == pytest.approx(1 / 3)
    assert set(run.followed(90.0)["client_id"]) == {3, 4}


def test_a_token_kept_skill_fades_outside_where_a_practised_one_lasts():
    model = ward(2, practice_chance=1.0, followup_stress_rate=0.0)
    c = model.clients
    c.skills[:, :] = 0.6
    c.external_share[:] = [1.0, 0.0]  # all kept up by tokens / all by the client's own practice
    ids = [int(i) for i in c.client_id]
    for slot in (0, 1):
        flow.exit_client(model, slot, "completed")
    tokens, practice = slot_of(model, ids[0]), slot_of(model, ids[1])
    follow_days(model, 60)
    assert skill_outside(model, practice) == pytest.approx(0.6)
    assert skill_outside(model, tokens) < 0.6 * math.exp(-60 / model.p["token_fade_days"]) + 1e-9
    # unused, a self-kept skill fades too, but slowly (use it or lose it)
    unused = ward(1, practice_chance=0.0, practice_independence=0.0, practice_insight=0.0, followup_stress_rate=0.0,
                  aftercare_attendance=0.0)  # fmt: skip
    unused.clients.skills[:, 0], unused.clients.external_share[0] = 0.6, 0.0
    flow.exit_client(unused, 0, "completed")
    follow_days(unused, 60)
    kept = skill_outside(unused, 0)
    assert skill_outside(model, tokens) < kept < 0.6


def referrals(support: float, aftercare_attendance: float, n: int = 20) -> int:
    """How many of n identical people (same state, the same fixed draws) are referred back within 90 days."""
    model = ward(n, readmission_chance=1.0, aftercare_attendance=aftercare_attendance)
    c = model.clients
    c.skills[:, :], c.external_share[:], c.symptoms[:], c.independence[:], c.insight[:] = 0.4, 0.3, 0.4, 0.4, 0.0
    for slot in range(n):
        flow.exit_client(model, slot, "completed")
    f = model.followup
    fixed = KeyedGenerator(77)
    live = np.flatnonzero(f.live)
    f.generators[live] = [fixed.words("fixed", person) for person in range(live.size)]  # different for each person
    f.x[SUP, live] = support
    follow_days(model, 90)
    return len(f.queue)


def test_support_and_aftercare_lower_relapse():
    low, high = referrals(0.1, 0.0), referrals(0.9, 0.0)
    assert high < low
    assert referrals(0.1, 1.0) < low


def test_the_followup_table_has_one_row_per_person_per_week():
    model = MilieuModel(rng=3, days=120, readmission_chance=0.0)
    model.run()
    tables = model.tables()
    rows, stays = tables["followup"], tables["stays"]
    assert tuple(rows.columns) == TABLE_COLUMNS["followup"]
    assert rows.groupby(["client_id", "exit_day", "week"]).size().max() == 1
    ended = stays[stays["exit_reason"] != "still_present"]
    assert len(ended) > 20
    for _, stay in ended.iterrows():
        weeks = rows[(rows["client_id"] == stay["client_id"]) & np.isclose(rows["exit_day"], stay["exit_day"])]
        complete = int(stay["followup_days"] // 7)
        assert list(weeks["week"]) == list(range(1, len(weeks) + 1))
        assert complete - 1 <= len(weeks) <= complete
    assert not rows["readmitted"].any()


def test_readmission_outcomes_are_measured_and_the_outside_outcome_comes_from_follow_up():
    model = MilieuModel(rng=4, days=150)
    model.run()
    tables = model.tables()
    values = measure(tables, 20, ["readmission_30d", "readmission_90d", "outside_functioning", "bed_days_per_year"])
    assert 0.0 <= values["readmission_30d"] <= values["readmission_90d"] <= 1.0
    stays = tables["stays"]
    ended = stays[stays["exit_reason"] != "still_present"]
    known = ended["outside_functioning"].notna()
    # known only once followed 90 days or readmitted sooner
    assert (ended.loc[known, "followup_days"].ge(90) | ended.loc[known, "days_to_readmission"].notna()).all()
    assert ended.loc[~known, "followup_days"].lt(90).all()
    assert stays.loc[stays["exit_reason"] == "still_present", "followup_days"].isna().all()

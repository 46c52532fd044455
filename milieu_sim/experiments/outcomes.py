"""Summary outcomes of one run, computed from its tidy tables (never from model internals).

Each outcome is declared once in :data:`OUTCOMES` with its meaning; the run
summary (``summary.json``), the policy comparison and later sweeps all use
:func:`summarise`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

OUTCOMES: dict[str, str] = {
    "conflict_per_shift": "conflict events (aggression, self-harm, absconding, rule refusal) per nursing shift",
    "containment_per_shift": "containment events (PRN, special observation, time-out, seclusion, restraint) "
    "per nursing shift",
    "isolation_hours_per_day": "client-hours in seclusion per day",
    "skill_gain": "mean goal-skill gain from admission to exit, over stays that ended",
    "completion_share": "share of ended stays that completed treatment",
    "dropout_share": "share of ended stays that ended in dropout",
    "transfer_share": "share of ended stays that ended in transfer (stay limit reached)",
    "median_stay_days": "median length of ended stays (days)",
    "early_dropout_share": "share of admissions in the run that dropped out within 7 days",
    "violent_client_share": "share of clients with at least one physical aggression during their stay",
    "mean_trust": "mean trust over all hours",
    "mean_independence": "mean independence over all hours",
    "mean_independence_at_exit": "mean independence at exit, over stays that ended",
    "outside_functioning": "mean estimated functioning outside at exit, over stays that ended",
    "feedback_per_client_day": "affirmations and corrections sent per client-day",
    "peer_feedback_share": "share of feedback sent by peers",
}


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else math.nan


def summarise(tables: dict[str, pd.DataFrame], warmup_days: int = 0) -> dict[str, float]:
    """The summary outcomes (see :data:`OUTCOMES`) of one run's tables.

    Hours and shifts before ``warmup_days`` are left out of the rates; stays
    count if they ended after the warm-up.
    """
    steps = tables["steps"]
    shifts = tables["shifts"]
    stays = tables["stays"]
    feedback = tables["feedback"]
    steps = steps[steps["day"] >= warmup_days]
    shifts = shifts[shifts["day"] >= warmup_days]
    ended = stays[(stays["exit_reason"] != "still_present") & (stays["exit_day"] >= warmup_days)]
    days = max(len(steps) / 24.0, 1e-9)
    admitted = stays[stays["admitted_day"] >= warmup_days]
    client_days = float(steps["census"].sum()) / 24.0
    feedback = feedback[feedback["step"] > warmup_days * 24]
    return {
        "conflict_per_shift": float(shifts["conflict_events"].mean()) if len(shifts) else math.nan,
        "containment_per_shift": float(shifts["containment_events"].mean()) if len(shifts) else math.nan,
        "isolation_hours_per_day": float(steps["n_isolated"].sum()) / days,
        "skill_gain": float((ended["skill_at_exit"] - ended["skill_at_admission"]).mean()) if len(ended) else math.nan,
        "completion_share": _share(ended["exit_reason"] == "completed"),
        "dropout_share": _share(ended["exit_reason"] == "dropout"),
        "transfer_share": _share(ended["exit_reason"] == "transfer"),
        "median_stay_days": float(ended["length_of_stay_days"].median()) if len(ended) else math.nan,
        "early_dropout_share": _share(
            (admitted["exit_reason"] == "dropout") & (admitted["length_of_stay_days"] <= 7.0)
        ),
        "violent_client_share": _share(stays["violent_incidents"] > 0),
        "mean_trust": float(steps["mean_trust"].mean()) if len(steps) else math.nan,
        "mean_independence": float(steps["mean_independence"].mean()) if len(steps) else math.nan,
        "mean_independence_at_exit": float(ended["independence_at_exit"].mean()) if len(ended) else math.nan,
        "outside_functioning": float(ended["outside_functioning"].mean()) if len(ended) else math.nan,
        "feedback_per_client_day": float(len(feedback)) / client_days if client_days else math.nan,
        "peer_feedback_share": _share(feedback["sender_role"] == "client"),
    }


def finite(values: dict[str, float]) -> dict[str, float | None]:
    """NaN -> None, for JSON."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}

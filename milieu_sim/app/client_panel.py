"""The client panel: who a client is (their profile), their treatment plan and the plan's reviews.

:func:`client_panel` gathers the content from the model (``casemix.profile_of``, ``planning.plan_summary``,
``planning.plan_history``; for a client who has left, the profile from their `stays` row) and
:func:`client_panel_html` writes it as HTML; the page's clicked-client details and "A client's stay" show it.
Pure functions of the model: tested without a browser.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from milieu_sim.model.casemix import profile_of
from milieu_sim.model.processes.planning import plan_history, plan_summary

#: How many of the latest plan reviews the panel lists (the page of a stay lists them all).
RECENT_REVIEWS = 8


def client_panel(model: Any, client_id: int) -> dict[str, Any] | None:
    """The panel's content for one client, or None if the run has never had them.

    ``profile``: diagnosis, legal status, risk histories, support outside (and ``where``: on the unit, at home
    or left); ``plan``: the current plan's goals and parts (goal, role, target, current value, status), empty
    once the client has left; ``reviews``: the `plans` table rows of the client (day, goal, target, status,
    change, reason), oldest first.
    """
    agent = next((a for a in model.clients_present if a.unique_id == client_id), None)
    reviews = plan_history(model, client_id)
    if agent is not None:
        profile = profile_of(model, agent.slot)
        profile["where"] = "on the unit" if model.clients.cell[agent.slot] >= 0 else "at home"
        plan = plan_summary(model, agent.slot)
    else:
        stays = model.records.stays
        row = next((s for s in reversed(stays) if s["client_id"] == client_id), None)
        if row is None and reviews.empty:
            return None
        profile = {"client_id": int(client_id), "where": "left"}
        if row is not None:
            legal = "detained" if row.get("detained") else "voluntary"
            profile.update(diagnosis=row.get("diagnosis"), legal_status=legal)
        plan = []
    return {"client_id": int(client_id), "profile": profile, "plan": plan, "reviews": reviews}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return html.escape(str(value).replace("_", " "))


def client_panel_html(content: dict[str, Any] | None, reviews: int | None = RECENT_REVIEWS) -> str:
    """The panel as HTML: a profile line, the plan's table and the last ``reviews`` reviews (None: all)."""
    if content is None:
        return '<div class="client-panel">No record of this client.</div>'
    profile = content["profile"]
    labels = (
        ("diagnosis", "diagnosis"),
        ("legal_status", "legal status"),
        ("violence_history", "history of violence"),
        ("self_harm_history", "history of self-harm"),
        ("support", "support outside"),
        ("where", "now"),
    )
    facts = "".join(
        f"<tr><td>{label}</td><td>{_number(profile[key])}</td></tr>" for key, label in labels if key in profile
    )
    parts = [f'<div class="client-panel"><b>Profile</b><table class="client-profile">{facts}</table>']
    plan = content["plan"]
    if plan:
        rows = "".join(
            f"<tr><td>{_number(r['goal'])}</td><td>{_number(r['role'])}</td><td>{_number(r['target'])}</td>"
            f"<td>{_number(r['current'])}</td><td>{_number(r['status'])}</td></tr>"
            for r in plan
        )
        parts.append(
            '<b>Plan</b><table class="client-plan"><tr><th>goal or part</th><th>who</th><th>target</th>'
            f"<th>now</th><th>status</th></tr>{rows}</table>"
        )
    elif profile.get("where") == "left":
        parts.append("<div>The stay has ended: the plan's history is below.</div>")
    history: pd.DataFrame = content["reviews"]
    shown = history if reviews is None else history.tail(reviews)
    if len(shown):
        rows = "".join(
            f"<tr><td>{int(r.day)}</td><td>{_number(r.goal)}</td><td>{_number(float(r.target))}</td>"
            f"<td>{_number(r.status)}</td><td>{_number(r.change)}</td><td>{_number(r.reason)}</td></tr>"
            for r in shown.itertuples()
        )
        title = "Plan reviews" if reviews is None or len(history) <= reviews else f"Last {len(shown)} plan reviews"
        parts.append(
            f'<b>{title}</b> ({len(history)} in all)<table class="client-reviews"><tr><th>day</th><th>goal</th>'
            f"<th>target</th><th>status</th><th>change</th><th>reason</th></tr>{rows}</table>"
        )
    else:
        parts.append("<div>No plan review yet.</div>")
    parts.append("</div>")
    return "".join(parts)

"""The peer-feedback network: who affirms and corrects whom, from the ``feedback`` table.

Every row of the ``feedback`` table (docs/outputs.md) is one affirmation or
correction sent by a client (peer feedback) or a staff member to a client.
Over a run these rows form a directed, weighted graph: an edge ``sender ->
receiver`` carries how many affirmations and corrections went that way.  This
module builds that graph with networkx and summarises it; it reads only the
tidy tables, never the model's internals.

    from milieu_sim import MilieuModel
    from milieu_sim.analysis import network

    tables = MilieuModel(policy="therapeutic_milieu", rng=1, days=60).run().tables()
    graph = network.feedback_graph(tables["feedback"], peers_only=True)
    network.reciprocity(graph)                       # share of ties that are returned
    network.feedback_balance(tables["feedback"], tables["stays"])   # per client: sent and received
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from milieu_sim.experiments.outcomes import stay_admitted_day

KINDS: tuple[str, ...] = ("affirmation", "correction")
BALANCE_COLUMNS: tuple[str, ...] = (
    "client_id",
    "affirmations_sent",
    "corrections_sent",
    "affirmations_received",
    "corrections_received",
    "sent",
    "received",
)


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {table} table has no column(s) {', '.join(missing)} (see docs/outputs.md)")


def feedback_graph(feedback: pd.DataFrame, peers_only: bool = False, kind: str | None = None) -> nx.DiGraph:
    """The feedback of a run as a directed graph: one node per person, one edge per sender -> receiver pair.

    Nodes have the attribute ``role`` (``"client"`` or ``"staff"``).  Edges have
    ``affirmations`` and ``corrections`` (counts) and ``weight`` (their sum).
    ``peers_only`` keeps only client -> client feedback; ``kind`` (``"affirmation"``
    or ``"correction"``) keeps only that kind of feedback.  Feedback given in public by a community meeting
    (``sender_role`` ``"community"``) is no tie between two people and is left out.
    """
    _check_columns(feedback, ("sender_id", "receiver_id", "sender_role", "kind"), "feedback")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind = {kind!r} is not allowed; allowed: None or one of {', '.join(KINDS)}")
    rows = feedback[feedback["sender_role"].astype(str) != "community"]
    if peers_only:
        rows = rows[rows["sender_role"].astype(str) == "client"]
    if kind is not None:
        rows = rows[rows["kind"].astype(str) == kind]
    graph = nx.DiGraph()
    for receiver in pd.unique(rows["receiver_id"]):
        graph.add_node(int(receiver), role="client")
    senders = rows.drop_duplicates("sender_id")
    for sender, role in zip(senders["sender_id"], senders["sender_role"].astype(str), strict=True):
        graph.add_node(int(sender), role=role)
    if len(rows):
        counts = (
            rows.assign(kind=rows["kind"].astype(str))
            .groupby(["sender_id", "receiver_id", "kind"], observed=True)
            .size()
            .unstack("kind", fill_value=0)
            .reindex(columns=list(KINDS), fill_value=0)
        )
        for (sender, receiver), row in counts.iterrows():
            affirmations, corrections = int(row["affirmation"]), int(row["correction"])
            graph.add_edge(
                int(sender),
                int(receiver),
                affirmations=affirmations,
                corrections=corrections,
                weight=affirmations + corrections,
            )
    return graph


def reciprocity(graph: nx.DiGraph) -> float:
    """Share of the graph's ties that are returned: edges u -> v for which v -> u also exists.

    NaN for a graph without edges.  (The same as :func:`networkx.overall_reciprocity`.)
    """
    if graph.number_of_edges() == 0:
        return math.nan
    returned = sum(1 for u, v in graph.edges if graph.has_edge(v, u))
    return returned / graph.number_of_edges()


def network_summary(graph: nx.DiGraph) -> dict[str, float]:
    """Size and shape of a feedback graph: people, ties, density, reciprocity, feedback per tie."""
    edges = graph.number_of_edges()
    weights = [w for _, _, w in graph.edges(data="weight", default=1)]
    return {
        "people": graph.number_of_nodes(),
        "senders": sum(1 for n in graph if graph.out_degree(n) > 0),
        "receivers": sum(1 for n in graph if graph.in_degree(n) > 0),
        "ties": edges,
        "density": nx.density(graph) if graph.number_of_nodes() > 1 else math.nan,
        "reciprocity": reciprocity(graph),
        "feedback_per_tie": sum(weights) / edges if edges else math.nan,
    }


def feedback_balance(
    feedback: pd.DataFrame, stays: pd.DataFrame | None = None, peers_only: bool = True
) -> pd.DataFrame:
    """Per client (stay): affirmations and corrections sent to peers and received, one row per client.

    Clients who appear in ``stays`` but sent and received nothing get a row of
    zeros.  With ``stays``, the row also has the stay's ``length_of_stay_days``
    and ``exit_reason``, and ``sent_per_day`` and ``received_per_day``.
    ``peers_only`` (default) counts received feedback from peers only; sent
    feedback is always peer feedback (staff are not clients).
    """
    _check_columns(feedback, ("sender_id", "receiver_id", "sender_role", "kind"), "feedback")
    kind = feedback["kind"].astype(str)
    from_client = feedback["sender_role"].astype(str) == "client"
    received_rows = feedback[from_client] if peers_only else feedback
    received_kind = kind[from_client] if peers_only else kind

    def count(ids: pd.Series, kinds: pd.Series, which: str) -> pd.Series:
        return ids[kinds == which].value_counts()

    sent_ids, sent_kind = feedback.loc[from_client, "sender_id"], kind[from_client]
    parts = {
        "affirmations_sent": count(sent_ids, sent_kind, "affirmation"),
        "corrections_sent": count(sent_ids, sent_kind, "correction"),
        "affirmations_received": count(received_rows["receiver_id"], received_kind, "affirmation"),
        "corrections_received": count(received_rows["receiver_id"], received_kind, "correction"),
    }
    ids = set(feedback.loc[from_client, "sender_id"]) | set(received_rows["receiver_id"])
    if stays is not None:
        _check_columns(stays, ("client_id", "length_of_stay_days", "exit_reason"), "stays")
        ids |= set(stays["client_id"])
    index = pd.Index(sorted(int(i) for i in ids), name="client_id")
    balance = pd.DataFrame({name: counts.reindex(index, fill_value=0) for name, counts in parts.items()}, index=index)
    balance = balance.fillna(0).astype("int64")
    balance["sent"] = balance["affirmations_sent"] + balance["corrections_sent"]
    balance["received"] = balance["affirmations_received"] + balance["corrections_received"]
    balance = balance.reset_index()[list(BALANCE_COLUMNS)]
    if stays is not None:
        # a readmitted person has several stays under one id: their days on the unit add up, the last exit counts
        stay = stays.groupby("client_id", sort=False).agg(
            length_of_stay_days=("length_of_stay_days", "sum"), exit_reason=("exit_reason", "last")
        )
        balance = balance.join(stay, on="client_id")
        days = balance["length_of_stay_days"].where(balance["length_of_stay_days"] > 0)
        balance["sent_per_day"] = balance["sent"] / days
        balance["received_per_day"] = balance["received"] / days
    return balance


def feedback_over_stay(
    feedback: pd.DataFrame, stays: pd.DataFrame, bin_days: float = 7.0, peers_only: bool = True
) -> pd.DataFrame:
    """Feedback sent and received per client-day, by time since admission (bins of ``bin_days``).

    A feedback row given in hour ``step`` happened ``max(0, (step - 1) / 24 - admitted_day)``
    days into the receiver's stay (and into the sender's, for peer feedback; an act in the hour of
    admission, whose ``admitted_day`` is ``step / 24``, is day 0).
    The exposure of each bin is the client-days that stays spent in it within
    the run (the initial cohort, admitted before the run started, counts only
    from day 0).  Columns: ``stay_day`` (start of the bin), ``client_days``,
    ``sent``, ``received``, ``sent_per_client_day``, ``received_per_client_day``.
    """
    _check_columns(feedback, ("step", "sender_id", "receiver_id", "sender_role"), "feedback")
    _check_columns(stays, ("client_id", "admitted_day", "length_of_stay_days"), "stays")
    if bin_days <= 0:
        raise ValueError(f"bin_days = {bin_days!r} is not allowed; allowed: a number > 0")
    rows = feedback[feedback["sender_role"].astype(str) == "client"] if peers_only else feedback
    when = (rows["step"].to_numpy(dtype=float) - 1.0) / 24.0
    # the stay each row fell in (a readmitted person has several stays under one id), looked up on the clock of
    # `admitted_day` (a stay admitted in hour s has admitted_day s / 24); an act in the hour of admission is day 0
    end_of_hour = pd.Series(rows["step"].to_numpy(dtype=float) / 24.0)
    received_day = np.maximum(0.0, when - stay_admitted_day(stays, rows["receiver_id"], end_of_hour))
    peer_rows = rows["sender_role"].astype(str).to_numpy() == "client"
    sender_admitted = stay_admitted_day(stays, rows["sender_id"][peer_rows], end_of_hour[peer_rows])
    sent_day = np.maximum(0.0, when[peer_rows] - sender_admitted)
    start = np.maximum(0.0, -stays["admitted_day"].to_numpy(dtype=float))
    end = stays["length_of_stay_days"].to_numpy(dtype=float)
    last = max(float(np.nanmax(end)) if len(end) else 0.0, float(np.nanmax(received_day, initial=0.0)))
    n_bins = max(1, math.ceil((last + 1e-9) / bin_days))
    edges = np.arange(n_bins + 1) * bin_days
    exposure = np.clip(
        np.minimum(end[:, None], edges[None, 1:]) - np.maximum(start[:, None], edges[None, :-1]), 0, None
    )
    sent = np.histogram(sent_day[np.isfinite(sent_day)], bins=edges)[0]
    received = np.histogram(received_day[np.isfinite(received_day)], bins=edges)[0]
    client_days = np.nansum(exposure, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame(
            {
                "stay_day": edges[:-1],
                "client_days": client_days,
                "sent": sent,
                "received": received,
                "sent_per_client_day": np.where(client_days > 0, sent / client_days, np.nan),
                "received_per_client_day": np.where(client_days > 0, received / client_days, np.nan),
            }
        )
    return frame


__all__ = [
    "BALANCE_COLUMNS",
    "KINDS",
    "feedback_balance",
    "feedback_graph",
    "feedback_over_stay",
    "network_summary",
    "reciprocity",
]

"""The peer-feedback network, on hand-made feedback tables with known answers and on one model run."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel
from milieu_sim.analysis import network


def _feedback(rows: list[tuple[int, int, int, str, str]]) -> pd.DataFrame:
    """A feedback table from (step, sender, receiver, sender_role, kind) tuples, typed as in tables()."""
    frame = pd.DataFrame(rows, columns=["step", "sender_id", "receiver_id", "sender_role", "kind"])
    frame["sender_role"] = pd.Categorical(frame["sender_role"], categories=["client", "staff"])
    frame["kind"] = pd.Categorical(frame["kind"], categories=["affirmation", "correction"])
    return frame


# Clients 10, 11, 12; staff member 1.  10 <-> 11 is returned, 10 -> 12 is not; staff 1 -> 12.
FEEDBACK = _feedback(
    [
        (1, 10, 11, "client", "affirmation"),
        (2, 10, 11, "client", "correction"),
        (3, 11, 10, "client", "affirmation"),
        (4, 10, 12, "client", "affirmation"),
        (5, 1, 12, "staff", "correction"),
    ]
)
STAYS = pd.DataFrame(
    {
        "client_id": [10, 11, 12, 13],
        "admitted_day": [-2.0, 0.0, 0.0, 0.1],
        "length_of_stay_days": [2.5, 0.5, 1.0, 0.2],
        "exit_reason": ["completed", "still_present", "dropout", "dropout"],
    }
)


def test_feedback_graph_counts_each_kind_on_each_edge_and_marks_roles():
    graph = network.feedback_graph(FEEDBACK)
    assert set(graph.nodes) == {1, 10, 11, 12}
    assert graph.nodes[1]["role"] == "staff" and graph.nodes[12]["role"] == "client"
    assert graph.edges[10, 11] == {"affirmations": 1, "corrections": 1, "weight": 2}
    assert graph.edges[1, 12] == {"affirmations": 0, "corrections": 1, "weight": 1}
    assert graph.number_of_edges() == 4
    assert sum(w for _, _, w in graph.edges(data="weight")) == len(FEEDBACK)


def test_feedback_graph_filters_peers_and_kinds():
    peers = network.feedback_graph(FEEDBACK, peers_only=True)
    assert 1 not in peers and peers.number_of_edges() == 3
    corrections = network.feedback_graph(FEEDBACK, kind="correction")
    assert set(corrections.edges) == {(10, 11), (1, 12)}
    with pytest.raises(ValueError, match="kind"):
        network.feedback_graph(FEEDBACK, kind="praise")


def test_reciprocity_is_the_share_of_returned_ties_and_matches_networkx():
    graph = network.feedback_graph(FEEDBACK, peers_only=True)  # 10->11, 11->10, 10->12
    assert network.reciprocity(graph) == pytest.approx(2 / 3)
    assert network.reciprocity(graph) == pytest.approx(nx.overall_reciprocity(graph))
    assert math.isnan(network.reciprocity(nx.DiGraph()))


def test_network_summary_of_a_known_graph():
    summary = network.network_summary(network.feedback_graph(FEEDBACK))
    assert summary["people"] == 4 and summary["ties"] == 4
    assert summary["senders"] == 3 and summary["receivers"] == 3
    assert summary["feedback_per_tie"] == pytest.approx(5 / 4)
    assert summary["density"] == pytest.approx(4 / (4 * 3))


def test_feedback_balance_counts_sent_and_received_per_client():
    balance = network.feedback_balance(FEEDBACK, STAYS).set_index("client_id")
    assert list(balance.index) == [10, 11, 12, 13]  # 13 sent and received nothing but had a stay
    assert balance.loc[10, ["affirmations_sent", "corrections_sent", "sent"]].tolist() == [2, 1, 3]
    assert balance.loc[10, "received"] == 1
    assert balance.loc[12, "received"] == 1  # the staff correction is left out: peers only
    assert balance.loc[13, ["sent", "received"]].tolist() == [0, 0]
    assert balance.loc[10, "sent_per_day"] == pytest.approx(3 / 2.5)
    everyone = network.feedback_balance(FEEDBACK, peers_only=False).set_index("client_id")
    assert everyone.loc[12, "corrections_received"] == 1 and 1 not in everyone.index


def test_feedback_over_stay_puts_feedback_on_the_stay_clock_and_divides_by_exposure():
    frame = network.feedback_over_stay(FEEDBACK, STAYS, bin_days=1.0)
    # Client 10 (admitted day -2, so 2 days into the stay at step 1) sent three and received one;
    # clients 11 and 12 (admitted day 0) received three on their first day.
    assert frame["stay_day"].tolist() == [0.0, 1.0, 2.0]
    assert frame["received"].tolist() == [3, 0, 1]
    assert frame["sent"].tolist() == [1, 0, 3]
    # Exposure within the run: 10 from stay day 2 to 2.5; 11 0-0.5; 12 0-1; 13 0-0.2.
    assert np.allclose(frame["client_days"], [1.7, 0.0, 0.5])
    assert frame["received_per_client_day"].iloc[0] == pytest.approx(3 / 1.7)
    assert math.isnan(frame["sent_per_client_day"].iloc[1])
    with pytest.raises(ValueError, match="bin_days"):
        network.feedback_over_stay(FEEDBACK, STAYS, bin_days=0)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="sender_role"):
        network.feedback_graph(FEEDBACK.drop(columns="sender_role"))


def test_network_of_a_model_run_agrees_with_its_tables():
    tables = MilieuModel(policy="therapeutic_milieu", rng=2, days=20).run().tables()
    feedback, stays = tables["feedback"], tables["stays"]
    graph = network.feedback_graph(feedback)
    between_people = feedback[feedback["sender_role"] != "community"]  # a meeting's public feedback is no tie
    assert sum(w for _, _, w in graph.edges(data="weight")) == len(between_people)
    assert 0.0 <= network.reciprocity(graph) <= 1.0
    balance = network.feedback_balance(feedback, stays).set_index("client_id")
    own = stays.groupby("client_id")[["feedback_sent", "affirmations_received", "corrections_received"]].sum()
    assert (balance["sent"] == own.loc[balance.index, "feedback_sent"]).all()
    everyone = network.feedback_balance(feedback, stays, peers_only=False).set_index("client_id")
    received = own.loc[everyone.index, "affirmations_received"] + own.loc[everyone.index, "corrections_received"]
    assert (everyone["received"] == received).all()
    over_stay = network.feedback_over_stay(feedback, stays)
    peer_rows = int((feedback["sender_role"] == "client").sum())
    assert over_stay["received"].sum() == peer_rows and over_stay["sent"].sum() == peer_rows

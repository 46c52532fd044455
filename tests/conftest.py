"""Shared fixtures: small hand-built wards and deterministic random streams."""

from __future__ import annotations

import numpy as np
import pytest

from milieu_sim import MilieuModel


class FixedStream:
    """Stands in for a numpy Generator: every uniform is ``value`` (or taken from ``table``)."""

    def __init__(self, value: float = 0.5, table: np.ndarray | None = None, normal: float = 0.0) -> None:
        self.value = value
        self.table = table
        self.normal_value = normal

    def random(self, size=None):
        if self.table is not None:
            return np.broadcast_to(self.table, size).copy()
        return np.full(size, self.value)

    def standard_normal(self, size=None):
        return np.full(size, self.normal_value)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return np.full(size, loc + scale * self.normal_value)


@pytest.fixture
def small_ward():
    """A built (not yet stepped) default ward with 6 clients, seed 1."""
    return MilieuModel(rng=1, n_clients=6)


def advance_clock(model: MilieuModel, hours: int) -> None:
    """Step the model ``hours`` hours."""
    for _ in range(hours):
        model.step()


def set_clock(model: MilieuModel, step: int) -> None:
    """Put the model's clock at ``step`` (1-based) without running processes, and prepare the hour."""
    model.steps = step
    model._clock()

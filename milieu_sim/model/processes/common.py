"""Rules and helpers that several processes share (docs/ODD.md, "Submodels").

Each rule here is written once and called by every process that uses it:

* :func:`mean_skill`: a client's skill, the mean of the three goal skills.
* :func:`practise_skills`: skill practice (a reinforcement, an affirmation): the
  trained skill rises by ``g (1 - S)``, or outside a training activity each of
  the three by ``g / 3 (1 - S_k)``.
* :func:`recent_antecedent`: what staff or peers did to a client within the
  antecedent window (``antecedent_window_hours``), else ``none``.
* :func:`write_event`: one row of the ``events`` log.
* :func:`occupancy`: who is in which cell (to find the people around someone without scanning the ward).
* :func:`place`: the same as lists kept in scratch arrays (:func:`places`), O(people) an hour on a ward of many
  cells (:func:`unplace` clears them).
* :func:`numpy_sum`: a sum in compiled code that equals numpy's ``sum`` to the last bit.

Finding the nearest on-duty staff member is ``movement.nearest_on_duty``;
starting a seclusion is ``isolation.seclude``.

A process hands its parameters to its kernel as one read-only record
(:class:`ParameterRecord`): ``q = record[0]``, then ``q.interaction_rate``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.state import NO_ANTECEDENT

_DTYPE = {float: np.float64, int: np.int64, bool: np.bool_}
_CACHE_SIZE = 256


class ParameterRecord:
    """The parameters one process's rule reads, as a read-only one-element record array.

    ``reads`` are the schema names taken from ``model.p``; ``fields`` the record's
    fields and their types (the schema values themselves, and quantities derived
    from them by ``derive``, which is given the values read and returns every
    field).  Records are built once per combination of values and reused, and a run's
    parameters (``model.p``, a :class:`~milieu_sim.model.params.RunParameters`) that have
    not changed since the last call give the last record at once.
    """

    def __init__(
        self,
        reads: tuple[str, ...],
        fields: Mapping[str, type],
        derive: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    ) -> None:
        self.reads = reads
        self._values_read = itemgetter(*reads) if len(reads) > 1 else lambda p: (p[reads[0]],)
        self.fields = tuple(fields)
        self.dtype = np.dtype((np.record, [(name, _DTYPE[kind]) for name, kind in fields.items()]))
        self.derive = derive
        self._cache: dict[tuple, np.ndarray] = {}
        self._last_key: tuple | None = None
        self._last_record = np.zeros(0)
        self._last_p: Mapping[str, Any] | None = None
        self._last_version: int | None = None

    def __call__(self, p: Mapping[str, Any]) -> np.ndarray:
        version = getattr(p, "version", None)  # a run's parameters count their changes (params.RunParameters)
        if version is not None and p is self._last_p and version == self._last_version:
            return self._last_record  # the usual case: the same run's parameters, unchanged since last hour
        self._last_p, self._last_version = p, version
        key = self._values_read(p)
        if key == self._last_key:  # the same values as last time
            return self._last_record
        record = self._cache.get(key)
        if record is None:
            values = dict(zip(self.reads, key, strict=True))
            if self.derive is not None:
                values = dict(self.derive(values))
            record = np.array([tuple(values[name] for name in self.fields)], dtype=self.dtype)
            record.flags.writeable = False
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = record
        self._last_key, self._last_record = key, record
        return record


@kernel(inline=True)
def mean_skill(x, i):
    """Client i's skill: the mean of the three goal skills, (S_coping + S_social + S_daily) / 3."""
    return (x[0, i] + x[1, i] + x[2, i]) / 3.0


@kernel(inline=True)
def practise_skills(x, i, trains, gain):
    """Practice raises the skill the activity trains (row ``trains``) by gain (1 - S); outside a training
    activity (trains < 0) each of the three goal skills by gain / 3 (1 - S_k).  Returns the total rise."""
    if trains >= 0:
        change = gain * (1.0 - x[trains, i])
        x[trains, i] += change
        return change
    s0 = gain / 3.0 * (1.0 - x[0, i])
    s1 = gain / 3.0 * (1.0 - x[1, i])
    s2 = gain / 3.0 * (1.0 - x[2, i])
    x[0, i] += s0
    x[1, i] += s1
    x[2, i] += s2
    return s0 + s1 + s2


@kernel
def recent_antecedent(antecedent, antecedent_step, i, step, window):
    """What preceded client i's act: the last antecedent if it was at most ``window`` hours ago, else none."""
    return antecedent[i] if step - antecedent_step[i] <= window else NO_ANTECEDENT


@kernel(inline=True)
def write_event(events, row, step, client, staff, kind, severity, antecedent, outcome):
    """Write one row of the events log (``records.EVENT_COLUMNS`` order): no target (``none``, -1) and no
    witnesses; an incident's target and witnesses are written over them by escalation."""
    events[row, 0], events[row, 1], events[row, 2], events[row, 3] = step, client, staff, kind
    events[row, 4], events[row, 5], events[row, 6] = severity, antecedent, outcome
    events[row, 7], events[row, 8], events[row, 9] = 0, -1, 0


@kernel(inline=True)
def clipped(value, low, high):
    """One number clipped to [low, high], as NumPy's ``clip`` gives it (NaN stays NaN, -0.0 stays -0.0)."""
    return low if value < low else high if value > high else value


@kernel
def occupancy(cells, n_cells):
    """Who is in which cell, as (start, members): the indices whose cell is c are members[start[c]:start[c + 1]],
    in index order (cells < 0, off the grid, are left out).  A pass over every cell: for a few cells (movement's
    blocks of staff); the people in the ward's cells are listed with :func:`place`, which passes over the people
    only."""
    start = np.zeros(n_cells + 1, dtype=np.int64)
    for k in range(cells.size):
        if cells[k] >= 0:
            start[cells[k] + 1] += 1
    for c in range(n_cells):
        start[c + 1] += start[c]
    members = np.empty(start[n_cells], dtype=np.int64)
    fill = start[:n_cells].copy()
    for k in range(cells.size):
        c = cells[k]
        if c >= 0:
            members[fill[c]] = k
            fill[c] += 1
    return start, members


def places(n_cells: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scratch arrays for :func:`place` (a part's input, kept between hours): each cell's first member (all -1:
    nobody), each index's next member in its cell, each index's cell as placed."""
    return np.full(n_cells, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)


@kernel(inline=True)
def place(cells, scratch):
    """Who is in which cell, as lists in ``scratch`` (:func:`places`, empty as :func:`unplace` leaves it):
    ``first[c]`` the lowest index in cell c (-1: nobody), ``following[k]`` the next index in k's cell (-1: the
    last), in index order, as :func:`occupancy` orders them (cells < 0 left out).  Costs a pass over ``cells``,
    not over the ward's cells."""
    first, following, placed = scratch
    for k in range(cells.size - 1, -1, -1):  # backwards, so that each cell's list runs in index order
        c = cells[k]
        placed[k] = c
        if c >= 0:
            following[k] = first[c]
            first[c] = k


@kernel(inline=True)
def unplace(scratch):
    """Empty the lists :func:`place` filled (the cells as placed), for the next hour."""
    first, placed = scratch[0], scratch[2]
    for k in range(placed.size):
        if placed[k] >= 0:
            first[placed[k]] = -1
            placed[k] = -1


@kernel(inline=True)
def numpy_sum(a):
    """The sum of the float64 array ``a`` as numpy sums it, to the last bit (``a.sum()``, a pairwise summation):
    blocks of at most 128 numbers (:func:`_block_sum`), the sum of more the sum of its halves, split at a
    multiple of 8 (numpy recurses; a recursive kernel cannot be cached, so the halves wait on a stack here)."""
    if a.size <= 128:  # one block (what the stack below comes to, without its arrays)
        return _block_sum(a, 0, a.size)
    depth = 128  # enough for 2^60 numbers: each split leaves at most two more entries
    starts, sizes = np.empty(depth, dtype=np.int64), np.empty(depth, dtype=np.int64)
    joins = np.zeros(depth, dtype=np.bool_)  # the entry adds the two sums on top of ``sums``
    sums = np.empty(depth)
    starts[0], sizes[0] = 0, a.size
    top, n_sums = 1, 0
    while top > 0:
        top -= 1
        start, n = starts[top], sizes[top]
        if joins[top]:
            n_sums -= 1
            sums[n_sums - 1] = sums[n_sums - 1] + sums[n_sums]
        elif n <= 128:
            sums[n_sums] = _block_sum(a, start, n)
            n_sums += 1
        else:
            half = n // 2
            half -= half % 8
            joins[top] = True  # after both halves: left + right
            starts[top + 1], sizes[top + 1], joins[top + 1] = start + half, n - half, False
            starts[top + 2], sizes[top + 2], joins[top + 2] = start, half, False
            top += 3
    return sums[0]


@kernel
def _block_sum(a, start, n):
    """numpy's sum of at most 128 float64 (``a[start:start + n]``): a plain loop below 8 numbers, else eight
    running sums added pairwise, then the rest."""
    if n < 8:
        total = -0.0
        for k in range(start, start + n):
            total += a[k]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    k = 8
    while k < n - n % 8:
        b = start + k
        r0, r1, r2, r3 = r0 + a[b], r1 + a[b + 1], r2 + a[b + 2], r3 + a[b + 3]
        r4, r5, r6, r7 = r4 + a[b + 4], r5 + a[b + 5], r6 + a[b + 6], r7 + a[b + 7]
        k += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < n:
        total += a[start + k]
        k += 1
    return total

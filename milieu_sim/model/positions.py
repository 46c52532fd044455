"""Mesa's view of where everyone is, brought in step with the model's arrays when something reads it.

The model keeps positions in arrays (``clients.cell``, ``staff.cell``: a cell
index, -1 off the grid) and its processes read and write only those.  Mesa's
view of the same positions is the agents' ``cell`` and the grid's cells with
their agents.  Keeping that view in step every hour costs a Python call per
agent that moved, which nobody needs while the model runs hour after hour
unread.  So the processes only say that someone moved
(:meth:`MesaPositions.moved`), and the Mesa view is brought in step,
for the agents whose cell index changed since, the first time anything reads
it:

* an agent's ``cell`` or ``pos`` (:class:`milieu_sim.model.agents.Client`, ``Staff``),
* a cell's ``agents``, ``is_empty``, ``is_full``, ``empty``, ``neighborhood``,
  ``get_neighborhood`` (:class:`WardCell`),
* the grid's ``agents``, ``all_cells``, ``empties``, ``select_random_empty_cell``,
  iteration over its cells and its property layers (``grid.empty``) (:class:`WardGrid`).

The app's drawing, a policy's hooks, a phase of one's own and Mesa's own tools
all read through these, so they see the agents where the arrays say they are.
Moving a Mesa agent by hand (``agent.cell = cell``) does not move the person in
the model: positions are the model's (``clients.cell``), and the next read puts
the agent back where the arrays say.  What Mesa hands out as an object and
keeps a reference to (a ``CellCollection``, a ``PropertyLayer``) is brought in
step when it is handed out; ask the grid again in a later hour.  The order of
the agents within one cell's list is the order in which Mesa saw them arrive.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from mesa.discrete_space import Cell, OrthogonalMooreGrid
from mesa.discrete_space.cell_agent import HasCell

if TYPE_CHECKING:
    from mesa.discrete_space import CellAgent

    from milieu_sim.model.model import MilieuModel

#: Mesa's own setter of an agent's cell (adds it to the new cell's list, takes it off the old one's).
_place = HasCell.cell.fset


class MesaPositions:
    """Where Mesa last put each client slot's and each staff member's agent (cell index, -1 off the grid)."""

    def __init__(self, model: MilieuModel, n_slots: int, n_staff: int) -> None:
        self.model = model
        self.clients = np.full(n_slots, -1, dtype=np.int64)
        self.staff = np.full(n_staff, -1, dtype=np.int64)
        self.behind = False  # whether the arrays may have moved someone since Mesa's view was last brought in step

    def moved(self) -> None:
        """The processes changed ``clients.cell`` or ``staff.cell``: Mesa's view is brought in step when next read."""
        self.behind = True

    def new_client(self, slot: int) -> None:
        """A new agent in a bed slot (admission): Mesa has it off the grid until its view is brought in step."""
        self.clients[slot] = -1
        self.behind = True

    def bring_in_step(self) -> None:
        """Move the Mesa agents whose cell index in the arrays differs from where Mesa has them (only those)."""
        if not self.behind:
            return
        self.behind = False  # (Mesa's own setter below reads cells: this keeps it from coming back here)
        model = self.model
        cells = model.cells
        for where, arrays, agents in (
            (self.clients, model.clients.cell, model.client_agents),
            (self.staff, model.staff.cell, model.staff_agents),
        ):
            for k in np.flatnonzero(arrays != where).tolist():
                index = int(arrays[k])
                agent = agents[k]
                if agent is not None:
                    _place(agent, cells[index] if index >= 0 else None)
                where[k] = index

    def take_off_grid(self, agent: CellAgent) -> None:
        """Take one agent off the grid (it leaves the model), leaving the others as Mesa has them for now."""
        behind, self.behind = self.behind, False  # Mesa's own setter reads cells: do not bring them in step now
        try:
            _place(agent, None)
        finally:
            self.behind = behind

    def placed_client(self, slot: int, agent: CellAgent) -> None:
        """Mesa's own setter put a client's agent in a cell (``agent.cell = ...``): note where Mesa has it."""
        if self.model.client_agents[slot] is agent:
            self.clients[slot] = where = self._index(agent)
            self.behind |= where != self.model.clients.cell[slot]  # moved by hand: back at the next read

    def placed_staff(self, index: int, agent: CellAgent) -> None:
        """Mesa's own setter put a staff member's agent in a cell: note where Mesa has it."""
        self.staff[index] = where = self._index(agent)
        self.behind |= where != self.model.staff.cell[index]

    def _index(self, agent: CellAgent) -> int:
        cell = HasCell.cell.fget(agent)
        return -1 if cell is None else self.model.plan.height * cell.coordinate[0] + cell.coordinate[1]


def _in_step(cell: Cell) -> None:
    reference = type(cell).positions
    positions = reference() if reference is not None else None
    if positions is not None:
        positions.bring_in_step()


class WardCell(Cell):
    """A Mesa cell of the ward: reading who is in it first brings Mesa's view in step (module docstring)."""

    __slots__ = ()
    # a weak reference, set on the grid's own cell class: Mesa keeps its cell classes alive, and a strong one
    # would keep every finished model alive with them (a leak of a whole model per run)
    positions: weakref.ReferenceType[MesaPositions] | None = None

    @property
    def agents(self) -> list[CellAgent]:
        """The agents in the cell (Mesa's ``Cell.agents``), in step with the arrays."""
        _in_step(self)
        return Cell.agents.fget(self)  # type: ignore[attr-defined]

    @property
    def is_empty(self) -> bool:
        """Whether nobody is in the cell (Mesa's ``Cell.is_empty``), in step with the arrays."""
        _in_step(self)
        return Cell.is_empty.fget(self)  # type: ignore[attr-defined]

    @property
    def is_full(self) -> bool:
        """Whether the cell is at capacity (Mesa's ``Cell.is_full``), in step with the arrays."""
        _in_step(self)
        return Cell.is_full.fget(self)  # type: ignore[attr-defined]

    @property
    def neighborhood(self):
        """The neighbouring cells (Mesa's ``Cell.neighborhood``), their agents in step with the arrays."""
        _in_step(self)
        return Cell.neighborhood.fget(self)  # type: ignore[attr-defined]

    def get_neighborhood(self, radius: int = 1, include_center: bool = False):
        """Mesa's ``Cell.get_neighborhood``, its agents in step with the arrays."""
        _in_step(self)
        return Cell.get_neighborhood(self, radius, include_center)

    get_neighborhood.cache_clear = Cell.get_neighborhood.cache_clear  # type: ignore[attr-defined]  # Mesa clears it


#: The offsets of a cell's Moore neighbours, in the order Mesa's OrthogonalMooreGrid connects them.
MOORE_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


class WardGrid(OrthogonalMooreGrid):
    """Mesa's Moore grid of the ward, whose reads bring Mesa's view in step with the arrays (module docstring)."""

    def __init__(self, dimensions: tuple[int, int], positions: MesaPositions, **kwargs: Any) -> None:
        self._positions = None  # not until the cells exist
        super().__init__(dimensions, cell_klass=WardCell, **kwargs)
        cell_class = self.cell_klass  # Mesa's subclass of WardCell for this grid only
        cell_class.positions = reference = weakref.ref(positions)
        empty = cell_class.empty  # Mesa's accessor of the "empty" layer, set on this grid's cell class

        def empty_in_step(cell: Cell) -> bool:
            alive = reference()
            if alive is not None:
                alive.bring_in_step()
            return empty.fget(cell)

        cell_class.empty = property(
            empty_in_step, empty.fset, doc="Whether the cell is empty, in step with the arrays."
        )
        self._positions = positions

    def _connect_cells_2d(self) -> None:
        """Mesa's Moore connections (each cell to its neighbours on the grid, keyed by offset, in Mesa's order),
        made in one pass: Mesa's own loop clears a cell's neighbourhood cache at each of its 8 connections, about
        half the cost of building a model.  ``tests/test_mesa_views.py`` checks them against Mesa's."""
        if self.torus:
            super()._connect_cells_2d()
            return
        cells = self._cells
        height, width = self.dimensions
        for (i, j), cell in cells.items():
            connections = cell.connections
            for di, dj in MOORE_OFFSETS:
                ni, nj = i + di, j + dj
                if 0 <= ni < height and 0 <= nj < width:
                    connections[di, dj] = cells[ni, nj]
            cell._clear_cache()

    def _in_step(self) -> None:
        positions = self.__dict__.get("_positions")
        if positions is not None:
            positions.bring_in_step()

    @property
    def agents(self):
        """Every agent on the grid (Mesa's ``agents``), in step with the arrays."""
        self._in_step()
        return super().agents

    @property
    def all_cells(self):
        """Every cell, with its agents (Mesa's ``all_cells``), in step with the arrays."""
        self._in_step()
        return super().all_cells

    @property
    def empties(self):
        """The empty cells (Mesa's ``empties``), in step with the arrays."""
        self._in_step()
        return super().empties

    def select_random_empty_cell(self) -> Cell:
        """Mesa's ``select_random_empty_cell``, in step with the arrays."""
        self._in_step()
        return super().select_random_empty_cell()

    def __iter__(self):
        self._in_step()
        return super().__iter__()

    def __getattr__(self, name: str) -> Any:
        # property layers (``grid.empty``, ``grid.zone``) are looked up here, as in Mesa's grid
        if not name.startswith("__"):
            self._in_step()
        return super().__getattr__(name)

"""Routine and movement: where each person is this hour.

Rules (docs/ODD.md, "Routine and movement"):

* At the start of each routine block (and at every shift change) each client
  who is not already in the block's zone goes to a cell of it: their own bed for sleep and bedroom
  hygiene, the activity's room for meals, and for a structured activity with
  probability ``P(attend) = structure * (0.6 + 0.4 * trust)``; a client who does
  not attend, and every client in free time, picks a free-time zone (day room
  0.55, corridor 0.15, quiet room 0.10, own bed 0.20).  Clients in time-out are
  in the quiet room, secluded clients in the seclusion room, and in a day
  programme's ``away`` hours clients are off the grid.
* Meals, bedroom hygiene, community meetings, therapy groups and recreation are
  attended by everyone present (structured ones only with the probability
  above).
* Within a block an awake client who is not attending a meal or activity
  tries, with probability 0.3 per hour, to step to one of the eight
  neighbouring cells chosen at random, and stays put if that cell is a wall
  or in another zone; so do on-duty staff (but the one at the nurses' station) outside
  structured activities.
* On-duty staff: the first on duty is at the nurses' station; the others go
  to the activity's zone (the corridor when the activity is in the bedrooms;
  at night the nurses' station and corridor), unless they are in that zone
  already.
* Clients under special observation are always observed: their observer is
  the nearest on-duty staff member, wherever they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from milieu_sim.ward import ZONE_CODE

if TYPE_CHECKING:
    from milieu_sim.model import MilieuModel

WANDER = 0.3


def _nonzero(mask: np.ndarray) -> np.ndarray:
    return mask.nonzero()[0]


FREE_ZONES = (("day_room", 0.55), ("corridor", 0.15), ("quiet_room", 0.10), ("bedroom", 0.20))
BEDROOM = ZONE_CODE["bedroom"]
NURSES = ZONE_CODE["nurses_station"]
CORRIDOR = ZONE_CODE["corridor"]
QUIET = ZONE_CODE["quiet_room"]
SECLUSION = ZONE_CODE["seclusion_room"]
DAY_ROOM = ZONE_CODE["day_room"]


def zone_table(model: MilieuModel) -> tuple[np.ndarray, np.ndarray]:
    """(padded cell table per zone code, number of cells per zone)."""
    cache = model._cell_cache
    if "zone_table" not in cache:
        plan = model.plan
        n_zones = max(ZONE_CODE.values()) + 1
        width = max(len(cells) for cells in plan.zone_cells.values())
        table = np.zeros((n_zones, width), dtype=np.int64)
        sizes = np.ones(n_zones, dtype=np.int64)
        for code, cells in plan.zone_cells.items():
            table[code, : len(cells)] = cells
            sizes[code] = len(cells)
        cache["zone_table"], cache["zone_sizes"] = table, sizes
        cache["has_zone"] = np.isin(np.arange(n_zones), list(plan.zone_cells))
        free = [(ZONE_CODE[z], share) for z, share in FREE_ZONES if ZONE_CODE[z] in plan.zone_cells]
        codes = np.array([code for code, _ in free])
        shares = np.array([share for _, share in free])
        cache["free_codes"], cache["free_cum"] = codes, np.cumsum(shares) / shares.sum()
    return cache["zone_table"], cache["zone_sizes"]


def random_cells(model: MilieuModel, zones: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniformly random cell of each given zone, from uniforms ``u``."""
    table, sizes = zone_table(model)
    return table[zones, (u * sizes[zones]).astype(np.int64)]


def change_shift(model: MilieuModel) -> None:
    """Hand over to the staff of the new shift: only they are on the grid."""
    s = model.staff
    s.on_duty[:] = s.shift == model.hour.shift
    for i in _nonzero(~s.on_duty & (s.cell >= 0)).tolist():
        s.cell[i] = -1
        model.staff_agents[i].cell = None


def start_first_shift(model: MilieuModel) -> None:
    """Before the first hour, the early shift is on the ward, at the nurses' station (no random draws)."""
    s = model.staff
    s.on_duty[:] = s.shift == 0
    station = model.plan.zone_cells.get(NURSES, model.plan.zone_cells[CORRIDOR])
    for k, i in enumerate(np.flatnonzero(s.on_duty).tolist()):
        s.cell[i] = station[k % station.size]
        model.staff_agents[i].cell = model.cells[s.cell[i]]


def move(model: MilieuModel) -> None:
    """Place clients and staff for this hour (rules in the module docstring)."""
    h = model.hour
    c = model.clients
    s = model.staff
    p = model.p
    n = c.n
    if not h.new_block and not h.awake:
        return  # asleep, nobody moves
    uc = model.streams["movement"].random((n, 4))
    us = model.streams["staff_movement"].random((s.n, 4))
    table, sizes = zone_table(model)
    old_client_cells = c.cell.copy()
    old_staff_cells = s.cell.copy()
    free_codes, free_cum = model._cell_cache["free_codes"], model._cell_cache["free_cum"]
    mobile = c.present & ~c.isolated
    in_time_out = mobile & (c.time_out_until > h.step)
    if h.away:
        c.cell[mobile] = -1
    elif h.new_block:
        if h.kind in ("sleep",) or (h.kind == "hygiene" and h.zone == BEDROOM):
            target = c.bed.copy()
            c.attending[:] = mobile & (h.kind == "hygiene")
        else:
            if h.structured:
                attend = uc[:, 0] < p["structure"] * (0.6 + 0.4 * c.trust)
            elif h.kind in ("meal", "hygiene", "community_meeting", "therapy_group", "recreation"):
                attend = np.ones(n, dtype=bool)
            else:
                attend = np.zeros(n, dtype=bool)
            c.attending[:] = attend & mobile
            choice = np.minimum(np.searchsorted(free_cum, uc[:, 1], side="right"), len(free_codes) - 1)
            free_zone = free_codes[choice]
            zones = np.where(attend, h.zone, free_zone)
            target = table[zones, (uc[:, 2] * sizes[zones]).astype(np.int64)]
            target = np.where(zones == BEDROOM, c.bed, target)
        # only those not already where they should be move (a new block in the same room keeps people put)
        zone_now = model.plan.zone_of(np.maximum(c.cell, 0))
        misplaced = mobile & (
            (c.cell < 0) | np.where(target == c.bed, c.cell != c.bed, zone_now != model.plan.zone_of(target))
        )
        c.cell[misplaced] = target[misplaced]
    else:
        # people sit through meals and structured activities; the others wander within their zone
        wander = mobile & ~c.attending & (uc[:, 3] < WANDER) & (c.cell >= 0)
        if wander.any():
            idx = wander.nonzero()[0]
            k = (uc[idx, 2] * 8).astype(np.int64)
            c.cell[idx] = model.plan.same_zone_neighbours[c.cell[idx], k]
    if in_time_out.any() and not h.away:
        idx = _nonzero(in_time_out & (model.plan.zone_of(np.maximum(c.cell, 0)) != QUIET))
        if idx.size:
            zone = QUIET if QUIET in model.plan.zone_cells else BEDROOM
            c.cell[idx] = random_cells(model, np.full(idx.size, zone), uc[idx, 2])
    _place_staff(model, us, table, sizes)
    sync_cells(model, old_client_cells, old_staff_cells)


def _place_staff(model: MilieuModel, us: np.ndarray, table: np.ndarray, sizes: np.ndarray) -> None:
    h = model.hour
    s = model.staff
    on = _nonzero(s.on_duty)
    if on.size == 0:
        return
    if h.new_block:
        if h.awake:
            zones = np.full(on.size, h.zone if h.zone != BEDROOM else CORRIDOR)
        else:
            zones = np.where(us[on, 0] < 0.5, NURSES, CORRIDOR)
        zones[0] = NURSES
        zones = np.where(model._cell_cache["has_zone"][zones], zones, CORRIDOR)
        target = table[zones, (us[on, 1] * sizes[zones]).astype(np.int64)]
        cells = s.cell[on]
        misplaced = (cells < 0) | (model.plan.zone_of(np.maximum(cells, 0)) != zones)
        s.cell[on[misplaced]] = target[misplaced]
    elif not h.structured:
        wander = on[(us[on, 2] < WANDER) & (s.cell[on] >= 0)]
        wander = wander[wander != on[0]]
        if wander.size:
            k = (us[wander, 3] * 8).astype(np.int64)
            s.cell[wander] = model.plan.same_zone_neighbours[s.cell[wander], k]


def sync_cells(model: MilieuModel, old_client_cells: np.ndarray, old_staff_cells: np.ndarray) -> None:
    """Move the Mesa agents whose cell index changed (only those)."""
    cells = model.cells
    c, s = model.clients, model.staff
    moved = _nonzero(c.cell != old_client_cells)
    agents = model.client_agents
    for slot, index in zip(moved.tolist(), c.cell[moved].tolist(), strict=True):
        agent = agents[slot]
        if agent is not None:
            agent.cell = cells[index] if index >= 0 else None
    moved = _nonzero(s.cell != old_staff_cells)
    for i, index in zip(moved.tolist(), s.cell[moved].tolist(), strict=True):
        model.staff_agents[i].cell = cells[index] if index >= 0 else None


def observers(model: MilieuModel) -> np.ndarray:
    """For each client, the on-duty staff member who sees them, else -1.

    observer_i = the on-duty staff member j with the smallest slack d(i, j) - radius_j
    among those with slack <= 0 (ties: lowest staff index), d = Chebyshev distance
    in cells.  Computed at most once per hour, when a process first asks: by a
    distance matrix on small wards, by stamping each staff member's field of view
    onto a raster of the ward on large ones (the two give identical answers).
    """
    c, s, h = model.clients, model.staff, model.hour
    if h.observer_step == h.step:
        return h.observer
    on = _nonzero(s.on_duty & (s.cell >= 0))
    if on.size == 0:
        observer = np.full(c.n, -1, dtype=np.int64)
    elif c.n * on.size <= SMALL_WARD:
        observer = _observers_by_distance(model, on)
    else:
        observer = _observers_by_raster(model, on)
    watched = np.flatnonzero((c.observation_until > h.step) & c.present & (c.cell >= 0))
    if watched.size:  # special observation: always in someone's sight
        observer[watched] = nearest_staff_of(model, watched)
    h.observer = observer
    h.observer_step = h.step
    return observer


_NOBODY = np.iinfo(np.int64).max
SMALL_WARD = 2048  # clients x staff on duty below which a distance matrix is cheaper than the raster


def _observers_by_distance(model: MilieuModel, on: np.ndarray) -> np.ndarray:
    """The observer rule by a clients x staff distance matrix (small wards)."""
    c, s = model.clients, model.staff
    height = model.plan.height
    cx, cy = np.divmod(c.cell, height)
    sx, sy = np.divmod(s.cell[on], height)
    slack = np.maximum(np.abs(cx[:, None] - sx), np.abs(cy[:, None] - sy)) - s.observe_radius[on]
    best = slack.argmin(axis=1)
    seen = (slack[np.arange(c.n), best] <= 0) & c.present & (c.cell >= 0)
    return np.where(seen, on[best], -1)


def _observers_by_raster(model: MilieuModel, on: np.ndarray) -> np.ndarray:
    """The observer rule by stamping each staff member's field of view onto the ward (large wards)."""
    c, s = model.clients, model.staff
    plan = model.plan
    width, height = plan.width, plan.height
    radius = s.observe_radius[on]
    reach = int(radius.max())
    dx, dy, ring = _stamp(model, reach)
    sx, sy = np.divmod(s.cell[on], height)
    x = sx[:, None] + dx[None, :]
    y = sy[:, None] + dy[None, :]
    slack = ring[None, :] - radius[:, None]
    ok = (x >= 0) & (x < width) & (y >= 0) & (y < height) & (slack <= 0)
    key = (slack + reach) * s.n + on[:, None]
    cover = np.full(width * height, _NOBODY, dtype=np.int64)
    np.minimum.at(cover, (x * height + y)[ok], key[ok])
    seen = c.present & (c.cell >= 0)
    best = np.where(seen, cover[np.maximum(c.cell, 0)], _NOBODY)
    return np.where(best < _NOBODY, best % s.n, -1)


def _stamp(model: MilieuModel, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (dx, dy) of the square of Chebyshev radius ``reach`` and their distance."""
    key = f"stamp{reach}"
    if key not in model._cell_cache:
        dx, dy = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij")
        dx, dy = dx.reshape(-1), dy.reshape(-1)
        model._cell_cache[key] = (dx, dy, np.maximum(np.abs(dx), np.abs(dy)))
    return model._cell_cache[key]


def nearest_staff(model: MilieuModel, slot: int) -> int:
    """The on-duty staff member nearest to a client (Chebyshev), wherever they are, or -1."""
    return int(nearest_staff_of(model, np.array([slot]))[0])


def nearest_staff_of(model: MilieuModel, slots: np.ndarray) -> np.ndarray:
    """For each client slot, the nearest on-duty staff member (ties: lowest index), or -1 (off the grid)."""
    s = model.staff
    on = _nonzero(s.on_duty & (s.cell >= 0))
    cells = model.clients.cell[slots]
    if on.size == 0:
        return np.full(slots.size, -1, dtype=np.int64)
    height = model.plan.height
    cx, cy = np.divmod(cells, height)
    sx, sy = np.divmod(s.cell[on], height)
    nearest = on[np.argmin(np.maximum(np.abs(sx - cx[:, None]), np.abs(sy - cy[:, None])), axis=1)]
    return np.where(cells >= 0, nearest, -1)

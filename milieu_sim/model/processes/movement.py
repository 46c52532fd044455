"""Routine and movement: where each person is this hour.

Rules (docs/ODD.md, "Routine and movement"):

* At the start of each routine block (and at every shift change) each client
  who is not already in the block's zone goes to a cell of it: their own bed for sleep and bedroom
  hygiene, the activity's room for meals, and for a structured activity with
  probability ``P(attend) = structure * (attendance_base + attendance_trust * trust) * climate factor
  * max(0, 1 + attendance_initiative * (I - 0.5)) * plan`` (I: independence: independent clients join in
  more; plan: the treatment plan's factor, ``clients.plan_attendance``, processes.planning); a client who
  does not attend, and every client in free time, picks a free-time place with weights
  ``free_time_day_room``, ``free_time_corridor``, ``free_time_quiet_room`` and ``free_time_bed``
  (normalised over the places the map has; which zones are free-time places, :data:`FREE_ZONES`, is
  structure).  Clients in time-out are
  in the quiet room (a cell of a bedroom if the map has none), attending nothing, from the hour after
  the incident to the hour their time-out ends (``time_out_until``), in sleep hours too (then the
  quiet-room cell follows the bed slot, with no random draw); in the hour it ends a client still in the
  quiet room rejoins the routine by the block's rule (to bed in sleep hours).  Secluded clients are in
  the seclusion room, and in a day
  programme's ``away`` hours clients are off the grid: at home (``processes.home``), not on the
  unit (``clients.on_unit`` false, so they are off the census of the ``steps`` table).
* Meals, bedroom hygiene, community meetings, therapy groups and recreation are
  attended by everyone present (structured ones only with the probability
  above).
* Within a block an awake client who is not attending a meal or activity
  tries, with probability ``wander_rate`` per hour, to step to one of the eight
  neighbouring cells chosen at random, and stays put if that cell is a wall
  or in another zone; so do on-duty staff (but the one at the nurses' station) outside
  structured activities.
* On-duty staff: the first on duty is at the nurses' station; the others go
  to the activity's zone (the corridor when the activity is in the bedrooms;
  at night the nurses' station with probability ``night_station_share``, else the corridor),
  unless they are in that zone already.  In waking hours each of the others who is not escorting a
  client 1:1 (``staff.escorting``) goes instead to the office, the nurses' station, with probability
  ``1 - staff_engagement`` (one draw per staff member per hour from the ``staff_office`` stream, read at a
  new block): staff there are off the floor (they see only what the station's reach covers, lead no
  group and check in with nobody: processes.facilitation, processes.prevention, processes.flashpoints).
  Except the activity's leader: in a structured activity the first of the others who is not escorting
  goes to it whatever their draw (a group is scheduled with its leader); the office draws apply to the rest.
* Clients under special observation are always observed: their observer is
  the nearest on-duty staff member, wherever they are (:func:`nearest_on_duty`).
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from milieu_sim.model import compiled_hour as clock_fields
from milieu_sim.model.compiled_hour import (
    AWAKE,
    KIND_CODE,
    KIND_OF,
    MOVED,
    OBSERVER_STEP,
    SHIFT,
    STEP,
    ZONE,
    Part,
)
from milieu_sim.model.kernels import kernel
from milieu_sim.model.processes.climate import attendance_factor_of
from milieu_sim.model.processes.common import ParameterRecord, occupancy
from milieu_sim.model.schedule import Owns
from milieu_sim.model.state import HOLD, INDEPENDENCE, TRUST
from milieu_sim.model.streams import UNIFORM, take
from milieu_sim.model.ward import ZONE_CODE

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel
    from milieu_sim.model.ward import FloorPlan

OWNS = Owns(
    parameters=(
        "structure",
        "attendance_base",
        "attendance_trust",
        "wander_rate",
        "night_station_share",
        "attendance_initiative",
        "staff_engagement",
        "free_time_day_room",
        "free_time_corridor",
        "free_time_quiet_room",
        "free_time_bed",
        "hold_attendance_effect",
        "climate_baseline",
    ),
    reads=(
        "clients.present",
        "clients.plan_attendance",
        "clients.isolated",
        "clients.time_out_until",
        "clients.trust",
        "clients.independence",
        "clients.bed",
        "clients.observation_until",
        "staff.on_duty",
        "staff.shift",
        "staff.escorting",
        "staff.observe_radius",
        "hour.step",
        "hour.shift",
        "hour.kind",
        "hour.zone",
        "hour.structured",
        "hour.new_block",
        "hour.awake",
        "hour.away",
        "model.zones",
        "model.climate",
    ),
    writes=("clients.cell", "clients.on_unit", "clients.attending", "staff.cell", "staff.on_duty", "hour.observer"),
    streams={
        "movement": ("attend", "free_place", "cell", "wander"),
        "staff_movement": ("night_place", "staff_cell", "staff_wander", "staff_neighbour"),
        "staff_office": ("office",),
    },
)
# columns of the movement and staff_movement blocks (OWNS.streams order); CELL is the target cell in a new
# block and the neighbour stepped to within one
ATTEND, FREE_PLACE, CELL, WANDER = range(4)
NIGHT_PLACE, STAFF_CELL, STAFF_WANDER, STAFF_NEIGHBOUR = range(4)
(OFFICE,) = range(1)

#: The free-time places, each with the parameter that weighs it (which zones these are is structure).
FREE_ZONES = (
    ("day_room", "free_time_day_room"),
    ("corridor", "free_time_corridor"),
    ("quiet_room", "free_time_quiet_room"),
    ("bedroom", "free_time_bed"),
)
BEDROOM = ZONE_CODE["bedroom"]
NURSES = ZONE_CODE["nurses_station"]
CORRIDOR = ZONE_CODE["corridor"]
QUIET = ZONE_CODE["quiet_room"]
SECLUSION = ZONE_CODE["seclusion_room"]
DAY_ROOM = ZONE_CODE["day_room"]


class ZoneView(NamedTuple):
    """The floor plan's zones as the movement kernel reads them."""

    cells: np.ndarray  # (zone code, k): the k-th cell of each zone (padded with 0)
    sizes: np.ndarray  # cells per zone (1 for zones the map lacks)
    present: np.ndarray  # whether the map has each zone
    free_codes: np.ndarray  # the free-time places the map has ...
    free_cum: np.ndarray  # ... and their cumulative normalised weights
    zone: np.ndarray  # zone code of every cell index
    neighbours: np.ndarray  # (cell, 8): the neighbouring cell in each direction, or the cell itself


_free_time_weights = itemgetter(*(name for _, name in FREE_ZONES))


class Zones:
    """The floor plan's cells by zone, built once per model (``model.zones``) and read only by movement; the
    free-time weights are parameters, so the view for each set of weights is built when first asked for."""

    def __init__(self, plan: FloorPlan) -> None:
        n_zones = max(ZONE_CODE.values()) + 1
        width = max(len(cells) for cells in plan.zone_cells.values())
        self.cells = np.zeros((n_zones, width), dtype=np.int64)
        self.sizes = np.ones(n_zones, dtype=np.int64)
        for code, cells in plan.zone_cells.items():
            self.cells[code, : len(cells)] = cells
            self.sizes[code] = len(cells)
        self.present = np.isin(np.arange(n_zones), list(plan.zone_cells))
        self.plan = plan
        self.time_out_zone = QUIET if QUIET in plan.zone_cells else BEDROOM
        self._views: dict[tuple, ZoneView] = {}

    def packed(self, p: dict[str, Any]) -> tuple:
        """The zones with the free-time places weighted by the parameters ``p``: a :class:`ZoneView` as a
        plain tuple (see ``ClientArrays.packed``)."""
        weights = _free_time_weights(p)
        view = self._views.get(weights)
        if view is None:
            free = [
                (ZONE_CODE[z], weight)
                for (z, _), weight in zip(FREE_ZONES, weights, strict=True)
                if ZONE_CODE[z] in self.plan.zone_cells
            ]
            codes = np.array([code for code, _ in free])
            shares = np.array([share for _, share in free])
            view = ZoneView(self.cells, self.sizes, self.present, codes, np.cumsum(shares) / shares.sum(),
                            self.plan.zone_flat, self.plan.same_zone_neighbours)  # fmt: skip
            self._views[weights] = view = tuple(view)
        return view


def change_shift(model: MilieuModel) -> None:
    """Hand over to the staff of the new shift: only they are on the grid."""
    SHIFT_PART.run(model)


def _shift_inputs(model: MilieuModel) -> tuple:
    s = model.staff
    return s.on_duty, s.shift, s.cell


@kernel(inline=True)
def _shift_hour(clock, arguments):
    """The handover: the staff of the hour's shift are on duty, the others off the grid."""
    _draws, on_duty, shift, cell, nothing = arguments
    now = np.int64(clock[SHIFT])
    for j in range(on_duty.size):
        on_duty[j] = shift[j] == now
        if not on_duty[j]:
            cell[j] = -1
    clock[MOVED] = 1.0
    return nothing


SHIFT_PART = Part(_shift_hour, _shift_inputs)
change_shift.part = SHIFT_PART  # type: ignore[attr-defined]


def start_first_shift(model: MilieuModel) -> None:
    """Before the first hour, the early shift is on the ward, at the nurses' station (no random draws)."""
    s = model.staff
    s.on_duty[:] = s.shift == 0
    station = model.plan.zone_cells.get(NURSES, model.plan.zone_cells[CORRIDOR])
    for k, i in enumerate(np.flatnonzero(s.on_duty).tolist()):
        s.cell[i] = station[k % station.size]
    model.positions.moved()


# how a block moves clients (see ``move``); ASLEEP: within a sleep block, where only time-out moves anyone
AWAY, TO_BED, NEW_BLOCK, WITHIN_BLOCK, ASLEEP = 0, 1, 2, 3, 4
# who attends a new block's activity
STRUCTURED, EVERYONE, NOBODY = 0, 1, 2
GATHERINGS = ("meal", "hygiene", "community_meeting", "therapy_group", "recreation")
#: Codes of routine.KINDS: the gatherings, sleep and hygiene, as the clock's kind field holds them.
GATHERING_CODES = tuple(float(KIND_OF[kind]) for kind in GATHERINGS)
SLEEP_CODE, HYGIENE_CODE = KIND_OF["sleep"], KIND_OF["hygiene"]
# the clock's fields of the same names as the movement modes and attendances above
CLOCK_AWAY, CLOCK_STRUCTURED, CLOCK_NEW_BLOCK = clock_fields.AWAY, clock_fields.STRUCTURED, clock_fields.NEW_BLOCK


class MovementClients(NamedTuple):
    """The client arrays movement reads and writes."""

    values: np.ndarray
    present: np.ndarray
    isolated: np.ndarray
    time_out_until: np.ndarray
    attending: np.ndarray
    bed: np.ndarray
    cell: np.ndarray
    plan_attendance: np.ndarray  # the treatment plan's factor on attendance (processes.planning)


class MovementStaff(NamedTuple):
    """Where the staff are."""

    on_duty: np.ndarray
    cell: np.ndarray
    escorting: np.ndarray


_KERNEL_PARAMETERS = ("structure", "attendance_base", "attendance_trust", "wander_rate", "night_station_share",
                      "attendance_initiative", "staff_engagement")  # fmt: skip
PARAMETERS = ParameterRecord(_KERNEL_PARAMETERS, dict.fromkeys(_KERNEL_PARAMETERS, float))


def move(model: MilieuModel) -> None:
    """Place clients and staff for this hour (rules in the module docstring)."""
    PART.run(model)


def _inputs(model: MilieuModel) -> tuple:
    c, zones, p = model.clients, model.zones, model.p
    return (c.packed(MovementClients), model.staff.packed(MovementStaff), zones.packed(p), zones.time_out_zone,
            c.on_unit, model.climate.values, float(p["climate_baseline"]), float(p["hold_attendance_effect"]),
            PARAMETERS(p))  # fmt: skip


@kernel(inline=True)
def _hour(clock, arguments):
    """The hour of movement: the staff_office block every hour; in sleep hours nobody moves but for time-out (no
    movement or staff_movement draws, and nothing at all without anyone in time-out); else the movement and
    staff_movement blocks, then ``_move``."""
    draws, clients, staff, zones, time_out_zone, on_unit, climate, baseline, effect, parameters, nothing = arguments
    kind, zone, step = clock[KIND_CODE], np.int64(clock[ZONE]), np.int64(clock[STEP])
    new_block, awake, away = clock[CLOCK_NEW_BLOCK] != 0.0, clock[AWAKE] != 0.0, clock[CLOCK_AWAY] != 0.0
    structured, hygiene = clock[CLOCK_STRUCTURED] != 0.0, kind == HYGIENE_CODE
    named = MovementClients(*clients)
    present, time_out_until, cell = named.present, named.time_out_until, named.cell
    n, n_staff = present.size, staff[0].size
    block_mode = TO_BED if kind == SLEEP_CODE or (hygiene and zone == BEDROOM) else NEW_BLOCK
    uo = take(draws[0][0], draws[0][1], n_staff, 1)  # every hour, whatever happens (read at a new block)
    if not new_block and not awake and not away:
        # asleep, nobody moves, but for time-out (no random draws, so the movement stream is as without it)
        anyone = False
        for i in range(n):
            if present[i] and time_out_until[i] >= step:
                anyone = True
                break
        if not anyone:
            return nothing
        mode = ASLEEP
        uc, us = np.zeros((n, 4)), np.zeros((n_staff, 4))
    else:  # away hours run: a client admitted then goes home too
        uc = take(draws[1][0], draws[1][1], n, 4)
        us = take(draws[2][0], draws[2][1], n_staff, 4)
        if away:
            mode = AWAY
        elif not new_block:
            mode = WITHIN_BLOCK
        else:
            mode = block_mode
    gathering = False
    for code in GATHERING_CODES:
        gathering = gathering or kind == code
    attendance = STRUCTURED if structured else EVERYONE if gathering else NOBODY
    climate_factor = attendance_factor_of(climate[HOLD], baseline, effect)  # the climate's hold (climate)
    _move(uc, us, uo, mode, block_mode, attendance, hygiene, zone, new_block, awake, structured, step, clients, staff,
          zones, time_out_zone, climate_factor, parameters)  # fmt: skip
    for i in range(n):
        on_unit[i] = present[i] and cell[i] >= 0  # on the unit: not at home in away hours
    clock[MOVED] = 1.0  # Mesa's view follows when read (milieu_sim.model.positions)
    return nothing


PART = Part(
    _hour,
    _inputs,
    streams=(("staff_office", 1, "staff", UNIFORM), ("movement", 4, "clients", UNIFORM),
             ("staff_movement", 4, "staff", UNIFORM)),
)  # fmt: skip
move.part = PART  # type: ignore[attr-defined]


@kernel(inline=True)
def _move(uc, us, uo, mode, block_mode, attendance, hygiene, block_zone, new_block, awake, structured, step, clients,
          staff, zones, time_out_zone, climate_factor, parameters):  # fmt: skip
    """The movement rules of the module docstring, written to ``clients.cell`` and ``staff.cell``.
    ``uc``: the movement block (columns ATTEND ... WANDER), ``us``: the staff_movement block, ``uo``: the
    staff_office block."""
    q = parameters[0]
    clients, staff, zones = MovementClients(*clients), MovementStaff(*staff), ZoneView(*zones)
    present, isolated, attending, bed, cell = (
        clients.present,
        clients.isolated,
        clients.attending,
        clients.bed,
        clients.cell,
    )
    table, sizes, zone, neighbours = zones.cells, zones.sizes, zones.zone, zones.neighbours
    free_codes, free_cum = zones.free_codes, zones.free_cum
    on_duty, staff_cell = staff.on_duty, staff.cell
    n = present.size
    for i in range(n):
        mobile = present[i] and not isolated[i]
        in_time_out = mobile and clients.time_out_until[i] > step
        # a time-out that ended this hour: the client leaves the quiet room and rejoins the routine
        back = (
            mobile
            and clients.time_out_until[i] == step
            and cell[i] >= 0
            and zone[cell[i]] == time_out_zone
            and cell[i] != bed[i]
        )
        if mode == AWAY:
            if mobile:
                cell[i] = -1
            continue
        if mode == ASLEEP:
            if back:
                cell[i] = bed[i]
            elif in_time_out and (cell[i] < 0 or zone[cell[i]] != time_out_zone):
                # no draw in sleep hours: the quiet-room cell follows the bed slot
                cell[i] = table[time_out_zone, i % sizes[time_out_zone]]
            attending[i] = False
            continue
        placing = mode != WITHIN_BLOCK or back
        block = mode if mode != WITHIN_BLOCK else block_mode
        if not placing:
            # people sit through meals and structured activities; the others wander within their zone
            if mobile and not attending[i] and uc[i, WANDER] < q.wander_rate and cell[i] >= 0:
                cell[i] = neighbours[cell[i], int(uc[i, CELL] * 8)]
        else:
            if block == TO_BED:
                target = bed[i]
                attending[i] = mobile and hygiene
            else:
                if attendance == STRUCTURED:
                    attend = uc[i, ATTEND] < (
                        climate_factor
                        * q.structure
                        * (q.attendance_base + q.attendance_trust * clients.values[TRUST, i])
                        * max(0.0, 1.0 + q.attendance_initiative * (clients.values[INDEPENDENCE, i] - 0.5))
                        * clients.plan_attendance[i]
                    )
                else:
                    attend = attendance == EVERYONE
                attending[i] = attend and mobile
                if attend:
                    z = block_zone
                else:
                    choice = 0  # the free-time zone: searchsorted(free_cum, u, side="right")
                    while choice < free_cum.size and free_cum[choice] <= uc[i, FREE_PLACE]:
                        choice += 1
                    z = free_codes[min(choice, free_codes.size - 1)]
                target = bed[i] if z == BEDROOM else table[z, int(uc[i, CELL] * sizes[z])]
            # only those not already where they should be move (a new block in the same room keeps people put)
            if mobile and (cell[i] < 0 or target == bed[i] or zone[cell[i]] != zone[target] or back):
                cell[i] = target
        if in_time_out:  # out of ward life: in the quiet room, attending nothing
            attending[i] = False
            if cell[i] < 0 or zone[cell[i]] != time_out_zone:
                cell[i] = table[time_out_zone, int(uc[i, CELL] * sizes[time_out_zone])]

    if mode == ASLEEP:  # nobody else moves in sleep hours
        return
    on = np.flatnonzero(on_duty)
    leader_needed = structured and awake  # a structured activity has its leader, whatever the office draws
    for a in range(on.size):
        j = on[a]
        if new_block:
            if not awake:
                z = NURSES if us[j, NIGHT_PLACE] < q.night_station_share else CORRIDOR
            elif block_zone == BEDROOM:
                z = CORRIDOR
            else:
                z = block_zone
            if a == 0:
                z = NURSES  # the first on duty holds the nurses' station
            elif awake and staff.escorting[j] < 0:
                if leader_needed:
                    leader_needed = False  # the first free staff member leads the activity: with the clients
                elif uo[j, OFFICE] < 1.0 - q.staff_engagement:
                    z = NURSES  # in the office, off the floor
            if not zones.present[z]:
                z = CORRIDOR
            if staff_cell[j] < 0 or zone[max(staff_cell[j], 0)] != z:
                staff_cell[j] = table[z, int(us[j, STAFF_CELL] * sizes[z])]
        elif not structured and a > 0 and us[j, STAFF_WANDER] < q.wander_rate and staff_cell[j] >= 0:
            staff_cell[j] = neighbours[staff_cell[j], int(us[j, STAFF_NEIGHBOUR] * 8)]


def sight(model: MilieuModel) -> tuple:
    """What :func:`observers_now` reads (a compiled part's input): the hour's observer array, the clients'
    presence, cells and special observation, the staff on duty, their cells and radii, and the ward's size."""
    c, s, plan = model.clients, model.staff, model.plan
    return (model.hour.observer, c.present, c.cell, c.observation_until, s.on_duty, s.cell, s.observe_radius,
            plan.width, plan.height)  # fmt: skip


@kernel(inline=True)
def observers_now(clock, sight):
    """``observers`` in compiled code: fill the hour's observer array by the sight rule unless done for this hour
    already (``clock``'s observer_step is the hour's step); returns it.  ``sight``: :func:`sight`."""
    observer, present, cell, observation_until, on_duty, staff_cell, radius, width, height = sight
    if clock[OBSERVER_STEP] != clock[STEP]:
        _observers(observer, present, cell, observation_until, np.int64(clock[STEP]), on_duty, staff_cell, radius,
                   width, height)  # fmt: skip
        clock[OBSERVER_STEP] = clock[STEP]
    return observer


def observers(model: MilieuModel) -> np.ndarray:
    """For each client, the on-duty staff member who sees them, else -1.

    observer_i = the on-duty staff member j with the smallest slack d(i, j) - radius_j
    among those with slack <= 0 (ties: lowest staff index), d = Chebyshev distance
    in cells.  Computed at most once per hour, when a process first asks, by
    stamping each staff member's field of view onto a raster of the ward.
    """
    return observers_now(model.hour.clock, sight(model))


@kernel
def _observers(observer, present, cell, observation_until, step, on_duty, staff_cell, radius, width, height):
    """Fill ``observer`` by the sight rule (see ``observers``); special observation: the nearest staff member.
    With few clients and staff, each client's observer is looked for among the staff (:func:`_in_sight_of`);
    else each staff member's field of view is stamped onto a raster of the ward (the same staff member)."""
    if present.size * on_duty.size <= width * height:
        watching = _watching(on_duty, staff_cell, radius, height)
        for i in range(present.size):
            observer[i] = -1
            if present[i] and cell[i] >= 0:
                observer[i] = _in_sight_of(cell[i], watching, height)
    else:
        best_slack = np.full(width * height, np.iinfo(np.int64).max, dtype=np.int64)
        best_staff = np.full(width * height, -1, dtype=np.int64)
        for j in range(on_duty.size):  # in staff order, so ties go to the lowest index
            if not on_duty[j] or staff_cell[j] < 0:
                continue
            r = radius[j]
            sx, sy = staff_cell[j] // height, staff_cell[j] % height
            for x in range(max(0, sx - r), min(width, sx + r + 1)):
                for y in range(max(0, sy - r), min(height, sy + r + 1)):
                    slack = max(abs(x - sx), abs(y - sy)) - r
                    if slack < best_slack[x * height + y]:
                        best_slack[x * height + y] = slack
                        best_staff[x * height + y] = j
        for i in range(present.size):
            observer[i] = -1
            if present[i] and cell[i] >= 0:
                observer[i] = best_staff[cell[i]]
    special = 0  # clients under special observation: when many, where the staff are, to find the nearest
    for i in range(present.size):
        if present[i] and cell[i] >= 0 and observation_until[i] > step:
            special += 1
    if special == 0:
        return
    located = not_located()
    if worth_locating(special, on_duty.size, width * height):
        located = staff_blocks(staff_cell, width, height)
    for i in range(present.size):
        if present[i] and cell[i] >= 0 and observation_until[i] > step:  # special observation: always in sight
            observer[i] = nearest_around(cell[i], on_duty, staff_cell, width, height, located)


@kernel
def _watching(on_duty, staff_cell, radius, height):
    """The on-duty staff on the grid, in staff order, as (index, x, y, radius) rows, for :func:`_in_sight_of`."""
    watching = np.empty((on_duty.size, 4), dtype=np.int64)
    m = 0
    for j in range(on_duty.size):
        if on_duty[j] and staff_cell[j] >= 0:
            watching[m, 0], watching[m, 1], watching[m, 2] = j, staff_cell[j] // height, staff_cell[j] % height
            watching[m, 3] = radius[j]
            m += 1
    return watching[:m]


@kernel
def _in_sight_of(cell, watching, height):
    """The staff member of ``watching`` (:func:`_watching`) who sees ``cell`` by the sight rule: the smallest slack
    d - radius_j among those with d <= radius_j (Chebyshev; ties: the lowest index), else -1."""
    best, who = np.iinfo(np.int64).max, -1
    x, y = cell // height, cell % height
    for m in range(watching.shape[0]):
        d = max(abs(watching[m, 1] - x), abs(watching[m, 2] - y))
        if d <= watching[m, 3] and d - watching[m, 3] < best:
            best, who = d - watching[m, 3], watching[m, 0]
    return who


#: The side, in cells, of the blocks the staff are sorted into for finding the nearest (``staff_blocks``).
BLOCK = 8


@kernel(inline=True)
def worth_locating(searches, n_staff, n_cells):
    """Whether ``searches`` nearest-staff searches are worth sorting the staff by place first (:func:`staff_blocks`,
    about a pass over the staff and the blocks) rather than a scan of the roster each (the answer is the same)."""
    return searches * n_staff > n_cells + n_staff


@kernel(inline=True)
def not_located():
    """The staff not sorted by place (``staff_blocks``' shape, empty): :func:`nearest_around` scans the roster."""
    nobody = np.zeros(0, dtype=np.int64)
    return np.zeros(1, dtype=np.int64), nobody, nobody, nobody


@kernel(inline=True)
def staff_blocks(staff_cell, width, height):
    """Where the staff are, for :func:`nearest_around`: ``common.occupancy`` of their blocks of BLOCK x BLOCK cells
    (numbered like cells: bx * blocks per column + by; staff off the grid left out), and each member's x and y in
    the members' order: (block start, block members, x, y).  A pass over the staff and the blocks, not over the
    ward's cells."""
    rows = (height + BLOCK - 1) // BLOCK
    blocks = np.full(staff_cell.size, -1, dtype=np.int64)
    for j in range(staff_cell.size):
        if staff_cell[j] >= 0:
            blocks[j] = (staff_cell[j] // height) // BLOCK * rows + (staff_cell[j] % height) // BLOCK
    start, members = occupancy(blocks, ((width + BLOCK - 1) // BLOCK) * rows)
    return start, members, staff_cell[members] // height, staff_cell[members] % height


@kernel(inline=True)
def nearest_around(cell, on_duty, staff_cell, width, height, located):
    """``nearest_on_duty``, found by looking around the cell (``located``: :func:`staff_blocks`) block by block:
    the staff in the cell's block, then in the ring of blocks around it, and so on, until a ring's blocks are all
    farther than the nearest found so far, the lowest index among the nearest.  The same staff member as the
    scan of the whole roster, without that scan for every client on a big ward.  ``on_duty`` may be any mask of
    who counts (observation: the free staff)."""
    if cell < 0:
        return -1
    block_start, block_members, member_x, member_y = located
    if block_start.size <= 1:  # not located: the scan of every staff member
        return nearest_on_duty(cell, on_duty, staff_cell, height)
    x0, y0 = cell // height, cell % height
    rows = (height + BLOCK - 1) // BLOCK
    columns = (block_start.size - 1) // rows
    bx0, by0 = x0 // BLOCK, y0 // BLOCK
    reach = max(bx0, columns - 1 - bx0, by0, rows - 1 - by0)  # the farthest ring with a block on the grid
    best, nearest = np.iinfo(np.int64).max, -1
    for r in range(reach + 1):
        if r > 0 and ring_distance(x0, y0, bx0, by0, r) > best:  # every cell of this ring's blocks is farther
            break
        for bx in range(max(0, bx0 - r), min(columns, bx0 + r + 1)):
            side = bx == bx0 - r or bx == bx0 + r
            for by in range(max(0, by0 - r), min(rows, by0 + r + 1)):
                if not side and by != by0 - r and by != by0 + r:
                    continue
                b = bx * rows + by
                for m in range(block_start[b], block_start[b + 1]):
                    j = block_members[m]
                    if on_duty[j]:
                        d = max(abs(member_x[m] - x0), abs(member_y[m] - y0))
                        if d < best or (d == best and j < nearest):
                            best, nearest = d, j
    return nearest


@kernel
def ring_distance(x0, y0, bx0, by0, r):
    """The least Chebyshev distance from cell (x0, y0), in block (bx0, by0), to a cell of the ring of blocks r
    blocks away (r >= 1): to cross into it, the cell must go past its block's ring r - 1 on some side."""
    return min(x0 - (bx0 - r + 1) * BLOCK + 1, (bx0 + r) * BLOCK - x0, y0 - (by0 - r + 1) * BLOCK + 1,
               (by0 + r) * BLOCK - y0)  # fmt: skip


@kernel
def nearest_on_duty(cell, on_duty, staff_cell, height):
    """The on-duty staff member nearest to a cell (Chebyshev; ties: lowest index), or -1."""
    best, nearest = np.iinfo(np.int64).max, -1
    if cell < 0:
        return -1
    x, y = cell // height, cell % height
    for j in range(on_duty.size):
        if on_duty[j] and staff_cell[j] >= 0:
            d = max(abs(staff_cell[j] // height - x), abs(staff_cell[j] % height - y))
            if d < best:
                best, nearest = d, j
    return nearest


def nearest_staff(model: MilieuModel, slot: int) -> int:
    """The on-duty staff member nearest to a client (Chebyshev), wherever they are, or -1."""
    s = model.staff
    return int(nearest_on_duty(model.clients.cell[slot], s.on_duty, s.cell, model.plan.height))

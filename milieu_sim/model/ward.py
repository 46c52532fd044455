"""The ward's floor plan: a text map -> zones -> the Mesa grid.

A floor plan is a text file with one character per cell (legend in
:data:`LEGEND`).  Lines that start with ``"# "`` (a hash and a space) are
comments.  Row 0 of the text is the top of the ward; on the Mesa grid it has
the highest ``y`` so that drawings look like the text.

The map must contain every zone that the routine sends people to and at least
as many beds (``b``) as clients, unless the routine never sends anyone to bed (an outpatient group:
clients live at home): then the map may have no beds and no bedrooms, each client's bed slot is a place
at home (``bed`` -1, off the grid), the group room must seat every client, a quiet room is needed
(time-out) and a seclusion room is not allowed (a seclusion ends in the client's bed).  A seclusion room
is optional: a unit without one (the ``residential`` plan of a therapeutic community) cannot seclude, and
escalation uses the containment that remains.  It must have corridor cells (``.``: staff
walk there), and it is at most :data:`MAX_SIDE` cells wide and high and :data:`MAX_CELLS`
cells in all (the generated plan of the largest ward, 5000 beds, is 201 x 258).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from milieu_sim.errors import WardMapError

# Zone codes.  The order is part of the data contract (the grid's "zone" property layer).
ZONES: tuple[str, ...] = (
    "wall",
    "corridor",
    "day_room",
    "group_room",
    "dining_room",
    "bedroom",
    "nurses_station",
    "quiet_room",
    "seclusion_room",
)
ZONE_CODE = {name: code for code, name in enumerate(ZONES)}

LEGEND: dict[str, str] = {
    "#": "wall",
    ".": "corridor",
    "+": "corridor",  # a door
    "D": "day_room",
    "G": "group_room",
    "M": "dining_room",
    "B": "bedroom",
    "b": "bedroom",  # a bed
    "N": "nurses_station",
    "Q": "quiet_room",
    "S": "seclusion_room",
}
BED = "b"
MAX_SIDE = 400  # cells per row or column of a floor plan
MAX_CELLS = 100_000  # cells of a floor plan
MAX_MAP_BYTES = 1_000_000  # size of a floor-plan file (comments included)

# Moore neighbourhood offsets, in a fixed order (deterministic wandering).
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


@dataclass
class FloorPlan:
    """A parsed floor plan.

    Cells are numbered ``index = x * height + y``, the order of the Mesa grid's
    cells, so an index is also a position in ``grid.all_cells.cells``.
    """

    name: str
    width: int
    height: int
    zone: np.ndarray  # (width, height) int zone codes
    beds: np.ndarray  # cell indices of beds, in reading order
    zone_cells: dict[int, np.ndarray] = field(default_factory=dict)  # zone code -> cell indices
    same_zone_neighbours: np.ndarray = field(default_factory=lambda: np.zeros((0, 8), dtype=np.int64))

    @property
    def n_beds(self) -> int:
        return int(self.beds.size)

    def bed_cells(self, n_clients: int) -> np.ndarray:
        """The bed cell of each of ``n_clients`` slots: the first beds in reading order, or -1 for every slot
        of a plan without beds (an outpatient unit: clients live at home, off the grid)."""
        if not self.n_beds:
            return np.full(n_clients, -1, dtype=np.int64)
        return self.beds[:n_clients].copy()

    def xy(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates of cell indices."""
        return np.divmod(index, self.height)

    @property
    def zone_flat(self) -> np.ndarray:
        """Zone code of every cell index (a flat view of ``zone``)."""
        return self.zone.reshape(-1)

    def zone_of(self, index: np.ndarray) -> np.ndarray:
        """Zone code of cell indices."""
        return self.zone.reshape(-1)[index]

    def zones_present(self) -> list[str]:
        return [ZONES[code] for code in sorted(self.zone_cells)]


def parse_floor_plan(text: str, name: str = "<text>") -> FloorPlan:
    """Parse a floor plan from its text; raise WardMapError with one clear line if it is unusable."""
    rows = [line.rstrip("\n\r") for line in text.splitlines() if not line.startswith("# ") and line.strip()]
    if not rows:
        raise WardMapError(f"ward map '{name}': no rows (one character per cell; legend: {_legend_text()})")
    width = len(rows[0])
    if width > MAX_SIDE or len(rows) > MAX_SIDE or width * len(rows) > MAX_CELLS:
        raise WardMapError(
            f"ward map '{name}': {width} x {len(rows)} cells is too large; allowed: at most {MAX_SIDE} cells wide "
            f"and high and {MAX_CELLS:,} cells in all"
        )
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise WardMapError(
                f"ward map '{name}': row {number} has {len(row)} cells, the first row has {width}; "
                "all rows must be the same length"
            )
        for column, char in enumerate(row, start=1):
            if char not in LEGEND:
                raise WardMapError(
                    f"ward map '{name}': unknown character {char!r} at row {number}, column {column}; "
                    f"allowed: {_legend_text()}"
                )
    height = len(rows)
    zone = np.zeros((width, height), dtype=np.int64)
    bed_cells = []
    for row_number, row in enumerate(rows):
        y = height - 1 - row_number
        for x, char in enumerate(row):
            zone[x, y] = ZONE_CODE[LEGEND[char]]
            if char == BED:
                bed_cells.append(x * height + y)
    flat = zone.reshape(-1)
    zone_cells = {code: np.flatnonzero(flat == code) for code in range(1, len(ZONES)) if np.any(flat == code)}
    plan = FloorPlan(name, width, height, zone, np.asarray(bed_cells, dtype=np.int64), zone_cells)
    plan.same_zone_neighbours = _same_zone_neighbours(zone)
    return plan


def _legend_text() -> str:
    return ", ".join(f"'{char}' {zone}" for char, zone in LEGEND.items()).replace("'b' bedroom", "'b' bed")


def _same_zone_neighbours(zone: np.ndarray) -> np.ndarray:
    """For every cell, the indices of its Moore neighbours in the same zone (padded with itself)."""
    width, height = zone.shape
    index = np.arange(width * height).reshape(width, height)
    table = np.repeat(index.reshape(-1, 1), 8, axis=1)
    for k, (dx, dy) in enumerate(_OFFSETS):
        xs, ys = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
        nx, ny = xs + dx, ys + dy
        inside = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
        nxc, nyc = np.clip(nx, 0, width - 1), np.clip(ny, 0, height - 1)
        same = inside & (zone[nxc, nyc] == zone) & (zone != 0)
        table[:, k] = np.where(same, index[nxc, nyc], index).reshape(-1)
    return table


BUILTIN_MAPS: tuple[str, ...] = ("default", "community", "residential", "outpatient")  # files data/wards/NAME.txt


def builtin_map_text(name: str = "default") -> str:
    """The text of a floor plan shipped with the package."""
    return resources.files("milieu_sim.data.wards").joinpath(f"{name}.txt").read_text(encoding="utf-8")


def generated_map_text(n_beds: int) -> str:
    """A floor plan sized for ``n_beds`` beds: rows of double bedrooms around common rooms.

    Used for ``ward_map='auto'`` (large wards, benchmarks).  Common rooms grow
    with the number of beds so that crowding stays comparable to the default ward.
    """
    rooms_per_row = max(5, int(np.ceil(np.sqrt(n_beds / 2))))
    width = rooms_per_row * 4 + 1
    n_rooms = int(np.ceil(n_beds / 2))
    bedroom_rows = int(np.ceil(n_rooms / rooms_per_row))
    lines = ["#" * width]
    beds_left = n_beds
    for _ in range(bedroom_rows):
        top, mid, door = "#", "#", "#"
        for _ in range(rooms_per_row):
            beds_here = min(2, max(0, beds_left))
            beds_left -= beds_here
            top += {2: "bBb", 1: "bBB", 0: "BBB"}[beds_here] + "#"
            mid += "BBB#"
            door += "#+##"
        lines += [top, mid, door, "#" + "." * (width - 2) + "#"]
    # Common rooms: five vertical bands (day room, group room, dining, nurses' station, quiet/seclusion).
    common_rows = max(6, int(np.ceil(n_beds * 2.2 / (width - 2))))
    inner = width - 2
    bands = [("D", 0.35), ("G", 0.25), ("M", 0.22), ("N", 0.08), ("Q", 0.05)]
    spans, used = [], 0
    for char, share in bands:
        size = max(2, int(inner * share))
        spans.append((char, size))
        used += size
    spans.append(("S", max(2, inner - used)))
    band_row = "".join(char * size for char, size in spans)[:inner].ljust(inner, "S")
    for _ in range(common_rows):
        lines.append("#" + band_row + "#")
    lines.append("#" * width)
    return "\n".join(lines) + "\n"


def load_floor_plan(ward_map: str, n_clients: int, needs_beds: bool = True) -> FloorPlan:
    """The floor plan named by the ``ward_map`` parameter, checked against ``n_clients``.

    ``needs_beds``: whether the routine sends clients to bed (``Routine.needs_beds``); when it does not, the
    plan may have no beds (clients live at home), and then every client must fit in the group room."""
    if ward_map in BUILTIN_MAPS:
        plan = parse_floor_plan(builtin_map_text(ward_map), ward_map)
    elif ward_map == "auto":
        plan = parse_floor_plan(generated_map_text(n_clients), f"auto({n_clients} beds)")
    else:
        path = Path(ward_map)
        if not path.is_file():
            raise WardMapError(
                f"parameter 'ward_map' = {ward_map!r}: no such file; allowed: "
                f"{', '.join(repr(name) for name in BUILTIN_MAPS)}, 'auto' or a map file path"
            )
        try:
            if path.stat().st_size > MAX_MAP_BYTES:
                raise WardMapError(
                    f"ward map '{ward_map}': the file is {path.stat().st_size:,} bytes; allowed: at most "
                    f"{MAX_MAP_BYTES:,} (at most {MAX_SIDE} x {MAX_SIDE} cells)"
                )
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise WardMapError(f"ward map '{ward_map}': not a text file") from None
        except OSError as exc:
            raise WardMapError(f"ward map '{ward_map}': cannot be read ({exc.strerror or exc})") from None
        plan = parse_floor_plan(text, str(path))
    needing = [
        why
        for why, needed in (
            ("the routine sends clients to bed", needs_beds),
            ("the map has bedrooms", ZONE_CODE["bedroom"] in plan.zone_cells),
            ("the map has a seclusion room (a seclusion ends in the client's bed)",
             ZONE_CODE["seclusion_room"] in plan.zone_cells),
        )
        if needed
    ]  # fmt: skip
    if not plan.n_beds and needing:
        raise WardMapError(
            f"ward map '{plan.name}': no beds, but {needing[0]}; mark each bed with 'b' inside a bedroom (a map "
            "without beds, for clients who live at home, has no bedrooms and no seclusion room and goes with a "
            "routine without sleep)"
        )
    if not plan.n_beds and ZONE_CODE["quiet_room"] not in plan.zone_cells:
        raise WardMapError(
            f"ward map '{plan.name}': no beds and no quiet room; a time-out is spent in the quiet room (or at one's "
            "bed): mark a quiet room with 'Q'"
        )
    group_room = plan.zone_cells.get(ZONE_CODE["group_room"], np.zeros(0)).size
    if not plan.n_beds and group_room < n_clients:
        raise WardMapError(
            f"parameter 'n_clients' = {n_clients} is more than the {group_room} group-room cells of ward map "
            f"'{plan.name}', which has no beds (clients live at home and meet there); allowed: at most {group_room}"
        )
    if plan.n_beds and plan.n_beds < n_clients:
        raise WardMapError(
            f"parameter 'n_clients' = {n_clients} is more than the {plan.n_beds} beds of ward map "
            f"'{plan.name}'; allowed: at most {plan.n_beds} (or ward_map='auto')"
        )
    if ZONE_CODE["corridor"] not in plan.zone_cells:  # staff and clients in transit walk there (movement)
        raise WardMapError(f"ward map '{plan.name}': no corridor; mark corridor cells with '.' (doors with '+')")
    return plan

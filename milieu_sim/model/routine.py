"""The daily routine as data: what the unit does in each hour of the week.

A routine file (TOML, under ``data/routines/``) lists blocks of hours, each with
an activity name, the zone it happens in, its kind, whether it is a structured
(staff-led) activity, which treatment-goal skill it practises, and whether clients come to it
from home (``from_home``: an outpatient group, whose members who do not attend stay at home).  The file is
compiled into arrays indexed by hour of the week (0 = Monday 00:00), so the
model looks an hour up in O(1).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from milieu_sim.errors import RoutineError
from milieu_sim.model.params import suggest
from milieu_sim.model.ward import ZONE_CODE

KINDS: tuple[str, ...] = (
    "sleep",
    "hygiene",
    "meal",
    "community_meeting",
    "therapy_group",
    "recreation",
    "free_time",
    "away",
)
SKILLS: tuple[str, ...] = ("coping", "social", "daily_living")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS = {
    "all": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
    **{day: range(k, k + 1) for k, day in enumerate(WEEKDAY_NAMES)},  # one day a week (a weekly group)
}
HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Routine:
    """A weekly timetable compiled to arrays indexed by hour of the week."""

    name: str
    activities: tuple[str, ...]  # distinct activity names
    activity: np.ndarray  # (168,) index into activities
    zone: np.ndarray  # (168,) zone code where the activity happens
    kind: np.ndarray  # (168,) index into KINDS
    structured: np.ndarray  # (168,) bool
    trains: np.ndarray  # (168,) index into SKILLS, or -1
    from_home: np.ndarray  # (168,) bool: clients come from home; who does not attend stays there (processes.home)

    def zones_used(self) -> set[int]:
        return {int(z) for z, k in zip(self.zone, self.kind, strict=True) if KINDS[k] != "away"}

    @property
    def needs_beds(self) -> bool:
        """Whether the routine ever sends clients to bed: sleep, or an activity in the bedrooms (a unit whose
        routine does not, an outpatient group, may have a floor plan without beds)."""
        return bool(np.any(self.kind == KINDS.index("sleep"))) or ZONE_CODE["bedroom"] in self.zones_used()


def _field(block: dict, key: str, name: str, number: int, kind: type, default=None):
    if key not in block:
        if default is None:
            raise RoutineError(f"routine '{name}': activity {number} has no '{key}'")
        return default
    value = block[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise RoutineError(f"routine '{name}': activity {number} key '{key}' = {value!r}; allowed: an integer")
    if kind is not int and not isinstance(value, kind):
        raise RoutineError(f"routine '{name}': activity {number} key '{key}' = {value!r}; allowed: a {kind.__name__}")
    return value


def parse_routine(text: str, name: str = "<text>") -> Routine:
    """Compile routine TOML text; raise RoutineError naming the block and key if it is unusable."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutineError(f"routine '{name}': not valid TOML: {exc}") from None
    blocks = data.get("activity")
    if not isinstance(blocks, list) or not blocks:
        raise RoutineError(f"routine '{name}': no [[activity]] blocks")
    activity = np.full(HOURS_PER_WEEK, -1, dtype=np.int64)
    zone = np.zeros(HOURS_PER_WEEK, dtype=np.int64)
    kind = np.zeros(HOURS_PER_WEEK, dtype=np.int64)
    structured = np.zeros(HOURS_PER_WEEK, dtype=bool)
    trains = np.full(HOURS_PER_WEEK, -1, dtype=np.int64)
    from_home = np.zeros(HOURS_PER_WEEK, dtype=bool)
    names: list[str] = []
    allowed_keys = {"name", "start", "end", "days", "zone", "kind", "structured", "trains", "from_home"}
    for number, block in enumerate(blocks, start=1):
        for key in block:
            if key not in allowed_keys:
                raise RoutineError(
                    f"routine '{name}': activity {number} has unknown key '{key}'{suggest(key, allowed_keys)}"
                )
        title = _field(block, "name", name, number, str)
        start = _field(block, "start", name, number, int)
        end = _field(block, "end", name, number, int)
        for key, value in (("start", start), ("end", end)):
            if not 0 <= value <= 24:
                raise RoutineError(f"routine '{name}': activity {number} key '{key}' = {value}; allowed: 0 to 24")
        days = _field(block, "days", name, number, str, "all")
        if days not in DAYS:
            raise RoutineError(f"routine '{name}': activity {number} key 'days' = {days!r}; allowed: {', '.join(DAYS)}")
        zone_name = _field(block, "zone", name, number, str)
        if zone_name not in ZONE_CODE or zone_name == "wall":
            raise RoutineError(
                f"routine '{name}': activity {number} key 'zone' = {zone_name!r}{suggest(zone_name, ZONE_CODE)}; "
                f"allowed: {', '.join(z for z in ZONE_CODE if z != 'wall')}"
            )
        kind_name = _field(block, "kind", name, number, str)
        if kind_name not in KINDS:
            raise RoutineError(
                f"routine '{name}': activity {number} key 'kind' = {kind_name!r}{suggest(kind_name, KINDS)}; "
                f"allowed: {', '.join(KINDS)}"
            )
        skill = _field(block, "trains", name, number, str, "")
        if skill and skill not in SKILLS:
            raise RoutineError(
                f"routine '{name}': activity {number} key 'trains' = {skill!r}; allowed: {', '.join(SKILLS)} or ''"
            )
        is_structured = _field(block, "structured", name, number, bool, False)
        comes_from_home = _field(block, "from_home", name, number, bool, False)
        if title not in names:
            names.append(title)
        hours = range(start, end) if start < end else [*range(start, 24), *range(0, end)]
        for day in DAYS[days]:
            for hour in hours:
                slot = day * 24 + hour
                if activity[slot] >= 0:
                    raise RoutineError(
                        f"routine '{name}': activity {number} ('{title}') overlaps '{names[activity[slot]]}' "
                        f"on day {day} at {hour:02d}:00; each hour must have exactly one activity"
                    )
                activity[slot] = names.index(title)
                zone[slot] = ZONE_CODE[zone_name]
                kind[slot] = KINDS.index(kind_name)
                structured[slot] = is_structured
                trains[slot] = SKILLS.index(skill) if skill else -1
                from_home[slot] = comes_from_home
    if np.any(activity < 0):
        gap = int(np.flatnonzero(activity < 0)[0])
        raise RoutineError(
            f"routine '{name}': no activity on day {gap // 24} at {gap % 24:02d}:00; every hour must be covered"
        )
    return Routine(name, tuple(names), activity, zone, kind, structured, trains, from_home)


def load_routine(file_name: str) -> Routine:
    """A routine shipped with the package (by file name) or from a path."""
    path = Path(file_name)
    if path.is_file():
        return parse_routine(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("milieu_sim.data.routines").joinpath(file_name).read_text(encoding="utf-8")
    return parse_routine(text, file_name)

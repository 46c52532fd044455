"""Lessons: guided scenarios for a class, each a TOML file (the scenario) and a Markdown file (the text).

A lesson names the ward to open (setting, policy, seed, warm start, staffing and levers, a
scheduled switch), optionally two wards to compare side by side, the steps to take (how many days
to run, what to look at), what to watch and questions for students.  The shipped lessons live in
``milieu_sim/data/lessons``; a teacher's own is any ``.toml`` file in the same format, opened with
``milieu-sim app --lesson path/to/lesson.toml`` (docs/lessons.md has the format and a template).

Every value is checked when the lesson is read (:func:`load_lesson`): unknown keys, bad policy
names, parameters out of range are one-line errors naming the file and the key.  Lessons use
policy presets only: the app opens no files on behalf of the page.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from milieu_sim.errors import ParameterError
from milieu_sim.model.params import SCHEMA
from milieu_sim.model.policies import PRESETS

LESSON_PACKAGE = "milieu_sim.data.lessons"
TOP_KEYS = {"title", "summary", "minutes", "follow", "watch", "questions", "ward", "compare", "steps"}
WARD_KEYS = {"seed", "switch_to", "switch_day"}  # besides the schema parameters the app's controls set
STEP_KEYS = {"title", "days", "text", "switch_to"}
FOLLOW = ("newest",)
MAX_STEP_DAYS = 365


@dataclass(frozen=True)
class LessonStep:
    """One step of a lesson: run ``days`` days (after switching to ``switch_to`` if given), then read ``text``."""

    title: str
    days: int
    text: str = ""
    switch_to: str | None = None


@dataclass(frozen=True)
class Lesson:
    """A lesson as read from its files (see the module docstring)."""

    name: str
    title: str
    summary: str
    text: str
    ward: dict[str, Any]
    compare: tuple[dict[str, Any], ...] = ()
    steps: tuple[LessonStep, ...] = ()
    watch: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    follow: str | None = None
    minutes: int | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _fail(where: str, message: str) -> ParameterError:
    return ParameterError(f"lesson {where}: {message}")


def _ward(values: Any, where: str, key: str) -> dict[str, Any]:
    """A ward's settings: schema parameters (checked), a preset policy, the seed and a scheduled switch."""
    if not isinstance(values, dict):
        raise _fail(where, f"'{key}' must be a table of settings")
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("label",) and key.startswith("compare"):
            out[name] = str(value)
            continue
        if name == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _fail(where, f"'{key}.seed' = {value!r} is not allowed; allowed: a non-negative integer")
            out[name] = value
            continue
        if name in ("policy", "switch_to"):
            if value not in PRESETS:
                raise _fail(where, f"'{key}.{name}' = {value!r} is not allowed; allowed: {', '.join(PRESETS)}")
            out[name] = value
            continue
        if name == "switch_day":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SCHEMA["days"].high:
                raise _fail(where, f"'{key}.switch_day' = {value!r} is not allowed; allowed: a day from 1")
            out[name] = value
            continue
        if name not in SCHEMA or name in ("ward_map", "days"):
            raise _fail(where, f"'{key}' has an unknown setting {name!r}")
        try:
            out[name] = SCHEMA[name].check(value)
        except ParameterError as exc:
            raise _fail(where, f"'{key}': {exc}") from None
    return out


def _strings(values: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _fail(where, f"'{key}' must be a list of strings")
    return tuple(values)


def parse_lesson(name: str, data: dict[str, Any], text: str = "", where: str | None = None) -> Lesson:
    """A :class:`Lesson` from the parsed TOML ``data`` and the Markdown ``text`` (checked, one-line errors)."""
    where = where or name
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise _fail(where, f"unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(TOP_KEYS))}")
    for key in ("title", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(where, f"'{key}' is missing (a line of text)")
    ward = _ward(data.get("ward", {}), where, "ward")
    compare = data.get("compare", [])
    if not isinstance(compare, list) or len(compare) not in (0, 2):
        raise _fail(where, "'compare' must be two [[compare]] tables (the two wards) or none")
    wards = tuple(_ward(w, where, f"compare[{k}]") for k, w in enumerate(compare))
    labels = [w.get("label", w.get("policy", SCHEMA["policy"].default)) for w in wards]
    if len(set(labels)) != len(labels):
        raise _fail(where, "the two [[compare]] wards need different labels")
    steps = []
    for k, step in enumerate(data.get("steps", [])):
        if not isinstance(step, dict) or set(step) - STEP_KEYS:
            raise _fail(where, f"'steps[{k}]' may have only {', '.join(sorted(STEP_KEYS))}")
        days = step.get("days", 1)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_STEP_DAYS:
            raise _fail(where, f"'steps[{k}].days' = {days!r} is not allowed; allowed: 0 to {MAX_STEP_DAYS}")
        switch_to = step.get("switch_to")
        if switch_to is not None and switch_to not in PRESETS:
            raise _fail(where, f"'steps[{k}].switch_to' = {switch_to!r} is not allowed; allowed: {', '.join(PRESETS)}")
        steps.append(LessonStep(str(step.get("title", f"Step {k + 1}")), days, str(step.get("text", "")), switch_to))
    if not steps:
        raise _fail(where, "a lesson needs at least one [[steps]] table")
    follow = data.get("follow")
    if follow is not None and follow not in FOLLOW:
        raise _fail(where, f"'follow' = {follow!r} is not allowed; allowed: {', '.join(FOLLOW)}")
    minutes = data.get("minutes")
    return Lesson(
        name=name,
        title=data["title"].strip(),
        summary=data["summary"].strip(),
        text=text,
        ward=ward,
        compare=wards,
        steps=tuple(steps),
        watch=_strings(data.get("watch", []), where, "watch"),
        questions=_strings(data.get("questions", []), where, "questions"),
        follow=follow,
        minutes=int(minutes) if isinstance(minutes, int) else None,
        source=where,
    )


def shipped_lessons() -> list[str]:
    """The names of the lessons shipped with milieu-sim, in the order the app lists them."""
    folder = resources.files(LESSON_PACKAGE)
    names = sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    order = ("punishment", "peer_feedback", "switch_day_30", "staff_presence", "one_client")
    return [n for n in order if n in names] + [n for n in names if n not in order]


def load_lesson(name_or_path: str) -> Lesson:
    """A shipped lesson by name, or a teacher's own lesson from a ``.toml`` path (its ``.md`` beside it).

    Paths are for the command line (``milieu-sim app --lesson FILE``); the page only opens lessons by name.
    """
    if name_or_path in shipped_lessons():
        folder = resources.files(LESSON_PACKAGE)
        raw = (folder / f"{name_or_path}.toml").read_text(encoding="utf-8")
        md = folder / f"{name_or_path}.md"
        text = md.read_text(encoding="utf-8") if md.is_file() else ""
        name, where = name_or_path, f"'{name_or_path}'"
    elif name_or_path.endswith(".toml"):
        path = Path(name_or_path).expanduser()
        where = f"'{name_or_path}'"
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _fail(where, f"cannot read it ({exc.strerror or exc})") from None
        md = path.with_suffix(".md")
        text = md.read_text(encoding="utf-8") if md.is_file() else ""
        name = path.stem
    else:
        raise ParameterError(
            f"parameter 'lesson' = {name_or_path!r} is not allowed; allowed: {', '.join(shipped_lessons())} "
            "or a lesson file ending in .toml"
        )
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(where, f"not valid TOML ({exc})") from None
    return parse_lesson(name, data, text, where)


def lesson_controls(lesson: Lesson) -> dict[str, Any]:
    """The app controls (``make_model`` keywords) of the lesson's ward."""
    values = dict(lesson.ward)
    if "seed" in values:
        values["seed"] = str(values["seed"])
    return values

"""The compiled hour: consecutive phases of the schedule run as one compiled call.

Each phase of the hour used to be a Python function around a compiled kernel: it drew its random blocks, packed
its arrays, called the kernel and logged what came back, and those fixed costs, paid by some twenty phases every
hour, were most of a run's time.  Now each built-in process declares its whole hourly step as a :class:`Part`:

- ``function(clock, arguments)``: the compiled step, ``arguments`` being ``(draws, *inputs, nothing)`` as one tuple
  (a compiled call with a few dozen arrays as separate arguments pays for each of them on entry, about 10 ns an
  array; unpacked from one tuple inside the part, they cost next to nothing), decorated ``@kernel(inline=True)`` as
  its rule's kernel is, so that both are compiled into the stretch (docs/architecture.md).  It takes its random
  blocks from its streams' buffers (``draws``: a (buffer, position) pair per stream;
  :func:`milieu_sim.model.streams.take`), reads and writes the hour's fields in ``clock`` (``model.hour.clock``:
  positions :data:`STEP` ... :data:`MOVED`, the order of :data:`milieu_sim.model.state.CLOCK_FIELDS`), and returns
  the rows it logs: ``(events, feedback, feedback_change)``, or (parts of) ``nothing`` (:data:`NOTHING`, kept empty
  logs) for what it does not log;
- ``inputs(model)``: the rest of its arguments (state arrays, its parameter record).  They are built once and
  kept until ``model.p`` changes or a stream's buffer is replaced, so they hold arrays that the processes update
  in place, never copies of the state or values of the hour;
- ``streams``: the streams it draws from, with the most numbers per row (client slot, staff member, or one) it
  draws from each in an hour, so that the buffers hold enough before a call.

The process's entry function (the phase's ``function`` in :data:`~milieu_sim.model.schedule.SCHEDULE`) runs the
part alone (:meth:`Part.run`); its ``part`` attribute names the part.  ``Schedule.run`` goes further: each run of
consecutive phases that are all parts, in an hour, is one call of ``processes.stretch.run_hours`` (written from
the schedule by ``python -m milieu_sim.model.docs``), whose arguments enter compiled code as one object
(:func:`held`).  The rules, their order and their random numbers are the same either way, so a run's tables are
the same bit for bit whether its phases run alone or in stretches (a test checks this); a phase of one's own
inserted between two parts ends one stretch and starts the next.

Where a test or a user has put a stand-in in place of a part's stream (``model.streams["climate"] = ...``, an
object with ``random``), the part is handed, each hour, one block of its largest hourly draw as the stand-in's
``random((rows, numbers per row))`` returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic, overload
from numba.experimental import structref

from milieu_sim.model.kernels import kernel
from milieu_sim.model.keyed_draws import refill_short, wrapping_products
from milieu_sim.model.records import EVENT_COLUMNS, STEP_COLUMNS, TABLE_COLUMNS
from milieu_sim.model.routine import KINDS
from milieu_sim.model.state import CLOCK_FIELDS
from milieu_sim.model.streams import NORMAL, UNIFORM, Stream

if TYPE_CHECKING:
    from milieu_sim.model.model import MilieuModel

#: Positions of the hour's fields in ``clock`` (``model.hour.clock``, :data:`milieu_sim.model.state.CLOCK_FIELDS`).
(STEP, DAY, HOUR, WEEKDAY, SHIFT, ACTIVITY, KIND_CODE, ZONE, STRUCTURED, TRAINS, AWAKE, AWAY, NEW_BLOCK, NEW_SHIFT,
 OBSERVER_STEP, FACILITATION, CONFLICT_EVENTS, CONTAINMENT_EVENTS, INCIDENT_EXPOSURE, INCIDENTS_ON_CLIENTS,
 INCIDENTS_ON_STAFF, COERCION, UNADDRESSED, ADDRESSED, MOVED) = range(len(CLOCK_FIELDS))  # fmt: skip
KIND_OF = {name: k for k, name in enumerate(KINDS)}
FEEDBACK_INTS = len(TABLE_COLUMNS["feedback"]) - 1  # the feedback log's integer columns (all but behaviour_change)

NO_HOURS = np.empty((0, len(STEP_COLUMNS)))  # run_hours's rows for a stretch of the hour the clock holds
#: Hours of draws a stream's buffer is filled for at a time (checked again after that many calls).
HEADROOM_HOURS = 32
#: How many rows a part draws per number of its ``Part.streams``: one per client slot, staff member, or just one.
ROWS = ("clients", "staff", "one")


#: What a part returns when it logs nothing (the last of its arguments, ``nothing``): made once, so that a part
#: logging nothing allocates nothing (three empty arrays cost about 50 ns a call).  Empty, so never written to.
NOTHING = (np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64), np.zeros((0, FEEDBACK_INTS), dtype=np.int64), np.zeros(0))


@kernel(inline=True)
def no_events():
    """No event rows (``events`` log columns)."""
    return np.zeros((0, len(EVENT_COLUMNS)), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Part:
    """A process's whole hourly step as one compiled function (see the module docstring).

    ``function(clock, arguments)``, ``arguments`` being ``(draws, *inputs, nothing)``: ``draws`` holds a (buffer,
    position) pair per stream of ``streams``, in that order (:func:`milieu_sim.model.streams.take` reads a block
    from one).  ``streams``: (stream name, numbers drawn per row at most in one hour, rows: ``"clients"``,
    ``"staff"`` or ``"one"``, ``UNIFORM`` or ``NORMAL``).
    """

    function: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
    inputs: Callable[[MilieuModel], tuple]
    streams: tuple[tuple[str, int, str, int], ...] = ()

    def __post_init__(self) -> None:
        for stream in self.streams:
            assert stream[2] in ROWS and stream[3] in (UNIFORM, NORMAL), stream

    def run(self, model: MilieuModel) -> None:
        """Run the part alone in this hour (the process's entry function)."""
        model.compiled_hour.run((self,))


class CompiledHour:
    """One model's side of the compiled hour: the streams' buffers kept filled, and the parts' arguments, built
    once and rebuilt only when a parameter changes (``model.p.version``) or a buffer is replaced
    (``model.streams.version``).  A stretch's arguments (every part's of the stretch order, which run is told
    by a mask) are held in compiled form (:func:`held`): entering compiled code then costs one object a call,
    not the few hundred arrays the parts read."""

    def __init__(self, model: MilieuModel) -> None:
        self.model = model
        self._alone: dict[Part, tuple[tuple, tuple]] = {}  # part -> (key, arguments)
        self._held: tuple[tuple, Any] | None = None  # (key, the stretch order's arguments held)
        self._masks: dict[tuple[Part, ...], np.ndarray] = {}  # parts -> which of the stretch order run
        self._streams: dict[str, tuple[int, int]] = {}  # the parts' streams made ready: name -> (reserve, kind)
        self._calls_left = 0  # calls before the buffers are topped up again
        self._fills: tuple[tuple, Any] | None = None  # (key, the parts' streams held for refill_short)

    def __getstate__(self) -> dict[str, Any]:
        """Copied or pickled without the kept arguments (compiled objects, and references to the old model's
        arrays), which are built again on first use."""
        return {**self.__dict__, "_alone": {}, "_held": None, "_masks": {}, "_fills": None}

    def _rows(self, rows: str) -> int:
        return self.model.clients.n if rows == "clients" else self.model.staff.n if rows == "staff" else 1

    def _draws(self, part: Part) -> tuple[tuple[tuple[np.ndarray, np.ndarray], ...], bool]:
        """The part's (buffer, position) pairs, and whether they are the model's own buffers (else stand-ins').

        A stand-in for a stream (an object with ``random``, not a :class:`Stream`) gives the part one block of
        its largest hourly draw, as the stand-in's ``random((rows, numbers per row))`` returns it."""
        streams = self.model.streams
        pairs, own = [], True
        for name, per_row, rows, kind in part.streams:
            stream = streams[name]
            if type(stream) is not Stream:
                shape = (self._rows(rows), per_row)
                block = stream.random(shape) if kind == UNIFORM else stream.standard_normal(shape)
                pairs.append((np.ascontiguousarray(block, dtype=np.float64).ravel(), np.zeros(1, dtype=np.int64)))
                own = False
                continue
            if name not in self._streams:
                stream.serve(HEADROOM_HOURS * per_row * self._rows(rows), kind)
                self._streams[name] = (stream.reserve, kind)
            pairs.append((stream.buffer, stream.position))
        return tuple(pairs), own

    def _top_up(self) -> None:
        """Fill every part's stream for HEADROOM_HOURS more calls (each call draws at most an hour of each): all in
        one compiled call (``keyed_draws.refill_short``, the streams' buffers held as :func:`held` holds a stretch's
        arguments), and from Python (``Stream.ensure``) any stream it could not refill there."""
        key = (self.model.streams.version[0], len(self._streams))  # a stream or buffer replaced, a stream added
        if self._fills is None or self._fills[0] != key:
            self._fills = (key, self._held_streams())
        with wrapping_products():
            missed = refill_short(self._fills[1]) if self._fills[1] is not None else 0
        if missed:
            streams = self.model.streams
            for name, (reserve, kind) in self._streams.items():
                stream = streams[name]
                if type(stream) is Stream:
                    stream.ensure(reserve, kind)
        self._calls_left = HEADROOM_HOURS

    def _held_streams(self) -> Any:
        """The parts' own streams (not stand-ins) as ``refill_short`` reads them, held (None: there are none)."""
        streams = self.model.streams
        own = [(streams[name], reserve, kind) for name, (reserve, kind) in self._streams.items()
               if type(streams[name]) is Stream]  # fmt: skip
        if not own:
            return None
        return held((
            tuple(stream.buffer for stream, _, _ in own),
            tuple(stream.position for stream, _, _ in own),
            tuple(stream.tally for stream, _, _ in own),
            tuple(stream.words for stream, _, _ in own),
            np.array([kind for _, _, kind in own], dtype=np.int64),
            np.array([reserve for _, reserve, _ in own], dtype=np.int64),
        ))  # fmt: skip

    def _key(self) -> tuple:
        p = self.model.p
        return (id(p), getattr(p, "version", None), self.model.streams.version[0])

    def _of(self, part: Part) -> tuple[tuple, bool]:
        """A part's arguments, ``(draws, *inputs, NOTHING)``, and whether they may be kept (no stand-in streams)."""
        draws, own = self._draws(part)
        return (draws, *part.inputs(self.model), NOTHING), own

    def arguments(self, part: Part) -> tuple:
        """The arguments of ``part`` run alone: ``(draws, *inputs, NOTHING)``."""
        key = self._key()
        kept = self._alone.get(part)
        if kept is not None and kept[0] == key:
            return kept[1]
        arguments, own = self._of(part)
        if own and key[1] is not None and key == self._key():
            self._alone[part] = (key, arguments)  # stand-ins draw anew each call: not kept
        return arguments

    def held_arguments(self, order: tuple[Part, ...]) -> Any:
        """The arguments of every part of a stretch's ``order``, then the hour's (``MilieuModel.hour_arguments``),
        then :data:`NOTHING`, held in compiled form (:func:`held`): a stretch's call hands over one object, not the
        hour's dozen arrays."""
        key = self._key()
        if self._held is not None and self._held[0] == key:
            return self._held[1]
        own, arguments = True, []
        for part in order:
            one, native = self._of(part)
            arguments.append(one)
            own = own and native
        holder = held((tuple(arguments), self.model.hour_arguments(), NOTHING))
        if own and key[1] is not None and key == self._key():
            self._held = (key, holder)
        return holder

    def holds(self, order: tuple[Part, ...]) -> bool:
        """Whether the arguments of a stretch's ``order`` can be held for a run of hours (not when a stream has a
        stand-in, which draws anew each hour)."""
        holder = self.held_arguments(order)
        return self._held is not None and self._held[1] is holder

    def held_for_hours(self, n_hours: int, order: tuple[Part, ...]) -> Any:
        """The held arguments of a stretch's ``order`` for a run of ``n_hours`` hours (at most HEADROOM_HOURS), the
        buffers filled for them (asked for right before the run: a call in between may top them up and count
        afresh); None when they cannot be kept (:meth:`holds`)."""
        if self._calls_left < n_hours:
            self._top_up()
        if not self.holds(order):
            return None
        self._calls_left -= n_hours
        return self._held[1]  # type: ignore[index]

    def run(self, parts: tuple[Part, ...], stretch: Any = None) -> None:
        """Run ``parts`` (consecutive phases of this hour, in order) as one compiled call, and log what they did:
        a part alone, or several with ``stretch``, a module with the parts' order (``parts_in_order()``) and the
        compiled function running them (``run_hours``): ``milieu_sim.model.processes.stretch``."""
        model = self.model
        if self._calls_left <= 0:
            self._top_up()
        self._calls_left -= 1
        clock = model.hour.clock
        clock[MOVED] = 0.0
        if len(parts) == 1:
            events, feedback, change = parts[0].function(clock, self.arguments(parts[0]))
        else:
            mask = self._masks.get(parts)
            order = stretch.parts_in_order()
            if mask is None:
                mask = self._masks[parts] = np.array([[part in parts for part in order]])
            events, feedback, change, _ = stretch.run_hours(clock, mask, self.held_arguments(order), 0, NO_HOURS, False)
        if events.shape[0]:
            model.records.events.add_rows(events)
        if feedback.shape[0]:
            model.records.feedback.add_rows(feedback, change)
        if clock[MOVED]:
            model.positions.moved()


# --- holding a stretch's arguments in compiled form ---------------------------------------------------------
@structref.register
class HeldType(types.StructRef):
    """The numba type of :class:`Held`: one field, ``args``, a tuple of the parts' argument tuples."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class Held(structref.StructRefProxy):
    """A stretch's arguments, unboxed once (:func:`held`) and handed to compiled code as one object; ``keep``: the
    arguments as given, which own the memory of the held arrays."""

    __slots__ = ("keep",)


structref.define_boxing(HeldType, Held)


def _hold(args):  # typed by the overload below; only compiled code calls it
    raise NotImplementedError


@overload(_hold)
def _hold_typed(args):
    held_type = HeldType([("args", args)])

    def hold(args):
        holder = structref.new(held_type)
        holder.args = unowned(args)
        return holder

    return hold


def unowned(args: Any) -> Any:
    """``args`` with every array a view that owns no memory, in compiled code (:func:`_unowned`); in Python (with
    Numba switched off), ``args`` as they are."""
    return args


@overload(unowned)
def _unowned_typed(args):
    return lambda args: _unowned(args)


@intrinsic
def _unowned(typingctx, args):
    """``args`` (arrays, tuples of them, numbers, at any depth) with every array a view that does not own its
    memory (no meminfo, as ``numba.carray`` makes): compiled code then counts no references to it.  Numba counts a
    reference each time an array is taken from a tuple, and drops it after its last use: over a stretch's hours,
    a few thousand atomic counts an hour on the parts' few hundred arrays, a quarter of a simulated year's time
    (``perf``: most samples of the compiled code fell in ``NRT_incref`` and ``NRT_decref``).  The memory stays
    owned by the arrays given (kept with the holder: :func:`held`)."""

    def strip(context, builder, kind, value):
        if isinstance(kind, types.Array):
            array = context.make_array(kind)(context, builder, value=value)
            array.meminfo = cgutils.get_null_value(array.meminfo.type)
            return array._getvalue()
        if isinstance(kind, types.BaseTuple):
            out = cgutils.get_null_value(context.get_value_type(kind))
            for k, item in enumerate(kind):
                out = builder.insert_value(out, strip(context, builder, item, builder.extract_value(value, k)), k)
            return out
        context.nrt.incref(builder, kind, value)  # anything else is given on as it is, as a new reference
        return value

    def codegen(context, builder, signature, arguments):
        return strip(context, builder, signature.args[0], arguments[0])

    return args(args), codegen


@kernel
def _held(args):
    return _hold(args)


def held(args: tuple) -> Any:
    """``args`` held in compiled form: an object with the field ``args`` that compiled code reads as it was given
    (a plain namespace when Numba is switched off, ``NUMBA_DISABLE_JIT=1``).  The held arrays do not own their
    memory (:func:`unowned`): the holder keeps ``args`` (``keep``), so they live as long as it does."""
    if numba.config.DISABLE_JIT:
        return SimpleNamespace(args=args)
    holder = _held(args)
    holder.keep = args
    return holder


# --- the stretch module, written from the schedule ---------------------------------------------------------------
STRETCH_MODULE = "milieu_sim/model/processes/stretch.py"


def stretch_source() -> str:
    """The source of :mod:`milieu_sim.model.processes.stretch`: its ``parts_in_order`` and ``run_hours`` list
    the parts of the default schedule in its order (``python -m milieu_sim.model.docs`` writes it; a
    test checks that it is up to date)."""
    import sys

    from milieu_sim.model.schedule import SCHEDULE

    rows = []  # (phase, module, part attribute, part function)
    for phase in SCHEDULE:
        entry = phase.entry
        part = getattr(entry, "part", None)
        if part is None:
            continue
        module = sys.modules[entry.__module__]
        attribute = next(name for name, value in vars(module).items() if value is part and name.isupper())
        rows.append((phase.name, module.__name__.rsplit(".", 1)[-1], attribute, part.function.__name__))
    modules = sorted({module for _, module, _, _ in rows})
    unpack = ["    (", *(f"        a_{phase}," for phase, _, _, _ in rows), "    ) = held.args[0]"]

    def calls(indent: str) -> list[str]:
        return [
            line
            for k, (phase, module, _, function) in enumerate(rows)
            for line in (
                f"{indent}if mask[{k}]:",
                f"{indent}    logged = {module}.{function}(clock, a_{phase})",
                f"{indent}    if logged[0].shape[0] or logged[1].shape[0]:",
                f"{indent}        logs = _log(logs, logged)",
            )
        ]

    return "\n".join(
        [
            '"""Stretches of the compiled hour: consecutive phases that are compiled parts, run as one call.',
            "",
            "Written by ``python -m milieu_sim.model.docs`` from the default schedule; do not edit by hand.",
            ":func:`run_hours` calls the parts of :func:`parts_in_order` (the schedule's order): through a run of",
            "quiet hours, with each hour's clock and counts (``MilieuModel.run``; milieu_sim.model.hours), or once,",
            "those its mask marks: ``Schedule.run`` hands ``compiled_hour.CompiledHour`` each run of consecutive",
            "phases of an hour that are all parts.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import numpy as np",
            "",
            "from milieu_sim.model.compiled_hour import AWAKE, MOVED, NEW_SHIFT, Part, unowned",
            "from milieu_sim.model.hours import count_hour, set_clock",
            "from milieu_sim.model.kernels import kernel",
            "from milieu_sim.model.processes import (",
            *(f"    {module}," for module in modules),
            ")",
            "",
            "",
            "def parts_in_order() -> tuple[Part, ...]:",
            '    """The parts :func:`run_hours` takes, in its (the schedule\'s) order."""',
            "    return (",
            *(f"        {module}.{attribute},  # {phase}" for phase, module, attribute, _ in rows),
            "    )",
            "",
            "",
            "@kernel(inline=True)",
            "def _room(rows, filled, more):",
            '    """``rows`` (a buffer of logged rows, its first ``filled`` taken) with room for ``more`` rows:',
            '    itself, or a buffer twice as large as needed with the rows taken copied into it."""',
            "    if filled + more <= rows.shape[0]:",
            "        return rows",
            "    grown = np.empty((2 * (filled + more), rows.shape[1]), dtype=rows.dtype)",
            "    grown[:filled] = rows[:filled]",
            "    return grown",
            "",
            "",
            "@kernel",
            "def _log(logs, part_logs):",
            '    """Append one part\'s logged rows to the stretch\'s (called only when there are some: a call',
            "    between compiled functions costs about 10 ns for each array it passes).  ``logs``: the buffers of",
            "    event, feedback and feedback-change rows and how many rows of events and of feedback they hold;",
            "    a buffer too small for the new rows is replaced by one twice as large as they need (:func:`_room`),",
            '    so that a run of hours copies each row about twice, not once per later append."""',
            "    events, feedback, change, n_events, n_feedback = logs",
            "    more_events, more_feedback, more_change = part_logs",
            "    m = more_events.shape[0]",
            "    if m:",
            "        events = _room(events, n_events, m)",
            "        events[n_events : n_events + m] = more_events",
            "        n_events += m",
            "    m = more_feedback.shape[0]",
            "    if m:",
            "        grown = _room(feedback, n_feedback, m)",
            "        if grown.shape[0] != feedback.shape[0]:  # the change of each feedback row, alongside",
            "            longer = np.empty(grown.shape[0], dtype=change.dtype)",
            "            longer[:n_feedback] = change[:n_feedback]",
            "            change = longer",
            "        feedback = grown",
            "        feedback[n_feedback : n_feedback + m] = more_feedback",
            "        change[n_feedback : n_feedback + m] = more_change",
            "        n_feedback += m",
            "    return events, feedback, change, n_events, n_feedback",
            "",
            "",
            "@kernel",
            "def run_hours(clock, masks, held, first_step, rows, started):",
            '    """Run the parts of :func:`parts_in_order` through ``rows.shape[0]`` quiet hours from step',
            "    ``first_step`` on, each as ``MilieuModel.step`` runs it: the clock (hours.set_clock), the parts that",
            "    the hour's conditions call for (``masks[2 * awake + new_shift]``), the hour's counts into its row of",
            "    ``rows`` (hours.count_hour).  ``started``: the first hour was begun in Python (its clock set, its",
            "    phases before the run's first part run: ``Schedule.head``); it goes on from there",
            "    (``masks[4 + 2 * awake + new_shift]``: those parts only).  With ``rows`` of no hours: the parts that",
            "    ``masks[0]`` marks, once, in the hour the clock holds (a stretch of an hour run from Python:",
            "    ``Schedule.run``).  ``held.args``",
            "    (compiled_hour.held) holds the parts' arguments, then the hour's (``MilieuModel.hour_arguments``:",
            "    the clock's start, the routine's week, the shift of each clock hour, the hour's addressed, punished",
            "    and active arrays, what count_hour reads), then :data:`NOTHING` (no rows logged: what the stretch",
            "    returns when no part logged any, handed back to Python as the same arrays).  Returns the rows the",
            '    parts logged, in order (events, feedback, feedback change), and whether anyone moved."""',
            *unpack,
            "    clock_start, week, shift_of_hour, (addressed, punished, active), counted = held.args[1]",
            "    x, present, on_unit, isolated, on_duty, climate_values, community_values = counted",
            "    clock, masks, rows = unowned((clock, masks, rows))  # the caller keeps them: no counts in the hours",
            "    nothing = held.args[2]",
            "    logs = (nothing[0], nothing[1], nothing[2], np.int64(0), np.int64(0))  # the rows logged: see _log",
            "    moved = False",
            "    hours = rows.shape[0]",
            "    for k in range(max(hours, 1)):",
            "        mask = masks[0]",
            "        if hours:",
            "            begun = started and k == 0",
            "            if not begun:",
            "                step = first_step + k",
            "                set_clock(clock, step, clock_start, week, shift_of_hour, addressed, punished, active)",
            "            clock[MOVED] = 0.0",
            "            mask = masks[2 * int(clock[AWAKE]) + int(clock[NEW_SHIFT]) + (4 if begun else 0)]",
            *calls("        "),
            "        moved = moved or clock[MOVED] != 0.0",
            "        if hours:",
            "            count_hour(rows[k], clock, x, present, on_unit, isolated, on_duty, climate_values, "
            "community_values)",
            "    events, feedback_rows, change, n_events, n_feedback = logs  # (the module feedback is a part's)",
            "    return events[:n_events], feedback_rows[:n_feedback], change[:n_feedback], moved",
            "",
        ]
    )


def write_stretch_module() -> Path:
    """Rewrite :mod:`milieu_sim.model.processes.stretch` from the schedule (``python -m milieu_sim.model.docs``)."""
    path = Path(__file__).resolve().parents[2] / STRETCH_MODULE
    path.write_text(stretch_source(), encoding="utf-8")
    return path

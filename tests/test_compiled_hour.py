"""The compiled hour: buffered streams, parts run alone or in stretches, the hour's clock array."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

from milieu_sim import MilieuModel
from milieu_sim.model import compiled_hour
from milieu_sim.model.params import RunParameters
from milieu_sim.model.processes.stretch import parts_in_order
from milieu_sim.model.schedule import SCHEDULE, Phase, Stretch
from milieu_sim.model.state import CLOCK_FIELDS, CLOCK_INDEX, Hour
from milieu_sim.model.streams import NORMAL, UNIFORM, Stream, stream, take


def _pair(seed: int = 7) -> tuple[Stream, np.random.Generator]:
    return Stream(stream(seed, "movement")), stream(seed, "movement")


def _same(a, b) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_buffered_stream_gives_the_generators_numbers_whatever_the_mix_of_calls():
    buffered, plain = _pair()
    buffered.CHUNK = 16  # small buffers: many refills in place, and growth
    buffered.ensure(40)
    _same(buffered.random((3, 4)), plain.random((3, 4)))
    _same(buffered.random(), plain.random())
    _same(buffered.random(50), plain.random(50))  # more than the buffer holds: it grows
    _same(buffered.integers(0, 10, 5), plain.integers(0, 10, 5))  # another method: the generator is brought level
    buffered.ensure(30, NORMAL)
    _same(buffered.standard_normal(7), plain.standard_normal(7))
    _same(buffered.standard_normal((2, 3)), plain.standard_normal((2, 3)))
    _same(buffered.random(5), plain.random(5))  # back to uniforms: the normals drawn ahead are given back
    _same(buffered.normal(1.0, 2.0, 4), plain.normal(1.0, 2.0, 4))
    buffered.ensure(20)
    _same(buffered.random(3), plain.random(3))
    _same(buffered.random(2, dtype=np.float32), plain.random(2, dtype=np.float32))


def test_compiled_code_takes_the_same_numbers_and_python_draws_keep_the_reserve():
    buffered, plain = _pair(3)
    buffered.reserve = 12
    buffered.ensure(12)
    kept = buffered.buffer
    for rows, columns in ((2, 3), (1, 5), (4, 1)):
        _same(take(buffered.buffer, buffered.position, rows, columns), plain.random((rows, columns)))
        _same(buffered.random((2, 2)), plain.random((2, 2)))
        assert buffered.end - buffered.position[0] >= buffered.reserve
    assert buffered.buffer is kept  # refilled in place: compiled code may keep hold of it


@pytest.mark.parametrize("seed", [0, 7, 2**64 + 5, 2**128 - 1])
def test_a_buffer_filled_in_compiled_code_holds_the_generators_next_numbers(seed):
    """keyed_draws.refill fills a buffer from the generator's four words (the 128-bit step in one product): a
    hundred thousand uniforms, then as many normals (the ziggurat's wedges and tail drawn too), then uniforms again,
    each the generator's own numbers in turn, whatever its seed."""
    buffered, plain = Stream(stream(seed, "movement")), stream(seed, "movement")
    buffered.ensure(100_000)
    _same(buffered.random(100_000), plain.random(100_000))
    buffered.ensure(100_000, NORMAL)
    _same(buffered.standard_normal(100_000), plain.standard_normal(100_000))
    buffered.ensure(10_000)
    _same(buffered.random(10_000), plain.random(10_000))
    _same(buffered.integers(0, 2**40, 10), plain.integers(0, 2**40, 10))  # the generator brought level, after both


def test_one_compiled_call_refills_the_streams_short_of_their_reserve_and_leaves_the_rest_to_python():
    """refill_short refills a buffer that holds fewer unread numbers than it must, leaves one that holds enough as
    it is, and counts, untouched, those that Stream.ensure must see to: no buffer yet, a buffer of the other kind,
    a buffer smaller than the reserve; the numbers read afterwards are still the generators'."""
    from milieu_sim.model.keyed_draws import refill_short

    seeds = range(5)
    streams = [Stream(stream(seed, "feedback")) for seed in seeds]
    plains = [stream(seed, "feedback") for seed in seeds]
    short, ample, unbuffered, normals, small = streams
    for buffered in (short, ample, small):
        buffered.ensure(10)
    normals.ensure(10, NORMAL)
    for buffered, plain, read in ((short, plains[0], 4090), (ample, plains[1], 5)):
        _same(buffered.random(read), plain.random(read))
    reserves = [100, 100, 100, 100, 2 * Stream.CHUNK]
    before = [(s.buffer.copy(), int(s.position[0])) for s in streams]
    holder = compiled_hour.held((
        tuple(s.buffer for s in streams), tuple(s.position for s in streams), tuple(s.tally for s in streams),
        tuple(s.words for s in streams), np.full(5, UNIFORM, dtype=np.int64), np.array(reserves, dtype=np.int64),
    ))  # fmt: skip
    assert refill_short(holder) == 3
    assert short.position[0] == 0 and short.end - short.position[0] >= 100
    for k in (1, 2, 3, 4):
        _same(streams[k].buffer, before[k][0])
        assert streams[k].position[0] == before[k][1]
    assert unbuffered.end == 0
    for buffered, plain, reserve in zip(streams, plains, reserves, strict=True):
        buffered.ensure(reserve, UNIFORM)
        _same(buffered.random(300), plain.random(300))


@pytest.mark.parametrize("kind", [UNIFORM, NORMAL])
def test_compiled_code_reads_the_generators_next_numbers_after_any_draw_from_python(kind):
    """A stream that compiled code reads (``Stream.serve``) and that Python draws from by another method
    (``integers``, ``normal``, the other kind, a dtype of its own, the bit generator) is filled again right after:
    what compiled code takes next are the generator's next numbers, not numbers of the buffer read before."""
    buffered, plain = _pair(21)
    buffered.serve(12, kind)
    block = plain.random if kind == UNIFORM else plain.standard_normal
    _same(take(buffered.buffer, buffered.position, 2, 3), block((2, 3)))
    for python_draw in (
        lambda g: g.integers(0, 2**40, 3),
        lambda g: g.normal(1.0, 2.0, 2),
        lambda g: g.random(4) if kind == NORMAL else g.standard_normal(4),  # the other kind
        lambda g: g.random(2, dtype=np.float32),
        lambda g: g.choice(10, 3),
    ):
        _same(python_draw(buffered), python_draw(plain))
        _same(take(buffered.buffer, buffered.position, 2, 3), block((2, 3)))
        assert buffered.end - buffered.position[0] >= 12 - 6
    state = buffered.bit_generator.state  # an attribute, not a draw: the buffer is ready again too
    assert state["bit_generator"] == "PCG64"
    _same(take(buffered.buffer, buffered.position, 1, 4), block((1, 4)))


def test_a_stream_survives_pickling_with_its_place_in_the_sequence():
    buffered, plain = _pair(11)
    buffered.ensure(10)
    _same(buffered.random(4), plain.random(4))
    for copied in (pickle.loads(pickle.dumps(buffered)), copy.deepcopy(buffered)):
        _same(copied.random(6), plain.random(6))
        plain = stream(11, "movement")
        plain.random(4)


def test_run_parameters_count_every_change():
    p = RunParameters(a=1)
    seen = [p.version]
    for change in (
        lambda: p.__setitem__("a", 2),
        lambda: p.update(b=3),
        lambda: p.setdefault("c", 4),
        lambda: p.pop("c"),
        lambda: p.__delitem__("b"),
        lambda: p.__ior__({"d": 5}),
        lambda: p.popitem(),
        lambda: p.clear(),
    ):
        change()
        assert p.version > seen[-1]
        seen.append(p.version)


def test_a_parameter_changed_mid_run_reaches_the_compiled_parts():
    """The parts' arguments are kept between hours; a changed value must still reach them."""
    calm, changed = MilieuModel(rng=4, days=2), MilieuModel(rng=4, days=2)
    calm.run(days=1)
    changed.run(days=1)
    changed.p["agitation_baseline"] = 0.9  # recovery (a part) pulls agitation towards it
    calm.run(days=1)
    changed.run(days=1)
    assert changed.mean_agitation > calm.mean_agitation + 0.05


def test_parts_give_the_same_tables_alone_as_in_stretches():
    """A phase of one's own between every two parts splits every stretch: each part then runs alone."""
    together = MilieuModel(rng=2, policy="restrictive")
    alone = MilieuModel(rng=2, policy="restrictive")
    names = [p.name for p in SCHEDULE if getattr(p.entry, "part", None) is not None]
    for name in names:
        alone.schedule.insert(Phase(f"after_{name}", lambda model: None, after=name))
    together.run(days=5)
    alone.run(days=5)
    runs = together.schedule._plan[2].values()
    assert any(isinstance(f, Stretch) for run in runs for f in run)
    assert not any(isinstance(f, Stretch) for run in alone.schedule._plan[2].values() for f in run)
    for name, frame in together.tables().items():
        pd.testing.assert_frame_equal(frame, alone.tables()[name], check_exact=True, obj=name)


def test_every_part_is_compiled_into_the_stretch():
    """A part's function is an inlined kernel, so that the stretch runs it with no call (docs/architecture.md);
    run alone from Python it is compiled on its own, and gives the same tables (the test above)."""
    for part in parts_in_order():
        options = getattr(part.function, "targetoptions", None)
        if options is not None:  # None: NUMBA_DISABLE_JIT=1, plain Python functions
            assert options.get("inline") == "always", part.function.__qualname__


def test_the_stretch_order_is_the_schedules():
    position = {p.name: k for k, p in enumerate(SCHEDULE)}
    by_part = {id(getattr(p.entry, "part", None)): p.name for p in SCHEDULE}
    order = [position[by_part[id(part)]] for part in parts_in_order()]
    assert order == sorted(order) and len(set(order)) == len(order)


def test_the_clock_positions_are_the_hours_fields():
    for name, k in CLOCK_INDEX.items():
        constant = {"kind": "KIND_CODE", "unaddressed_transgressions": "UNADDRESSED"}.get(name, name.upper())
        if name == "addressed_transgressions":
            constant = "ADDRESSED"
        assert getattr(compiled_hour, constant) == k, name


def test_the_hours_fields_read_back_as_python_values():
    hour = Hour(3, step=5, kind="meal", awake=False, facilitation=0.25)
    assert (hour.step, hour.kind, hour.awake, hour.facilitation) == (5, "meal", False, 0.25)
    assert type(hour.step) is int and type(hour.awake) is bool and type(hour.facilitation) is float
    hour.kind = ""
    assert hour.kind == "" and hour.clock[CLOCK_INDEX["kind"]] == -1
    assert len(hour.clock) == len(CLOCK_FIELDS)
    with pytest.raises(TypeError, match="no field"):
        Hour(3, nonsense=1)


@pytest.mark.parametrize("kind", [UNIFORM, NORMAL])
def test_a_stand_in_stream_feeds_a_part(kind):
    """A test's stand-in for a part's stream gives the part its block (CompiledHour reads it each call)."""
    model = MilieuModel(rng=1, n_clients=6)

    class Constant:
        def random(self, size=None):
            return np.full(size, 0.0)

        def standard_normal(self, size=None):
            return np.full(size, 0.0)

    model.streams["recovery"] = Constant()
    model.run(days=1)  # recovery's noise is 0: no error, and the run goes on
    assert model.steps == 24


def test_a_stand_in_put_in_mid_run_reaches_the_stretch():
    """The stretch keeps its arguments between hours; a stream replaced later must still be the one it reads."""
    model = MilieuModel(rng=1, n_clients=6)
    model.run(days=1)

    class Calm:
        def random(self, size=None):
            return np.full(size, 0.999999)  # no encounter, no incident, no feedback ...

        def standard_normal(self, size=None):
            return np.full(size, 0.0)

    for name in ("interaction", "escalation", "recovery"):
        model.streams[name] = Calm()
    before = model.records.events.rows
    model.run(days=1)
    kinds = model.records.events.arrays()["kind"][before:]
    from milieu_sim.model.records import CONFLICT_KINDS, KIND

    assert not np.isin(kinds, [KIND[k] for k in CONFLICT_KINDS]).any()


def test_held_arrays_are_the_given_arrays_and_live_as_long_as_the_holder():
    """The held arrays own no memory (compiled code counts no references to them): compiled writes through the
    holder must reach the arrays given, and the holder alone must keep them alive."""
    import gc

    from numba import njit

    @njit
    def bump(holder):
        (x, y), z = holder.args
        x[0] += z
        y[-1] = 7
        return x.sum() + y.sum()

    holder = compiled_hour.held(((np.arange(4.0), np.zeros(3, dtype=np.int64)), 2.5))
    gc.collect()
    garbage = [np.full(4, -1.0) for _ in range(1000)]  # would take the arrays' memory, were it freed
    assert bump(holder) == 0.0 + 1 + 2 + 3 + 2.5 + 7
    (x, y), _ = holder.keep
    _same(x, [2.5, 1.0, 2.0, 3.0])
    _same(y, [0, 0, 7])
    assert len(garbage) == 1000


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_model_copied_mid_run_goes_on_exactly_as_the_original(how):
    """A model copied mid-run (to branch a scenario) has its own streams, its state's row views on its own
    ``values`` and its own compiled arguments: the copy goes on exactly as the original does, and the original
    exactly as a model never copied."""
    never = MilieuModel(rng=5, days=4)
    never.run(days=4)
    model = MilieuModel(rng=5, days=4)
    model.run(days=2)
    copied = copy.deepcopy(model) if how == "deepcopy" else pickle.loads(pickle.dumps(model))
    assert copied.clients.agitation.base is copied.clients.values
    copied.run(days=2)
    model.run(days=2)
    for name, frame in never.tables().items():
        pd.testing.assert_frame_equal(frame, model.tables()[name], check_exact=True, obj=name)
        pd.testing.assert_frame_equal(frame, copied.tables()[name], check_exact=True, obj=name)


def test_the_stretchs_log_keeps_every_row_in_order_and_grows_its_buffers_only_when_full():
    """``stretch._log`` appends each part's rows to buffers that double when full: after blocks of any size (rows of
    events alone, of feedback alone, of both, of neither) the rows held are the blocks joined in order; a block that
    fits is written into the buffer it already has (no new buffer, so a run of hours copies each row about twice)."""
    from milieu_sim.model.processes import stretch

    rng = np.random.default_rng(3)
    events_width, feedback_width = compiled_hour.NOTHING[0].shape[1], compiled_hour.NOTHING[1].shape[1]
    logs = (*compiled_hour.NOTHING, np.int64(0), np.int64(0))
    blocks = []
    for events, feedback in ((3, 0), (0, 2), (1, 1), (7, 5), (0, 0), (40, 1), (1, 30), (2, 2), (1, 0), (0, 1)):
        block = (
            rng.integers(0, 99, (events, events_width)),
            rng.integers(0, 99, (feedback, feedback_width)),
            rng.random(feedback),
        )
        before = logs
        logs = stretch._log(logs, block)
        blocks.append(block)
        n_events, n_feedback = int(before[3]), int(before[4])
        if n_events + events <= before[0].shape[0] and events:
            assert logs[0].ctypes.data == before[0].ctypes.data  # written into the buffer it had
        if n_feedback + feedback <= before[1].shape[0] and feedback:
            assert logs[1].ctypes.data == before[1].ctypes.data and logs[2].ctypes.data == before[2].ctypes.data
        assert logs[0].shape[0] >= logs[3] and logs[1].shape[0] == logs[2].shape[0] >= logs[4]
    joined = [np.concatenate([block[k] for block in blocks]) for k in range(3)]
    assert (int(logs[3]), int(logs[4])) == (joined[0].shape[0], joined[1].shape[0])
    np.testing.assert_array_equal(logs[0][: logs[3]], joined[0])
    np.testing.assert_array_equal(logs[1][: logs[4]], joined[1])
    np.testing.assert_array_equal(logs[2][: logs[4]], joined[2])

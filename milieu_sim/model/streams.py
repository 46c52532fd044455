"""Named random streams for common random numbers.

Each stochastic process draws from its own generator, derived from the run's
seed and the process's name with :class:`numpy.random.SeedSequence` and a
stable hash (``zlib.crc32``), never Python's ``hash()``.  Processes draw
fixed-size blocks per hour (one number per bed slot, whether or not it is
occupied), so switching one policy lever does not shift the draws of any other
process: two policies run with the same seed face the same admissions and the
same clients.

Each stream is a :class:`Stream`: its generator read ahead into a buffer, so that
compiled code can take an hour's blocks without calling back into Python; the
numbers are the generator's own, in the same order, whatever mix of calls a run
makes.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from milieu_sim.model.kernels import kernel
from milieu_sim.model.keyed_draws import (
    DRAWN,
    END,
    KIND,
    NORMAL,
    UNIFORM,
    pcg64_step,
    refill_stream,
    wrapping_products,
)

STREAM_NAMES: tuple[str, ...] = (
    "admissions",  # who is admitted: the k-th admitted client's initial state
    "arrivals",  # when free beds are filled (keyed by bed and vacancy count)
    "movement",  # clients' movement (one block per bed slot)
    "staff_movement",  # staff movement (separate, so staffing levels do not shift clients' draws)
    "interaction",
    "feedback",
    "staff_response",
    "escalation",
    "de_escalation",
    "isolation",
    "recovery",
    "dropout",
    "staff",  # staff attributes
    "aftermath",  # after an incident: reassurance of the witnesses, calm-down methods (escalation)
    "climate",  # the daily mutual help meeting (climate)
    "flashpoints",  # crowding and waiting, turnover, bad news (flashpoints)
    "home",  # stressors and support at home (a day programme's away hours)
    "community_meeting",  # who the community meeting confronts and affirms (norms)
    "staff_office",  # which staff spend a block in the office rather than on the floor (movement)
    "prevention",  # whether a staff member's check-in talks a client down (prevention)
    "initiative",  # whether an independent client practises a daily-living task unprompted (initiative)
    "aftercare",  # life after discharge: one generator per follow-up, keyed by person and stay (aftercare)
)


def root_entropy(seed: int | None) -> int:
    """The integer entropy of a run: the seed itself, or fresh OS entropy when ``seed`` is None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    return int(seed)


def stream(entropy: int, name: str, *key: int) -> np.random.Generator:
    """The generator for process ``name`` (and optional sub-keys) of a run with this entropy."""
    sequence = np.random.SeedSequence(entropy, spawn_key=(name_code(name), *key))
    return np.random.Generator(np.random.PCG64(sequence))


def name_code(name: str) -> int:
    """The stable code of a stream's name, the first word of its spawn key (``zlib.crc32``, not ``hash()``)."""
    return zlib.crc32(name.encode("utf-8"))


# --- keyed generators for one use, set up fast -------------------------------------------------------------
# A stay draws from three generators keyed by who and when (admission, arrival, follow-up: ``stream(entropy, name,
# *key)``).  Building each (NumPy's SeedSequence, then PCG64 seeded from it) took 20-35 µs within a run, most of it
# in NumPy's generic Python-level code run with cold caches: about an eighth of a simulated year.  KeyedGenerator
# works out the same PCG64 state in compiled code and sets it in one generator kept for the purpose.  The state is
# SeedSequence's (numpy/random/bit_generator.pyx: its entropy words, the pool's hash and mix, ``generate_state(4,
# uint64)``) and PCG64's seeding (numpy/random/src/pcg64: two steps of the 128-bit LCG); tests/test_streams.py
# checks it against NumPy's own for seeds of every size and the keys the model uses.
_M32 = np.uint64(0xFFFFFFFF)
_B32 = np.uint64(1 << 32)
_S16 = np.uint64(16)
_S32 = np.uint64(32)
_S63 = np.uint64(63)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)  # SeedSequence's hash of entropy into the pool
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)  # and of the pool into a seed
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_POOL = 4  # SeedSequence's default pool size (32-bit words)


@kernel
def _hashmix(value, hash_const):
    value ^= hash_const
    hash_const = (hash_const * _MULT_A) & _M32
    value = (value * hash_const) & _M32
    return value ^ (value >> _S16), hash_const


@kernel
def _mix(x, y):
    result = (_MIX_L * x + (_B32 - ((_MIX_R * y) & _M32))) & _M32  # (L x - R y) mod 2**32, with no negative
    return result ^ (result >> _S16)


@kernel
def _seed_words(entropy, spawn_key):
    """``SeedSequence(entropy, spawn_key=spawn_key).generate_state(4, np.uint64)``, the entropy and a non-empty
    spawn key given as 32-bit words (lowest first) in uint64 arrays: the run's entropy padded with zeros to the
    pool's size, then the spawn key, hashed into a pool of four words and mixed, then hashed out into eight
    words, read two by two as little-endian 64-bit words."""
    n_run = max(entropy.size, _POOL)
    words = np.zeros(n_run + spawn_key.size, dtype=np.uint64)
    words[: entropy.size] = entropy
    words[n_run:] = spawn_key
    pool = np.zeros(_POOL, dtype=np.uint64)
    hash_const = _INIT_A
    for i in range(_POOL):
        pool[i], hash_const = _hashmix(words[i], hash_const)
    for source in range(_POOL):
        for target in range(_POOL):
            if source != target:
                hashed, hash_const = _hashmix(pool[source], hash_const)
                pool[target] = _mix(pool[target], hashed)
    for source in range(_POOL, words.size):
        for target in range(_POOL):
            hashed, hash_const = _hashmix(words[source], hash_const)
            pool[target] = _mix(pool[target], hashed)
    out = np.zeros(4, dtype=np.uint64)
    hash_const = _INIT_B
    for i in range(8):
        value = pool[i % _POOL] ^ hash_const
        hash_const = (hash_const * _MULT_B) & _M32
        value = (value * hash_const) & _M32
        value ^= value >> _S16
        out[i // 2] |= value << _S32 if i % 2 else value
    return out


def _words(value: int) -> list[int]:
    """NumPy's 32-bit words of a non-negative integer, lowest first (``[0]`` for 0)."""
    if value < 0:
        raise ValueError(f"a stream's entropy must be a non-negative integer, not {value}")
    words = [value & 0xFFFFFFFF]
    value >>= 32
    while value:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return words


class KeyedGenerator:
    """``stream(entropy, name, *key)`` for one use, fast: ``keyed(name, *key)`` returns this object's one
    generator, set to the state that generator starts in (the same numbers), so draw from it at once, before
    the next call.  Keys must be non-negative; keys of 2**63 or more go the plain way.  Compiled code seeds a key's
    generator itself (:func:`keyed_state`) from ``entropy_words`` and the name's :meth:`code`."""

    def __init__(self, entropy: int) -> None:
        self.entropy = entropy
        self.entropy_words = np.array(_words(entropy), dtype=np.uint64)  # the run's entropy as SeedSequence reads it
        self._names: dict[str, int] = {}
        self.generator = np.random.Generator(np.random.PCG64(0))  # its state is set anew at each call

    def __call__(self, name: str, *key: int) -> np.random.Generator:
        words = self._words(name, key)
        if words is None:
            return stream(self.entropy, name, *key)
        high, low, increment_high, increment_low = words.tolist()
        self.generator.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": (high << 64) | low, "inc": (increment_high << 64) | increment_low},
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self.generator

    def words(self, name: str, *key: int) -> np.ndarray:
        """The starting state of ``stream(entropy, name, *key)`` as ``keyed_draws.pcg64_uniform`` reads it (four uint64
        words), for compiled code to draw from: the same uniforms, one at a time (and with
        :mod:`milieu_sim.model.keyed_draws`, the same normals, exponentials and geometric draws)."""
        words = self._words(name, key)
        if words is None:
            numpy_state = stream(self.entropy, name, *key).bit_generator.state["state"]
            words = _as_words(numpy_state["state"], numpy_state["inc"])
        return words

    def code(self, name: str) -> int:
        """The stable code of a stream's name (:func:`name_code`), worked out once."""
        code = self._names.get(name)
        if code is None:
            code = self._names[name] = name_code(name)
        return code

    def _words(self, name: str, key: tuple[int, ...]) -> np.ndarray | None:
        """The PCG64 state that ``stream(entropy, name, *key)`` starts in, as four words (:func:`keyed_state`); None
        for keys of 2**63 or more (NumPy's own SeedSequence is asked then)."""
        if not all(0 <= k < _KEY_LIMIT for k in key):
            return None
        with wrapping_products():
            return _keyed_state(self.entropy_words, self.code(name), np.array(key, dtype=np.int64))


_KEY_LIMIT = 1 << 63  # keys compiled code takes (int64)


@kernel(inline=True)
def keyed_state(entropy, code, key):
    """The PCG64 state that ``stream(entropy, name, *key)`` starts in, as four words (:func:`_seeded`), in compiled
    code: ``entropy`` the run's entropy words (``KeyedGenerator.entropy_words``), ``code`` the name's
    (:func:`name_code`), ``key`` the sub-keys (non-negative int64), each read as SeedSequence reads a number: its
    32-bit words, lowest first (one word below 2**32)."""
    words = np.empty(1 + 2 * key.size, dtype=np.uint64)
    words[0] = np.uint64(code)
    n = 1
    for j in range(key.size):
        value = np.uint64(key[j])
        words[n] = value & _M32
        n += 1
        if value >> _S32:
            words[n] = value >> _S32
            n += 1
    return _seeded(entropy, words[:n])


@kernel
def _keyed_state(entropy, code, key):
    return keyed_state(entropy, code, key)


def _as_words(state: int, increment: int) -> np.ndarray:
    """A PCG64 (state, increment) as ``keyed_draws.pcg64_uniform`` holds it: four uint64 words, high word first."""
    mask = 0xFFFFFFFFFFFFFFFF
    return np.array([state >> 64, state & mask, increment >> 64, increment & mask], dtype=np.uint64)


@kernel
def _seeded(entropy, spawn_key):
    """PCG64 seeded from ``SeedSequence(entropy, spawn_key=spawn_key)`` (:func:`_seed_words`), as four words (state
    high, state low, increment high, increment low): initial state and sequence the seed's 128-bit halves (high word
    first), the increment ``2 sequence + 1``, then step, add the initial state, step (numpy/random/src/pcg64)."""
    seed = _seed_words(entropy, spawn_key)
    words = np.empty((1, 4), dtype=np.uint64)
    words[0, 2] = (seed[2] << np.uint64(1)) | (seed[3] >> _S63)  # the increment, modulo 2**128
    words[0, 3] = (seed[3] << np.uint64(1)) | np.uint64(1)
    low = words[0, 3] + seed[1]  # one step from 0 is the increment; plus the initial state
    words[0, 0] = words[0, 2] + seed[0] + (np.uint64(1) if low < seed[1] else np.uint64(0))
    words[0, 1] = low
    pcg64_step(words, 0)
    return words[0]


class Stream:
    """One process's random stream: its generator, read ahead into a buffer that compiled code takes blocks from.

    ``random(shape)`` gives exactly the numbers ``Generator.random(shape)`` would (PCG64 makes one double from each
    64-bit output, in order, so the buffer holds the generator's next uniforms); ``standard_normal(shape)`` likewise
    from a buffer of the generator's next normals (numpy's normals are drawn one after another, with no carried
    state, so a long draw cut into pieces equals the pieces drawn in turn).  A buffer holds one kind of number; any
    other use of the stream (``normal(...)``, ``integers(...)``, the other kind) first brings the generator to the
    buffer's position, so every sequence of calls gives the numbers the plain generator gives.  Until something
    asks for a buffer (:meth:`ensure`), ``random`` and ``standard_normal`` are the generator's own methods.

    The buffer is filled in compiled code (:func:`milieu_sim.model.keyed_draws.refill`) from ``words``, the
    generator's state after the buffer's last number as four words, set from the generator's own state when
    buffering begins; NumPy's generator stays where it was then (``_start``) until something other than the buffer
    is asked of it (:meth:`sync`).  ``tally`` holds how many numbers were read before the buffer's first, the
    buffer's end (0: no buffer) and its kind (positions ``keyed_draws.DRAWN``, ``END``, ``KIND``).

    Compiled code (:func:`take`) reads ``buffer`` from ``position[0]`` on and moves the position on; Python keeps
    enough in the buffer before such code runs (:meth:`ensure`, or for all the hour's streams in one call
    ``keyed_draws.refill_short``), and a draw made from Python leaves at least ``reserve`` numbers in it.  The
    buffer is refilled in place, so compiled code can keep hold of it; when it must be replaced (a larger draw
    than it holds), ``version[0]`` (shared by a run's streams) goes up.
    """

    CHUNK = 4096  # the smallest buffer

    def __init__(self, generator: np.random.Generator, version: list[int] | None = None) -> None:
        self.generator = generator
        self.buffer = np.empty(0)
        self.position = np.zeros(1, dtype=np.int64)
        self.tally = np.zeros(3, dtype=np.int64)  # numbers read before the buffer's first, its end, its kind
        self.words = np.zeros((1, 4), dtype=np.uint64)  # the generator's state after the buffer's last number
        self.reserve = 0
        self.served: int | None = None  # the kind of number compiled code reads from the buffer (serve), if any
        self.version = [0] if version is None else version
        self._start = generator.bit_generator.state  # the generator's state when the first buffered number was drawn
        self._direct()

    @property
    def kind(self) -> int:
        """The kind of number the buffer holds (UNIFORM or NORMAL)."""
        return int(self.tally[KIND])

    @property
    def end(self) -> int:
        """Numbers in the buffer: 0 (no buffer), else its size."""
        return int(self.tally[END])

    def __getstate__(self) -> dict:
        """Copied or pickled without the bound methods (rebound to the copy's own generator)."""
        state = dict(self.__dict__)
        state.pop("random", None)
        state.pop("standard_normal", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.end:
            self.random, self.standard_normal = self._random, self._standard_normal
        else:
            self._direct()

    def _direct(self) -> None:
        """No buffer: ``random`` and ``standard_normal`` are the generator's own (no cost in between)."""
        self.random = self.generator.random
        self.standard_normal = self.generator.standard_normal

    # --- the buffer ---------------------------------------------------------------------------
    def serve(self, reserve: int, kind: int) -> None:
        """Keep the buffer ready for compiled code that reads numbers of ``kind`` from it (:func:`take`): at least
        ``reserve`` unread now and after each draw made from Python; a use of the generator that empties the
        buffer (another method, the other kind, a dtype of one's own: :meth:`sync`) fills it again right after,
        so that compiled code never reads a number of the buffer that something else has read."""
        self.reserve = max(self.reserve, reserve)
        self.served = kind
        self.ensure(self.reserve, kind)

    def _generators_own(self, method: str, *args, **kwargs):
        """The generator's own ``method`` called at the buffer's place (:meth:`sync`), the buffer filled again after
        for the compiled code it serves (:meth:`_ready`), even when the call raises."""
        self.sync()
        try:
            return getattr(self.generator, method)(*args, **kwargs)
        finally:
            self._ready()

    def _ready(self) -> None:
        """The buffer filled again for the compiled code it serves, after a use of the generator that emptied it."""
        if self.served is not None:
            self.ensure(self.reserve, self.served)

    def ensure(self, n: int, kind: int = UNIFORM) -> None:
        """Make sure the buffer holds at least ``n`` unread numbers of ``kind`` (UNIFORM or NORMAL)."""
        tally = self.tally
        if kind != tally[KIND]:
            self.sync()
            tally[KIND] = kind
        start = int(self.position[0])
        end = int(tally[END])
        if end - start >= n:
            return
        if end == 0:  # empty: start buffering from the generator's present state, reading from the buffer's start
            start = self.position[0] = 0
            self._start = state = self.generator.bit_generator.state
            self.words[0] = _as_words(state["state"]["state"], state["state"]["inc"])
            tally[DRAWN] = 0
            self.random, self.standard_normal = self._random, self._standard_normal
        if n > self.buffer.size:  # a larger buffer, holding the unread numbers
            fresh = np.empty(max(2 * n, self.CHUNK))
            fresh[: end - start] = self.buffer[start:end]
            self.buffer = fresh
            self.version[0] += 1
            tally[DRAWN] += start
            tally[END] = end - start
            self.position[0] = 0
        with wrapping_products():
            refill_stream(self.buffer, self.position, tally, self.words)

    def sync(self) -> None:
        """Bring the generator to the buffer's position (the numbers read so far) and empty the buffer."""
        if self.end == 0:
            return
        read = int(self.tally[DRAWN]) + int(self.position[0])
        bits = self.generator.bit_generator
        bits.state = self._start
        if self.kind == UNIFORM:
            bits.advance(read)  # one 64-bit output per uniform
            state = bits.state  # advance() drops a half-used 32-bit output, which uniforms leave alone: put it back
            state["has_uint32"], state["uinteger"] = self._start["has_uint32"], self._start["uinteger"]
            bits.state = state
        else:
            for start in range(0, read, self.CHUNK):  # normals take a varying number of outputs: draw them again
                self.generator.standard_normal(min(self.CHUNK, read - start))
        self.tally[END] = 0
        self.position[0] = 0
        self._direct()

    def _take(self, size, kind: int) -> np.ndarray | float:
        if self.served is not None and kind != self.served:  # the other kind: the generator's own, then the buffer
            return self._generators_own("random" if kind == UNIFORM else "standard_normal", size)
        if size is None or isinstance(size, (int, np.integer)):
            count = 1 if size is None else int(size)
        else:
            count = 1
            for extent in size:
                count *= int(extent)
        self.ensure(count + self.reserve, kind)
        start = int(self.position[0])
        self.position[0] = start + count
        block = self.buffer[start : start + count].copy()  # the buffer is refilled in place
        return float(block[0]) if size is None else block.reshape(size)

    # --- a Generator's methods ----------------------------------------------------------------
    def _random(self, size=None, dtype=np.float64, out=None):
        """``Generator.random`` while there is a buffer: the next uniforms in [0, 1), from it."""
        if (dtype is not np.float64 and np.dtype(dtype) != np.float64) or out is not None:
            return self._generators_own("random", size, dtype=dtype, out=out)
        return self._take(size, UNIFORM)

    def _standard_normal(self, size=None, dtype=np.float64, out=None):
        """``Generator.standard_normal`` while there is a buffer: the next standard normals, from it."""
        if (dtype is not np.float64 and np.dtype(dtype) != np.float64) or out is not None:
            return self._generators_own("standard_normal", size, dtype=dtype, out=out)
        return self._take(size, NORMAL)

    def __getattr__(self, name: str):
        """Any other method or attribute of the generator, after bringing it to the buffer's position; for a
        stream that compiled code reads (:meth:`serve`), the buffer is filled again right after the method's call
        (at once, for an attribute that is not a method: the bit generator's state, say, is then where the buffer
        begins; moving the bit generator on by hand is not seen)."""
        if name.startswith("_") or name in ("generator", "buffer", "position", "tally", "words", "reserve", "served",
                                            "version", "random", "standard_normal"):  # fmt: skip
            raise AttributeError(name)  # not set yet (while unpickling)
        self.sync()
        attribute = getattr(self.generator, name)
        if self.served is None:
            return attribute
        if callable(attribute):
            return functools.partial(self._generators_own, name)
        self._ready()
        return attribute


@kernel(inline=True)
def take(buffer, position, rows, columns):
    """The next ``rows x columns`` numbers of a stream's buffer (``Stream.buffer``, read from ``position[0]``), as
    a (rows, columns) block in row order, as ``Generator.random((rows, columns))`` gives them; moves the position
    on.  The caller has made sure the buffer holds them (``Stream.ensure``)."""
    start = position[0]
    position[0] = start + rows * columns
    return buffer[start : start + rows * columns].reshape((rows, columns))


class Streams(dict):
    """The run's random streams (:class:`Stream`, each a generator read ahead) by stream name.

    The built-in processes' streams (:data:`STREAM_NAMES`) are made when the model
    is built; any other name, such as the stream a phase of one's own declares in
    its ``OWNS``, gets its generator on first use, derived from the run's seed and
    the name exactly like the others.  A new mechanism's stream therefore shifts
    nobody else's draws and needs no registration.
    """

    def __init__(self, entropy: int) -> None:
        self.version = [0]  # goes up when a stream or a stream's buffer is replaced (Stream.version)
        super().__init__((name, Stream(stream(entropy, name), self.version)) for name in STREAM_NAMES)
        self.entropy = entropy
        self.keyed = KeyedGenerator(entropy)  # generators keyed by who and when, for one use each

    def __setitem__(self, name: str, stream: object) -> None:
        """Put a stream (or a stand-in for one, in a test) under ``name``; compiled code's arguments follow."""
        super().__setitem__(name, stream)
        version = getattr(self, "version", None)  # not yet set while unpickling
        if version is not None:
            version[0] += 1

    def __missing__(self, name: str) -> Stream:
        made = self[name] = Stream(stream(self.entropy, name), self.version)
        return made


def make_streams(entropy: int) -> Streams:
    """The run's streams: one generator per process name (more are made on first use)."""
    return Streams(entropy)

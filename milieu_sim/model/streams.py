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

import contextlib
import zlib

import numba
import numpy as np

from milieu_sim.model.kernels import kernel

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


#: The kinds of number a stream's buffer holds (``Stream.kind``).
UNIFORM, NORMAL = 0, 1


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
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)  # SeedSequence's hash of entropy into the pool
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)  # and of the pool into a seed
_MIX_L, _MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)
_PCG_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341  # PCG64's 128-bit LCG multiplier
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


_PCG_HIGH, _PCG_LOW = np.uint64(_PCG_MULTIPLIER >> 64), np.uint64(_PCG_MULTIPLIER & 0xFFFFFFFFFFFFFFFF)
_S58, _S63, _S64, _S11 = np.uint64(58), np.uint64(63), np.uint64(64), np.uint64(11)


@kernel(inline=True)
def _high_product(a, b):
    """The high 64 bits of the 128-bit product of two 64-bit numbers (from their 32-bit halves: no overflow)."""
    a0, a1, b0, b1 = a & _M32, a >> _S32, b & _M32, b >> _S32
    cross, other = a0 * b1, a1 * b0
    middle = ((a0 * b0) >> _S32) + (cross & _M32) + (other & _M32)
    return a1 * b1 + (cross >> _S32) + (other >> _S32) + (middle >> _S32)


@kernel(inline=True)
def pcg64_step(generators, k):
    """Move PCG64 generator ``k`` on one step: its 128-bit state (``generators[k]`` = state high, state low,
    increment high, increment low, as uint64) times PCG64's multiplier plus the increment, modulo 2**128."""
    high, low = generators[k, 0], generators[k, 1]
    product = low * _PCG_LOW  # the low 64 bits (modulo 2**64)
    high = _high_product(low, _PCG_LOW) + low * _PCG_HIGH + high * _PCG_LOW
    low = product + generators[k, 3]
    high += generators[k, 2] + (np.uint64(1) if low < product else np.uint64(0))
    generators[k, 0], generators[k, 1] = high, low


@kernel(inline=True)
def pcg64_next(generators, k):
    """The next 64-bit output of PCG64 generator ``k`` (see :func:`pcg64_step`): a step, then the XSL-RR output of
    the new state (its halves xor-ed, rotated right by its top six bits), what NumPy's ``next_uint64`` gives."""
    pcg64_step(generators, k)
    high, low = generators[k, 0], generators[k, 1]
    mixed = high ^ low
    turn = high >> _S58
    return (mixed >> turn) | (mixed << ((_S64 - turn) & _S63))


@kernel(inline=True)
def pcg64_uniform(generators, k):
    """The next uniform of PCG64 generator ``k``, ``generators[k]`` = (state high, state low, increment high,
    increment low) as uint64, moved on one step: what ``Generator.random()`` gives from that state, the top 53 bits
    of :func:`pcg64_next` as a double in [0, 1) (numpy/random/src/pcg64; tests/test_streams.py checks thousands of
    draws against NumPy's)."""
    return np.float64(pcg64_next(generators, k) >> _S11) * (1.0 / 9007199254740992.0)


def wrapping_products() -> contextlib.AbstractContextManager:
    """What to run :func:`pcg64_uniform` under from Python: where it runs as plain Python (``NUMBA_DISABLE_JIT=1``),
    NumPy would warn of its 64-bit products, which wrap by design, so they are silenced there; compiled, nothing
    (``np.errstate`` costs about 9 µs a call)."""
    return np.errstate(over="ignore") if numba.config.DISABLE_JIT else contextlib.nullcontext()


class KeyedGenerator:
    """``stream(entropy, name, *key)`` for one use, fast: ``keyed(name, *key)`` returns this object's one
    generator, set to the state that generator starts in (the same numbers), so draw from it at once, before
    the next call.  Keys must be non-negative; keys of 2**32 or more (more than one word) go the plain way."""

    def __init__(self, entropy: int) -> None:
        self.entropy = entropy
        self._entropy = np.array(_words(entropy), dtype=np.uint64)
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
        """The starting state of ``stream(entropy, name, *key)`` as :func:`pcg64_uniform` reads it (four uint64
        words), for compiled code to draw from: the same uniforms, one at a time (and with
        :mod:`milieu_sim.model.keyed_draws`, the same normals, exponentials and geometric draws)."""
        words = self._words(name, key)
        if words is None:
            numpy_state = stream(self.entropy, name, *key).bit_generator.state["state"]
            words = _as_words(numpy_state["state"], numpy_state["inc"])
        return words

    def _words(self, name: str, key: tuple[int, ...]) -> np.ndarray | None:
        """The PCG64 state that ``stream(entropy, name, *key)`` starts in, as four words (:func:`_seeded`); None for
        keys of more than one 32-bit word (NumPy's own SeedSequence is asked then)."""
        code = self._names.get(name)
        if code is None:
            code = self._names[name] = name_code(name)
        if not all(0 <= k <= 0xFFFFFFFF for k in key):
            return None
        with wrapping_products():
            return _seeded(self._entropy, np.array((code, *key), dtype=np.uint64))


def _as_words(state: int, increment: int) -> np.ndarray:
    """A PCG64 (state, increment) as :func:`pcg64_uniform` holds it: four uint64 words, high word first."""
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

    Compiled code (:func:`take`) reads ``buffer`` from ``position[0]`` on and moves the position on; Python keeps
    enough in the buffer before such code runs (:meth:`ensure`), and a draw made from Python leaves at least
    ``reserve`` numbers in it.  The buffer is refilled in place, so compiled code can keep hold of it; when it
    must be replaced (a larger draw than it holds), ``version[0]`` (shared by a run's streams) goes up.
    """

    CHUNK = 4096  # the smallest buffer

    def __init__(self, generator: np.random.Generator, version: list[int] | None = None) -> None:
        self.generator = generator
        self.kind = UNIFORM
        self.buffer = np.empty(0)
        self.position = np.zeros(1, dtype=np.int64)
        self.end = 0  # numbers in the buffer (0: none, else its size)
        self.reserve = 0
        self.version = [0] if version is None else version
        self._start = generator.bit_generator.state  # the generator's state when the first buffered number was drawn
        self._drawn = 0  # numbers of the buffer's kind drawn since _start, before the buffer's first
        self._direct()

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
    def ensure(self, n: int, kind: int = UNIFORM) -> None:
        """Make sure the buffer holds at least ``n`` unread numbers of ``kind`` (UNIFORM or NORMAL)."""
        if kind != self.kind:
            self.sync()
            self.kind = kind
        start = int(self.position[0])
        left = self.end - start
        if left >= n:
            return
        draw = self.generator.random if kind == UNIFORM else self.generator.standard_normal
        if self.end == 0:  # empty: start buffering from the generator's present state
            self._start, self._drawn, left = self.generator.bit_generator.state, 0, 0
            self.random, self.standard_normal = self._random, self._standard_normal
        else:
            self._drawn += start
        if n > self.buffer.size:
            fresh = np.empty(max(2 * n, self.CHUNK))
            fresh[:left] = self.buffer[start : self.end]
            self.buffer = fresh
            self.version[0] += 1
        else:
            self.buffer[:left] = self.buffer[start : self.end].copy()
        draw(out=self.buffer[left:])
        self.end = self.buffer.size
        self.position[0] = 0

    def sync(self) -> None:
        """Bring the generator to the buffer's position (the numbers read so far) and empty the buffer."""
        if self.end == 0:
            return
        read = self._drawn + int(self.position[0])
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
        self.end = 0
        self.position[0] = 0
        self._direct()

    def _take(self, size, kind: int) -> np.ndarray | float:
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
            self.sync()
            return self.generator.random(size, dtype=dtype, out=out)
        return self._take(size, UNIFORM)

    def _standard_normal(self, size=None, dtype=np.float64, out=None):
        """``Generator.standard_normal`` while there is a buffer: the next standard normals, from it."""
        if (dtype is not np.float64 and np.dtype(dtype) != np.float64) or out is not None:
            self.sync()
            return self.generator.standard_normal(size, dtype=dtype, out=out)
        return self._take(size, NORMAL)

    def __getattr__(self, name: str):
        """Any other method of the generator, after bringing it to the buffer's position."""
        if name.startswith("_") or name in ("generator", "kind", "buffer", "position", "end", "reserve", "version",
                                            "random", "standard_normal"):  # fmt: skip
            raise AttributeError(name)  # not set yet (while unpickling)
        self.sync()
        return getattr(self.generator, name)


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

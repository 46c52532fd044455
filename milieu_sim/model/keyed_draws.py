"""NumPy's draws in compiled code, from a PCG64 generator held as four words.

NumPy's ``Generator(PCG64(...))`` holds a 128-bit state and increment; here a generator is four uint64 words,
``generators[k]`` = (state high, state low, increment high, increment low), and the functions below move it on and
turn its 64-bit outputs into numbers exactly as NumPy does (numpy/random/src/pcg64, and
numpy/random/src/distributions/distributions.c): uniforms (the top 53 bits of an output), the 256-step ziggurats
of ``random_standard_normal`` and ``random_standard_exponential`` with NumPy's tables (as Numba ships them,
``numba.np.random._constants``, for its own ``Generator`` support), and ``random_geometric``: the search for
p >= 1/3, else inversion, ceil(-E / log1p(-p)).  The numbers are the same to the last bit (tests/test_streams.py
checks hundreds of thousands against NumPy's).

Two uses.  A stay draws from generators keyed by who and when (``streams.KeyedGenerator``): the admitted client's
state (normals and uniforms), when a free bed is filled (a geometric number of hours), life after discharge
(uniforms); setting a NumPy generator to each key's state and drawing from it costs tens of microseconds of Python
a stay, here the same numbers come from the key's four words in one compiled call.  And each named stream's buffer
(``streams.Stream``) is filled from the words of its generator (:func:`refill`), all the hour's streams in one
compiled call (``compiled_hour.CompiledHour``): the numbers NumPy's ``random(out=...)`` and
``standard_normal(out=...)`` would put there, without a call into NumPy per stream.
"""

from __future__ import annotations

import contextlib

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic, overload
from numba.np.random._constants import (
    fe_double,
    fi_double,
    ke_double,
    ki_double,
    we_double,
    wi_double,
    ziggurat_exp_r,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

from milieu_sim.model.kernels import kernel

#: The kinds of number: what a stream's buffer holds (``Stream.kind``), what :func:`numbers` draws in turn.
UNIFORM, NORMAL = 0, 1

_MASK64 = (1 << 64) - 1
_PCG_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341  # PCG64's 128-bit LCG multiplier
_S58, _S63, _S64, _S11 = np.uint64(58), np.uint64(63), np.uint64(64), np.uint64(11)


def lcg_step(high, low, increment_high, increment_low):
    """PCG64's 128-bit LCG step: the state (``high``, ``low``: its 64-bit halves, as uint64) times PCG64's multiplier
    plus the increment, modulo 2**128; returns the new state's halves.  In compiled code one 128-bit multiply
    (:func:`_lcg_step`); here, with Python's integers (plain Python: ``NUMBA_DISABLE_JIT=1``)."""
    state = ((int(high) << 64) | int(low)) * _PCG_MULTIPLIER + ((int(increment_high) << 64) | int(increment_low))
    return np.uint64((state >> 64) & _MASK64), np.uint64(state & _MASK64)


@overload(lcg_step)
def _lcg_step_typed(high, low, increment_high, increment_low):
    return lambda high, low, increment_high, increment_low: _lcg_step(high, low, increment_high, increment_low)


@intrinsic
def _lcg_step(typingctx, high, low, increment_high, increment_low):
    """:func:`lcg_step` as LLVM's 128-bit integer arithmetic (the halves joined, multiplied, added, split again):
    about twice as fast as a 128-bit product made from 32-bit halves."""
    word = types.uint64
    signature = types.UniTuple(word, 2)(word, word, word, word)

    def codegen(context, builder, signature, arguments):
        wide = ir.IntType(128)
        sixty_four = ir.Constant(wide, 64)

        def joined(high, low):
            return builder.or_(builder.shl(builder.zext(high, wide), sixty_four), builder.zext(low, wide))

        state = builder.add(builder.mul(joined(*arguments[:2]), ir.Constant(wide, _PCG_MULTIPLIER)),
                            joined(*arguments[2:]))  # fmt: skip
        halves = (builder.trunc(builder.lshr(state, sixty_four), ir.IntType(64)), builder.trunc(state, ir.IntType(64)))
        return context.make_tuple(builder, signature.return_type, halves)

    return signature, codegen


@kernel(inline=True)
def pcg64_step(generators, k):
    """Move PCG64 generator ``k`` on one step (:func:`lcg_step`): its 128-bit state (``generators[k]`` = state high,
    state low, increment high, increment low, as uint64) times PCG64's multiplier plus the increment."""
    generators[k, 0], generators[k, 1] = lcg_step(generators[k, 0], generators[k, 1], generators[k, 2],
                                                  generators[k, 3])  # fmt: skip


@kernel(inline=True)
def output(high, low):
    """PCG64's XSL-RR output of a state (its halves xor-ed, rotated right by its top six bits): what NumPy's
    ``next_uint64`` gives after the step to that state."""
    mixed = high ^ low
    turn = high >> _S58
    return (mixed >> turn) | (mixed << ((_S64 - turn) & _S63))


@kernel(inline=True)
def as_uniform(bits):
    """A 64-bit output as ``Generator.random()`` makes it a double in [0, 1): its top 53 bits."""
    return np.float64(bits >> _S11) * (1.0 / 9007199254740992.0)


@kernel(inline=True)
def pcg64_next(generators, k):
    """The next 64-bit output of PCG64 generator ``k``: a step (:func:`pcg64_step`), then the new state's
    :func:`output`."""
    pcg64_step(generators, k)
    return output(generators[k, 0], generators[k, 1])


@kernel(inline=True)
def pcg64_uniform(generators, k):
    """The next uniform of PCG64 generator ``k``, ``generators[k]`` = (state high, state low, increment high,
    increment low) as uint64, moved on one step: what ``Generator.random()`` gives from that state
    (numpy/random/src/pcg64; tests/test_streams.py checks thousands of draws against NumPy's)."""
    return as_uniform(pcg64_next(generators, k))


def wrapping_products() -> contextlib.AbstractContextManager:
    """What to run :func:`pcg64_uniform` under from Python: where it runs as plain Python (``NUMBA_DISABLE_JIT=1``),
    NumPy would warn of its 64-bit products, which wrap by design, so they are silenced there; compiled, nothing
    (``np.errstate`` costs about 9 µs a call)."""
    return np.errstate(over="ignore") if numba.config.DISABLE_JIT else contextlib.nullcontext()


_BYTE = np.uint64(0xFF)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_ONE = np.uint64(1)
_S1, _S3, _S8 = np.uint64(1), np.uint64(3), np.uint64(8)
_INT64_MAX = np.iinfo(np.int64).max


@kernel(inline=True)
def standard_normal(generators, k):
    """The next standard normal of generator ``k``: what ``Generator.standard_normal()`` gives (NumPy's ziggurat)."""
    while True:
        r = pcg64_next(generators, k)
        idx = r & _BYTE
        r >>= _S8
        sign = r & _ONE
        rabs = (r >> _S1) & _MANTISSA
        x = np.float64(rabs) * wi_double[idx]
        if sign:
            x = -x
        if rabs < ki_double[idx]:
            return x  # the rectangles: 99.3% of the draws
        if idx == 0:  # the tail
            while True:
                xx = -ziggurat_nor_inv_r * np.log1p(-pcg64_uniform(generators, k))
                yy = -np.log1p(-pcg64_uniform(generators, k))
                if yy + yy > xx * xx:
                    return -(ziggurat_nor_r + xx) if (rabs >> _S8) & _ONE else ziggurat_nor_r + xx
        elif (fi_double[idx - _ONE] - fi_double[idx]) * pcg64_uniform(generators, k) + fi_double[idx] < np.exp(
            -0.5 * x * x
        ):
            return x


@kernel(inline=True)
def standard_exponential(generators, k):
    """The next standard exponential of generator ``k``: ``Generator.standard_exponential()`` (NumPy's ziggurat)."""
    while True:
        ri = pcg64_next(generators, k) >> _S3
        idx = ri & _BYTE
        ri >>= _S8
        x = np.float64(ri) * we_double[idx]
        if ri < ke_double[idx]:
            return x
        if idx == 0:
            return ziggurat_exp_r - np.log1p(-pcg64_uniform(generators, k))
        if (fe_double[idx - _ONE] - fe_double[idx]) * pcg64_uniform(generators, k) + fe_double[idx] < np.exp(-x):
            return x


@kernel(inline=True)
def geometric(generators, k, p):
    """The next geometric draw (trials to the first success, success chance ``p`` in (0, 1]) of generator ``k``:
    ``Generator.geometric(p)``.  For p >= 1/3 the search (one uniform, the running sums of the chances), else
    inversion, ceil(-E / log1p(-p)) with E standard exponential, at most the largest int64."""
    if p >= 0.333333333333333333333333:
        x = 1
        total = product = p
        q = 1.0 - p
        u = pcg64_uniform(generators, k)
        while u > total:
            product *= q
            total += product
            x += 1
        return np.int64(x)
    z = np.ceil(-standard_exponential(generators, k) / np.log1p(-p))
    return np.int64(_INT64_MAX) if z >= 9.223372036854776e18 else np.int64(z)


def numbers(words: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """The first numbers of the generator whose starting state is ``words`` (``KeyedGenerator.words``), one of each
    kind in ``kinds`` in turn (``streams.UNIFORM`` or ``streams.NORMAL``): what ``random()`` and
    ``standard_normal()`` called in that order give.  ``words`` is moved on past them."""
    with wrapping_products():
        return _numbers(words.reshape((1, 4)), kinds)


def one_geometric(words: np.ndarray, p: float) -> int:
    """The first ``geometric(p)`` draw of the generator whose starting state is ``words`` (moved on past it)."""
    with wrapping_products():
        return int(_one_geometric(words.reshape((1, 4)), p))


@kernel(inline=True)
def numbers_of(generators, kinds):
    """The next numbers of generator 0, one of each kind in ``kinds`` in turn (:func:`numbers`)."""
    out = np.empty(kinds.size)
    for j in range(kinds.size):
        out[j] = standard_normal(generators, 0) if kinds[j] == NORMAL else pcg64_uniform(generators, 0)
    return out


@kernel
def _numbers(generators, kinds):
    return numbers_of(generators, kinds)


@kernel
def _one_geometric(generators, p):
    return geometric(generators, 0, p)


# --- a stream's buffer (streams.Stream) -------------------------------------------------------------------------
#: Positions in a stream's tally (``Stream.tally``): how many numbers of the buffer's kind were drawn, from the
#: state the generator was in when buffering began, before the buffer's first; the buffer's end (0: no buffer, else
#: its size); the kind of its numbers (UNIFORM or NORMAL).
DRAWN, END, KIND = 0, 1, 2


@kernel(inline=True)
def refill(buffer, position, tally, generators):
    """Move the unread numbers of a stream's buffer (``position[0]`` up to ``tally[END]``) to its front and fill the
    rest from its generator (``generators[0]``: the state after the buffer's last number) with numbers of the
    buffer's kind (``tally[KIND]``), so that the buffer holds the generator's next numbers, as many as it has room
    for; the numbers read so far are added to ``tally[DRAWN]``, the position goes back to 0, ``tally[END]`` is the
    buffer's size."""
    start = position[0]
    left = tally[END] - start
    for j in range(left):
        buffer[j] = buffer[start + j]
    tally[DRAWN] += start
    if tally[KIND] == NORMAL:
        for j in range(left, buffer.size):
            buffer[j] = standard_normal(generators, 0)
    else:  # the state held in locals over the loop (twice as fast as moving generators[0] on each time)
        high, low, increment_high, increment_low = (
            generators[0, 0],
            generators[0, 1],
            generators[0, 2],
            generators[0, 3],
        )
        for j in range(left, buffer.size):
            high, low = lcg_step(high, low, increment_high, increment_low)
            buffer[j] = as_uniform(output(high, low))
        generators[0, 0], generators[0, 1] = high, low
    position[0] = 0
    tally[END] = buffer.size


@kernel
def refill_stream(buffer, position, tally, generators):
    """:func:`refill`, called from Python (``Stream.ensure``)."""
    refill(buffer, position, tally, generators)


@kernel
def refill_short(streams):
    """Refill each stream held in ``streams.args`` (their buffers, positions, tallies and generators, then the kind
    and the number of unread numbers each must hold) whose buffer holds fewer (:func:`refill`), all in one call;
    returns how many it left to Python: a stream with no buffer, or one of another kind or smaller than it must hold
    (``Stream.ensure`` starts, changes or grows a buffer)."""
    buffers, positions, tallies, generators, kinds, reserves = streams.args
    missed = 0
    for k in range(len(buffers)):
        buffer, position, tally = buffers[k], positions[k], tallies[k]
        if tally[END] == 0 or tally[KIND] != kinds[k] or buffer.size < reserves[k]:
            missed += 1
        elif tally[END] - position[0] < reserves[k]:
            refill(buffer, position, tally, generators[k])
    return missed

"""NumPy's normal, exponential and geometric draws, in compiled code, from a PCG64 generator held as four words.

A stay draws from generators keyed by who and when (``streams.KeyedGenerator``): the admitted client's state
(normals and uniforms), when a free bed is filled (a geometric number of hours), life after discharge (uniforms).
Setting a NumPy generator to each key's state and drawing from it costs tens of microseconds of Python a stay; here
the same numbers come from the key's four words (``KeyedGenerator.words``) in one compiled call.  The algorithms
are NumPy's (numpy/random/src/distributions/distributions.c): the 256-step ziggurats of
``random_standard_normal`` and ``random_standard_exponential`` with NumPy's tables (as Numba ships them,
``numba.np.random._constants``, for its own ``Generator`` support), and ``random_geometric``: the search for
p >= 1/3, else inversion, ceil(-E / log1p(-p)).  Each draws the generator's 64-bit outputs
(``streams.pcg64_next``) exactly as NumPy does, so the numbers are the same to the last bit
(tests/test_streams.py checks hundreds of thousands against NumPy's).
"""

from __future__ import annotations

import numpy as np
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
from milieu_sim.model.streams import NORMAL, pcg64_next, pcg64_uniform, wrapping_products

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


@kernel
def _numbers(generators, kinds):
    out = np.empty(kinds.size)
    for j in range(kinds.size):
        out[j] = standard_normal(generators, 0) if kinds[j] == NORMAL else pcg64_uniform(generators, 0)
    return out


@kernel
def _one_geometric(generators, p):
    return geometric(generators, 0, p)

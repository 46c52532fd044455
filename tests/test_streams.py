"""Keyed generators for one use (streams.KeyedGenerator): the numbers of NumPy's own SeedSequence and PCG64, drawn
from NumPy's generator set to a key's state or in compiled code from its words (keyed_draws)."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from milieu_sim import MilieuModel
from milieu_sim.model import keyed_draws
from milieu_sim.model.keyed_draws import NORMAL, UNIFORM, pcg64_uniform, wrapping_products
from milieu_sim.model.processes.flow import admission_chance, admission_draws, schedule_admission
from milieu_sim.model.streams import KeyedGenerator, stream

SEEDS = [0, 1, 7, 2**31, 2**32 - 1, 2**32, 2**64 + 5, 2**127 + 3, 2**128 - 1, 2**160 + 11]


@pytest.mark.parametrize("entropy", SEEDS)
def test_a_keyed_generator_gives_numpys_numbers_for_seeds_of_every_size(entropy):
    """One, two, four and more than four 32-bit words of entropy (padding to the pool, then mixing in the words
    past it), names and sub-keys as the model keys them: the same uniforms, normals and geometric draws."""
    keyed = KeyedGenerator(entropy)
    for name, key in [("admissions", (0,)), ("admissions", (12345,)), ("arrivals", (3, 0)), ("arrivals", (19, 40)),
                      ("aftercare", (977, 2)), ("aftercare", (2**32 - 1, 1)), ("own_mechanism", ())]:  # fmt: skip
        plain = stream(entropy, name, *key)
        fast = keyed(name, *key)
        np.testing.assert_array_equal(fast.random(7), plain.random(7))
        np.testing.assert_array_equal(fast.standard_normal(5), plain.standard_normal(5))
        assert fast.geometric(0.2) == plain.geometric(0.2)


def test_random_seeds_and_keys_match_numpy():
    draw = random.Random(15)
    for _ in range(400):
        entropy = draw.getrandbits(draw.choice([1, 31, 32, 33, 64, 100, 128, 129, 256]))
        key = tuple(draw.randrange(2**32) for _ in range(draw.randint(0, 4)))
        keyed = KeyedGenerator(entropy)
        np.testing.assert_array_equal(keyed("k", *key).random(3), stream(entropy, "k", *key).random(3))


def test_each_call_starts_its_keys_sequence_afresh_and_keys_beyond_int64_go_the_plain_way():
    keyed = KeyedGenerator(42)
    first = keyed("aftercare", 5, 1).random(4)
    keyed("aftercare", 6, 1).random(100)  # another key's draws in between
    np.testing.assert_array_equal(keyed("aftercare", 5, 1).random(4), first)  # the same key: the same numbers
    two_words = keyed("arrivals", 2**40, 3)  # SeedSequence reads it as two 32-bit words; so does keyed_state
    assert two_words is keyed.generator
    np.testing.assert_array_equal(two_words.random(3), stream(42, "arrivals", 2**40, 3).random(3))
    big = keyed("arrivals", 2**64 + 1, 3)  # more than int64: numpy's own SeedSequence
    assert big is not keyed.generator
    np.testing.assert_array_equal(big.random(3), stream(42, "arrivals", 2**64 + 1, 3).random(3))


def test_keys_of_one_and_two_words_match_numpy():
    """Sub-keys below 2**32 are one 32-bit word, larger ones (up to int64) two, as SeedSequence splits them."""
    draw = random.Random(16)
    for _ in range(300):
        entropy = draw.getrandbits(draw.choice([1, 32, 64, 128]))
        key = tuple(draw.randrange(2 ** draw.choice([8, 32, 33, 63])) for _ in range(draw.randint(1, 3)))
        numpy_state = stream(entropy, "k", *key).bit_generator.state["state"]
        assert KeyedGenerator(entropy).words("k", *key).tolist() == [
            numpy_state["state"] >> 64, numpy_state["state"] & (2**64 - 1),
            numpy_state["inc"] >> 64, numpy_state["inc"] & (2**64 - 1),
        ], key  # fmt: skip


def test_a_negative_entropy_is_refused_as_numpy_refuses_it():
    with pytest.raises(ValueError, match="non-negative"):
        KeyedGenerator(-1)


def test_a_model_keeps_its_keyed_generator_through_pickling():
    model = MilieuModel(rng=3, days=2).run()
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        copy.streams.keyed("admissions", 9).random(3), model.streams.keyed("admissions", 9).random(3)
    )
    np.testing.assert_array_equal(copy.streams.keyed("admissions", 9).random(3), stream(3, "admissions", 9).random(3))


def test_compiled_draws_continue_a_keyed_generator_as_numpy_does():
    """pcg64_uniform, from KeyedGenerator.words, gives the uniforms Generator.random gives, thousands in a row,
    for generators of several keys side by side (the follow-up's slots), whose states are kept apart."""
    keyed = KeyedGenerator(2**64 + 17)
    keys = [(0, 1), (977, 2), (2**32 - 1, 1), (2**40, 3)]
    generators = np.array([keyed.words("aftercare", *key) for key in keys])
    with wrapping_products():  # plain Python (NUMBA_DISABLE_JIT): the 64-bit products wrap by design
        drawn = np.array([[pcg64_uniform(generators, k) for k in range(len(keys))] for _ in range(3000)])
    for k, key in enumerate(keys):
        np.testing.assert_array_equal(drawn[:, k], stream(2**64 + 17, "aftercare", *key).random(3000))


def test_compiled_normals_exponentials_and_geometrics_are_numpys():
    """keyed_draws gives, from a key's words, the numbers NumPy's generator of that key gives: normals mixed with
    uniforms (tens of thousands, so that the ziggurat's wedges and tail are drawn too), exponentials, and
    geometric draws by search (p >= 1/3, and p = 1) and by inversion (smaller p)."""
    keyed = KeyedGenerator(2**70 + 5)
    kinds = np.array([NORMAL, NORMAL, UNIFORM, NORMAL, UNIFORM] * 4000)
    for key in range(6):
        drawn = keyed_draws.numbers(keyed.words("admissions", key), kinds)
        plain = stream(2**70 + 5, "admissions", key)
        expected = [plain.standard_normal() if kind == NORMAL else plain.random() for kind in kinds.tolist()]
        np.testing.assert_array_equal(drawn, expected)
    generators = np.array([keyed.words("arrivals", key, 3) for key in range(3)])
    with wrapping_products():
        drawn = [[keyed_draws.standard_exponential(generators, k) for k in range(3)] for _ in range(20000)]
    for k in range(3):
        np.testing.assert_array_equal(
            np.array(drawn)[:, k], stream(2**70 + 5, "arrivals", k, 3).standard_exponential(20000)
        )
    for p in (1.0, 0.9, 0.5, 1 / 3, 0.3333, 0.2, 0.01, 1e-5):
        drawn = [keyed_draws.one_geometric(keyed.words("arrivals", slot, 7), p) for slot in range(300)]
        assert drawn == [int(stream(2**70 + 5, "arrivals", slot, 7).geometric(p)) for slot in range(300)], p


def test_a_stays_keyed_draws_are_the_first_numbers_of_its_numpy_stream():
    """The admitted client's draws (8 normals, 5 uniforms, a normal) and the hours until a free bed is filled (a
    geometric draw) are those of ``stream(seed, name, *key)``, whatever the model drew before."""
    model = MilieuModel(rng=11, days=2).run()
    for number in (0, 5, 4000):
        plain = stream(11, "admissions", number)
        expected = np.concatenate(
            (plain.standard_normal(8), plain.random(1), plain.random(4), plain.standard_normal(1))
        )
        np.testing.assert_array_equal(admission_draws(model, number), expected)
    c, slot = model.clients, 3
    vacancies, steps = int(c.vacancies[slot]), model.steps
    schedule_admission(model, slot)
    hours = stream(11, "arrivals", slot, vacancies).geometric(admission_chance(model.p))
    assert c.next_admission_step[slot] == steps + hours and c.vacancies[slot] == vacancies + 1

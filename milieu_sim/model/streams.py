"""Named random streams for common random numbers.

Each stochastic process draws from its own generator, derived from the run's
seed and the process's name with :class:`numpy.random.SeedSequence` and a
stable hash (``zlib.crc32``), never Python's ``hash()``.  Processes draw
fixed-size blocks per hour (one number per bed slot, whether or not it is
occupied), so switching one policy lever does not shift the draws of any other
process: two policies run with the same seed face the same admissions and the
same clients.
"""

from __future__ import annotations

import zlib

import numpy as np

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
    sequence = np.random.SeedSequence(entropy, spawn_key=(zlib.crc32(name.encode("utf-8")), *key))
    return np.random.Generator(np.random.PCG64(sequence))


class Streams(dict):
    """The run's random generators by stream name.

    The built-in processes' streams (:data:`STREAM_NAMES`) are made when the model
    is built; any other name, such as the stream a phase of one's own declares in
    its ``OWNS``, gets its generator on first use, derived from the run's seed and
    the name exactly like the others.  A new mechanism's stream therefore shifts
    nobody else's draws and needs no registration.
    """

    def __init__(self, entropy: int) -> None:
        super().__init__((name, stream(entropy, name)) for name in STREAM_NAMES)
        self.entropy = entropy

    def __missing__(self, name: str) -> np.random.Generator:
        generator = self[name] = stream(self.entropy, name)
        return generator


def make_streams(entropy: int) -> Streams:
    """The run's streams: one generator per process name (more are made on first use)."""
    return Streams(entropy)

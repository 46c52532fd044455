"""Profile one simulated year of the default ward (cProfile), the kernels loaded first and left out.

    .venv/bin/python benchmarks/profile_year.py [--sort tottime|cumtime] [--lines 30] [--days 365]
    .venv/bin/python benchmarks/profile_year.py --phases [--days 120]

Prints the year's time without the profiler, then the profile's top lines.  The
profiler slows the Python side more than the compiled side, so read its shares as
where the fixed Python cost per hour goes, not as exact times.

``--phases`` instead times each phase of the hour without the profiler (microseconds per
simulated hour, averaged over all hours), on the default ward and on the same ward with
2 clients: a phase whose time does not grow with the clients is fixed cost per call,
not compiled work.  Each phase runs alone here (a compiled part called on its own, as
when a phase of one's own separates it from its neighbours); in a default hour the
consecutive parts run as one call (milieu_sim/model/compiled_hour.py), and ``run()``
runs each run of quiet hours as one call (milieu_sim/model/hours.py), so the hour
itself costs less than these rows add up to; the hours are stepped one by one here.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter

from milieu_sim import MilieuModel
from milieu_sim.model.schedule import WHEN


def phase_times(days: int, **parameters: object) -> tuple[float, dict[str, float]]:
    """Microseconds per simulated hour: the whole hour, and each phase of the schedule (timed around its call; the
    hours are stepped one by one, since ``run()`` runs quiet hours as one compiled call, with no phase to time)."""
    model = MilieuModel(rng=1, **parameters)
    spent: Counter[str] = Counter()
    phases = model.schedule

    def timed_run(m: MilieuModel) -> None:
        for phase in phases:
            if WHEN[phase.when].holds(m.hour):
                start = time.perf_counter()
                phase.entry(m)
                spent[phase.name] += time.perf_counter() - start

    phases.run = timed_run  # this model only
    hours = 24 * days
    start = time.perf_counter()
    for _ in range(hours):
        model.step()
    return (time.perf_counter() - start) / hours * 1e6, {p.name: spent[p.name] / hours * 1e6 for p in phases}


def print_phases(days: int) -> None:
    few_total, few = phase_times(days, n_clients=2)
    total, default = phase_times(days)
    print(f"microseconds per simulated hour ({days} days): default ward {total:.1f}, with 2 clients {few_total:.1f}")
    print(f"{'phase':24s} {'default':>9s} {'2 clients':>10s}")
    for name in sorted(default, key=lambda k: -default[k]):
        print(f"{name:24s} {default[name]:9.1f} {few.get(name, 0.0):10.1f}")
    print(f"{'all phases':24s} {sum(default.values()):9.1f} {sum(few.values()):10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumtime"))
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--phases", action="store_true", help="time each phase (default ward and 2 clients)")
    args = parser.parse_args()
    MilieuModel(rng=0).run(days=2)  # load (or compile) the kernels outside the profile
    if args.phases:
        phase_times(1)  # the parts run alone here: load their compiled code too, outside the timing
        print_phases(args.days)
        return
    start = time.perf_counter()
    MilieuModel(rng=1).run(days=args.days)
    print(f"{args.days} days of the default ward without the profiler: {time.perf_counter() - start:.3f} s")
    profile = cProfile.Profile()
    profile.enable()
    MilieuModel(rng=1).run(days=args.days)
    profile.disable()
    pstats.Stats(profile).strip_dirs().sort_stats(args.sort).print_stats(args.lines)


if __name__ == "__main__":
    main()

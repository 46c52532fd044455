"""Profile one simulated year of the default ward (cProfile), the kernels loaded first and left out.

    .venv/bin/python benchmarks/profile_year.py [--sort tottime|cumtime] [--lines 30] [--days 365]

Prints the year's time without the profiler, then the profile's top lines.  The
profiler slows the Python side more than the compiled side, so read its shares as
where the fixed Python cost per hour goes, not as exact times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from milieu_sim import MilieuModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumtime"))
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    MilieuModel(rng=0).run(days=2)  # load (or compile) the kernels outside the profile
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

"""Profile one simulated year of the default ward (cProfile), the kernels loaded first and left out.

    .venv/bin/python benchmarks/profile_year.py [--sort tottime|cumtime] [--lines 30] [--days 365]
    .venv/bin/python benchmarks/profile_year.py --phases [--days 120]
    .venv/bin/python benchmarks/profile_year.py --split [--years 4] [--days 365] [--set NAME=VALUE ...]
    .venv/bin/python benchmarks/profile_year.py --split --years 1 --days 10 --set n_clients=1000 --set ward_map=auto \
        --set staff_early=250 --set staff_late=200 --set staff_night=100   # bench_model.py's 1,000-client ward

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

``--split`` instead times, without the profiler, where the time of ``run()`` goes (milliseconds per
simulated year, averaged over ``--years`` runs of seeds 1, 2, ...; building the model is not timed):
the compiled runs of quiet hours (``stretch.run_hours``), filling the random buffers they read
(``CompiledHour._top_up``), each function the schedule runs from Python between them (the ward
round's discharge, admission, the plan's day, ...; each stay's work is in discharge and admission),
the phases done right after a quiet run that went through their hour (the follow-up day:
``MilieuModel._do_later``), on the default ward or the one ``--set`` describes; "the rest" is the
year's time outside these (the quiet runs' own Python, logging their rows, the clock). Each row is
timed around its calls, so its time includes what the call waits for (a cold cache after a compiled
run), and the rows add up to the year's time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter

from milieu_sim import MilieuModel
from milieu_sim.errors import MilieuInputError
from milieu_sim.model import compiled_hour, schedule
from milieu_sim.model.processes import stretch
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


def timed(function, spent: Counter[str], calls: Counter[str], name: str):
    """``function`` with its time added to ``spent[name]`` and its calls counted in ``calls[name]``."""

    def run_timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
            calls[name] += 1

    return run_timed


def split_year(years: int, days: int, **ward: object) -> tuple[float, Counter[str], Counter[str]]:
    """Seconds per ``run()`` of ``days`` days of the default ward, or of the one the parameters ``ward`` describe
    (seeds 1 .. ``years``; the model built before the clock starts), and the
    seconds and calls per run of the compiled quiet runs, the buffers' top-ups and each function the schedule
    runs from Python (see the module docstring). Patches this process's classes for the timing (the runs are the
    same: only the clock is read)."""
    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    functions = schedule.Schedule._functions
    wrapped: dict[int, tuple[object, object]] = {}  # id -> (the function, its timed version): one per function

    def timed_functions(self, *args, **kwargs):
        out = []
        for function in functions(self, *args, **kwargs):
            kept = wrapped.get(id(function))
            if kept is None or kept[0] is not function:
                name = getattr(function, "__name__", None)
                name = f"{name} (Python)" if name else f"an hour's parts, stepped ({type(function).__name__})"
                kept = wrapped[id(function)] = (function, timed(function, spent, calls, name))
            out.append(kept[1])
        return tuple(out)

    patches = [
        (schedule.Schedule, "_functions", timed_functions),
        (stretch, "run_hours", timed(stretch.run_hours, spent, calls, "quiet hours, compiled (run_hours)")),
        (compiled_hour.CompiledHour, "_top_up",
         timed(compiled_hour.CompiledHour._top_up, spent, calls, "random buffers (_top_up)")),
        (MilieuModel, "_do_later",
         timed(MilieuModel._do_later, spent, calls, "done after quiet runs (the follow-up day)")),
    ]  # fmt: skip
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        total = 0.0
        for seed in range(1, years + 1):
            model = MilieuModel(rng=seed, **ward)
            start = time.perf_counter()
            model.run(days=days)
            total += time.perf_counter() - start
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    for counter in (spent, calls):
        for name in counter:
            counter[name] /= years
    return total / years, spent, calls


def print_split(years: int, days: int, **ward: object) -> None:
    total, spent, calls = split_year(years, days, **ward)
    which = f"the ward {ward}" if ward else "the default ward"
    print(f"where run()'s time goes: {days} days of {which}, {total:.3f} s a run (mean of {years})")
    print(f"{'':40s} {'ms/run':>9s} {'share':>7s} {'calls':>7s} {'us/call':>8s}")
    for name, seconds in spent.most_common():
        per_call = seconds / calls[name] * 1e6
        print(f"{name:40s} {seconds * 1e3:9.1f} {seconds / total:7.1%} {calls[name]:7.0f} {per_call:8.1f}")
    rest = total - sum(spent.values())
    print(f"{'the rest':40s} {rest * 1e3:9.1f} {rest / total:7.1%}")


def main() -> None:
    from profile_parts import setting  # this script's folder: --set as profile_parts.py reads it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumtime"))
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--phases", action="store_true", help="time each phase (default ward and 2 clients)")
    parser.add_argument("--split", action="store_true", help="time where run()'s time goes, without the profiler")
    parser.add_argument("--years", type=int, default=4, help="runs timed with --split (seeds 1, 2, ...)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=setting,
        help="with --split: a parameter of the ward timed (repeatable; default: the default ward)",
    )
    args = parser.parse_args()
    if args.set and not args.split:
        parser.error("--set is read only with --split")
    ward = dict(args.set)
    try:
        MilieuModel.check(**ward)  # one line for a bad --set, before any work
    except (MilieuInputError, TypeError) as error:
        parser.error(str(error))
    MilieuModel(rng=0, **ward).run(days=2)  # load (or compile) the kernels outside the profile
    if args.split:
        print_split(args.years, args.days, **ward)
        return
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

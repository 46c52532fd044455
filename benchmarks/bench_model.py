"""Speed of the model, measured side by side with Mesa's Boltzmann wealth example in one run.

    .venv/bin/python benchmarks/bench_model.py [--repeats 3] [--quick]

Prints hourly steps per second for the default ward run as users run it,
``model.run()`` (and the time one simulated year takes, also with ``step()``
called hour by hour, as the app does), agent-steps per second for the default ward (its clients and staff,
31 Mesa agents) and for Mesa's Boltzmann wealth example with as many agents, the
same for a 1,000-client ward (client-steps) against Boltzmann with 1,000 agents,
and the two ratios.  Boltzmann runs as shipped: its step activates every agent
and collects its Gini coefficient; a square grid of about one cell per agent
keeps the example's density (6 x 6 for 31 agents, 32 x 32 for 1,000).  Each
measurement is repeated, interleaved, and the median and the best repeat
reported (the median ratio is taken over repeats, each measured back to back),
so that a noisy machine affects both sides alike.  Targets: one year of the
default ward in under 1 s (issue 2), and, the direction of issue 15, 0.1 s, at
least 10x Boltzmann per agent-step at the same agent count and 20x at 1,000 agents.

The model's hot loops are compiled with Numba and cached on disk; a fresh
process loads them once (the first run on a machine compiles them).  That
one-off cost is measured and printed on its own line, before the timed runs.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

from milieu_sim import MilieuModel

BIG_WARD = {"n_clients": 1000, "ward_map": "auto", "staff_early": 250, "staff_late": 200, "staff_night": 100}


def default_ward_steps_per_second(hours: int, stepping: bool = False) -> float:
    """Hours per second of the default ward run as a user runs it, ``model.run()`` (runs of quiet hours as one
    compiled call each), or with ``stepping``, ``model.step()`` called hour by hour (as the app does)."""
    model = MilieuModel(rng=1)
    start = time.perf_counter()
    if stepping:
        for _ in range(hours):
            model.step()
    else:
        model.run(days=hours // 24)
    return hours / (time.perf_counter() - start)


def default_ward_agents() -> int:
    """The default ward's Mesa agents: its clients and its staff roster (every shift)."""
    return len(MilieuModel(rng=1).agents)


def big_ward_steps_per_second(hours: int) -> float:
    model = MilieuModel(rng=1, **BIG_WARD)
    model.run(days=1)  # past the first day's transients
    start = time.perf_counter()
    model.run(days=hours // 24)
    return hours / (time.perf_counter() - start)


def boltzmann_steps_per_second(steps: int, agents: int = 1000) -> float:
    side = math.ceil(math.sqrt(agents))  # about one cell per agent, as the example's defaults
    model = BoltzmannWealth(BoltzmannScenario(n=agents, width=side, height=side, rng=1))
    start = time.perf_counter()
    for _ in range(steps):
        model.step()
    return steps / (time.perf_counter() - start)


def load_kernels() -> float:
    """Seconds for this process's first (short) run: loading, or on a new machine compiling, the kernels."""
    start = time.perf_counter()
    MilieuModel(rng=0, policy="restrictive").run(days=3)
    MilieuModel(rng=0, **BIG_WARD).run(days=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="shorter runs (for a smoke test)")
    args = parser.parse_args()
    year = 24 * (30 if args.quick else 365)
    big_hours = 48 if args.quick else 24 * 7
    boltz_steps = 20 if args.quick else 100
    load = load_kernels()
    agents = default_ward_agents()
    default, stepped, big, boltz, small_boltz = [], [], [], [], []
    for _ in range(args.repeats):
        default.append(default_ward_steps_per_second(year))
        stepped.append(default_ward_steps_per_second(year, stepping=True))
        small_boltz.append(boltzmann_steps_per_second(boltz_steps * 10, agents))
        big.append(big_ward_steps_per_second(big_hours))
        boltz.append(boltzmann_steps_per_second(boltz_steps))
    print(f"{args.repeats} interleaved repeats: the median, and the best (fastest) repeat of each, least disturbed")
    print(f"the default ward has {agents} Mesa agents (clients and staff); Boltzmann runs with as many")
    print(f"{'measure':60s} {'median':>10s} {'best':>10s}")
    print(f"{'first runs in this process (kernels loaded once), s':60s} {load:10.2f}")
    median, best = statistics.median, max

    def ratio(model: list[float], example: list[float]) -> float:
        """Median over repeats of the ratio of agent-steps per second (the same number of agents on both sides)."""
        return median([m / z for m, z in zip(model, example, strict=True)])

    small_ratio, big_ratio = ratio(default, small_boltz), ratio(big, boltz)
    rows = (
        ("default ward (20 clients): hourly steps / s", median(default), best(default), "{:10.0f}"),
        ("default ward: seconds per simulated year (target < 1; 0.1)", 8760 / median(default),
         8760 / best(default), "{:10.3f}"),
        ("  the same, step() called hour by hour (the app)", 8760 / median(stepped), 8760 / best(stepped),
         "{:10.3f}"),
        ("default ward: agent-steps / s (clients and staff)", agents * median(default), agents * best(default),
         "{:10.0f}"),
        ("Mesa Boltzmann wealth, as many agents: agent-steps / s", agents * median(small_boltz),
         agents * best(small_boltz), "{:10.0f}"),
        ("ratio: default ward / Boltzmann, same agents (target >= 10)", small_ratio,
         best(default) / best(small_boltz), "{:10.2f}"),
        ("1,000-client ward: hourly steps / s", median(big), best(big), "{:10.1f}"),
        ("1,000-client ward: client-steps / s", 1000 * median(big), 1000 * best(big), "{:10.0f}"),
        ("Mesa Boltzmann wealth, 1,000 agents: agent-steps / s", 1000 * median(boltz), 1000 * best(boltz),
         "{:10.0f}"),
        ("ratio: 1,000-client ward / Boltzmann (target >= 20)", big_ratio, best(big) / best(boltz), "{:10.2f}"),
    )  # fmt: skip
    for label, middle, top, form in rows:
        print(f"{label:60s} {form.format(middle)} {form.format(top)}")


if __name__ == "__main__":
    main()

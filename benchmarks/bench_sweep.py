"""Sweep throughput and memory.

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200] [--days 10] [--memory-runs 200,2000]

1. Runs per minute with 1 worker (the serial executor, in this process: what ``--workers 1`` runs), with 1
   worker process and with 2 (each pool started and warmed before timing), and the parallel efficiency
   rate2 / (2 * rate1) (target >= 0.9), against both one-worker rates: the serial executor is what a user
   with one worker gets, one worker process against two compares like with like (the same pool machinery).
2. Peak memory of a 2,000-run sweep against a 200-run sweep of tiny runs (target: within 10%), each in a
   fresh process with 2 workers: tracemalloc peak of the parent's Python allocations, the parent's
   peak resident set (getrusage), and the largest resident set of any worker (psutil, sampled).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SPEC = """
name = "bench"
policies = ["usual_care", "therapeutic_milieu"]
replicates = {replicates}
days = {days}
seed = 1
batch_size = 50
[parameters]
n_clients = 20
"""


def write_spec(folder: Path, runs: int, days: int) -> Path:
    path = folder / f"bench_{runs}_{days}.toml"
    path.write_text(SPEC.format(replicates=max(1, runs // 2), days=days))
    return path


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def timed_sweep(spec, out: Path, executor, workers: int) -> dict[str, float]:
    """Rate of one sweep, how busy its workers were, and how busy the whole machine was meanwhile."""
    from milieu_sim.experiments.storage import read_runs
    from milieu_sim.experiments.sweep import run_sweep

    busy0, total0 = cpu_times()
    own0 = os.times()
    started = time.perf_counter()
    run_sweep(spec, out, executor=executor, progress=False)
    wall = time.perf_counter() - started
    own1 = os.times()
    busy1, total1 = cpu_times()
    run_seconds = float(read_runs(out, columns=["run_seconds"])["run_seconds"].sum())
    own_cpu = (own1.user - own0.user) + (own1.system - own0.system)
    own_cpu += (own1.children_user - own0.children_user) + (own1.children_system - own0.children_system)
    return {
        "rate": spec.n_runs / wall * 60,
        "worker_utilisation": run_seconds / (workers * wall),  # share of worker time spent inside runs
        "machine_busy": (busy1 - busy0) / max(total1 - total0, 1e-9),  # every process, ours and others'
        "wall": wall,
    }


def throughput(runs: int, days: int) -> dict[int | str, dict[str, float]]:
    from milieu_sim.experiments.executors import ProcessExecutor, SerialExecutor
    from milieu_sim.experiments.spec import load_spec
    from milieu_sim.experiments.sweep import run_sweep

    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(write_spec(Path(tmp), runs, days))
        warm = load_spec(write_spec(Path(tmp), 4, days))
        with SerialExecutor() as serial:
            run_sweep(warm, Path(tmp) / "warm1", executor=serial, progress=False)
            figures[1] = timed_sweep(spec, Path(tmp) / "serial", serial, 1)
        for workers, key in ((1, "1 process"), (2, 2)):
            with ProcessExecutor(workers) as pool:
                run_sweep(warm, Path(tmp) / f"warm_{workers}", executor=pool, progress=False)  # start, warm
                figures[key] = timed_sweep(spec, Path(tmp) / f"processes_{workers}", pool, workers)
    return figures


def memory_child(runs: int) -> None:
    """Run one sweep of tiny runs with 2 workers and print its memory figures as JSON."""
    import tracemalloc

    import psutil

    from milieu_sim.experiments.spec import load_spec
    from milieu_sim.experiments.sweep import run_sweep

    me = psutil.Process()
    worker_peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    worker_peak[0] = max(worker_peak[0], child.memory_info().rss)
            time.sleep(0.2)

    with tempfile.TemporaryDirectory() as tmp:
        spec = load_spec(write_spec(Path(tmp), runs, 3))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tracemalloc.start()
        started = time.perf_counter()
        result = run_sweep(spec, Path(tmp) / "out", workers=2, progress=False)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stop.set()
        sampler.join()
    print(
        json.dumps(
            {
                "runs": result.runs_done,
                "seconds": seconds,
                "tracemalloc_peak_mb": peak / 2**20,
                "parent_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "worker_max_rss_mb": worker_peak[0] / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="runs per throughput measurement (default 200)")
    parser.add_argument("--days", type=int, default=10, help="days per run for throughput (default 10)")
    parser.add_argument("--memory-runs", default="200,2000", help="sweep sizes for the memory comparison")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child is not None:
        memory_child(args.memory_child)
        return
    print(f"throughput: {args.runs} runs of {args.days} days, 20 beds, 2 policies", flush=True)
    print(f"  load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    figures = throughput(args.runs, args.days)
    labels = {1: "1 worker (serial)  ", "1 process": "1 worker process   ", 2: "2 worker processes "}
    for key, f in figures.items():
        print(
            f"  {labels[key]}: {f['rate']:8.1f} runs/min   "
            f"(workers inside runs {f['worker_utilisation']:.0%} of the time; "
            f"whole machine busy {f['machine_busy']:.0%}, all users)"
        )
    for key, against in ((1, "the serial worker"), ("1 process", "one worker process")):
        efficiency = figures[2]["rate"] / (2 * figures[key]["rate"])
        print(f"  parallel efficiency rate2 / (2 rate1), against {against}: {efficiency:.3f} (target >= 0.9)")
    print(
        "  (if the machine was busy with other work while 1 worker ran, the second worker had no free core: "
        "the efficiency then measures the machine, not the sweep)",
        flush=True,
    )
    sizes = [int(s) for s in args.memory_runs.split(",") if s.strip()]
    results = []
    for size in sizes:
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(size)], capture_output=True, text=True, check=True
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    if not results:
        return
    print("\nmemory: sweeps of tiny runs (3 days, 20 beds), 2 worker processes, each sweep in a fresh process")
    header = f"  {'':28s}" + "".join(f"{r['runs']:>12,d} runs" for r in results)
    print(header)
    for key, label in (
        ("seconds", "wall time (s)"),
        ("tracemalloc_peak_mb", "parent Python peak (MiB)"),
        ("parent_max_rss_mb", "parent peak RSS (MiB)"),
        ("worker_max_rss_mb", "largest worker RSS (MiB)"),
    ):
        print(f"  {label:28s}" + "".join(f"{r[key]:17.1f}" for r in results))
    if len(results) >= 2:
        for key, label in (("parent_max_rss_mb", "parent peak RSS"), ("worker_max_rss_mb", "largest worker RSS")):
            ratio = results[-1][key] / results[0][key]
            print(f"  {label} ratio {results[-1]['runs']} / {results[0]['runs']} runs = {ratio:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()

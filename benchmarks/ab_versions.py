"""Time two versions of milieu-sim side by side: processes of each in turn, and their paired ratios.

    .venv/bin/python benchmarks/ab_versions.py BASE [--pairs 20] [--years 4] [--days 365] [--big-weeks 2]

``BASE`` is a git revision of this repository (``HEAD~1``, a commit, a branch) or the folder of another source tree
of milieu-sim; the other version is this tree.  A revision is checked out as a git worktree in
``~/.cache/milieu-sim/ab-versions/<commit>/`` (``$XDG_CACHE_HOME`` if set) and kept there, with the kernels compiled
for it, for the next comparison against the same commit (``git worktree remove <folder>`` drops it).  The two
versions run in the same Python environment (``sys.executable``), each from its own source (``PYTHONPATH``).

First an untimed process of each version runs what the timed ones run, so that every kernel they use is compiled
(the first use of a version's source compiles them into its kernel cache: a few minutes) and cached.  Each timed
process loads its version's kernels with a short run, then times ``--years`` runs of ``--days``
days of the default ward (seeds 1, 2, ...; built with ``days`` set, as ``compare`` builds them) and ``--big-weeks``
weeks of the 1,000-client ward of ``bench_model.py`` after its first day, and reports its medians.  The two
versions' processes alternate, and which goes first alternates from pair to pair, so that a machine that slows
down or speeds up meanwhile affects both alike.  Prints each version's median and best process, and the paired
ratios this / base: their median, quartiles, and in how many pairs this version was the faster.

On a shared machine whole runs vary by a quarter from one process to the next: a difference of a few percent
needs many pairs, and is real only where the quartiles say so.  Where a change is inside the compiled hour,
``profile_parts.py`` of each version shows it part by part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(years: int, days: int, big_weeks: int) -> dict[str, float | str]:
    """This process's medians: seconds per run of ``days`` days of the default ward, and per week of the 1,000-client
    ward (after its first day); and where milieu_sim was imported from."""
    from bench_model import BIG_WARD  # this script's folder: bench_model.py's 1,000-client ward

    import milieu_sim
    from milieu_sim import MilieuModel

    MilieuModel(rng=0).run(days=1)  # the kernels, loaded (or compiled) before anything is timed
    if big_weeks:
        MilieuModel(rng=0, **BIG_WARD).run(days=1)
    runs, weeks = [], []
    for seed in range(1, years + 1):
        model = MilieuModel(rng=seed, days=days)
        start = time.perf_counter()
        model.run()
        runs.append(time.perf_counter() - start)
    for seed in range(1, big_weeks + 1):
        model = MilieuModel(rng=seed, **BIG_WARD)
        model.run(days=1)
        start = time.perf_counter()
        model.run(days=7)
        weeks.append(time.perf_counter() - start)
    return {
        "source": str(Path(milieu_sim.__file__).resolve().parent.parent),
        "run": statistics.median(runs) if runs else float("nan"),
        "week": statistics.median(weeks) if weeks else float("nan"),
    }


def run_version(tree: Path, args: argparse.Namespace) -> dict[str, float | str]:
    """One process of the version whose source is ``tree``: its :func:`measure`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(tree), os.environ.get("PYTHONPATH"))))}
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", "--years", str(args.years), "--days",
               str(args.days), "--big-weeks", str(args.big_weeks)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode:
        raise SystemExit(f"ab_versions.py: error: a process of {tree} failed:\n{done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result["source"]) != tree.resolve():  # PYTHONPATH did not win over the installed package
        raise SystemExit(f"ab_versions.py: error: the process meant for {tree} ran {result['source']}")
    return result


def base_tree(base: str) -> Path:
    """The source tree of ``base``: a folder holding milieu_sim, or a git revision checked out (once) into the
    cache's folder for its commit.  ValueError for a ``base`` that is neither."""
    folder = Path(base)
    if folder.is_dir():
        if not (folder / "milieu_sim" / "__init__.py").is_file():
            raise ValueError(f"BASE = {base!r} is not allowed: a folder without milieu_sim/ in it")
        return folder
    known = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
                           capture_output=True, text=True)  # fmt: skip
    if known.returncode:
        raise ValueError(
            f"BASE = {base!r} is not allowed; allowed: a git revision of {ROOT} or the folder of a milieu-sim "
            "source tree"
        )
    commit = known.stdout.strip()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    work = (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "milieu-sim" / "ab-versions" / commit
    if not (work / "milieu_sim" / "__init__.py").is_file():
        work.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(work), commit],
                       check=True)  # fmt: skip
    return work


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """The lower quartile, the median and the upper quartile of ``values`` (within their range)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, middle, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, middle, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", help="a git revision, or the folder of a milieu-sim source tree")
    parser.add_argument("--pairs", type=int, default=20, help="processes of each version (default 20)")
    parser.add_argument("--years", type=int, default=4, help="default-ward runs timed in each process (default 4)")
    parser.add_argument("--days", type=int, default=365, help="days of each of those runs (default 365)")
    parser.add_argument("--big-weeks", type=int, default=2, help="weeks of the 1,000-client ward in each (default 2)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # one process's own timing
    args = parser.parse_args()
    for name in ("pairs", "years", "days"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)} is not allowed; allowed: 1 or more")
    if args.big_weeks < 0:
        parser.error(f"--big-weeks = {args.big_weeks} is not allowed; allowed: 0 or more")
    if args.measure:
        print(json.dumps(measure(args.years, args.days, args.big_weeks)))
        return
    if args.base is None:
        parser.error("BASE is needed: a git revision, or the folder of a milieu-sim source tree")
    try:
        base = base_tree(args.base)
    except ValueError as error:
        parser.error(str(error))
    compare(base, args)


def compare(base: Path, args: argparse.Namespace) -> None:
    versions = {"base": base, "this": ROOT}
    print(f"base: {base}\nthis: {ROOT}\nloading (or compiling) each version's kernels ...", flush=True)
    for tree in versions.values():  # an untimed process of each: every kernel the timed ones use is then cached
        run_version(tree, args)
    results: dict[str, list[dict]] = {"base": [], "this": []}
    for pair in range(args.pairs):
        for name in ("base", "this") if pair % 2 == 0 else ("this", "base"):
            results[name].append(run_version(versions[name], args))
        print(f"pair {pair + 1}: run {results['base'][-1]['run']:.4f} / {results['this'][-1]['run']:.4f} s (base / "
              "this)", flush=True)  # fmt: skip
    measures = [("run", f"a run of {args.days} days of the default ward, s")]
    if args.big_weeks:
        measures.append(("week", "a week of the 1,000-client ward, s"))
    print(f"\n{args.pairs} pairs of processes, in turn; each process the median of its runs")
    print(f"{'measure':48s} {'base':>8s} {'this':>8s}   paired ratio this / base: median [quartiles], this faster")
    for key, label in measures:
        base_values = [r[key] for r in results["base"]]
        this_values = [r[key] for r in results["this"]]
        ratios = [t / b for b, t in zip(base_values, this_values, strict=True)]
        low, middle, high = quartiles(ratios)
        faster = sum(r < 1 for r in ratios)
        print(f"{label:48s} {statistics.median(base_values):8.4f} {statistics.median(this_values):8.4f}   "
              f"{middle:.3f} [{low:.3f}, {high:.3f}], {faster} of {len(ratios)}")  # fmt: skip
        print(f"{'  best process':48s} {min(base_values):8.4f} {min(this_values):8.4f}")


if __name__ == "__main__":
    main()

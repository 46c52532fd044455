"""The ``run``, ``compare`` and ``warm-up`` commands: one ward, a policy comparison, compiling ahead of use.

milieu-sim run --setting S --policy P --days D --seed N --out DIR
milieu-sim compare --policies a,b,... --replicates R --days D --seed N --out DIR [--fresh]
                   [--posterior N [--posterior-file F]]
milieu-sim warm-up
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time

from milieu_sim.cli.common import (
    EXIT_FAILED_RUNS,
    CliError,
    add_schema_options,
    announce_kernel_compilation,
    imported_meanwhile,
    non_negative,
    out_dir,
    positive,
    posterior_draws,
    print_note,
    schema_values,
    seed,
    write_figure,
    write_table,
    write_text,
)
from milieu_sim.cli.sweep import interrupted, local_workers, posterior_options, size_options
from milieu_sim.provenance import versions

DEFAULT_POLICIES = "usual_care,therapeutic_milieu,restrictive,custodial,token_economy,safewards"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run``, ``compare`` and ``warm-up`` commands."""
    p_run = sub.add_parser("run", help="run one ward and write its tables (Parquet), run.json, summary and figure")
    p_run.add_argument("--seed", default="0", help="random seed (default 0)")
    p_run.add_argument("--out", default="results/run", help="output directory (default results/run)")
    add_schema_options(p_run)
    p_run.set_defaults(handler=cmd_run)

    p_cmp = sub.add_parser("compare", help="compare policies with paired replicates and 95%% CIs")
    p_cmp.add_argument(
        "--policies",
        default=DEFAULT_POLICIES,
        help="comma-separated presets or policy .toml files; the first is the reference",
    )
    p_cmp.add_argument(
        "--replicates", default=None, help="paired replicates per policy (default 10; with --posterior N, N)"
    )
    p_cmp.add_argument("--seed", default="0", help="seed of the first replicate (replicate r uses seed + r)")
    p_cmp.add_argument("--warmup-days", default="0", help="days left out of the rates (default 0)")
    p_cmp.add_argument("--out", default="results/compare", help="output directory (default results/compare)")
    p_cmp.add_argument(
        "--workers", default=None, help="local worker processes (default: all cores; 1 runs in this process)"
    )
    p_cmp.add_argument(
        "--fresh",
        action="store_true",
        help="run every run again (default: reuse the finished runs of the same comparison in --out)",
    )
    size_options(p_cmp)
    posterior_options(p_cmp)
    add_schema_options(p_cmp, skip=("policy",))
    p_cmp.set_defaults(handler=cmd_compare)

    p_warm = sub.add_parser("warm-up", help="compile the model's kernels now (cached per user) instead of on first use")
    p_warm.set_defaults(handler=cmd_warm_up)


def cmd_run(args: argparse.Namespace) -> int:
    from milieu_sim.experiments.outcomes import finite, summarise, undefined
    from milieu_sim.model.model import MilieuModel

    params = schema_values(args)
    run_seed = seed(args.seed)
    model = MilieuModel(rng=run_seed, **params)  # validates everything before any work
    from milieu_sim.analysis.figures import run_overview  # (matplotlib: only once the input is known to be good)

    out = out_dir(args.out)
    announce_kernel_compilation()
    started = time.perf_counter()
    days = model.p["days"]
    from tqdm import tqdm

    for _ in tqdm(range(days), desc=f"{model.policy.name}", unit="day", disable=None, file=sys.stderr):
        for _ in range(24):
            model.step()
    elapsed = time.perf_counter() - started
    tables = model.tables()
    for name, frame in tables.items():
        write_table(frame, out / f"{name}.parquet")  # atomically: complete or absent, even on a full disk
    summary = summarise(tables)
    write_text(
        out / "run.json",
        json.dumps(
            {
                "parameters": model.parameters(),
                "seed": run_seed,
                "versions": versions(),
                "command": ["milieu-sim", *sys.argv[1:]],
                "seconds": round(elapsed, 3),
            },
            indent=2,
            default=str,
        ),
    )
    write_text(out / "summary.json", json.dumps(finite(summary), indent=2))
    figure = run_overview(tables, title=f"{model.setting}, {model.policy.name}, seed {run_seed}")
    write_figure(figure, out / "overview.png")
    print(f"{model.setting} / {model.policy.name}, {days} days, seed {run_seed} ({elapsed:.1f} s)")
    for key, value in summary.items():
        shown = f"{value:10.3f}" if value == value else f"{'n/a':>10s}"  # NaN: not measurable in this run
        print(f"  {key:28s} {shown}")
    reasons: dict[str, list[str]] = {}
    for name, reason in undefined(summary).items():
        reasons.setdefault(reason, []).append(name)
    for reason, names in reasons.items():
        count = f"{len(names)} outcomes are" if len(names) > 1 else "1 outcome is"
        print(f"n/a: {reason} in these {days} days, so {count} undefined ({', '.join(names)})")
    if reasons:
        longer = max(60, 2 * days)
        print(f"     (summary.json holds null for them; a longer run, e.g. --days {longer}, may measure them)")
    print(f"wrote {', '.join(f'{n}.parquet' for n in tables)}, run.json, summary.json, overview.png to {out}")
    return 0


def _policies(raw: str) -> list[str]:
    policies = [p.strip() for p in raw.split(",") if p.strip()]
    if len(set(policies)) != len(policies):
        raise CliError(f"parameter 'policies' = {raw!r} names a policy twice; allowed: distinct policies")
    if not policies:
        raise CliError("parameter 'policies' is empty; allowed: a comma-separated list of policies")
    return policies


def cmd_compare(args: argparse.Namespace) -> int:
    """A policy comparison as a one-point sweep (milieu_sim.experiments): resumable, optionally parallel."""
    from milieu_sim.analysis.comparison import comparison_spec, comparison_tables, comparison_text, run_comparison
    from milieu_sim.experiments.executors import default_workers
    from milieu_sim.experiments.outcomes import KEY_OUTCOMES
    from milieu_sim.experiments.runner import check_params
    from milieu_sim.experiments.storage import sweep_running
    from milieu_sim.experiments.sweep import check_plan

    policies = _policies(args.policies)
    draws = posterior_draws(args.posterior)
    if draws is None and args.posterior_file is not None:
        raise CliError(
            f"parameter 'posterior-file' = {args.posterior_file!r} needs a number of draws; allowed: with --posterior N"
        )
    default_replicates = str(draws) if draws else "10"
    replicates = positive("replicates", args.replicates if args.replicates is not None else default_replicates)
    first_seed = seed(args.seed, count=replicates)  # replicate r uses seed + r: all must fit in 64 bits
    workers = local_workers(args) or default_workers()
    base = schema_values(args, skip=("policy",))
    warmup = non_negative("warmup_days", args.warmup_days)
    for policy in policies:
        check_params({**base, "policy": policy, "seed": first_seed})
    days = base.get("days")
    if days is not None and warmup >= days:
        raise CliError(f"parameter 'warmup_days' = {warmup} must be less than 'days' = {days}")
    spec = comparison_spec(policies, replicates, first_seed, base, warmup)
    if draws:
        from milieu_sim.experiments.spec import with_posterior

        spec = with_posterior(spec, draws, args.posterior_file)
    check_plan(spec, workers, confirmed=args.yes)
    spec.allow_large = args.yes
    out = out_dir(args.out)
    holder = sweep_running(out / "sweep") if args.fresh else None
    if holder:
        raise CliError(f"parameter 'fresh': a comparison is still running in {out / 'sweep'} ({holder})")
    if args.fresh and (out / "sweep" / "manifest.json").is_file():
        shutil.rmtree(out / "sweep")  # the comparison's own runs, which the user asked to run again
    announce_kernel_compilation()
    try:
        with imported_meanwhile("scipy.stats", "milieu_sim.analysis.figures"):  # for the tables and the figure
            result = run_comparison(spec, out, workers=workers)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the finished runs are kept in out/sweep
        return interrupted(out / "sweep", exc)
    earlier = result.runs_done + result.runs_failed - result.ran_now
    if earlier and not result.ran_now:
        print_note(
            f"compare: reused the {earlier} finished runs of the same comparison in {out / 'sweep'} "
            "(nothing ran again); --fresh or a new --out runs them afresh"
        )
    elif earlier:
        print_note(f"compare: resumed: {earlier} of {result.n_runs} runs were already done in {out / 'sweep'}")
    tables = comparison_tables(out, policies)
    conclusions = None
    if spec.posterior is not None:
        tables["runs"], conclusions = _posterior_tables(out, tables["runs"], policies, spec)
    runs, failures, means, contrasts = tables["runs"], tables["failures"], tables["means"], tables["contrasts"]
    write_table(runs, out / "runs.csv")  # every output atomically: complete or absent, even on a full disk
    (out / "failures.csv").unlink(missing_ok=True)
    if len(failures):
        write_table(failures, out / "failures.csv")
    write_table(means, out / "comparison.csv")
    write_table(contrasts, out / "contrasts.csv")
    write_table(tables["rate_ratios"], out / "rate_ratios.csv")
    (out / "posterior_conclusions.csv").unlink(missing_ok=True)
    if conclusions is not None:
        write_table(conclusions, out / "posterior_conclusions.csv")
    write_text(
        out / "compare.json",
        json.dumps(
            {
                "policies": policies,
                "replicates": replicates,
                "seed": first_seed,
                "parameters": {**base, "warmup_days": warmup} if warmup else base,
                "sweep": str(out / "sweep"),
                "posterior": _posterior_record(spec),
                "spec_hash": spec.hash(),
                "versions": versions(),
                "command": ["milieu-sim", *sys.argv[1:]],
            },
            indent=2,
            default=str,
        ),
    )
    from milieu_sim.analysis.figures import comparison  # (matplotlib, imported during the runs)

    figure = comparison(means, list(KEY_OUTCOMES), contrasts=contrasts, days=spec.days, warmup_days=warmup)
    write_figure(figure, out / "comparison.png")

    ratios = tables["rate_ratios"]
    if spec.posterior is not None:
        per_draw = replicates // spec.posterior_draws
        print(
            f"Parameters drawn from the posterior: {spec.posterior_draws} draws, {per_draw} replicate"
            f"{'s' if per_draw > 1 else ''} per draw (listed in compare.json); the intervals below vary the "
            "parameters as well as chance"
            + ("; the pooled differences at the end take the draw as the cluster" if per_draw > 1 else "")
        )
    print(
        comparison_text(means, contrasts, ratios, policies, seeds=spec.seeds, replicates=replicates, n_runs=len(runs))
    )
    written = "runs.csv, comparison.csv, contrasts.csv, rate_ratios.csv, comparison.png"
    if conclusions is not None:
        print(_posterior_text(conclusions, spec, policies[0]))
        written = written.replace("rate_ratios.csv", "rate_ratios.csv, posterior_conclusions.csv")
    print(f"\nwrote {written} to {out}")
    if len(failures):
        print(
            f"{len(failures)} of {result.n_runs} runs failed; see {out / 'failures.csv'}",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return 0


def _posterior_tables(out, runs, policies: list[str], spec):
    """The comparison's runs with each run's posterior draw and drawn values, and the conclusions across draws."""
    from milieu_sim.analysis.statistics import posterior_conclusions
    from milieu_sim.experiments.outcomes import SUMMARY_OUTCOMES
    from milieu_sim.experiments.storage import read_runs

    columns = ["posterior_draw", *spec.drawn]
    drawn = read_runs(out / "sweep", columns=["policy", "replicate", *columns])
    runs = runs.merge(drawn, on=["policy", "replicate"], how="left", sort=False)
    order = ["policy", "replicate", "seed", *columns]
    runs = runs[[*order, *(c for c in runs.columns if c not in order)]]
    outcomes = [o for o in SUMMARY_OUTCOMES if o in runs.columns]
    conclusions = posterior_conclusions(runs, outcomes, reference=policies[0]) if len(policies) > 1 else None
    return runs, conclusions


def _posterior_record(spec) -> dict | None:
    """compare.json's record of the posterior the runs drew from (None without one)."""
    posterior = spec.posterior
    if posterior is None:
        return None
    return {
        "draws": spec.posterior_draws,
        "file": str(posterior.sample_file.parent),
        "digest": posterior.digest(),
        "record": posterior.record,
        "drawn": list(spec.drawn),
        "particles": [d.particle for d in spec.draws()],
    }


def _posterior_text(conclusions, spec, reference: str) -> str:
    """What compare prints about the posterior: where the draws came from and which conclusions hold."""
    from milieu_sim.analysis.statistics import posterior_sentence
    from milieu_sim.experiments.outcomes import KEY_OUTCOMES

    posterior = spec.posterior
    lines = [
        f"\nAnswers with uncertainty: replicate r drew its parameters ({', '.join(spec.drawn) or 'none apply'}) "
        f"from draw r % {spec.posterior_draws} of the {posterior.describe()}; pooled differences with the draw "
        "as the cluster, and the share of draws on the same side of no effect:"
    ]
    if conclusions is None or conclusions.empty:
        return "\n".join([*lines, "  (one policy: nothing to compare)"])
    shown = conclusions[conclusions["outcome"].isin(KEY_OUTCOMES)]
    lines += [f"  {posterior_sentence(row, 'policy', reference)}" for row in shown.to_dict("records")]
    return "\n".join(lines)


def cmd_warm_up(args: argparse.Namespace) -> int:
    from milieu_sim.cli.common import warm_up
    from milieu_sim.model.kernels import cache_dir

    started = time.perf_counter()
    announce_kernel_compilation()  # (compiles, if the cache is cold)
    warm_up()
    print(f"the model's kernels are ready ({time.perf_counter() - started:.0f} s); cached in {cache_dir()}")
    return 0

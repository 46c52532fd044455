"""The milieu-sim command line.

    milieu-sim run --setting S --policy P --days D --seed N --out DIR
    milieu-sim compare --policies a,b,... --replicates R --days D --seed N --out DIR
    milieu-sim params | policies | --version

Every model parameter of the schema is also an option (``--n-clients 30``,
``--punishment-rate 0.1`` ...), generated from :data:`milieu_sim.model.params.SCHEMA`.
Bad input is reported in one line on stderr with exit status 2, before any run starts.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, NoReturn

from milieu_sim import __version__
from milieu_sim.errors import MilieuInputError
from milieu_sim.model.params import SCHEMA

EXIT_INPUT = 2
EXIT_FAILED_RUNS = 1
NOT_SET = None


class CliError(MilieuInputError):
    """A command-line usage error."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')")


def _add_schema_options(parser: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    group = parser.add_argument_group("model parameters (defaults: setting, then policy; see 'milieu-sim params')")
    for param in SCHEMA.values():
        if param.name in skip:
            continue
        flag = "--" + param.name.replace("_", "-")
        help_text = f"{param.meaning} [{param.allowed()}"
        help_text += f"; {param.unit}]" if param.unit else "]"
        group.add_argument(
            flag,
            dest=param.name,
            default=NOT_SET,
            metavar=param.kind.__name__.upper(),
            help=help_text.replace("%", "%%"),
        )


def _schema_values(args: argparse.Namespace, skip: Sequence[str] = ()) -> dict[str, Any]:
    """The schema options the user set, converted and checked by the schema."""
    values = {}
    for name, param in SCHEMA.items():
        if name in skip:
            continue
        raw = getattr(args, name, NOT_SET)
        if raw is not NOT_SET:
            values[name] = param.check(raw)
    return values


def _seed(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise CliError(f"parameter 'seed' = {raw!r} is not allowed; allowed: a non-negative integer") from None
    if value < 0:
        raise CliError(f"parameter 'seed' = {raw!r} is not allowed; allowed: a non-negative integer")
    return value


def _positive(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise CliError(f"parameter '{name}' = {raw!r} is not allowed; allowed: an integer >= 1")
    return value


def _out_dir(raw: str) -> Path:
    path = Path(raw)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".milieu-sim-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"parameter 'out' = '{raw}': cannot write there ({exc.strerror or exc})") from None
    return path


def versions() -> dict[str, str]:
    """Versions of this package and what its results depend on."""
    found = {"milieu-sim": __version__, "python": platform.python_version()}
    for name in ("mesa", "numpy", "pandas", "scipy", "pyarrow"):
        try:
            found[name] = package_version(name)
        except Exception:  # pragma: no cover
            found[name] = "unknown"
    return found


# --- commands ------------------------------------------------------------------------------------
def cmd_params(args: argparse.Namespace) -> int:
    from milieu_sim.model.params import schema_table

    table = schema_table()
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    elif args.format == "markdown":
        print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.max_colwidth", 70, "display.width", 250):
            print(table[["name", "group", "default", "allowed", "unit", "meaning"]].to_string(index=False))
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


def cmd_policies(args: argparse.Namespace) -> int:
    import pandas as pd

    from milieu_sim.model.policies import presets_table

    with pd.option_context("display.max_rows", None, "display.width", 250):
        print(presets_table().to_string())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from milieu_sim.experiments.outcomes import finite, summarise
    from milieu_sim.model.model import MilieuModel

    params = _schema_values(args)
    seed = _seed(args.seed)
    model = MilieuModel(rng=seed, **params)  # validates everything before any work
    from milieu_sim.analysis.plots import run_overview  # (matplotlib: only once the input is known to be good)

    out = _out_dir(args.out)
    started = time.perf_counter()
    days = model.p["days"]
    from tqdm import tqdm

    for _ in tqdm(range(days), desc=f"{model.policy.name}", unit="day", disable=None, file=sys.stderr):
        for _ in range(24):
            model.step()
    elapsed = time.perf_counter() - started
    tables = model.tables()
    for name, frame in tables.items():
        frame.to_parquet(out / f"{name}.parquet", index=False)
    summary = summarise(tables)
    (out / "run.json").write_text(
        json.dumps(
            {
                "parameters": model.parameters(),
                "seed": seed,
                "versions": versions(),
                "command": ["milieu-sim", *sys.argv[1:]],
                "seconds": round(elapsed, 3),
            },
            indent=2,
            default=str,
        )
    )
    (out / "summary.json").write_text(json.dumps(finite(summary), indent=2))
    figure = run_overview(tables, title=f"{model.setting}, {model.policy.name}, seed {seed}")
    figure.savefig(out / "overview.png", dpi=110)
    print(f"{model.setting} / {model.policy.name}, {days} days, seed {seed} ({elapsed:.1f} s)")
    for key, value in summary.items():
        print(f"  {key:28s} {value:10.3f}")
    print(f"wrote {', '.join(f'{n}.parquet' for n in tables)}, run.json, summary.json, overview.png to {out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """A policy comparison as a one-point sweep (milieu_sim.experiments): resumable, optionally parallel."""
    import pandas as pd

    from milieu_sim.analysis.comparison import comparison_spec, comparison_tables, run_comparison
    from milieu_sim.analysis.plots import comparison
    from milieu_sim.experiments.experiment import KEY_OUTCOMES, validate

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    if len(set(policies)) != len(policies):
        raise CliError(f"parameter 'policies' = {args.policies!r} names a policy twice; allowed: distinct policies")
    if not policies:
        raise CliError("parameter 'policies' is empty; allowed: a comma-separated list of policies")
    replicates = _positive("replicates", args.replicates)
    seed = _seed(args.seed)
    from milieu_sim.experiments.executors import default_workers

    workers = _positive("workers", args.workers) if args.workers is not None else default_workers()
    base = _schema_values(args, skip=("policy",))
    warmup = int(args.warmup_days)
    if warmup < 0:
        raise CliError(f"parameter 'warmup_days' = {warmup} is not allowed; allowed: an integer >= 0")
    for policy in policies:
        validate({**base, "policy": policy, "seed": seed})
    days = base.get("days")
    if days is not None and warmup >= days:
        raise CliError(f"parameter 'warmup_days' = {warmup} must be less than 'days' = {days}")
    spec = comparison_spec(policies, replicates, seed, base, warmup)
    out = _out_dir(args.out)
    result = run_comparison(spec, out, workers=workers)
    tables = comparison_tables(out, policies)
    runs, failures, means, contrasts = tables["runs"], tables["failures"], tables["means"], tables["contrasts"]
    runs.to_csv(out / "runs.csv", index=False)
    (out / "failures.csv").unlink(missing_ok=True)
    if len(failures):
        failures.to_csv(out / "failures.csv", index=False)
    means.to_csv(out / "comparison.csv", index=False)
    contrasts.to_csv(out / "contrasts.csv", index=False)
    (out / "compare.json").write_text(
        json.dumps(
            {
                "policies": policies,
                "replicates": replicates,
                "seed": seed,
                "parameters": {**base, "warmup_days": warmup} if warmup else base,
                "sweep": str(out / "sweep"),
                "spec_hash": spec.hash(),
                "versions": versions(),
                "command": ["milieu-sim", *sys.argv[1:]],
            },
            indent=2,
            default=str,
        )
    )
    comparison(means, list(KEY_OUTCOMES)).savefig(out / "comparison.png", dpi=110)

    def cell(row):
        if pd.isna(row["ci_low"]):
            return f"{row['mean']:.3f}"
        return f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"

    key = means[means["outcome"].isin(KEY_OUTCOMES)].copy()
    key["value"] = key.apply(cell, axis=1)
    wide = key.pivot(index="outcome", columns="policy", values="value").reindex(KEY_OUTCOMES)
    wide = wide[[p for p in policies if p in wide.columns]]
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(f"\nMean and 95% CI over {replicates} paired replicates ({len(runs)} runs)")
        print(wide.to_string())
        if len(contrasts):
            diff = contrasts[contrasts["outcome"].isin(KEY_OUTCOMES)].copy()
            diff["value"] = diff.apply(
                lambda r: (
                    f"{r['difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
                    if pd.notna(r["ci_low"])
                    else f"{r['difference']:+.3f}"
                ),
                axis=1,
            )
            wide_diff = diff.pivot(index="outcome", columns="policy", values="value").reindex(KEY_OUTCOMES)
            print(f"\nPaired difference against {policies[0]} (95% CI)")
            print(wide_diff[[p for p in policies[1:] if p in wide_diff.columns]].to_string())
    print(f"\nwrote runs.csv, comparison.csv, contrasts.csv, comparison.png to {out}")
    if len(failures):
        print(
            f"{len(failures)} of {result.n_runs} runs failed; see {out / 'failures.csv'}",
            file=sys.stderr,
        )
        return EXIT_FAILED_RUNS
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="milieu-sim", description="Agent-based simulation of a therapeutic milieu.")
    parser.add_argument("--version", action="version", version=f"milieu-sim {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    p_params = sub.add_parser("params", help="list every model parameter with its default, range and meaning")
    p_params.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    p_params.set_defaults(handler=cmd_params)

    p_pol = sub.add_parser("policies", help="show each policy preset's lever values side by side")
    p_pol.set_defaults(handler=cmd_policies)

    p_run = sub.add_parser("run", help="run one ward and write its tables (Parquet), run.json, summary and figure")
    p_run.add_argument("--seed", default="0", help="random seed (default 0)")
    p_run.add_argument("--out", default="results/run", help="output directory (default results/run)")
    _add_schema_options(p_run)
    p_run.set_defaults(handler=cmd_run)

    p_cmp = sub.add_parser("compare", help="compare policies with paired replicates and 95%% CIs")
    p_cmp.add_argument(
        "--policies",
        default="usual_care,therapeutic_milieu,restrictive,custodial,token_economy",
        help="comma-separated presets or policy .toml files; the first is the reference",
    )
    p_cmp.add_argument("--replicates", default="10", help="paired replicates per policy (default 10)")
    p_cmp.add_argument("--seed", default="0", help="seed of the first replicate (replicate r uses seed + r)")
    p_cmp.add_argument("--warmup-days", default="0", help="days left out of the rates (default 0)")
    p_cmp.add_argument("--out", default="results/compare", help="output directory (default results/compare)")
    p_cmp.add_argument(
        "--workers", default=None, help="local worker processes (default: all cores; 1 runs in this process)"
    )
    _add_schema_options(p_cmp, skip=("policy",))
    p_cmp.set_defaults(handler=cmd_compare)
    _register_extensions(sub)
    return parser


def _register_extensions(sub: argparse._SubParsersAction) -> None:
    """Commands that live in their own modules (each module has ``register(sub)``)."""
    # --- extension commands: one import and one call each ---
    from milieu_sim.cli.sweep import register as register_batch

    register_batch(sub)
    from milieu_sim.cli.app import register as register_app

    register_app(sub)
    from milieu_sim.cli.validate import register as register_validation

    register_validation(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return EXIT_INPUT
        if getattr(args, "warmup_days", None) is not None and hasattr(args, "warmup_days"):
            try:
                int(args.warmup_days)
            except ValueError:
                raise CliError(
                    f"parameter 'warmup_days' = {args.warmup_days!r} is not allowed; allowed: an integer >= 0"
                ) from None
        return args.handler(args)
    except MilieuInputError as exc:
        print(f"milieu-sim: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("milieu-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

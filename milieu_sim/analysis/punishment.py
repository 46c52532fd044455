"""Does punishment pay?  The short- and long-term effects of a punishment sweep, side by side.

For a sweep that varies ``punishment_rate`` (``experiments/punishment_tradeoff.toml``), each point is compared
with the point that has no punishment and otherwise the same parameters (paired on the replicate: common random
numbers), so the effect of punishing is read at each reinforcement rate on its own::

    from milieu_sim.analysis.punishment import tradeoff, write_tradeoff
    estimates, differences = tradeoff("results/punishment_tradeoff")
    write_tradeoff("results/punishment_tradeoff")     # -> results/punishment_tradeoff/report/punishment_tradeoff.md

or ``python -m milieu_sim.analysis.punishment results/punishment_tradeoff``.  ``milieu-sim report`` shows the
same estimates (``summary.csv``) and its own contrasts against the sweep's first point; this page pairs each
point with its own no-punishment twin and puts the two time scales next to each other.

Short term: ``repeats_after_punished``, ``repeats_after_seen_unpunished``, ``repeats_after_unseen`` (the same
client's transgressions in the day after a transgression, by how it was answered) and
``transgressions_per_bed_day``.  Long term: incidents (``conflict_per_bed_day``), containment, completion,
dropout and functioning outside at exit.  Nothing here decides which side wins: the tables report both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from milieu_sim.analysis.statistics import contrast_table, summary_table
from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.storage import read_manifest, read_runs
from milieu_sim.files import write_text

FACTOR = "punishment_rate"
SHORT_TERM = ("repeats_after_punished", "repeats_after_seen_unpunished", "repeats_after_unseen",
              "transgressions_per_bed_day")  # fmt: skip
LONG_TERM = ("conflict_per_bed_day", "containment_per_bed_day", "completion_share", "dropout_share",
             "outside_functioning", "mean_trust", "mean_independence")  # fmt: skip


def tradeoff(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(estimates, paired differences) of a sweep over ``punishment_rate``.

    Estimates: one row per point and outcome (the other varied parameters, ``punishment_rate``, outcome, mean,
    ci_low, ci_high, n, ...; rates and shares pooled over runs as in ``milieu-sim report``).  Differences: each
    point minus the point with ``punishment_rate`` 0 and the same other parameters, paired on the replicate
    (difference, ci_low, ci_high, n_pairs, p_value, p_holm, ...).
    """
    spec = read_manifest(path)["spec"]
    if FACTOR not in spec.get("vary", {}):
        raise MilieuInputError(f"sweep '{path}' does not vary '{FACTOR}'; allowed: a punishment sweep")
    runs = read_runs(path)
    if runs.empty:
        raise MilieuInputError(f"directory '{path}' has no finished runs yet; run 'milieu-sim sweep' first")
    others = [name for name in spec["vary"] if name != FACTOR and name in runs.columns]
    outcomes = [o for o in (*SHORT_TERM, *LONG_TERM) if o in runs.columns]
    estimates = summary_table(runs, outcomes, by=[*others, FACTOR])
    if 0.0 not in set(runs[FACTOR]):
        return estimates, pd.DataFrame()
    if others:
        runs = runs.assign(_within=runs[others].astype(str).agg(", ".join, axis=1))
        differences = contrast_table(runs, outcomes, group=FACTOR, reference=0.0, within="_within")
        differences[others] = differences["_within"].str.split(", ", expand=True).to_numpy()
        differences = differences.drop(columns="_within")
    else:
        differences = contrast_table(runs, outcomes, group=FACTOR, reference=0.0)
    first = [*others, FACTOR]
    return estimates, differences[[*first, *(c for c in differences.columns if c not in first)]]


def _cell(row: pd.Series, value: str) -> str:
    if pd.isna(row[value]):
        return "n/a"
    text = f"{row[value]:+.3f}" if value == "difference" else f"{row[value]:.3f}"
    if not pd.isna(row["ci_low"]):
        text += f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
    return text


def _wide(frame: pd.DataFrame, value: str, outcomes: tuple[str, ...], index: list[str]) -> str:
    frame = frame[frame["outcome"].isin(outcomes)].copy()
    if frame.empty:
        return "(none)"
    frame["cell"] = frame.apply(_cell, axis=1, value=value)
    wide = frame.pivot_table(index=index, columns="outcome", values="cell", aggfunc="first", sort=False)
    wide = wide[[o for o in outcomes if o in wide.columns]].reset_index()
    header = "| " + " | ".join(wide.columns) + " |"
    rule = "|" + "---|" * len(wide.columns)
    rows = ["| " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row) + " |" for row in wide.values]
    return "\n".join([header, rule, *rows])


def write_tradeoff(path: str | Path) -> Path:
    """Write ``report/punishment_tradeoff.md`` (and the two tables as CSV) in a sweep directory; return its path."""
    path = Path(path)
    estimates, differences = tradeoff(path)
    spec = read_manifest(path)["spec"]
    others = [name for name in spec["vary"] if name != FACTOR and name in estimates.columns]
    index = [*others, FACTOR]
    out = path / "report"
    out.mkdir(exist_ok=True)
    estimates.to_csv(out / "punishment_estimates.csv", index=False)
    if len(differences):
        differences.to_csv(out / "punishment_differences.csv", index=False)
    lines = [
        f"# Does punishment pay? {spec['name']}",
        "",
        f"{spec['replicates']} replicates of {spec['days']} days ({spec['warmup_days']} warm-up), setting "
        f"`{spec['setting']}`, policies {', '.join(spec['policies'])}. Estimates with 95% CIs over replicates "
        "(rates and shares pooled over runs); differences: each point minus its twin without punishment "
        f"(`{FACTOR}` 0, the other parameters the same), paired on the replicate (common random numbers), "
        "95% CI. Definitions: `docs/outputs.md`.",
        "",
        "## Short term: transgressions in the 24 h after a transgression, by how it was answered",
        "",
        _wide(estimates, "mean", SHORT_TERM, index),
        "",
        "Paired differences against no punishment:",
        "",
        _wide(differences, "difference", SHORT_TERM, index) if len(differences) else "(no point without punishment)",
        "",
        "## Long term: incidents, containment, completion, outside functioning",
        "",
        _wide(estimates, "mean", LONG_TERM, index),
        "",
        "Paired differences against no punishment:",
        "",
        _wide(differences, "difference", LONG_TERM, index) if len(differences) else "(no point without punishment)",
        "",
    ]
    target = out / "punishment_tradeoff.md"
    write_text(target, "\n".join(lines))
    return target


if __name__ == "__main__":  # pragma: no cover - a command
    for directory in sys.argv[1:]:
        print(f"wrote {write_tradeoff(directory)}")

"""docs/validation.md, generated from the saved records, so the page can never drift from them.

The page is the static prose of ``milieu_sim/data/validation_template.md`` with its placeholders filled from:

- ``milieu_sim/data/tolerances.toml`` (``{{tolerances}}``): every pattern's role, target, band, when and in
  which commit the band was set, why, and its recorded changes;
- ``docs/calibration/screening/`` (``{{screening}}``): ``screening.json``, ``screening.csv``, ``screening.png``
  (``milieu-sim calibrate --screen``);
- ``docs/calibration/posterior/`` (``{{posterior}}``): ``calibration.json``, ``posterior_summary.csv``,
  ``generations.csv``, ``prior_posterior.png`` (``milieu-sim calibrate``);
- ``docs/calibration/sbc/`` (``{{check}}``): ``sbc.json``, ``sbc.csv``, ``sbc.png`` (``milieu-sim calibrate --check N``:
  the simulation-based check of the calibration method);
- ``docs/calibration/validation/`` (``{{validation}}``, ``{{consistency}}``): ``validation.json``,
  ``validation.csv``, ``consistency.csv``, ``rates.csv``, ``validation.png`` (``milieu-sim validate --record``).

Each section ends with the date, the commit and the command that made its record; a section whose record
is missing says so and names the command that makes it.  Nothing is run here: the page is a function of the
files.  Run from the repository's root::

    python -m milieu_sim.analysis.validation_record           # write docs/validation.md
    python -m milieu_sim.analysis.validation_record --check   # exit 1 if docs/validation.md is stale
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from milieu_sim.analysis.validation import MEASURED_PATTERNS, Tolerance, tolerances
from milieu_sim.errors import MilieuInputError
from milieu_sim.files import write_text

#: The page, relative to the repository's root.
DOCUMENT = Path("docs") / "validation.md"
#: The record folders, relative to the repository's root.
RECORDS: dict[str, Path] = {
    "screening": Path("docs") / "calibration" / "screening",
    "posterior": Path("docs") / "calibration" / "posterior",
    "check": Path("docs") / "calibration" / "sbc",
    "validation": Path("docs") / "calibration" / "validation",
}
#: The command that makes each record (named when the record is missing; a record names its own command).
COMMANDS: dict[str, str] = {
    "screening": "milieu-sim calibrate --screen --out docs/calibration/screening",
    "posterior": "milieu-sim calibrate --screening docs/calibration/screening --out docs/calibration/posterior",
    "check": "milieu-sim calibrate --screening docs/calibration/screening --check 20 --out docs/calibration/sbc",
    "validation": "milieu-sim validate --record",
}
PLACEHOLDERS = ("tolerances", "screening", "posterior", "check", "validation", "consistency")
REGENERATE = "python -m milieu_sim.analysis.validation_record"


# --- formatting -----------------------------------------------------------------------------------------
def number(value: Any) -> str:
    """A number as the page shows it: four significant digits; inf as "inf"; a missing value as "n/a"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def band(low: float, high: float) -> str:
    """A tolerance band in words: "2.97 to 4.95", "below 0", "1 and above"."""
    if math.isinf(low) and math.isinf(high):
        return "any value"
    if math.isinf(low):
        return f"below {number(high)}"
    if math.isinf(high):
        return f"{number(low)} and above"
    return f"{number(low)} to {number(high)}"


def estimate(value: float) -> str:
    """A simulated value as ``validate`` prints it: three decimals."""
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def with_interval(value: float, low: float, high: float) -> str:
    """A simulated value with its 95% interval, or "(no interval)"."""
    if math.isnan(low) or math.isnan(high):
        return f"{estimate(value)} (no interval)"
    return f"{estimate(value)} ({estimate(low)} to {estimate(high)})"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; cells are formatted with :func:`number` and a ``|`` inside a cell is escaped."""

    def cell(value: Any) -> str:
        return number(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def made_by(record: dict[str, Any], what: str) -> str:
    """The closing line of a section: when, from which commit and by which command its record was made."""
    created, commit = record.get("created", "an unrecorded date"), record.get("commit", "an unrecorded commit")
    command = record.get("command") or COMMANDS[what]
    return f"Recorded on {created} at commit `{commit}` by:\n\n```bash\n{command}\n```"


def not_recorded(what: str) -> str:
    """The text of a section whose record is missing."""
    return (
        f"**Not recorded yet**: run {COMMANDS[what]} (from the repository's root), then {REGENERATE} "
        f"(or milieu-sim validate --doc)."
    )


# --- reading records --------------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MilieuInputError(f"record '{path}' is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MilieuInputError(f"record '{path}' is not allowed; allowed: a JSON object")
    return data


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MilieuInputError(f"record '{path}' is not a readable CSV table ({exc})") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise MilieuInputError(
            f"record '{path}' has no column '{missing[0]}'; allowed: a table with {', '.join(required)}"
        )
    return frame


def _image(root: Path, folder: Path, name: str, alt: str) -> str:
    """A Markdown image of a record's figure (relative to docs/), or nothing when the figure is missing."""
    if not (root / folder / name).exists():
        return ""
    relative = (folder / name).relative_to(DOCUMENT.parent).as_posix()
    return f"![{alt}]({relative})\n\n"


# --- the sections -----------------------------------------------------------------------------------------
def _changes(tolerance: Tolerance) -> str:
    if not tolerance.changes:
        return "none"
    return "; ".join(
        f"{c.date} ({c.commit}): {band(*c.before)} -> {band(*c.after)}, {c.reason}" for c in tolerance.changes
    )


def tolerances_section(bands: dict[str, Tolerance] | None = None) -> str:
    """The tolerance table: one row per pattern, from the tolerances file."""
    bands = tolerances() if bands is None else bands
    rows = []
    for m in MEASURED_PATTERNS:
        t = bands[m.key]
        why = t.reason if not t.echoes else f"{t.reason} Echoes the input {t.echoes}."
        rows.append([f"`{m.key}`", t.role, m.pattern, f"{m.published} ({m.source})", number(t.target),
                     band(t.low, t.high), f"{t.set_on} ({t.commit})", why, _changes(t)])  # fmt: skip
    header = ["pattern", "role", "what", "published (source)", "target", "band", "set on (commit)", "why this band",
              "changes"]  # fmt: skip
    return markdown_table(header, rows)


def screening_section(root: Path) -> str:
    """Section 1: the screening record, or "not recorded yet"."""
    folder = root / RECORDS["screening"]
    record = _read_json(folder / "screening.json")
    if record is None:
        return not_recorded("screening")
    parts = []
    method = record.get("method", "Morris screening")
    settings = record.get("settings", {})
    described = [
        f"{name} ({s.get('trajectories', '?')} trajectories, {s.get('levels', '?')} levels, "
        f"{s.get('days', '?')} days after {s.get('warmup_days', '?')} of warm-up, seed {s.get('seed', '?')})"
        for name, s in settings.items()
    ]
    parts.append(f"Method: {method}; settings: {'; '.join(described) or 'not recorded'}.")
    if record.get("rule"):
        parts.append(f"Rule: {record['rule']}.")
    free, fixed = list(record.get("free", [])), list(record.get("fixed", []))
    parts.append(
        f"**Left free ({len(free)})**: {', '.join(f'`{n}`' for n in free) or 'none'}. "
        f"Fixed at their documented values: {len(fixed)} parameters."
    )
    table = _read_csv(folder / "screening.csv", ("parameter", "pattern", "influence", "influential"))
    if table is not None:
        if "fitted" in table.columns:
            table = table[table["fitted"].astype(bool)]
        ranges = record.get("ranges", {})
        scope = record.get("scope", {})
        rows = []
        order = table.groupby("parameter")["influence"].max().sort_values(ascending=False, kind="stable")
        for name, largest in order.items():
            own = table[table["parameter"] == name]
            top = own.loc[own["influence"].idxmax(), "pattern"]
            on = sorted(own.loc[own["influential"].astype(bool), "pattern"].unique())
            low, high, basis = [*ranges.get(name, []), "?", "?", ""][:3]
            rows.append([f"`{name}`", scope.get(name, ""), f"{number(low)} to {number(high)}", basis,
                         f"{number(largest)} ({top})", ", ".join(on) or "none",
                         "free" if name in free else "fixed"])  # fmt: skip
        header = ["parameter", "scope", "range", "basis of the range", "largest influence (pattern)",
                  "influential on", "kept"]  # fmt: skip
        parts.append(
            "Influence is mu* over the half-width of the pattern's band (largest over the fitted patterns):\n\n"
            + markdown_table(header, rows)
        )
    parts.append(_image(root, RECORDS["screening"], "screening.png", "Morris screening").rstrip())
    parts.append(made_by(record, "screening"))
    return "\n\n".join(part for part in parts if part)


def posterior_section(root: Path, bands: dict[str, Tolerance] | None = None) -> str:
    """Section 2: the calibration record (method, posterior summary, generations), or "not recorded yet"."""
    bands = tolerances() if bands is None else bands
    folder = root / RECORDS["posterior"]
    record = _read_json(folder / "calibration.json")
    if record is None:
        return not_recorded("posterior")
    parts = []
    facts = [
        f"method: {record.get('method', 'not recorded')}",
        f"library: {record.get('library', 'not recorded')}",
        f"population size {number(record.get('population_size'))}",
        f"{number(record.get('generations'))} generations",
        f"{number(record.get('total_simulations'))} simulations",
        f"{number(record.get('seconds'))} s",
        f"seed {number(record.get('seed'))}",
    ]
    parts.append("Calibration: " + "; ".join(facts) + ".")
    if record.get("distance"):
        parts.append(f"Distance: {record['distance']}.")
    if record.get("stopping"):
        stopping = ", ".join(f"{key} {number(value)}" for key, value in record["stopping"].items())
        parts.append(f"Stopping rule: {stopping}.")
    fitted = sorted(record.get("patterns", {}))
    expected = sorted(key for key, t in bands.items() if t.role == "fitted")
    if fitted == expected:
        parts.append(
            f"Fitted to {len(fitted)} patterns, exactly those of role *fitted* in the tolerances file: "
            + ", ".join(f"`{k}`" for k in fitted)
            + "."
        )
    else:
        parts.append(
            "**The fitted patterns differ from the role-fitted entries of the tolerances file**: fitted "
            + (", ".join(f"`{k}`" for k in fitted) or "none")
            + "; role fitted "
            + ", ".join(f"`{k}`" for k in expected)
            + "."
        )
    summary = _read_csv(folder / "posterior_summary.csv", ("parameter", "median", "q05", "q95"))
    if summary is not None:
        rows = []
        for _, r in summary.iterrows():
            prior = band(r["prior_low"], r["prior_high"]) if "prior_low" in r and "prior_high" in r else ""
            rows.append([f"`{r['parameter']}`", r.get("scope", ""), prior, r["median"], r.get("mean", math.nan),
                         r.get("sd", math.nan), f"{number(r['q05'])} to {number(r['q95'])}",
                         r.get("shrinkage", math.nan)])  # fmt: skip
        header = ["parameter", "scope", "prior", "median", "mean", "sd", "90% interval", "shrinkage"]
        parts.append(
            "The posterior (weighted over the last generation's particles; shrinkage: 1 - posterior sd / prior "
            "sd):\n\n" + markdown_table(header, rows)
        )
    generations = _read_csv(folder / "generations.csv", ("t", "epsilon"))
    if generations is not None:
        columns = [c for c in ("t", "epsilon", "simulations", "accepted", "acceptance_rate", "ess")
                   if c in generations.columns]  # fmt: skip
        parts.append(
            "Generations (convergence: the tolerance epsilon falls and the acceptance rate with it):\n\n"
            + markdown_table(columns, generations[columns].itertuples(index=False))
        )
    parts.append(_image(root, RECORDS["posterior"], "prior_posterior.png", "prior and posterior").rstrip())
    parts.append(made_by(record, "posterior"))
    return "\n\n".join(part for part in parts if part)


def check_section(root: Path) -> str:
    """Section 2's check of the method (simulation-based calibration): each parameter's coverage of its 90%
    interval and the uniformity of the truth's posterior quantile, or "not recorded yet"."""
    folder = root / RECORDS["check"]
    record = _read_json(folder / "sbc.json")
    if record is None:
        return not_recorded("check")
    table = _read_csv(folder / "sbc.csv", ("dataset", "parameter", "truth", "q05", "q95", "quantile"))
    parts = []
    if table is not None and len(table):
        inside = (table["q05"] <= table["truth"]) & (table["truth"] <= table["q95"])
        parts.append(
            f"{table['dataset'].nunique()} datasets made by the model from parameters drawn from the prior, each "
            f"calibrated as the published patterns are: the truth lies inside its 90% posterior interval in "
            f"{inside.mean():.0%} of {len(table)} parameter-datasets (a calibrated method: about 90%)."
        )
    rows = [
        [f"`{name}`", number(s.get("datasets")), s.get("coverage_90", math.nan), s.get("ks_pvalue", math.nan)]
        for name, s in sorted(record.get("parameters", {}).items())
    ]
    if rows:
        header = ["parameter", "datasets", "coverage of the 90% interval", "uniformity (KS p)"]
        parts.append(markdown_table(header, rows))
    parts.append(_image(root, RECORDS["check"], "sbc.png", "where the truth falls in its posterior").rstrip())
    parts.append(made_by(record, "check"))
    return "\n\n".join(part for part in parts if part)


VALIDATION_COLUMNS = ("pattern", "role", "published", "simulated", "ci_low", "ci_high", "tolerance_low",
                      "tolerance_high", "verdict", "passes", "note")  # fmt: skip


def _validation_record(root: Path) -> dict[str, Any] | None:
    return _read_json(root / RECORDS["validation"] / "validation.json")


def _run_facts(record: dict[str, Any]) -> str:
    scope = f"patterns {', '.join(record['patterns'])}" if record.get("patterns") else "every pattern"
    if record.get("setting"):
        scope += f" of the {record['setting']} setting"
    seed = int(record.get("seed", 0))
    replicates = int(record.get("replicates", 0))
    facts = f"{scope}; {replicates} replicates per arm, seeds {seed}-{seed + replicates - 1}"
    posterior = record.get("posterior")
    if posterior:
        facts += (
            f"; replicate r of every arm drew its parameters from draw r % {posterior.get('draws')} of the posterior "
            f"(digest {str(posterior.get('digest', ''))[:12]}), so the intervals include the parameters' uncertainty"
        )
    return facts


def validation_section(root: Path) -> str:
    """Section 3: the validation record (fitted and validation patterns), or "not recorded yet"."""
    folder = root / RECORDS["validation"]
    record = _validation_record(root)
    table = _read_csv(folder / "validation.csv", VALIDATION_COLUMNS)
    if record is None or table is None:
        return not_recorded("validation")
    passes = table["passes"].astype(bool)
    crossing = table["verdict"] == "pass; interval crosses the band"
    parts = [
        f"The shipped defaults, {_run_facts(record)}: **{int(passes.sum())} of {len(table)} patterns pass** "
        f"(point estimate in the band and 95% interval overlapping it); {int(crossing.sum())} of them with an "
        "interval that crosses the band, so the replicates cannot tell the model from a value outside it."
    ]
    rows = [[f"`{r['pattern']}`", r["role"], r["published"], with_interval(r["simulated"], r["ci_low"], r["ci_high"]),
             band(r["tolerance_low"], r["tolerance_high"]), r["verdict"]] for _, r in table.iterrows()]  # fmt: skip
    parts.append(markdown_table(["pattern", "role", "published", "simulated (95% CI)", "band", "verdict"], rows))
    failing = table[~passes]
    if len(failing):
        parts.append("\n".join(f"- `{r['pattern']}` ({r['verdict']}): {r['note']}." for _, r in failing.iterrows()))
    rates = _read_csv(folder / "rates.csv", ("event", "rate", "usual_care", "safewards", "rate_ratio", "ci_low",
                                             "ci_high"))  # fmt: skip
    if rates is not None and len(rates):
        rows = [[r["event"], r["rate"], estimate(r["usual_care"]), estimate(r["safewards"]),
                 with_interval(r["rate_ratio"], r["ci_low"], r["ci_high"])] for _, r in rates.iterrows()]  # fmt: skip
        parts.append(
            "Conflict and containment under `usual_care` and `safewards`, per shift, per occupied bed-day and by "
            "phase of stay (`rates.csv`; paired rate ratio, safewards over usual care):\n\n"
            + markdown_table(["event", "rate", "usual care", "safewards", "rate ratio (95% CI)"], rows)
        )
    parts.append(_image(root, RECORDS["validation"], "validation.png", "validation: published bands and the "
                        "simulated values").rstrip())  # fmt: skip
    parts.append(made_by(record, "validation"))
    return "\n\n".join(part for part in parts if part)


def consistency_section(root: Path) -> str:
    """The consistency checks of the validation record, or "not recorded yet"."""
    record = _validation_record(root)
    table = _read_csv(root / RECORDS["validation"] / "consistency.csv", (*VALIDATION_COLUMNS, "echoes"))
    if record is None or table is None:
        return not_recorded("validation")
    intro = (
        "These rows re-measure a model input, so their agreement is **not evidence** that the model is right: "
        "they show that the other processes leave the input's effect intact."
    )
    if not len(table):
        return intro + " None was run in this record.\n\n" + made_by(record, "validation")
    rows = [[f"`{r['pattern']}`", f"`{r['echoes']}`", r["published"],
             with_interval(r["simulated"], r["ci_low"], r["ci_high"]), band(r["tolerance_low"], r["tolerance_high"]),
             r["verdict"]] for _, r in table.iterrows()]  # fmt: skip
    header = ["pattern", "echoes the input", "published", "simulated (95% CI)", "band", "verdict"]
    return "\n\n".join([intro, markdown_table(header, rows), made_by(record, "validation")])


# --- the page -----------------------------------------------------------------------------------------
def template() -> str:
    """The page's static prose, with ``{{placeholder}}`` for each generated section."""
    return resources.files("milieu_sim.data").joinpath("validation_template.md").read_text(encoding="utf-8")


def render(root: str | Path = ".", text: str | None = None) -> str:
    """docs/validation.md as the records under ``root`` (the repository's root) give it."""
    root = Path(root)
    text = template() if text is None else text
    sections = {
        "tolerances": tolerances_section,
        "screening": lambda: screening_section(root),
        "posterior": lambda: posterior_section(root),
        "check": lambda: check_section(root),
        "validation": lambda: validation_section(root),
        "consistency": lambda: consistency_section(root),
    }
    for name in PLACEHOLDERS:
        marker = "{{" + name + "}}"
        if text.count(marker) != 1:
            raise MilieuInputError(f"validation template: placeholder '{marker}' appears {text.count(marker)} "
                                   "times; allowed: exactly once")  # fmt: skip
        text = text.replace(marker, sections[name]())
    if "{{" in text:
        start = text.index("{{")
        raise MilieuInputError(f"validation template: unknown placeholder '{text[start:text.find('}}', start) + 2]}'; "
                               f"allowed: {', '.join(PLACEHOLDERS)}")  # fmt: skip
    return text.rstrip("\n") + "\n"


def write_document(root: str | Path = ".") -> Path:
    """Write docs/validation.md under ``root`` (the repository's root) from the records; returns its path."""
    root = Path(root)
    if not (root / "docs").is_dir():
        raise MilieuInputError(f"parameter 'root' = '{root}' is not allowed; allowed: the repository's root "
                               "(a folder with docs/)")  # fmt: skip
    return write_text(root / DOCUMENT, render(root))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description="docs/validation.md from the saved records")
    parser.add_argument("--root", default=".", help="the repository's root (default: the current folder)")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/validation.md differs from the records")
    args = parser.parse_args(argv)
    try:
        root = Path(args.root)
        if args.check:
            current = root / DOCUMENT
            fresh = render(root)
            if not current.exists() or current.read_text(encoding="utf-8") != fresh:
                print(f"{current} is stale: run {REGENERATE}", file=sys.stderr)
                return 1
            print(f"{current} is what the records give")
            return 0
        print(f"wrote {write_document(root)}")
    except MilieuInputError as error:
        print(f"{REGENERATE}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

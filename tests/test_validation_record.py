"""docs/validation.md is generated from the saved records: it cannot drift from them, a missing record says so,
and every section ends with the command that made its record.  Small fake records in tmp_path stand in for the
screening, the posterior and the validation (the formats the calibration writes)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim.analysis.validation import PATTERN_KEYS, tolerances
from milieu_sim.analysis.validation_record import (
    COMMANDS,
    DOCUMENT,
    RECORDS,
    main,
    render,
    template,
    write_document,
)
from milieu_sim.errors import MilieuInputError

ROOT = Path(__file__).resolve().parent.parent
STAMP = {"created": "2026-11-30", "commit": "abc1234"}


def test_the_committed_page_is_what_the_committed_records_give():
    committed = (ROOT / DOCUMENT).read_text(encoding="utf-8")
    assert committed == render(ROOT), (
        "docs/validation.md is stale: run 'python -m milieu_sim.analysis.validation_record'"
    )


def test_every_pattern_and_its_history_are_in_the_page():
    page = render(ROOT)
    for key, band in tolerances().items():
        assert f"| `{key}` | {band.role} |" in page
        assert f"{band.set_on} ({band.commit})" in page


def _root(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    return tmp_path


def _screening(root: Path) -> None:
    folder = root / RECORDS["screening"]
    folder.mkdir(parents=True)
    record = {
        **STAMP,
        "command": "milieu-sim calibrate --screen --out docs/calibration/screening",
        "method": "Morris elementary effects (SALib)",
        "settings": {"acute_ward": {"days": 150, "warmup_days": 20, "trajectories": 4, "levels": 4, "seed": 0}},
        "ranges": {"incident_rate": [0.01, 0.15, "calibrated range"], "seclusion_hours": [4, 8, "AIHW"]},
        "rule": "influence >= 0.5 on a fitted pattern",
        "free": ["incident_rate"],
        "fixed": ["seclusion_hours"],
    }
    (folder / "screening.json").write_text(json.dumps(record))
    pd.DataFrame(
        {
            "parameter": ["incident_rate", "incident_rate", "seclusion_hours", "seclusion_hours"],
            "pattern": ["conflict_rate", "violent_share", "conflict_rate", "violent_share"],
            "fitted": [True, True, True, True],
            "setting": "acute_ward",
            "mu_star": [2.0, 0.05, 0.1, 0.01],
            "mu_star_conf": [0.2, 0.04, 0.2, 0.02],
            "sigma": [0.5, 0.02, 0.1, 0.01],
            "influence": [2.02, 0.83, 0.101, 0.17],
            "influential": [True, True, False, False],
        }
    ).to_csv(folder / "screening.csv", index=False)


def _check(root: Path) -> None:
    """Two datasets of two parameters: the truth inside its 90% interval in 3 of the 4."""
    folder = root / RECORDS["check"]
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "dataset": [0, 0, 1, 1],
            "parameter": ["incident_rate", "violence_weight"] * 2,
            "truth": [0.05, 0.01, 0.12, 0.05],
            "median": [0.06, 0.012, 0.10, 0.02],
            "q05": [0.03, 0.004, 0.07, 0.005],
            "q95": [0.09, 0.03, 0.13, 0.04],
            "quantile": [0.3, 0.4, 0.8, 0.99],
        }
    ).to_csv(folder / "sbc.csv", index=False)
    parameters = {
        "incident_rate": {"datasets": 2, "coverage_90": 1.0, "ks_pvalue": 0.71},
        "violence_weight": {"datasets": 2, "coverage_90": 0.5, "ks_pvalue": 0.2},
    }
    record = {**STAMP, "command": "milieu-sim calibrate --check 2 --out docs/calibration/sbc", "parameters": parameters}
    (folder / "sbc.json").write_text(json.dumps(record))


def _posterior(root: Path, patterns: list[str]) -> None:
    folder = root / RECORDS["posterior"]
    folder.mkdir(parents=True)
    record = {
        **STAMP,
        "command": "milieu-sim calibrate --screening docs/calibration/screening --out docs/calibration/posterior",
        "method": "ABC-SMC",
        "library": "pyabc 0.13",
        "priors": {"incident_rate": [0.01, 0.15]},
        "scope": {"incident_rate": "all"},
        "patterns": {key: {"target": 1.0, "low": 0.5, "high": 1.5} for key in patterns},
        "distance": "sum of squared errors in half-bands",
        "stopping": {"max_generations": 6, "min_acceptance_rate": 0.02},
        "population_size": 60,
        "seed": 0,
        "generations": 3,
        "total_simulations": 900,
        "seconds": 1234.5,
        "central": {"incident_rate": 0.0712},
    }
    (folder / "calibration.json").write_text(json.dumps(record))
    pd.DataFrame(
        {"parameter": ["incident_rate"], "scope": ["all"], "prior_low": [0.01], "prior_high": [0.15],
         "median": [0.0712], "mean": [0.0730], "sd": [0.008], "q05": [0.061], "q95": [0.086], "shrinkage": [0.81]}
    ).to_csv(folder / "posterior_summary.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"t": [0, 1, 2], "epsilon": [9.0, 4.0, 2.5], "simulations": [120, 300, 480], "accepted": [60, 60, 60],
         "acceptance_rate": [0.5, 0.2, 0.125], "ess": [60.0, 51.2, 47.9], "incident_rate_mean": [0.08, 0.075, 0.073],
         "incident_rate_sd": [0.04, 0.02, 0.008]}
    ).to_csv(folder / "generations.csv", index=False)  # fmt: skip


def _row(key: str, simulated: float, low: float, high: float, verdict: str) -> dict:
    band = tolerances()[key]
    return {
        "pattern": key, "description": key, "setting": "acute_ward", "source": "a source", "published": "3.96",
        "target": band.target, "simulated": simulated, "ci_low": low, "ci_high": high,
        "tolerance_low": band.low, "tolerance_high": band.high, "role": band.role, "fitted": band.role == "fitted",
        "within_tolerance": verdict.startswith("pass"), "ci_overlaps": True, "ci_inside": verdict == "pass",
        "verdict": verdict, "passes": verdict.startswith("pass"),
        "note": "" if verdict.startswith("pass") else "a stated reason",
    }  # fmt: skip


def _validation(root: Path) -> None:
    folder = root / RECORDS["validation"]
    folder.mkdir(parents=True)
    record = {**STAMP, "command": "milieu-sim validate --record --replicates 10", "setting": None, "patterns": None,
              "replicates": 10, "seed": 0}  # fmt: skip
    (folder / "validation.json").write_text(json.dumps(record))
    pd.DataFrame(
        [
            _row("conflict_rate", 4.3, 4.13, 4.46, "pass"),
            _row("violent_share", 0.17, 0.11, 0.23, "pass; interval crosses the band"),
            _row("safewards_containment_rr", 0.64, 0.60, 0.68, "fail; interval overlaps the band"),
            _row("readmission_90d", 0.16, math.nan, math.nan, "fail; no interval"),
        ]
    ).to_csv(folder / "validation.csv", index=False)
    consistency = pd.DataFrame([_row("seclusion_duration", 6.46, 5.9, 7.0, "pass")]).assign(echoes="seclusion_hours")
    consistency.to_csv(folder / "consistency.csv", index=False)


def test_a_missing_record_says_not_recorded_yet_and_names_its_command(tmp_path):
    page = render(_root(tmp_path))
    for what in ("screening", "posterior", "validation"):
        assert f"**Not recorded yet**: run {COMMANDS[what]}" in page
    assert "| `conflict_rate` | fitted |" in page  # the tolerances come from the package, always there


def test_every_section_is_built_from_its_record_and_ends_with_the_command_that_made_it(tmp_path):
    root = _root(tmp_path)
    _screening(root)
    _posterior(root, [key for key, band in tolerances().items() if band.role == "fitted"])
    _check(root)
    _validation(root)
    page = render(root)
    assert "Not recorded yet" not in page
    check = page.split("### The method's check")[1].split("## 3.")[0]
    assert "2 datasets made by the model" in check and "in 75% of 4 parameter-datasets" in check
    assert "| `violence_weight` | 2 | 0.5 | 0.2 |" in check
    assert "Recorded on 2026-11-30 at commit `abc1234` by:\n\n```bash\nmilieu-sim calibrate --check 2 --out " in check
    screening = page.split("## 1. Screening")[1].split("## 2.")[0]
    assert "**Left free (1)**: `incident_rate`" in screening
    assert (
        "| `incident_rate` |  | 0.01 to 0.15 | calibrated range | 2.02 (conflict_rate) | conflict_rate, " in screening
    )
    assert screening.index("`incident_rate`") < screening.index("`seclusion_hours`")  # the most influential first
    assert screening.rstrip().endswith("```bash\nmilieu-sim calibrate --screen --out docs/calibration/screening\n```")
    posterior = page.split("## 2. Calibration")[1].split("## 3.")[0]
    assert "exactly those of role *fitted*" in posterior
    assert "| `incident_rate` | all | 0.01 to 0.15 | 0.0712 | 0.073 | 0.008 | 0.061 to 0.086 | 0.81 |" in posterior
    assert "| 2 | 2.5 | 480 | 60 | 0.125 | 47.9 |" in posterior
    assert "Recorded on 2026-11-30 at commit `abc1234`" in posterior
    validation = page.split("## 3. Validation")[1].split("### Consistency")[0]
    assert "**2 of 4 patterns pass**" in validation and "1 of them with an interval that crosses" in validation
    assert (
        "| `readmission_90d` | validation | 3.96 | 0.160 (no interval) | 0.1 to 0.2 | fail; no interval |" in validation
    )
    assert "- `safewards_containment_rr` (fail; interval overlaps the band): a stated reason." in validation
    assert "seeds 0-9" in validation
    assert validation.rstrip().endswith("milieu-sim validate --record --replicates 10\n```")
    consistency = page.split("### Consistency checks")[1].split("## Earlier")[0]
    assert "**not evidence**" in consistency and "`seclusion_hours`" in consistency
    assert "`seclusion_duration`" not in validation  # an input echo is not among the evidence


def test_a_fit_to_a_pattern_that_is_not_role_fitted_is_flagged(tmp_path):
    root = _root(tmp_path)
    _posterior(root, ["conflict_rate", "safewards_conflict_rr"])  # a validation pattern used in the fit
    page = render(root)
    assert "**The fitted patterns differ from the role-fitted entries of the tolerances file**" in page


def test_a_record_without_a_needed_column_is_one_line(tmp_path):
    root = _root(tmp_path)
    _validation(root)
    path = root / RECORDS["validation"] / "validation.csv"
    pd.read_csv(path).drop(columns="verdict").to_csv(path, index=False)
    with pytest.raises(MilieuInputError, match="has no column 'verdict'") as error:
        render(root)
    assert "\n" not in str(error.value)


def test_the_template_has_each_section_once(tmp_path):
    text = template()
    for name in ("tolerances", "screening", "posterior", "validation", "consistency"):
        assert text.count("{{" + name + "}}") == 1
    with pytest.raises(MilieuInputError, match=r"unknown placeholder '\{\{figures\}\}'"):
        render(_root(tmp_path), text + "{{figures}}")


def test_write_and_check_from_the_command_line(tmp_path, capsys):
    root = _root(tmp_path)
    assert main(["--root", str(root), "--check"]) == 1  # no page yet
    assert main(["--root", str(root)]) == 0
    assert main(["--root", str(root), "--check"]) == 0
    _validation(root)  # a new record makes the page stale
    assert main(["--root", str(root), "--check"]) == 1
    assert write_document(root) == root / DOCUMENT
    assert main(["--root", str(root), "--check"]) == 0
    assert main(["--root", str(tmp_path / "nowhere")]) == 2
    assert "the repository's root" in capsys.readouterr().err


def test_validate_doc_regenerates_the_page_without_running(tmp_path, monkeypatch):
    from milieu_sim.cli.main import main as cli

    root = _root(tmp_path)
    _validation(root)
    monkeypatch.chdir(root)
    assert cli(["validate", "--doc"]) == 0
    assert (root / DOCUMENT).read_text(encoding="utf-8") == render(root)
    assert set(PATTERN_KEYS) == set(tolerances())

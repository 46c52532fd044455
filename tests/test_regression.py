"""The tables of a fixed set of runs are unchanged: a refactoring that claims to leave the model alone is checked here.

The record, tests/data/table_digests.json, holds a hash of every table of the runs of
benchmarks/baseline_tables.py (every policy preset on the acute ward, every setting, a 300-client ward;
30 days, seed 3).  It is rewritten only by ``benchmarks/baseline_tables.py --digests`` and only for a
change meant to alter the model's numbers.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "data" / "table_digests.json"


def _baseline_tables():
    spec = importlib.util.spec_from_file_location("baseline_tables", ROOT / "benchmarks" / "baseline_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_saved_runs_give_the_same_tables_bit_for_bit():
    recorded = json.loads(RECORD.read_text())
    now = _baseline_tables().digests()
    changed = [
        f"{run}.{table}" for run in recorded for table in recorded[run] if now[run].get(table) != recorded[run][table]
    ]
    assert sorted(recorded) == sorted(now) and not changed, (
        f"tables changed: {', '.join(changed) or 'the set of runs'}; if the model's numbers were meant to change, "
        "rewrite the record: .venv/bin/python benchmarks/baseline_tables.py --digests tests/data/table_digests.json"
    )

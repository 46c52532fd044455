"""The documentation cannot go stale: docs/*.md against the schema, the tables and the step's phases."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import milieu_sim.model.processes
from milieu_sim.experiments.outcomes import OUTCOMES as SUMMARY_OUTCOMES
from milieu_sim.model.docs import DEFAULT_OUTPUT, parameters_markdown
from milieu_sim.model.model import MilieuModel
from milieu_sim.model.params import SCHEMA, SETTINGS
from milieu_sim.model.policies import PRESETS
from milieu_sim.model.records import ANTECEDENTS, EVENT_KINDS, OUTCOMES, TABLE_COLUMNS

DOCS = Path(__file__).resolve().parent.parent / "docs"
REGENERATE = "run 'python -m milieu_sim.model.docs' to regenerate docs/parameters.md"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _phases() -> list[tuple[str, list[str]]]:
    """(phase name, [process functions]) for each numbered phase of the step's docstring."""
    text = (MilieuModel.step.__doc__ or "") + "\n" + (MilieuModel.__doc__ or "")
    phases = []
    for match in re.finditer(r"^\s*\d+\.\s+\*([^*]+)\*(.*?)(?=^\s*\d+\.\s|\n\s*\n|\Z)", text, re.M | re.S):
        functions = re.findall(r"processes\.\w+\.(\w+)", match.group(2))
        phases.append((match.group(1).strip(), functions))
    return phases


def test_parameters_md_is_generated_from_the_schema():
    assert DEFAULT_OUTPUT == DOCS / "parameters.md"
    assert _read("parameters.md") == parameters_markdown(), REGENERATE


def test_every_parameter_setting_and_preset_is_in_parameters_md():
    text = _read("parameters.md")
    for name in SCHEMA:
        assert f"`{name}`" in text, name
    for name in [*SETTINGS, *PRESETS]:
        assert name in text, name


def test_every_table_column_is_in_outputs_md():
    text = _read("outputs.md")
    for table, columns in TABLE_COLUMNS.items():
        assert f"`{table}`" in text, table
        for column in columns:
            assert f"`{column}`" in text, f"{table}.{column}"


def test_table_columns_are_documented_in_table_order():
    text = _read("outputs.md")
    for table, columns in TABLE_COLUMNS.items():
        section = text.split(f"### `{table}`", 1)
        assert len(section) == 2, f"outputs.md has no section '### `{table}`'"
        body = section[1].split("\n### ", 1)[0]
        documented = re.findall(r"^\|\s*`(\w+)`\s*\|", body, re.M)
        assert documented == list(columns), table


def test_every_event_kind_outcome_and_antecedent_is_in_outputs_md():
    text = _read("outputs.md")
    for kind, category in EVENT_KINDS.items():
        assert f"`{kind}`" in text, kind
        assert f"`{category}`" in text, category
    for name in [*OUTCOMES, *ANTECEDENTS, *SUMMARY_OUTCOMES]:
        assert f"`{name}`" in text, name


def test_every_process_module_and_phase_is_described_in_odd():
    text = _read("ODD.md")
    lowered = text.lower()
    modules = [m.name for m in pkgutil.iter_modules(milieu_sim.model.processes.__path__)]
    assert modules, "no process modules found"
    for module in modules:
        assert f"processes/{module}.py" in text, module
    phases = _phases()
    assert len(phases) == 12, phases
    for name, functions in phases:
        assert f"**{name.lower()}**" in lowered, f"phase '{name}' is not named (in bold) in docs/ODD.md"
        for function in functions:
            assert f"`{function}`" in text, f"process function '{function}' is not named in docs/ODD.md"


def test_odd_links_to_the_generated_references():
    text = _read("ODD.md")
    assert "parameters.md" in text
    assert "outputs.md" in text

"""The documentation cannot go stale: docs/*.md against the schema, the tables and the schedule of the hour."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import milieu_sim.model.processes
from milieu_sim.experiments.outcomes import OUTCOMES as SUMMARY_OUTCOMES
from milieu_sim.model.docs import DEFAULT_OUTPUT, parameters_markdown
from milieu_sim.model.params import SCHEMA, SETTINGS
from milieu_sim.model.policies import PRESETS
from milieu_sim.model.records import ANTECEDENTS, EVENT_KINDS, OUTCOMES, TABLE_COLUMNS
from milieu_sim.model.schedule import ODD_PATH, SCHEDULE, committed_odd_overview, odd_overview

DOCS = Path(__file__).resolve().parent.parent / "docs"
REGENERATE = "run 'python -m milieu_sim.model.docs' to regenerate docs/parameters.md"
REGENERATE_ODD = "run 'python -m milieu_sim.model.docs' to regenerate docs/ODD.md's process overview"


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


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


def test_odd_process_overview_is_generated_from_the_schedule():
    assert ODD_PATH == DOCS / "ODD.md"
    assert committed_odd_overview(_read("ODD.md")) == odd_overview(), REGENERATE_ODD


def test_every_process_module_runs_in_the_schedule_and_is_described_in_odd():
    """No process module is left out of the hour, and each phase's rule has its ODD section naming its function."""
    text = _read("ODD.md")
    modules = [m.name for m in pkgutil.iter_modules(milieu_sim.model.processes.__path__)]
    scheduled = {phase.module.rsplit(".", 1)[-1] for phase in SCHEDULE}
    assert scheduled <= set(modules)
    for module in set(modules) - scheduled:  # shared rules the processes call; a process (with OWNS) must run
        declared = importlib.import_module(f"milieu_sim.model.processes.{module}")
        assert not hasattr(declared, "OWNS"), f"process module '{module}' declares OWNS but runs in no phase"
    headings = re.findall(r"^#### 6\.\d+ (.+?) \((.*)\)$", text, re.M)
    sections = {title: detail for title, detail in headings}
    for phase in SCHEDULE:  # the phase numbers live in the generated overview only
        assert phase.section in sections, (
            f"phase '{phase.name}': docs/ODD.md has no Submodels section '{phase.section}'"
        )
        detail = sections[phase.section]
        module = phase.module.rsplit(".", 1)[-1]
        function = phase.label.rsplit(".", 1)[-1]
        assert f"processes/{module}.py" in detail and f"`{function}`" in detail, (phase.name, detail)


def test_odd_links_to_the_generated_references():
    text = _read("ODD.md")
    assert "parameters.md" in text
    assert "outputs.md" in text

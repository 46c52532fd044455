"""Every notebook in notebooks/ runs top to bottom without an error, and is committed from a clean run.

Each notebook is executed with nbclient in a temporary copy of notebooks/, so that executing it
leaves the working tree alone.  The kernel is ``python3`` (the notebooks' kernel) started with this
interpreter: the test puts a ``python3`` kernel spec for ``sys.executable`` first on the Jupyter
path, so a ``python3`` kernel registered elsewhere (e.g. in ``~/.local/share/jupyter``) cannot
take its place.  A notebook may write only to a temporary directory or to ``results/``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell
KERNEL = "python3"


@pytest.fixture(autouse=True)
def this_interpreter_as_python3_kernel(tmp_path_factory, monkeypatch):
    """A ``python3`` kernel spec that runs ``sys.executable``, first on the Jupyter path."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))


def _execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name=KERNEL, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell errors
    return notebook


def test_the_five_notebooks_exist():
    names = [path.name for path in NOTEBOOK_FILES]
    for prefix in ("01_quick_start", "02_comparing_policies", "03_sweeps_and_sensitivity", "04_inside_the_ward",
                   "05_your_own_policy_and_ward"):  # fmt: skip
        assert f"{prefix}.ipynb" in names, prefix


def test_the_kernel_runs_this_environment(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("import sys, milieu_sim\nprint(sys.prefix)"))
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    executed = _execute(path, tmp_path)
    assert executed.cells[0].outputs[0]["text"].strip() == sys.prefix


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_is_committed_with_outputs_from_a_clean_run(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    counts = [cell.get("execution_count") for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execute it top to bottom in a fresh kernel"
    for cell in code:
        errors = [out for out in cell.outputs if out.get("output_type") == "error"]
        assert not errors, f"{path.name}: a cell has an error output"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=[p.stem for p in NOTEBOOK_FILES])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    before = {p.relative_to(work) for p in work.rglob("*")}
    _execute(work / path.name, work)
    after = {p.relative_to(work) for p in work.rglob("*")}
    written = [str(p) for p in after - before if p.parts[0] not in ("results", ".ipynb_checkpoints")]
    assert not written, f"{path.name} wrote outside a temporary or results/ directory: {written}"

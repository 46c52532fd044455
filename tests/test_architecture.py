"""The package's architecture: imports run one way, without cycles, and importing changes nothing.

Layers, top to bottom: the command line and the browser app, then analysis, then experiments, then the
model, then the base (``errors``, ``provenance``, ``files``, ``data``).  A module may import its own layer and the
layers below; ``milieu_sim/__init__.py`` is the facade (public names) and is not a layer.  Imports are read
with ``ast`` from every module, function-level imports included; imports under ``if TYPE_CHECKING:`` are
exempt (they never run).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "milieu_sim"
#: Rank of each layer: a module may import modules of the same or a lower rank (cli may use app's drawing).
LAYERS: dict[str, int] = {"cli": 5, "app": 4, "analysis": 3, "experiments": 2, "model": 1, "base": 0}
BASE = {"milieu_sim.errors", "milieu_sim.provenance", "milieu_sim.files", "milieu_sim.data"}
FACADE = "milieu_sim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def layer(module: str) -> str:
    if module == FACADE:
        return "facade"
    if module == "milieu_sim.__main__":  # `python -m milieu_sim`: the command line's other door
        return "cli"
    if any(module == base or module.startswith(base + ".") for base in BASE):
        return "base"
    return module.split(".")[1]


def _resolve(name: str) -> str | None:
    """The milieu_sim module an imported name refers to (a module, else its package), or None if outside."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported milieu_sim module, line, at module level) for every import statement in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child, top)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names = [f"{stem}.{alias.name}" for alias in node.names] if stem else []
            names = [n if _resolve(n) == n else stem for n in names]  # `from pkg import module` or a name
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.append((target, node.lineno, top))
        inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, True)
    return found


GRAPH: dict[str, list[tuple[str, int, bool]]] = {module: imports(module) for module in MODULES}


def test_the_import_reader_sees_the_layers_and_function_level_imports():
    assert {layer(m) for m in MODULES} >= {"cli", "app", "analysis", "experiments", "model", "base", "facade"}
    targets = {target for target, _, _ in GRAPH["milieu_sim.cli.run"]}
    assert "milieu_sim.model.model" in targets  # imported inside cmd_run
    assert "milieu_sim.cli.common" in targets


def test_imports_run_downward_only():
    upward = []
    for module, found in GRAPH.items():
        if layer(module) == "facade":
            continue
        for target, line, _ in found:
            if layer(target) == "facade" or LAYERS[layer(target)] > LAYERS[layer(module)]:
                upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_library_code_never_imports_the_command_line():
    offenders = [
        f"{module} imports {target}"
        for module, found in GRAPH.items()
        if layer(module) != "cli"
        for target, _, _ in found
        if layer(target) == "cli"
    ]
    assert not offenders


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            connect(node)
    return found


def test_there_is_no_import_cycle():
    edges = {module: {target for target, _, _ in found} for module, found in GRAPH.items() if module != FACADE}
    for module in edges:
        edges[module].discard(FACADE)
    assert not _cycles(edges)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


IMPORT_CHECK = """
import json, os, sys
import numba
before = numba.config.CACHE_DIR
environment = dict(os.environ)
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"cache_dir_before": before, "cache_dir_after": numba.config.CACHE_DIR,
                  "environment_unchanged": dict(os.environ) == environment}))
"""


def _tree(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` (but those ending in ``skip``) with its size and modification time."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else 0, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if not p.name.endswith(skip)
    }


def _package_files() -> set[str]:
    """The package's files and folders but its sources and bytecode (which other work may be editing)."""
    return set(_tree(PACKAGE, skip=(".py", ".pyc")))


def _layer_modules(name: str) -> list[str]:
    return sorted(m for m in MODULES if layer(m) == name)


@pytest.mark.parametrize(
    "modules",
    [
        ["milieu_sim"],
        _layer_modules("model") + _layer_modules("base"),
        _layer_modules("experiments"),
        _layer_modules("analysis"),
        _layer_modules("cli"),
        _layer_modules("app"),
    ],
    ids=["facade", "model", "experiments", "analysis", "cli", "app"],
)
def test_importing_writes_deletes_and_changes_nothing(tmp_path, modules):
    """Imports in a fresh home and temporary folder leave them, the package and numba's settings as they were.

    Third-party caches are pointed elsewhere: matplotlib's font cache (MPLCONFIGDIR) and the folder and
    telemetry id that solara writes when it is imported (~/.solara: SOLARA_HOME).
    """
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(
        HOME=str(home),
        TMPDIR=str(temp),
        PYTHONDONTWRITEBYTECODE="1",
        MPLCONFIGDIR=str(tmp_path / "matplotlib"),
        SOLARA_HOME=str(tmp_path / "solara"),
    )
    package_before, home_before, temp_before = _package_files(), _tree(home), _tree(temp)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK, *modules], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["cache_dir_after"] == report["cache_dir_before"]
    assert report["environment_unchanged"]
    assert _tree(home) == home_before
    assert _tree(temp) == temp_before
    assert _package_files() ^ package_before == set()

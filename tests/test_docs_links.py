"""Every file, notebook and command that README.md and docs/*.md name exists and runs.

- Markdown links to local files resolve (relative to the page).
- Repository paths named in code (``milieu_sim/model/ward.py``, ``experiments/sensitivity.toml``,
  ``notebooks/01_quick_start.ipynb``, ``processes/flow.py`` inside the package, ...) exist.
  Output locations (``results/...``) and placeholders (``<setting>``, ``*``) are not checked.
- Every ``milieu-sim <command>`` named in code answers ``<command> --help`` with exit status 0
  (run as ``python -m milieu_sim.cli.main``); every ``./milieu X`` names a command, ``test`` or ``compare``,
  and answers ``--help`` too unless it is ``test``.
- Python code blocks compile, and the names they import from milieu_sim exist.

Nothing long runs here: only ``--help``.
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

from milieu_sim.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTPUT_DIRS = {"results"}
PLACEHOLDER = re.compile(r"[<>*{}]|NAME|\.\.\.")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(r"^[\w.][\w./-]*$")
PYTHON = ("python", "py")
COMMAND = re.compile(r"(?:^|(?<=[\s/(;&|]))(milieu-sim|\./milieu)(?:\s+([-\w]+))?")


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _without_comments(body: str) -> str:
    """A shell block without its comments (``# ...`` to the end of a line)."""
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in body.splitlines())


def _code(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Fenced blocks as (language, body; shell comments removed), and the inline code spans outside them."""
    blocks = [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(text)]
    blocks = [(language, body if language in PYTHON else _without_comments(body)) for language, body in blocks]
    prose = FENCE.sub("", text)
    return blocks, SPAN.findall(prose)


def _bases(page: Path) -> list[Path]:
    return [ROOT, page.parent, ROOT / "milieu_sim"]


def _candidate_paths(page: Path) -> set[str]:
    """Repository paths named in the page's code: tokens of code spans and shell blocks."""
    blocks, spans = _code(page.read_text(encoding="utf-8"))
    tokens = [token for span in spans for token in span.split()]
    for language, body in blocks:
        if language in ("", "bash", "sh", "shell", "console"):
            tokens += body.split()
    found = set()
    for token in tokens:
        token = token.strip(",;:()'\"")
        if not PATH.match(token) or PLACEHOLDER.search(token) or token.startswith("."):
            continue
        first = token.split("/")[0]
        if "/" in token:
            if first in OUTPUT_DIRS or not any((base / first).is_dir() for base in _bases(page)):
                continue  # an output location or not a path of this repository
            found.add(token)
        elif token.endswith((".ipynb", ".md")):
            found.add(token)
    return found


def _exists(page: Path, path: str) -> bool:
    bases = _bases(page)
    if path.endswith(".ipynb"):
        bases.append(ROOT / "notebooks")
    if path.endswith(".md"):
        bases.append(ROOT / "docs")
    return any((base / path).exists() for base in bases)


@cache
def _subcommands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps subparsers only here
        if action.__class__.__name__ == "_SubParsersAction":
            return set(action.choices)
    return set()


def _commands(page: Path) -> list[tuple[str, str | None]]:
    """(program, first word after it) for each milieu-sim or ./milieu command in the page's code."""
    blocks, spans = _code(page.read_text(encoding="utf-8"))
    texts = spans + [body for language, body in blocks if language in ("", "bash", "sh", "shell", "console")]
    return [(m.group(1), m.group(2)) for text in texts for m in COMMAND.finditer(text)]


def _all_milieu_sim_commands() -> list[str]:
    """Every word after ``milieu-sim`` and, but ``test``, after ``./milieu`` (which runs ``milieu-sim X``)."""
    words = {word for page in PAGES for program, word in _commands(page) if word}
    words -= {"test"}
    return sorted(words)


def test_there_are_pages_to_check():
    assert (ROOT / "README.md").is_file()
    assert {"ODD.md", "outputs.md"} <= {page.name for page in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_local_links_resolve(page):
    missing = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    assert not missing, f"{_page_id(page)} links to missing files: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_named_paths_and_notebooks_exist(page):
    missing = sorted(path for path in _candidate_paths(page) if not _exists(page, path))
    assert not missing, f"{_page_id(page)} names files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_milieu_wrapper_commands_are_known(page):
    allowed = _subcommands() | {"test", "compare"}
    unknown = [word for program, word in _commands(page) if program == "./milieu" and word and word not in allowed]
    unknown = [word for word in unknown if not word.startswith("-")]
    assert not unknown, f"{_page_id(page)}: './milieu {unknown[0]}' is not a command; allowed: {sorted(allowed)}"


def test_every_named_milieu_sim_command_answers_help(capsys):
    """Each command the docs name answers ``--help`` (in this process, through ``main``: the installed entry point
    itself is run by tests/test_cli.py)."""
    from milieu_sim.cli.main import main

    words = _all_milieu_sim_commands()
    assert {"run", "compare"} <= set(words)
    known = _subcommands()
    for word in words:
        if word.startswith("-"):
            args = [word]
        else:
            assert word in known, f"'milieu-sim {word}' is named in the docs but is not a command; known: {known}"
            args = [word, "--help"]
        with pytest.raises(SystemExit) as ended:  # argparse ends --help and --version with SystemExit(0)
            main(args)
        out = capsys.readouterr()
        assert ended.value.code == 0, f"milieu-sim {' '.join(args)} exited {ended.value.code}: {out.err[-500:]}"
        assert out.out.strip(), f"milieu-sim {' '.join(args)} printed nothing"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_python_blocks_compile_and_their_imports_exist(page):
    blocks, _ = _code(page.read_text(encoding="utf-8"))
    for language, body in blocks:
        if language not in PYTHON:
            continue
        tree = ast.parse(body, filename=_page_id(page))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "milieu_sim":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                        f"{_page_id(page)}: 'from {node.module} import {alias.name}' fails"
                    )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "milieu_sim":
                        importlib.import_module(alias.name)

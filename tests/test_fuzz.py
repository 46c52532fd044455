"""Fuzz: every command and every file format, fed bad input, answers in one line and never a traceback.

Runs in-process through :func:`milieu_sim.cli.main.main`, with one parser built for each test (fast enough for
CI). Inputs are a table of bad values for every option of every command (generated from the parser, so a new
option is covered without editing this file), plus seeded random mutations of experiment files, policy files,
floor plans, manifests and Parquet parts. A command that accepts its input stops where the work would start
(the kernel-compilation notice is replaced by a :class:`Reached` exception, and sweeps run a stub that returns
at once), so no model runs. The test fails on any traceback, on any "internal error" line (an unexpected
exception that ``main`` caught), and on an exit status other than 0, 1 or 2.
"""

import functools
import json
import random
import shutil
import string
from pathlib import Path

import pytest

from milieu_sim.cli.main import build_parser, main

SEED = 16
BAD_VALUES = ["", "-1", "0", "nan", "inf", "-inf", "1e999", "abc", "9" * 30, "0x10", "1.5", "true", "\x00", "é" * 300,
              "/", "/dev/null", "../../..", "a,a", ",", "usual_care,usual_care", "9223372036854775808"]  # fmt: skip
#: Options whose value names a file or folder that the command would write to: only safe values there.
OUTPUT_OPTIONS = {"--out"}
#: Commands driven with their options (app serves forever, so it is left to the app's tests; warm-up compiles).
SKIP_COMMANDS = {"app", "warm-up"}

SPEC = """name = "fuzz"
policies = ["usual_care", "policy.toml"]
replicates = 2
days = 3
warmup_days = 1
seed = 4
batch_size = 2
[parameters]
n_clients = 6
ward_map = "ward.txt"
[vary]
de_escalation_skill = [0.3, 0.7]
[design]
method = "grid"
[outputs]
outcomes = ["conflict_per_shift"]
series = true
"""
POLICY = 'name = "mine"\nbase = "restrictive"\ndescription = "x"\n[parameters]\nde_escalation_skill = 0.6\n'
MAP = (Path(__file__).resolve().parents[1] / "milieu_sim" / "data" / "wards" / "default.txt").read_text()


class Reached(BaseException):
    """The command accepted its input and would now start work."""


def _reached(*args, **kwargs):
    raise Reached


def _stub_task(task, series=False):
    """A run that returns at once: made-up outcomes (and a one-day series), or a failure for odd run ids."""
    import numpy as np

    from milieu_sim.experiments.runner import COUNT_COLUMNS

    record = {key: task[key] for key in ("run_id", "replicate", "point", "policy", "seed")}
    record.update(values=task["values"], run_seconds=0.0)
    if task["run_id"] % 4 == 3:
        record.update(ok=False, error="stub", traceback="stub")
        return record
    outcomes = {name: 0.1 * (1 + task["run_id"] % 3) for name in task["outcomes"]}
    outcomes.update({name: 1 + task["run_id"] % 2 for name in COUNT_COLUMNS})
    shifts = np.array(["early", "late", "night"], dtype=object)
    small = {name: np.ones(3, dtype=np.int32) for name in ("census", "staff_on_duty", "conflict_events")}
    one_day = {"day": np.zeros(3, dtype=np.int32), "shift": shifts, **small, "containment_events": np.zeros(3)}
    record.update(ok=True, outcomes=outcomes, series=one_day if series else None)
    return record


@pytest.fixture
def no_work(monkeypatch):
    """Accepted input stops before work: no kernel compiles, no model runs.  The parser is built once for the
    test and reused by every command it drives (building it adds some 900 options, most of this test's time when
    built anew for each of its 2,700 commands; parsing leaves a parser as it was)."""
    from milieu_sim.cli import main as cli_main

    monkeypatch.setattr(cli_main, "build_parser", functools.cache(cli_main.build_parser))
    for module in ("run", "sweep", "validate", "calibrate", "app", "story"):
        try:
            imported = __import__(f"milieu_sim.cli.{module}", fromlist=["x"])
        except ImportError:
            continue
        if hasattr(imported, "announce_kernel_compilation"):
            monkeypatch.setattr(imported, "announce_kernel_compilation", _reached)
    from milieu_sim.experiments import sweep

    monkeypatch.setattr(sweep, "run_task", _stub_task)


def drive(argv, capsys) -> tuple[int | None, str]:
    """Run one command; check it ended in one of the promised ways."""
    try:
        status = main([str(a) for a in argv])
    except Reached:
        status = None
    except SystemExit as exc:  # --help / --version
        status = exc.code
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text, (argv, text)
    assert "internal error" not in text, (argv, text)
    assert status in (None, 0, 1, 2), (argv, status, text)
    if status == 2 and not out.err:  # no command: the help
        assert "usage" in out.out, (argv, out.out)
    elif status == 2:
        errors = [line for line in out.err.splitlines() if "error" in line or "needs the" in line]
        assert len(errors) >= 1 and len(out.err.strip().splitlines()) <= 3, (argv, out.err)
    return status, text


def _options():
    """(command, option, needs a value) for every option of every command, from the parser itself."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command, command_parser in sub.choices.items():
        if command in SKIP_COMMANDS:
            continue
        positionals = [a for a in command_parser._actions if not a.option_strings and a.dest != "help"]
        for action in command_parser._actions:
            if action.option_strings and action.dest != "help":
                yield command, positionals, action


def _base_argv(command, positionals, folder: Path) -> list[str]:
    argv = [command]
    for positional in positionals:
        argv.append(str(folder / "missing.toml") if "spec" in positional.dest else str(folder / "nowhere"))
    if command in ("sweep", "sensitivity", "animate"):
        argv += ["--out", str(folder / ("o.gif" if command == "animate" else "o"))]
    if command == "story":
        argv += ["--client", "1"]
    return argv


def test_every_option_of_every_command_with_bad_values(tmp_path, capsys, no_work):
    rng = random.Random(SEED)
    cases = 0
    for command, positionals, action in _options():
        option = action.option_strings[-1]
        values = [None] if action.nargs == 0 else rng.sample(BAD_VALUES, 3)
        for value in values:
            if option in OUTPUT_OPTIONS and value is not None:
                value = str(tmp_path / "outs" / value.replace("/", "_").replace("\x00", "_")[:50])
            argv = _base_argv(command, positionals, tmp_path)
            argv += [option] if value is None else [option, value]
            drive(argv, capsys)
            cases += 1
    assert cases > 300


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(9)
    k = rng.randrange(len(lines))
    junk = rng.choice(['"x"', "-1", "1e400", "nan", "inf", "[]", "{}", "[1, 'a']", "true", "9" * 25, '{ low = 2 }',
                       "{ low = 1, high = 0 }", '"../../etc/passwd"', "0.5", "3"])  # fmt: skip
    if kind == 0 and "=" in lines[k]:
        lines[k] = lines[k].split("=")[0] + "= " + junk
    elif kind == 1:
        del lines[k]
    elif kind == 2:
        lines.insert(k, lines[rng.randrange(len(lines))])
    elif kind == 3:
        lines.insert(k, f"{rng.choice(['unknown', 'days', 'vary', 'seed', 'n_clients'])} = {junk}")
    elif kind == 4:
        return text[: rng.randrange(len(text))]
    elif kind == 5:
        pos = rng.randrange(len(text))
        return text[:pos] + "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 8))) + text[pos:]
    elif kind == 6:
        lines.insert(k, rng.choice(["[parameters]", "[vary]", "[design]", "[outputs]", "[[vary]]", "[x]"]))
    elif kind == 7 and "=" in lines[k]:
        key = lines[k].split("=")[0].strip()
        lines[k] = f"{key} = {{ low = {rng.choice(['0', '-5', '1e9'])}, high = {rng.choice(['1', '2e9', 'nan'])}, "
        lines[k] += f"{rng.choice(['steps', 'step'])} = {rng.choice(['0', '2', '1e-12', '100000000'])} }}"
    else:
        return "".join(rng.choice([c, c, c, "\x00", "\ufffd", "'"]) for c in text)
    return "\n".join(lines) + "\n"


def _experiment(folder: Path, spec: str = SPEC, policy: str = POLICY, ward: str = MAP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.toml").write_text(policy)
    (folder / "ward.txt").write_text(ward)
    (folder / "spec.toml").write_text(spec)
    return folder / "spec.toml"


def test_mutated_experiment_policy_and_map_files(tmp_path, capsys, no_work):
    rng = random.Random(SEED + 1)
    outcomes = {None: 0, 0: 0, 1: 0, 2: 0}
    for case in range(120):
        what = case % 3
        spec = _experiment(
            tmp_path / f"e{case}",
            spec=_mutate_text(SPEC, rng) if what == 0 else SPEC,
            policy=_mutate_text(POLICY, rng) if what == 1 else POLICY,
            ward=_mutate_text(MAP, rng) if what == 2 else MAP,
        )
        command = rng.choice(["sweep", "sensitivity"]) if what == 0 else "sweep"
        status, _ = drive([command, spec, "--out", tmp_path / f"o{case}", "--workers", "1"], capsys)
        outcomes[status] += 1
        if what == 1:  # the policy file on its own, through run and compare
            drive(["run", "--policy", spec.parent / "policy.toml", "--out", tmp_path / "r"], capsys)
        if what == 2:
            drive(["run", "--ward-map", spec.parent / "ward.txt", "--out", tmp_path / "r"], capsys)
    assert outcomes[2] > 30 and outcomes[None] > 10  # both refusals and accepted files were exercised


def _mutate_json(value, rng: random.Random):
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        choice = rng.randrange(4)
        if choice == 0:
            value.pop(key)
        elif choice == 1:
            value[key] = rng.choice([None, 1, "x", [], {}, -1.5, True])
        else:
            value[key] = _mutate_json(value[key], rng)
        return value
    if isinstance(value, list) and value:
        value[rng.randrange(len(value))] = rng.choice([None, 1, "x", [], {}])
        return value
    return rng.choice([None, 1, "x", [], {}, -1, 1e308])


def test_mutated_manifests_and_parquet_parts(tmp_path, capsys, no_work, monkeypatch):
    pytest.importorskip("statsmodels")
    from milieu_sim.cli import sweep as cli_sweep

    monkeypatch.setattr(cli_sweep, "announce_kernel_compilation", lambda: None)  # sweeps run (the stub task)
    spec = _experiment(tmp_path / "e")
    assert drive(["sweep", spec, "--out", tmp_path / "done", "--workers", "1"], capsys)[0] == 1  # (some fail)
    assert drive(["report", tmp_path / "done"], capsys)[0] == 0
    rng = random.Random(SEED + 2)
    manifest = json.loads((tmp_path / "done" / "manifest.json").read_text())
    for case in range(40):
        out = tmp_path / f"m{case}"
        shutil.copytree(tmp_path / "done", out)
        if case % 2:
            mutated = _mutate_json(json.loads(json.dumps(manifest)), rng)
            for _ in range(rng.randrange(3)):
                mutated = _mutate_json(mutated, rng)
            (out / "manifest.json").write_text(json.dumps(mutated) if rng.random() < 0.8 else "{]")
        else:
            parts = sorted(out.glob("*/part-*.parquet")) + sorted(out.glob("*.parquet"))
            part = rng.choice(parts)
            data = part.read_bytes()
            part.write_bytes(rng.choice([b"", data[: rng.randrange(len(data))], data[::-1], b"PAR1" * 10]))
        drive(["report", out], capsys)
        drive(["sweep", spec, "--out", out, "--workers", "1"], capsys)


def test_every_command_bare_with_junk_and_with_help(tmp_path, capsys, no_work):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in sub.choices:
        if command in SKIP_COMMANDS:
            continue
        for tail in ([], ["--no-such-option"], ["extra", "arguments", "x" * 5000], ["--help"]):
            drive([command, *tail], capsys)
    for argv in ([], ["no-such-command"], ["--version"], ["\x00"]):
        drive(argv, capsys)

"""Where the compiled hour's time goes: CPU cycles spent in each part of the stretch over simulated years.

    .venv/bin/python benchmarks/profile_parts.py [--years 4] [--days 365] [--set NAME=VALUE ...] [--inside PART]
    .venv/bin/python benchmarks/profile_parts.py --years 1 --days 10 --set n_clients=1000 --set ward_map=auto \
        --set staff_early=250 --set staff_late=200 --set staff_night=100   # bench_model.py's 1,000-client ward

cProfile (``profile_year.py``) sees the compiled hour as one call, ``stretch.run_hours``, about two
fifths of a year.  This script compiles, in this process and not into the kernel cache, a copy of
``run_hours`` (milieu_sim/model/processes/stretch.py) that reads the processor's cycle counter
(LLVM's ``readcyclecounter``) around each part's call, the appending of the rows it logged
(``_log``), the clock (``set_clock``) and the hour's counts (``count_hour``), and runs the default
ward (or the one ``--set`` describes) for ``--years`` years (seeds 100, 101, ...) with it in place
of the cached one.  The parts' rules and random numbers are the same, so are the runs; only the counter reads are added.
Compiling the copy takes two or three minutes.

First runs the same years with the cached stretch and prints its time, then the timed copy's.  Each
row's time includes its two counter reads (and ``_log``'s, a call between compiled functions, and
the row's allocation): small rows are read as upper bounds.  The cycles outside the rows (the gap
between the stretch's time and the rows' sum) are the call into compiled code, the loop over the
hours and dropping the parts' returned arrays.  What removing a cost saves is known only from the
year's time measured side by side, before and after.

``--inside PART`` (a part as the table names it, ``escalation._hour``) also times each top-level
statement of that part's function (statements_source), and prints them after the table.

Prints, per part: milliseconds per run (a simulated year by default), its share of the stretch's
counted cycles, calls per run and nanoseconds per call; the counter's rate is measured against
``time.perf_counter``.
Under ``NUMBA_DISABLE_JIT=1`` the copy runs as plain Python and the counter is ``perf_counter_ns``
(for checking this script, not for its figures).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
import textwrap
import time

import numba
import numpy as np

#: Slots of the counts array after the parts' (parts are 0 ... n - 1; their calls are counted at CALLS + k); the
#: statements of ``--inside``'s function from STATEMENTS on.
LOG_SLOT, CLOCK_SLOT, COUNT_SLOT, CALLS, STATEMENTS, SLOTS = 97, 98, 99, 100, 200, 400

_PART = re.compile(r"^( +)if mask\[(\d+)\]:\n\1    logged = (.+)\n", re.MULTILINE)


def counted(pad: str, lines: str, slot: int) -> str:
    """``lines`` (source lines at indent ``pad``) between two ``cycles()`` reads, the difference added into
    ``spent[slot]`` and one more call counted at ``spent[CALLS + slot]``."""
    return f"{pad}start = cycles()\n{lines}{pad}spent[{slot}] += cycles() - start\n{pad}spent[{CALLS + slot}] += 1\n"


def timed_source(source: str) -> tuple[str, list[int]]:
    """The source of ``stretch.run_hours`` made into ``run_hours_timed(..., spent)``: each part's call, the
    appending of its rows, the clock and the hour's counts between two ``cycles()`` reads, added into
    ``spent`` (a part's calls counted too).  Returns the source and the mask positions of the parts timed, in order."""
    source = textwrap.dedent(source).replace("@kernel\n", "", 1)
    head = "def run_hours(clock, masks, held, first_step, rows, started):"
    if head not in source:
        raise ValueError("run_hours's signature has changed: update benchmarks/profile_parts.py")
    source = source.replace(head, "def run_hours_timed(clock, masks, held, first_step, rows, started, spent):")
    parts: list[int] = []

    def timed(match: re.Match) -> str:
        pad, k, call = match.group(1), int(match.group(2)), match.group(3)
        parts.append(k)
        return f"{pad}if mask[{k}]:\n" + counted(pad + "    ", f"{pad}    logged = {call}\n", k)

    source = _PART.sub(timed, source)
    appends = re.findall(r"^( +)(logs = _log\(logs, .*logged\))\n", source, re.MULTILINE)
    if len(appends) != len(parts):
        raise ValueError("run_hours no longer appends each part's rows with _log: update benchmarks/profile_parts.py")
    for pad, line in set(appends):
        source = source.replace(f"{pad}{line}\n", counted(pad, f"{pad}{line}\n", LOG_SLOT))
    for name, slot in (("set_clock", CLOCK_SLOT), ("count_hour", COUNT_SLOT)):
        call = re.search(rf"^( +){name}\(.*?\)\n", source, re.MULTILINE | re.DOTALL)
        if call is None:
            raise ValueError(f"run_hours no longer calls {name}: update benchmarks/profile_parts.py")
        source = source.replace(call.group(0), counted(call.group(1), call.group(0), slot))
    return source, parts


def statements_source(source: str) -> tuple[str, str, list[str]]:
    """A part's hourly function (``_hour(clock, arguments)``) made into ``<name>_timed(clock, arguments, spent)``:
    each of its top-level statements between two ``cycles()`` reads, added into ``spent[STATEMENTS + k]``.
    Returns the source, the new function's name and each statement's first line."""
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef):
        raise ValueError("not a function's source")
    function.decorator_list = []
    function.name += "_timed"
    function.args.args.append(ast.arg(arg="spent"))
    body, labels = [], []
    for statement in function.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        slot = STATEMENTS + len(labels)
        labels.append(ast.get_source_segment(source, statement).splitlines()[0].strip())
        if isinstance(statement, ast.Return):  # time the returned value's making, then return it
            result = ast.parse("timed_result = 0").body[0]
            result.value = statement.value
            body += [*ast.parse("start = cycles()").body, result,
                     *ast.parse(f"spent[{slot}] += cycles() - start\nreturn timed_result").body]  # fmt: skip
        else:
            body += [*ast.parse("start = cycles()").body, statement,
                     *ast.parse(f"spent[{slot}] += cycles() - start").body]  # fmt: skip
    function.body = body
    return ast.unparse(ast.fix_missing_locations(tree)), function.name, labels


def cycle_counter():
    """A compiled function's read of the cycle counter (``cycles()``), and a Python function reading it."""
    if numba.config.DISABLE_JIT:
        return time.perf_counter_ns, time.perf_counter_ns
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    @intrinsic
    def cycles(typingctx):
        def codegen(context, builder, signature, args):
            counter = ir.FunctionType(ir.IntType(64), [])
            return builder.call(cgutils.get_or_insert_function(builder.module, counter, "llvm.readcyclecounter"), [])

        return types.int64(), codegen

    return cycles, numba.njit(lambda: cycles())


def counter_rate(read) -> float:
    """Counts per second of ``read`` (a Python function reading the counter), against ``time.perf_counter``."""
    read()
    start, count = time.perf_counter(), read()
    time.sleep(0.25)
    return (read() - count) / (time.perf_counter() - start)


def clocked(run_hours, *extra):
    """``run_hours`` as the model calls it (``run_hours(clock, masks, held, first_step, rows, started)``), its
    ``extra`` arguments added, with the seconds spent in it added up: (the function, [seconds])."""
    seconds = [0.0]

    def clocked_run_hours(*arguments):
        start = time.perf_counter()
        done = run_hours(*arguments, *extra)
        seconds[0] += time.perf_counter() - start
        return done

    return clocked_run_hours, seconds


def setting(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` as (name, value): a whole number, else a number, else the text."""
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE, got {text!r}")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=4, help="simulated years to time (default 4)")
    parser.add_argument("--days", type=int, default=365, help="days in each (default 365)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", type=setting,
                        help="a model parameter or argument of MilieuModel (repeatable): n_clients=1000")  # fmt: skip
    parser.add_argument("--inside", metavar="PART", help="also time each statement of this part (escalation._hour)")
    args = parser.parse_args()
    ward = dict(args.set)

    from milieu_sim import MilieuModel
    from milieu_sim.errors import MilieuInputError
    from milieu_sim.model.processes import stretch

    try:
        MilieuModel.check(**ward)  # one line for a bad --set, before anything is compiled
    except (MilieuInputError, TypeError) as error:
        parser.error(str(error))
    order = stretch.parts_in_order()
    names = [f"{p.function.__module__.rsplit('.', 1)[-1]}.{p.function.__name__}" for p in order]
    if args.inside is not None and args.inside not in names:
        parser.error(f"--inside {args.inside!r} is not a part of the stretch; the parts: {', '.join(names)}")

    cycles, read = cycle_counter()
    source, parts = timed_source(inspect.getsource(getattr(stretch.run_hours, "py_func", stretch.run_hours)))
    namespace = {**vars(stretch), "cycles": cycles}
    labels: list[str] = []
    if args.inside is not None:
        function = order[names.index(args.inside)].function
        inside, inside_name, labels = statements_source(inspect.getsource(getattr(function, "py_func", function)))
        module = sys.modules[function.__module__]
        module_namespace = {**vars(module), "cycles": cycles}
        exec(compile(inside, f"<timed {args.inside}>", "exec"), module_namespace)
        namespace["inside_timed"] = numba.njit(nogil=True, error_model="numpy", inline="always")(
            module_namespace[inside_name]
        )
        source = re.sub(rf"\b{re.escape(args.inside)}\(clock, (a_\w+)\)", r"inside_timed(clock, \1, spent)", source)
    exec(compile(source, "<timed run_hours>", "exec"), namespace)
    timed = numba.njit(nogil=True, error_model="numpy")(namespace["run_hours_timed"])
    spent = np.zeros(SLOTS, dtype=np.int64)
    run_hours_timed, seconds = clocked(timed, spent)
    run_hours_cached, plain = clocked(stretch.run_hours)
    stretch.run_hours = run_hours_cached  # this process only: model.py and compiled_hour.py call it through the module
    MilieuModel(rng=0).run(days=2)  # loads the cached kernels
    plain[0] = 0.0
    start = time.perf_counter()
    for seed in range(100, 100 + args.years):  # the same runs without the counters, for comparison
        MilieuModel(rng=seed, **ward).run(days=args.days)
    plain_wall = (time.perf_counter() - start) / args.years
    print(f"without the counters: {plain_wall:.3f} s a run, the compiled stretch {plain[0] / args.years:.3f} s of it")
    stretch.run_hours = run_hours_timed
    start = time.perf_counter()
    MilieuModel(rng=0).run(days=2)  # compiles the timed copy
    print(f"compiled the timed stretch in {time.perf_counter() - start:.0f} s")
    spent[:], seconds[0] = 0, 0.0
    start = time.perf_counter()
    for seed in range(100, 100 + args.years):
        MilieuModel(rng=seed, **ward).run(days=args.days)
    wall = (time.perf_counter() - start) / args.years
    rate = counter_rate(read)
    per_run = 1e3 / rate / args.years  # counts to milliseconds per run
    total = spent[:CALLS].sum()
    runs = f"{args.years} runs of {args.days} days" + (f" with {ward}" if ward else "")
    print(f"with the counters: {wall:.3f} s a run ({runs}), the "
          f"compiled stretch {seconds[0] / args.years:.3f} s of it, {total * per_run / 1e3:.3f} s counted in the "
          "rows below")  # fmt: skip
    rows = dict(zip(parts, names, strict=True))
    rows |= {
        CLOCK_SLOT: "the clock (set_clock)",
        COUNT_SLOT: "the hour's counts (count_hour)",
        LOG_SLOT: "appending a part's rows (_log)",
    }
    print(f"{'part':36s} {'ms/run':>8s} {'share':>6s} {'calls/run':>10s} {'ns/call':>8s}")
    for k in sorted(rows, key=lambda k: -spent[k]):
        calls = spent[CALLS + k] / args.years
        print(f"{rows[k]:36s} {spent[k] * per_run:8.2f} {100 * spent[k] / max(total, 1):5.1f}% {calls:10.0f} "
              f"{spent[k] * per_run * 1e6 / max(calls, 1):8.0f}")  # fmt: skip
    if labels:
        print(f"\ninside {args.inside}, statement by statement (ms/run; a return from inside one is not counted)")
        for k, label in enumerate(labels):
            print(f"{spent[STATEMENTS + k] * per_run:8.2f}  {label}")


if __name__ == "__main__":
    main()

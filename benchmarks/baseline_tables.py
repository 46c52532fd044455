"""Regression baseline: the tables of a fixed set of runs, saved once and compared exactly later.

    .venv/bin/python benchmarks/baseline_tables.py --save DIR     # write DIR/<run>.pkl for every run
    .venv/bin/python benchmarks/baseline_tables.py --check DIR    # compare this code's tables with DIR
    .venv/bin/python benchmarks/baseline_tables.py --digests tests/data/table_digests.json   # the test's record

The set covers every policy preset on the acute ward, every setting under its
default policy, and a 300-client generated ward.  A refactoring that claims to
leave the model unchanged must pass ``--check`` against tables saved before it
(every table compared exactly, value by value, with NaN equal to NaN).  Only
this script writes a baseline; tests never refresh one.

``--digests`` writes a hash of every table of the same runs (:func:`digests`) to a JSON file;
``tests/test_regression.py`` recomputes them and fails on any difference, so a change meant to
leave the model's numbers alone is checked by the suite itself.  Rewrite that file only for a
change that is meant to alter the model's numbers, and say so in the commit.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

from milieu_sim import PRESETS, MilieuModel

DAYS = 30


def runs() -> dict[str, dict]:
    """The saved set: name -> keyword arguments of MilieuModel."""
    out = {f"acute_{name}": {"setting": "acute_ward", "policy": name} for name in PRESETS}
    for setting in ("residential_tc", "day_program"):
        out[setting] = {"setting": setting}
    out["auto_300"] = {"n_clients": 300, "ward_map": "auto", "staff_early": 75, "staff_late": 60, "staff_night": 30}
    return out


def tables(kwargs: dict, seed: int = 3) -> dict[str, pd.DataFrame]:
    model = MilieuModel(rng=seed, **kwargs)
    model.run(days=DAYS)
    return model.tables()


def digest(frame: pd.DataFrame) -> str:
    """A hash of a table: its columns, their types and every value exactly (floats as round-trip text)."""
    import hashlib

    text = frame.to_csv(index=False, float_format="%r")
    return hashlib.sha256(f"{list(frame.columns)}{list(map(str, frame.dtypes))}{text}".encode()).hexdigest()


def digests() -> dict[str, dict[str, str]]:
    """Every saved run's tables, hashed: run -> table -> :func:`digest`."""
    return {name: {table: digest(frame) for table, frame in tables(kwargs).items()} for name, kwargs in runs().items()}


def differences(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]) -> list[str]:
    found = []
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            found.append(f"table {name}: only in {'new' if name in new else 'baseline'}")
            continue
        try:
            pd.testing.assert_frame_equal(old[name], new[name], check_exact=True)
        except AssertionError as error:
            found.append(f"table {name}: {str(error).splitlines()[0:3]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--save", type=Path, metavar="DIR")
    action.add_argument("--check", type=Path, metavar="DIR")
    action.add_argument("--digests", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    if args.digests:
        import json

        args.digests.parent.mkdir(parents=True, exist_ok=True)
        args.digests.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.digests}")
        return 0
    failed = 0
    for name, kwargs in runs().items():
        new = tables(kwargs)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            with open(args.save / f"{name}.pkl", "wb") as handle:
                pickle.dump(new, handle)
            print(f"saved {name}: {', '.join(f'{k} {len(v)}' for k, v in new.items())}")
            continue
        with open(args.check / f"{name}.pkl", "rb") as handle:
            old = pickle.load(handle)
        found = differences(old, new)
        failed += bool(found)
        print(f"{name}: {'identical' if not found else 'DIFFERENT'}")
        for line in found:
            print(f"    {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

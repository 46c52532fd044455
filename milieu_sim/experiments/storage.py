"""The sweep directory: a manifest and Parquet datasets that grow while the sweep runs.

Layout of ``DIR``::

    manifest.json        the spec, its hash, package versions, timing of every session, progress
    design.parquet       one row per parameter point (``point`` and the varied parameters)
    sample.parquet       the unrounded sample matrix of a sampled design (Sobol, Morris, LHS)
    runs/part-*.parquet      one row per finished run: indices, seed, parameters, outcomes, counts
    failures/part-*.parquet  one row per failed run: indices, seed, parameters, error, traceback
    series/part-*.parquet    (if asked) one row per run and nursing shift

Every file is written to a temporary name in its folder and renamed into place, so a file is either
complete or absent whatever happens (Ctrl-C, SIGKILL, a full disk).  A batch writes its series part
first and its runs part last, under the same name; on resuming, series parts without their runs part
are removed and the runs found in ``runs/`` and ``failures/`` are not run again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from milieu_sim.errors import MilieuInputError
from milieu_sim.experiments.runner import COUNT_COLUMNS, SERIES_COLUMNS
from milieu_sim.experiments.spec import Spec
from milieu_sim.model.params import SCHEMA

MANIFEST = "manifest.json"
DATASETS = ("runs", "failures", "series")
INDEX_COLUMNS = ("run_id", "replicate", "point", "policy", "seed")
FLUSH_SECONDS = 30.0
_ARROW_TYPES = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}


class SweepDirError(MilieuInputError):
    """The output directory cannot hold this sweep (another spec's results, or not a sweep directory)."""


class StorageError(RuntimeError):
    """Results could not be written (e.g. the disk is full); finished runs on disk are safe."""


def model_code_hash() -> str:
    """SHA-256 of the model's source and data files (the model layer and its data files).

    Recorded per session: resuming a sweep after the model changed would mix results of two models.
    """
    import hashlib

    root = Path(__file__).resolve().parents[1]  # the milieu_sim package folder
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if (
            file.suffix in (".py", ".toml", ".txt")
            and relative.parts[0] in ("model", "data")
            and "__pycache__" not in relative.parts
        ):
            digest.update(str(relative).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _param_fields(spec: Spec) -> list[pa.Field]:
    return [pa.field(name, _ARROW_TYPES[SCHEMA[name].kind]) for name in spec.varied]


def _index_fields() -> list[pa.Field]:
    return [
        pa.field("run_id", pa.int64()),
        pa.field("replicate", pa.int64()),
        pa.field("point", pa.int64()),
        pa.field("policy", pa.string()),
        pa.field("seed", pa.int64()),
    ]


def runs_schema(spec: Spec) -> pa.Schema:
    fields = _index_fields() + _param_fields(spec)
    fields += [pa.field(name, pa.float64()) for name in spec.outcomes]
    fields += [pa.field(name, pa.int64()) for name in COUNT_COLUMNS]
    fields.append(pa.field("run_seconds", pa.float64()))
    return pa.schema(fields)


def failures_schema(spec: Spec) -> pa.Schema:
    fields = _index_fields() + _param_fields(spec)
    return pa.schema([*fields, pa.field("error", pa.string()), pa.field("traceback", pa.string())])


def series_schema() -> pa.Schema:
    fields = _index_fields()
    fields += [pa.field("day", pa.int32()), pa.field("shift", pa.string())]
    fields += [pa.field(name, pa.int32()) for name in SERIES_COLUMNS[2:]]
    return pa.schema(fields)


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"cannot write {path} ({exc.strerror or exc}); the runs already on disk are safe: "
            "fix the cause (e.g. free disk space) and run the same command again to resume"
        ) from exc


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path} ({exc.strerror or exc})") from exc


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a sweep directory (SweepDirError if there is none)."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise SweepDirError(f"directory '{path}' holds no sweep ({MANIFEST} is missing); run 'milieu-sim sweep' first")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError) as exc:
        raise SweepDirError(f"directory '{path}': {MANIFEST} cannot be read ({exc})") from None


def _parts(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("part-*.parquet")) if folder.is_dir() else []


def read_dataset(path: str | Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One dataset of a sweep directory (``runs``, ``failures`` or ``series``), sorted by run (and shift)."""
    parts = _parts(Path(path) / name)
    if not parts:
        return pd.DataFrame(columns=columns or list(INDEX_COLUMNS))
    table = pa.concat_tables([pq.read_table(p, columns=columns) for p in parts], promote_options="default")
    frame = table.to_pandas()
    keys = [k for k in ("run_id", "day") if k in frame.columns]
    if "shift" in frame.columns and keys:
        order = {"early": 0, "late": 1, "night": 2}
        frame = frame.assign(_shift=frame["shift"].map(order)).sort_values([*keys, "_shift"], kind="stable")
        frame = frame.drop(columns="_shift")
    elif keys:
        frame = frame.sort_values(keys, kind="stable")
    return frame.reset_index(drop=True)


def read_runs(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    return read_dataset(path, "runs", columns)


def read_failures(path: str | Path) -> pd.DataFrame:
    return read_dataset(path, "failures")


def read_series(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    return read_dataset(path, "series", columns)


def iter_run_ids(path: str | Path, name: str) -> Iterator[np.ndarray]:
    """The run ids of each part of a dataset (one part in memory at a time)."""
    for part in _parts(Path(path) / name):
        yield pq.read_table(part, columns=["run_id"]).column("run_id").to_numpy()


class SweepStore:
    """Writes one sweep's results to its directory as they come, in atomic batches.

    ``open()`` checks the directory belongs to this spec (or is new), removes debris of an
    interrupted session and returns a boolean array ``done[run_id]``; ``add()`` buffers a result and
    writes a batch when ``spec.batch_size`` runs are waiting or ``FLUSH_SECONDS`` have passed.
    """

    def __init__(self, path: str | Path, spec: Spec, replace_other_spec: bool = False) -> None:
        self.path = Path(path)
        self.spec = spec
        self.replace_other_spec = replace_other_spec
        # unique per session: a part never replaces a part of an earlier session
        self.session = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        self._sequence = 0
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self.written_runs = 0
        self.written_failures = 0
        self.model_changed = False
        self._runs_schema = runs_schema(spec)
        self._failures_schema = failures_schema(spec)
        self._series_schema = series_schema()

    # --- opening and resuming ------------------------------------------------------------------------
    def open(self, versions: dict[str, str], retry_failed: bool = False) -> np.ndarray:
        spec_hash = self.spec.hash()
        manifest_file = self.path / MANIFEST
        if manifest_file.is_file():
            manifest = read_manifest(self.path)
            if manifest.get("spec_hash") != spec_hash:
                if not self.replace_other_spec:
                    old = manifest.get("spec", {}).get("name", "?")
                    raise SweepDirError(
                        f"directory '{self.path}' holds results of a different spec ('{old}', hash "
                        f"{str(manifest.get('spec_hash'))[:12]}; this spec's hash is {spec_hash[:12]}); "
                        "use another --out directory, or delete that one"
                    )
                self._clear()
                manifest = self._new_manifest(spec_hash, versions)
        else:
            if self.path.exists() and any(p.name in (*DATASETS, "design.parquet") for p in self.path.iterdir()):
                raise SweepDirError(
                    f"directory '{self.path}' has sweep results but no {MANIFEST}; use another --out directory"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            manifest = self._new_manifest(spec_hash, versions)
        for name in DATASETS:
            (self.path / name).mkdir(exist_ok=True)
        self._clean_debris(retry_failed)
        manifest["spec"] = self.spec.to_dict()  # batch_size may change between sessions
        code = model_code_hash()
        earlier = {s.get("model_code_hash") for s in manifest.get("sessions", [])} - {None, code}
        self.model_changed = bool(earlier)
        manifest.setdefault("sessions", []).append(
            {
                "session": self.session,
                "started": _now(),
                "versions": versions,
                "model_code_hash": code,
                "status": "running",
            }
        )
        self._manifest = manifest
        self._write_manifest()
        self._write_design()
        done = np.zeros(self.spec.n_runs, dtype=bool)
        for name in ("runs", "failures"):
            for ids in iter_run_ids(self.path, name):
                done[ids] = True
        self.previously_done = int(done.sum())
        return done

    def _new_manifest(self, spec_hash: str, versions: dict[str, str]) -> dict[str, Any]:
        return {
            "format": "milieu-sim sweep 1",
            "spec": self.spec.to_dict(),
            "spec_hash": spec_hash,
            "spec_file": self.spec.path,
            "n_runs": self.spec.n_runs,
            "n_points": self.spec.n_points,
            "created": _now(),
            "versions": versions,
            "sessions": [],
        }

    def _clear(self) -> None:
        for name in DATASETS:
            shutil.rmtree(self.path / name, ignore_errors=True)
        for name in (MANIFEST, "design.parquet", "sample.parquet"):
            (self.path / name).unlink(missing_ok=True)

    def _clean_debris(self, retry_failed: bool) -> None:
        for name in DATASETS:
            for tmp in (self.path / name).glob(".tmp-*"):
                tmp.unlink(missing_ok=True)
        runs = {p.name for p in _parts(self.path / "runs")}
        for part in _parts(self.path / "series"):
            if part.name not in runs:  # its batch never committed: those runs will run again
                part.unlink()
        if retry_failed:
            for part in _parts(self.path / "failures"):
                part.unlink()

    def _write_design(self) -> None:
        design = self.spec.design().copy()
        design.insert(0, "point", np.arange(len(design), dtype=np.int64))
        _atomic_write_table(pa.Table.from_pandas(design, preserve_index=False), self.path / "design.parquet")
        sample = self.spec.sample()
        if sample is not None:
            frame = pd.DataFrame(sample, columns=[f.label for f in self.spec.factors])
            _atomic_write_table(pa.Table.from_pandas(frame, preserve_index=False), self.path / "sample.parquet")

    # --- writing ------------------------------------------------------------------------------------
    def add(self, record: dict[str, Any]) -> None:
        self._buffer.append(record)
        due = time.monotonic() - self._last_flush > FLUSH_SECONDS
        if len(self._buffer) >= self.spec.batch_size or due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered results as one batch (series, failures, then runs: the runs part commits it)."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        batch = sorted(self._buffer, key=lambda r: r["run_id"])
        self._buffer = []
        name = f"part-{self.session}-{self._sequence:06d}.parquet"
        self._sequence += 1
        ok = [r for r in batch if r["ok"]]
        failed = [r for r in batch if not r["ok"]]
        if ok and self.spec.series:
            self._write_series(ok, self.path / "series" / name)
        if failed:
            rows = [{**_index(r), **r["values"], "error": r["error"], "traceback": r["traceback"]} for r in failed]
            table = pa.Table.from_pylist(rows, schema=self._failures_schema)
            _atomic_write_table(table, self.path / "failures" / name)
            self.written_failures += len(failed)
        if ok:
            rows = [
                {**_index(r), **r["values"], **_outcomes(r["outcomes"], self.spec), "run_seconds": r["run_seconds"]}
                for r in ok
            ]
            _atomic_write_table(pa.Table.from_pylist(rows, schema=self._runs_schema), self.path / "runs" / name)
            self.written_runs += len(ok)

    def _write_series(self, records: list[dict[str, Any]], path: Path) -> None:
        columns: dict[str, list[np.ndarray]] = {f.name: [] for f in self._series_schema}
        for r in records:
            series = r["series"]
            n = len(series["day"])
            for key in INDEX_COLUMNS:
                columns[key].append(np.full(n, r[key], dtype=object if key == "policy" else np.int64))
            for key in SERIES_COLUMNS:
                columns[key].append(series[key])
        arrays = [pa.array(np.concatenate(columns[f.name]), type=f.type) for f in self._series_schema]
        _atomic_write_table(pa.Table.from_arrays(arrays, schema=self._series_schema), path)

    def finish(self, status: str, executor: str, workers: int, seconds: float) -> dict[str, Any]:
        """Record the session's end in the manifest and return the manifest."""
        done_runs = sum(len(ids) for ids in iter_run_ids(self.path, "runs"))
        done_failures = sum(len(ids) for ids in iter_run_ids(self.path, "failures"))
        session = self._manifest["sessions"][-1]
        session.update(
            finished=_now(),
            status=status,
            executor=executor,
            workers=workers,
            seconds=round(seconds, 3),
            runs_written=self.written_runs,
            failures_written=self.written_failures,
        )
        remaining = self.spec.n_runs - done_runs - done_failures
        self._manifest.update(
            runs_done=done_runs,
            runs_failed=done_failures,
            runs_remaining=remaining,
            status="complete" if remaining == 0 else "incomplete",
            seconds_total=round(sum(s.get("seconds", 0.0) for s in self._manifest["sessions"]), 3),
        )
        self._write_manifest()
        return self._manifest

    def _write_manifest(self) -> None:
        _atomic_write_text(json.dumps(self._manifest, indent=2, default=str), self.path / MANIFEST)


def _index(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in INDEX_COLUMNS}


def _outcomes(outcomes: dict[str, Any], spec: Spec) -> dict[str, Any]:
    kept = {name: outcomes[name] for name in spec.outcomes}
    kept.update({name: outcomes[name] for name in COUNT_COLUMNS})
    return kept


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

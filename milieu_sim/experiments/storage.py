"""The sweep directory: a manifest and Parquet datasets that grow while the sweep runs.

Layout of ``DIR``::

    manifest.json        the spec, its hash, package versions, timing of every session, progress
    design.parquet       one row per parameter point (``point`` and the varied parameters)
    sample.parquet       the unrounded sample matrix of a sampled design (Sobol, Morris, LHS)
    runs/part-*.parquet      one row per finished run: indices, seed, parameters (with a posterior: the
                             draw and its values), outcomes, counts
    failures/part-*.parquet  one row per failed run: indices, seed, parameters, error, traceback
    series/part-*.parquet    (if asked) one row per run and nursing shift

    .lock                the sweep's lock: one sweep at a time (holds the PID of the sweep that has it)

Every file is written to a temporary name in its folder and renamed into place, so a file is either
complete or absent whatever happens (Ctrl-C, SIGKILL, a full disk).  A batch writes its series part
first and its runs part last, under the same name; on resuming, series parts without their runs part
are removed and the runs found in ``runs/`` and ``failures/`` are not run again.

A sweep holds an OS file lock (``flock``) on ``DIR/.lock`` while it runs; the OS releases it when the
process ends, however it ends.  A second sweep into the same directory is refused in one line naming the
process that holds it, and ``report`` refuses a directory whose sweep is still running.  The manifest
records every part's row count and SHA-256 (``parts``); on resuming, a part that is missing, truncated or
altered is reported in one line and removed with its twin parts, so its runs run again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
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

from milieu_sim.errors import MilieuInputError, OutputError
from milieu_sim.experiments.runner import COUNT_COLUMNS, SERIES_COLUMNS
from milieu_sim.experiments.spec import Spec
from milieu_sim.model.params import SCHEMA

MANIFEST = "manifest.json"
LOCK = ".lock"
DATASETS = ("runs", "failures", "series")
INDEX_COLUMNS = ("run_id", "replicate", "point", "policy", "seed")
FLUSH_SECONDS = 30.0
_ARROW_TYPES = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}


class SweepDirError(MilieuInputError):
    """The output directory cannot hold this sweep (another spec's results, or not a sweep directory)."""


class SweepBusyError(SweepDirError):
    """Another process is running a sweep in this directory."""


class StorageError(OutputError):
    """Results could not be written (e.g. the disk is full); finished runs on disk are safe."""


def _lock_holder(path: Path) -> str:
    try:
        text = (path / LOCK).read_text(encoding="utf-8").split()
    except OSError:
        text = []
    return f"process {text[0]}" + (f" on {text[1]}" if len(text) > 1 else "") if text else "another process"


class SweepLock:
    """An OS file lock on ``DIR/.lock`` (``flock``): one sweep per directory; released when the process ends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`SweepBusyError` naming the process that holds it."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            problem = f"cannot create its lock file ({exc.strerror or exc})"
            raise SweepDirError(f"directory '{self.path}': {problem}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise SweepDirError(f"directory '{self.path}': cannot lock it ({exc.strerror or exc})") from None
            raise SweepBusyError(
                f"directory '{self.path}' is in use by another sweep ({_lock_holder(self.path)}); wait for it to "
                "finish or stop it, or use another --out directory"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {os.uname().nodename}\n".encode())
        except OSError:  # the lock holds even if its note cannot be written (full disk)
            pass
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def sweep_running(path: str | Path) -> str | None:
    """Who holds the lock of sweep directory ``path`` (``"process 123 on host"``), or None if no sweep runs there."""
    path = Path(path)
    if not (path / LOCK).is_file():
        return None
    try:
        fd = os.open(path / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _lock_holder(path)
    finally:
        os.close(fd)
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    fields = [pa.field(name, _ARROW_TYPES[SCHEMA[name].kind]) for name in spec.varied]
    if spec.posterior is not None:  # the run's posterior draw and the drawn values (null where a policy sets one)
        fields.append(pa.field("posterior_draw", pa.int64()))
        fields += [pa.field(name, _ARROW_TYPES[SCHEMA[name].kind]) for name in spec.drawn]
    return fields


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


def _atomic_write_table(table: pa.Table, path: Path) -> str:
    """Write ``table`` to ``path`` atomically; return the file's SHA-256."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        checksum = _sha256(tmp)
        os.replace(tmp, path)
        return checksum
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
    """The manifest of a sweep directory (SweepDirError, one line, if there is none or it is damaged)."""
    if not Path(path).is_dir():
        raise SweepDirError(f"directory '{path}' does not exist or is not a directory; run 'milieu-sim sweep' first")
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise SweepDirError(f"directory '{path}' holds no sweep ({MANIFEST} is missing); run 'milieu-sim sweep' first")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError, RecursionError) as exc:
        raise SweepDirError(f"directory '{path}': {MANIFEST} cannot be read ({exc})") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise SweepDirError(
            f"directory '{path}': {MANIFEST} is damaged ({problem}); use another --out directory, or delete this one"
        )
    return manifest


#: The manifest's keys that readers rely on, and their types (checked by :func:`read_manifest`).
_MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {"spec_hash": str, "spec": dict, "n_runs": int, "versions": dict}
_SPEC_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "description": str,
    "setting": str,
    "policies": list,
    "replicates": int,
    "days": int,
    "warmup_days": int,
    "seed": int,
    "seeds": str,
    "parameters": dict,
    "vary": dict,
    "design": dict,
    "outputs": dict,
}


def _manifest_problem(manifest: Any) -> str:
    if not isinstance(manifest, dict):
        return f"a {type(manifest).__name__}, not a JSON object"
    for table, types, prefix in ((manifest, _MANIFEST_TYPES, ""), (manifest.get("spec"), _SPEC_TYPES, "spec.")):
        for key, kind in types.items():
            value = table.get(key)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return f"'{prefix}{key}' is missing or of the wrong type"
    spec = manifest["spec"]
    if not spec["policies"] or not all(isinstance(p, str) for p in spec["policies"]):
        return "'spec.policies' is not a list of names"
    outcomes = spec["outputs"].get("outcomes")
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        return "'spec.outputs.outcomes' is not a list of names"
    if not isinstance(spec["design"].get("method"), str):
        return "'spec.design.method' is missing"
    if not all(isinstance(v, str) for v in manifest["versions"].values()):
        return "'versions' holds a value that is not text"
    if not isinstance(manifest.get("sessions", []), list) or not all(
        isinstance(x, dict) for x in manifest.get("sessions", [])
    ):
        return "'sessions' is not a list of tables"
    parts = manifest.get("parts", {})
    if not isinstance(parts, dict) or not all(isinstance(v, dict) for v in parts.values()):
        return "'parts' is not a table of tables"
    return ""


def check_parts(path: str | Path, recorded: dict[str, Any] | None = None) -> dict[str, str]:
    """Each part file of a sweep directory that is damaged or missing, with what is wrong with it.

    A part the manifest records (``recorded``: ``{"runs/part-....parquet": {"rows": n, "sha256": ...}}``) must
    exist with that checksum; a part it does not record (written just before a SIGKILL) must read as Parquet.
    """
    path = Path(path)
    recorded = read_manifest(path).get("parts", {}) if recorded is None else recorded
    problems: dict[str, str] = {}
    for name in DATASETS:
        for part in _parts(path / name):
            key = f"{name}/{part.name}"
            record = recorded.get(key)
            try:
                if isinstance(record, dict):
                    if _sha256(part) != record.get("sha256"):
                        problems[key] = "altered or truncated: its checksum differs from the manifest's"
                else:
                    pq.read_table(part)
            except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
                problems[key] = f"unreadable ({type(exc).__name__})"
    for key in recorded:
        if key not in problems and not (path / key).is_file():
            problems[key] = "missing"
    return problems


def check_readable(path: str | Path) -> dict[str, Any]:
    """The manifest of a sweep directory whose results can be analysed, or SweepDirError in one line: no sweep
    runs in it now, every part is intact, and no run is recorded twice."""
    path = Path(path)
    manifest = read_manifest(path)
    holder = sweep_running(path)
    if holder:
        raise SweepBusyError(
            f"directory '{path}': a sweep is still running in it ({holder}); report when it has finished"
        )
    problems = check_parts(path, manifest.get("parts", {}))
    if problems:
        key, problem = next(iter(problems.items()))
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise SweepDirError(
            f"directory '{path}': part {key} is {problem}{more}; run the same 'milieu-sim sweep' again to re-run "
            "its runs, then report"
        )
    ids = [ids for name in ("runs", "failures") for ids in iter_run_ids(path, name)]
    if ids:
        all_ids = np.concatenate(ids)
        unique, counts = np.unique(all_ids, return_counts=True)
        if (counts > 1).any():
            twice = unique[counts > 1]
            raise SweepDirError(
                f"directory '{path}' records {twice.size} runs more than once (e.g. run_id {int(twice[0])}), so its "
                "sample sizes would be wrong; run the sweep again into a new directory"
            )
    return manifest


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
        self._lock = SweepLock(self.path)
        self.notes: list[str] = []  # one-line warnings for the user (damaged parts, duplicate runs)

    # --- opening and resuming ------------------------------------------------------------------------
    def open(self, versions: dict[str, str], retry_failed: bool = False) -> np.ndarray:
        """Lock the directory (or raise :class:`SweepBusyError`), check it, and return ``done[run_id]``."""
        if self.path.exists() and not self.path.is_dir():
            raise SweepDirError(f"'{self.path}' is a file, not a directory; use another --out directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SweepDirError(f"directory '{self.path}' cannot be created ({exc.strerror or exc})") from None
        self._lock.acquire()
        try:
            return self._open(versions, retry_failed)
        except BaseException:
            self._lock.release()
            raise

    def close(self) -> None:
        """Release the directory's lock (idempotent)."""
        self._lock.release()

    def _open(self, versions: dict[str, str], retry_failed: bool) -> np.ndarray:
        spec_hash = self.spec.hash()
        manifest_file = self.path / MANIFEST
        if manifest_file.is_file():
            try:
                manifest = read_manifest(self.path)
            except SweepDirError:
                if not self.replace_other_spec:
                    raise
                manifest = {"spec_hash": None}  # a damaged manifest of a comparison's own folder: start afresh
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
            if (self.path / name).exists() and not (self.path / name).is_dir():
                raise SweepDirError(f"directory '{self.path}': '{name}' is a file, not a folder of results")
            (self.path / name).mkdir(exist_ok=True)
        manifest.setdefault("parts", {})
        self._manifest = manifest
        self._drop_damaged_parts()
        self._clean_debris(retry_failed)
        manifest["spec"] = self.spec.to_dict()  # batch_size may change between sessions
        posterior = self.spec.posterior
        if posterior is not None:  # where the draws came from, and which particle each draw took
            manifest["posterior"] = {
                "sample_file": str(posterior.sample_file),
                "digest": posterior.digest(),
                "record": posterior.record,
                "scope": posterior.scope,
                "drawn": list(self.spec.drawn),
                "draws": [{"draw": d.index, "particle": d.particle} for d in self.spec.draws()],
            }
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
        recorded = 0
        for name in ("runs", "failures"):
            for ids in iter_run_ids(self.path, name):
                done[ids[(ids >= 0) & (ids < done.size)]] = True
                recorded += ids.size
        self.previously_done = int(done.sum())
        if recorded > self.previously_done:
            self.notes.append(
                f"warning: '{self.path}' records {recorded - self.previously_done} runs more than once (two sweeps "
                "ran into it before it was locked); 'milieu-sim report' will refuse it: use a new directory"
            )
        return done

    def _drop_damaged_parts(self) -> None:
        """Remove damaged or missing parts with their twins (same batch), so that their runs run again."""
        recorded = self._manifest["parts"]
        problems = check_parts(self.path, recorded)
        if not problems:
            return
        lost_rows = 0
        for key in problems:
            name, part = key.split("/", 1)
            twins = ("runs", "series") if name in ("runs", "series") else (name,)
            for twin in twins:
                rows = recorded.get(f"{twin}/{part}", {}).get("rows", 0) if twin != "series" else 0
                lost_rows += rows if isinstance(rows, int) else 0
                recorded.pop(f"{twin}/{part}", None)
                (self.path / twin / part).unlink(missing_ok=True)
        key, problem = next(iter(problems.items()))
        more = f" and {len(problems) - 1} more part(s)" if len(problems) > 1 else ""
        self.notes.append(
            f"warning: part {key} of '{self.path}' is {problem}{more}; removed, its runs"
            f"{f' ({lost_rows})' if lost_rows else ''} run again"
        )

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
        # temporary files of a writer that was killed mid-write (this sweep holds the folder's lock, so no other
        # writer is using them): in the datasets and at the top (the manifest is rewritten after every batch)
        for folder in (self.path, *(self.path / name for name in DATASETS)):
            for tmp in folder.glob(".tmp-*"):
                tmp.unlink(missing_ok=True)
        parts = self._manifest["parts"]
        runs = {p.name for p in _parts(self.path / "runs")}
        for part in _parts(self.path / "series"):
            if part.name not in runs:  # its batch never committed: those runs will run again
                part.unlink()
                parts.pop(f"series/{part.name}", None)
        if retry_failed:
            for part in _parts(self.path / "failures"):
                part.unlink()
                parts.pop(f"failures/{part.name}", None)

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
        parts = self._manifest["parts"]
        if ok and self.spec.series:
            rows_written, checksum = self._write_series(ok, self.path / "series" / name)
            parts[f"series/{name}"] = {"rows": rows_written, "sha256": checksum}
        if failed:
            rows = [
                {**_index(r), **r["values"], **r.get("posterior", {}), "error": r["error"], "traceback": r["traceback"]}
                for r in failed
            ]
            table = pa.Table.from_pylist(rows, schema=self._failures_schema)
            checksum = _atomic_write_table(table, self.path / "failures" / name)
            parts[f"failures/{name}"] = {"rows": len(failed), "sha256": checksum}
            self.written_failures += len(failed)
        if ok:
            rows = [
                {
                    **_index(r),
                    **r["values"],
                    **r.get("posterior", {}),
                    **_outcomes(r["outcomes"], self.spec),
                    "run_seconds": r["run_seconds"],
                }
                for r in ok
            ]
            table = pa.Table.from_pylist(rows, schema=self._runs_schema)
            parts[f"runs/{name}"] = {"rows": len(ok), "sha256": _atomic_write_table(table, self.path / "runs" / name)}
            self.written_runs += len(ok)
        self._write_manifest()  # records the new parts (a part it does not record is checked by reading it)

    def _write_series(self, records: list[dict[str, Any]], path: Path) -> tuple[int, str]:
        columns: dict[str, list[np.ndarray]] = {f.name: [] for f in self._series_schema}
        for r in records:
            series = r["series"]
            n = len(series["day"])
            for key in INDEX_COLUMNS:
                columns[key].append(np.full(n, r[key], dtype=object if key == "policy" else np.int64))
            for key in SERIES_COLUMNS:
                columns[key].append(series[key])
        arrays = [pa.array(np.concatenate(columns[f.name]), type=f.type) for f in self._series_schema]
        table = pa.Table.from_arrays(arrays, schema=self._series_schema)
        return table.num_rows, _atomic_write_table(table, path)

    def finish(self, status: str, executor: str, workers: int, seconds: float) -> dict[str, Any]:
        """Record the session's end in the manifest and return the manifest."""
        done_runs = _count_unique(iter_run_ids(self.path, "runs"))
        done_failures = _count_unique(iter_run_ids(self.path, "failures"))
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


def _count_unique(chunks: Iterator[np.ndarray]) -> int:
    found = [ids for ids in chunks]
    return int(np.unique(np.concatenate(found)).size) if found else 0


def _index(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in INDEX_COLUMNS}


def _outcomes(outcomes: dict[str, Any], spec: Spec) -> dict[str, Any]:
    kept = {name: outcomes[name] for name in spec.outcomes}
    kept.update({name: outcomes[name] for name in COUNT_COLUMNS})
    return kept


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

"""The compiled kernels: the same tables as the plain-Python run of the same code, and a safe cache."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from milieu_sim import MilieuModel
from milieu_sim.model import kernels as compiled

RUNS = {
    "restrictive": {"rng": 11, "policy": "restrictive", "days": 4},
    "residential_tc": {"rng": 12, "setting": "residential_tc", "days": 3},
}

SCRIPT = """
import pickle, sys
from milieu_sim import MilieuModel
runs = pickle.loads(bytes.fromhex(sys.argv[1]))
tables = {name: MilieuModel(**kw).run().tables() for name, kw in runs.items()}
with open(sys.argv[2], "wb") as f:
    pickle.dump(tables, f)
"""


def test_compiled_and_plain_python_kernels_give_identical_tables(tmp_path):
    out = tmp_path / "plain.pkl"
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", SCRIPT, pickle.dumps(RUNS).hex(), str(out)], env=env, check=True, timeout=600)
    plain = pickle.loads(out.read_bytes())
    events = 0
    for name, kw in RUNS.items():
        tables = MilieuModel(**kw).run().tables()
        for table, frame in tables.items():
            pd.testing.assert_frame_equal(frame, plain[name][table], check_exact=True, obj=f"{name} {table}")
        events += len(tables["events"])
    # the runs exercise incidents, containment and seclusion, not just the quiet paths
    assert events > 50


def _copy_sources(to: Path) -> Path:
    package = to / "milieu_sim"
    shutil.copytree(compiled.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    return package


@pytest.mark.parametrize("edited", ["state.py", "records.py", "processes/recovery.py"])
def test_the_kernel_cache_is_keyed_by_every_module_kernels_depend_on(tmp_path, monkeypatch, edited):
    package = _copy_sources(tmp_path)
    monkeypatch.setattr(compiled, "PACKAGE", package)
    before = compiled._fingerprint()
    with open(package / edited, "a") as f:
        f.write("\n# edited\n")
    assert compiled._fingerprint() != before


def test_editing_a_module_kernels_do_not_use_keeps_the_cache(tmp_path, monkeypatch):
    package = _copy_sources(tmp_path)
    monkeypatch.setattr(compiled, "PACKAGE", package)
    before = compiled._fingerprint()
    with open(package / "app.py", "a") as f:
        f.write("\n# edited\n")
    assert compiled._fingerprint() == before


def test_an_old_cache_directory_is_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "milieu-sim" / "0123456789abcdef"
    stale.mkdir(parents=True)
    here = compiled._cache_dir()
    assert here.parent == tmp_path / "milieu-sim" and here.name == compiled._fingerprint()
    assert not stale.exists()


def test_an_unwritable_cache_location_falls_back_to_a_writable_one(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    real_access = os.access
    monkeypatch.setattr(
        compiled.os, "access", lambda path, mode: not str(path).startswith(str(locked)) and real_access(path, mode)
    )
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(locked))
    monkeypatch.setattr(compiled.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    assert compiled._cache_dir() == tmp_path / "tmp" / "milieu-sim-kernels" / compiled._fingerprint()


def test_kernels_are_cached_in_the_fingerprinted_directory_without_changing_numba_settings():
    import numba

    from milieu_sim.model.processes import interaction, recovery

    assert os.environ.get("NUMBA_CACHE_DIR", "") == numba.config.CACHE_DIR
    for dispatcher in (recovery._recover, interaction._interact):
        assert Path(dispatcher._cache._cache_path).is_relative_to(compiled.CACHE_DIR)
    assert Path(compiled.CACHE_DIR).name == compiled._fingerprint()


def test_the_steps_row_holds_the_census_means_and_sds_of_the_present_clients():

    model = MilieuModel(rng=3, policy="restrictive", days=2).run()
    last = model.tables()["steps"].iloc[-1]
    c = model.clients
    here = c.present
    states = {
        "skill": c.skills[:, here].mean(axis=0),
        **{name: getattr(c, name)[here] for name in ("self_control", "agitation", "trust", "independence", "symptoms")},
    }
    assert last["census"] == here.sum() and last["n_isolated"] == c.isolated.sum()
    assert last["staff_on_duty"] == model.staff.on_duty.sum()
    for name, values in states.items():
        assert last[f"mean_{name}"] == pytest.approx(values.mean(), rel=1e-12)
        assert last[f"sd_{name}"] == pytest.approx(values.std(), rel=1e-9, abs=1e-12)
    assert model.mean_trust == last["mean_trust"] and model.census == last["census"]

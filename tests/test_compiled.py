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


# --- the kernel cache ---------------------------------------------------------------------------------------
@compiled.kernel
def _twice(values):  # a tiny kernel for the cache tests (compiles in a fraction of a second)
    total = 0.0
    for value in values:
        total += 2.0 * value
    return total


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A fresh per-user cache location (XDG_CACHE_HOME) for this test; the real one is restored after."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    compiled.cache_dir.cache_clear()
    yield tmp_path / "xdg" / "milieu-sim" / "kernels"
    compiled.cache_dir.cache_clear()


def _copy_model(to: Path) -> Path:
    shutil.copytree(compiled.MODEL_SOURCES, to / "model", ignore=shutil.ignore_patterns("__pycache__"))
    return to / "model"


@pytest.mark.parametrize("edited", ["state.py", "records.py", "processes/recovery.py", "docs.py"])
def test_the_cache_key_changes_with_any_model_source(tmp_path, edited):
    sources = _copy_model(tmp_path)
    before = compiled.fingerprint(sources)
    assert before == compiled.fingerprint(_copy_model(tmp_path / "again"))
    with open(sources / edited, "a") as f:
        f.write("\n# edited\n")
    assert compiled.fingerprint(sources) != before
    from milieu_sim.provenance import package_version

    assert compiled.cache_key() == f"{package_version()}-{compiled.fingerprint()}"


def test_a_kernel_is_cached_on_first_use_in_a_private_per_user_folder(fresh_cache):
    import numba
    import numpy as np

    setting = numba.config.CACHE_DIR
    in_package = set(compiled.MODEL_SOURCES.parent.rglob("*.nb[ic]"))
    twin = compiled.kernel(_twice.py_func)  # a new dispatcher: nothing compiled, nothing opened yet
    assert twin._cache._cache is None and not fresh_cache.exists()
    assert twin(np.arange(4.0)) == 12.0
    here = fresh_cache / compiled.cache_key()
    assert compiled.cache_dir() == here
    assert list(here.rglob("*.nbi")) and Path(twin.stats.cache_path).is_relative_to(here)
    for folder in (fresh_cache.parent, fresh_cache, here):
        assert folder.stat().st_mode & 0o777 == 0o700
    assert set(compiled.MODEL_SOURCES.parent.rglob("*.nb[ic]")) == in_package, "never written inside the package"
    assert setting == numba.config.CACHE_DIR


def test_another_versions_cache_is_never_deleted(fresh_cache):
    other = fresh_cache / "0.0.1-0123456789abcdef"
    other.mkdir(parents=True, mode=0o700)
    (other / "kernel.nbi").write_text("another version's kernel")
    fresh_cache.chmod(0o700)
    fresh_cache.parent.chmod(0o700)
    assert compiled.cache_dir() == fresh_cache / compiled.cache_key()
    assert (other / "kernel.nbi").read_text() == "another version's kernel"


@pytest.mark.parametrize("problem", ["writable by others", "owned by someone else", "a link"])
def test_an_unsafe_cache_folder_is_not_used(fresh_cache, monkeypatch, tmp_path, problem):
    fresh_cache.parent.parent.mkdir(parents=True)
    if problem == "a link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        fresh_cache.parent.symlink_to(tmp_path / "elsewhere")
    else:
        fresh_cache.parent.mkdir(mode=0o700)
        if problem == "writable by others":
            fresh_cache.parent.chmod(0o777)
        else:
            owner = os.getuid()
            monkeypatch.setattr(compiled.os, "getuid", lambda: owner + 1)
    monkeypatch.setattr(compiled.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    first = compiled.cache_dir()
    compiled.cache_dir.cache_clear()
    second = compiled.cache_dir()
    for fallback in (first, second):  # a fresh private temporary folder, never a predictable shared path
        assert fallback.parent == tmp_path / "tmp" and fallback.name.startswith("milieu-sim-kernels-")
        assert fallback.stat().st_mode & 0o777 == 0o700
    assert first != second
    assert not compiled.kernels_cached()


def test_kernels_cached_says_whether_warm_up_has_filled_this_codes_cache(fresh_cache):
    assert not compiled.kernels_cached()
    compiled.mark_warmed_up()
    assert compiled.kernels_cached()
    assert (fresh_cache / compiled.cache_key() / compiled.WARM_MARKER).is_file()


def test_importing_the_package_opens_no_kernel_cache():
    script = (
        "import milieu_sim\n"
        "from milieu_sim.model import kernels\n"
        "assert kernels.KERNELS and all(k._cache._cache is None for k in kernels.KERNELS)\n"
        "assert kernels.cache_dir.cache_info().currsize == 0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)


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

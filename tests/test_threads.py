"""deepgrad.set_num_threads / get_num_threads and the shared-machine default (_threads.py).

Anything that changes the BLAS thread count runs in a subprocess, so this test process
keeps its own; OPENBLAS_CORETYPE and the like are passed through unchanged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import _threads


def _run(code: str, **env: str) -> dict:
    """Run ``code`` in a fresh interpreter without the user's thread variables (plus
    ``env``); it prints one JSON object, returned."""
    full = {k: v for k, v in os.environ.items() if k not in _threads.ENV_VARS}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=full, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_set_get_round_trip_in_a_subprocess():
    pytest.importorskip("threadpoolctl")
    top = _threads.max_threads()
    got = _run(f"""
import json, deepgrad as dg
from threadpoolctl import threadpool_info
seen = []
for n in (1, {top}, 1):
    dg.set_num_threads(n)
    blas = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
    seen.append([dg.get_num_threads(), blas])
print(json.dumps(seen))
""")
    assert got[0][0] == 1 and got[1][0] == top and got[2][0] == 1
    assert all(set(blas) <= {n} for n, blas in got)  # every BLAS library has the count


def test_numba_follows_when_already_imported():
    pytest.importorskip("threadpoolctl")
    pytest.importorskip("numba")
    got = _run("""
import json, numba, deepgrad as dg
dg.set_num_threads(1)
print(json.dumps({"numba": numba.get_num_threads(), "blas": dg.get_num_threads()}))
""")
    assert got == {"numba": 1, "blas": 1}


@pytest.mark.parametrize("bad", [0, -1, 2.0, "2", None, True, 10**6])
def test_bad_values_are_rejected_naming_the_value(bad):
    before = dg.get_num_threads()
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        dg.set_num_threads(bad)
    assert dg.get_num_threads() == before


def test_one_more_than_the_cpus_is_rejected():
    with pytest.raises(ValueError, match="CPU count"):
        dg.set_num_threads(_threads.max_threads() + 1)


def test_numpy_integers_are_accepted():
    assert _threads._check(np.int64(1)) == 1


def test_import_imports_no_threadpoolctl_and_changes_no_threads():
    got = _run("""
import json, os, sys
env = dict(os.environ)
import deepgrad
print(json.dumps({"tpc": "threadpoolctl" in sys.modules, "numba": "numba" in sys.modules,
                  "env": dict(os.environ) == env,
                  "api": callable(deepgrad.set_num_threads)}))
""")
    assert got == {"tpc": False, "numba": False, "env": True, "api": True}


def test_without_threadpoolctl_set_says_what_to_do_and_get_reads_the_environment():
    block = """
import json, sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "threadpoolctl":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, _Block())
import deepgrad as dg
try:
    dg.set_num_threads(1)
    msg = None
except ImportError as exc:
    msg = str(exc)
print(json.dumps({"msg": msg, "get": dg.get_num_threads(),
                  "default": dg._threads.apply_default_threads()}))
"""
    got = _run(block, OPENBLAS_NUM_THREADS="1")
    assert "threadpoolctl" in got["msg"] and "OPENBLAS_NUM_THREADS" in got["msg"]
    assert got["get"] == 1 and got["default"] is None


def test_no_controllable_blas_warns_and_get_falls_back(monkeypatch):
    class _NoBlas:  # what threadpoolctl < 3.5 finds beside NumPy 2, or on macOS's Accelerate
        lib_controllers: list = []

    monkeypatch.setattr(_threads, "_blas", _NoBlas)
    monkeypatch.setattr(_threads, "_auto", {"off": False, "last": None})
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # keep this process's numba
    for var in _threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    assert _threads.apply_default_threads() is None
    with pytest.warns(RuntimeWarning, match="no BLAS library"):
        _threads.set_num_threads(1)
    assert _threads.get_num_threads() == _threads._cpus()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _threads.get_num_threads() == 1


def test_the_default_leaves_a_user_setting_alone():
    pytest.importorskip("threadpoolctl")
    got = _run("""
import json
from deepgrad import _threads
print(json.dumps([_threads.apply_default_threads(), _threads.get_num_threads()]))
""", OMP_NUM_THREADS="1")
    assert got == [None, 1]


def test_the_default_is_applied_when_asked():
    pytest.importorskip("threadpoolctl")
    got = _run("""
import json
from deepgrad import _threads
print(json.dumps([_threads.apply_default_threads(), _threads.get_num_threads()]))
""")
    assert 1 <= got[0] <= _threads.max_threads() and got[1] == got[0]


@pytest.mark.parametrize("cpus, others, want", [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 3.5, 1),
    (1, 0.0, 1), (16, 3.2, 13), (16, 0.0, 16),
])
def test_default_is_the_cpus_less_the_busy_cores(monkeypatch, cpus, others, want):
    monkeypatch.setattr(_threads, "_cpus", lambda: cpus)
    assert _threads.default_num_threads(others) == want


def test_others_busy_is_the_busy_time_during_the_probe(monkeypatch):
    hz = os.sysconf("SC_CLK_TCK")
    ticks = iter([1000, 1000 + 100 * hz])  # 100 core-seconds in a 0.01 s sleep: clamp-free
    monkeypatch.setattr(_threads, "_busy_ticks", lambda: next(ticks))
    monkeypatch.setattr(_threads, "_own_seconds", lambda: 0.0)
    monkeypatch.setattr(os, "getloadavg", lambda: pytest.fail("load average read"))
    assert _threads.others_busy(0.01) > 1.0
    ticks = iter([1000, 1000])  # an idle machine, whatever the load average says
    monkeypatch.setattr(_threads, "_busy_ticks", lambda: next(ticks))
    assert _threads.others_busy(0.01) == 0.0


def test_others_busy_without_proc_stat_reads_the_load_average(monkeypatch):
    monkeypatch.setattr(_threads, "_busy_ticks", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert _threads.others_busy() == 1.5


def test_others_busy_leaves_out_our_own_threads(monkeypatch):
    hz = os.sysconf("SC_CLK_TCK")
    ticks, own = iter([0, 50 * hz]), iter([0.0, 50.0])  # all the busy time was ours
    monkeypatch.setattr(_threads, "_busy_ticks", lambda: next(ticks))
    monkeypatch.setattr(_threads, "_own_seconds", lambda: next(own))
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 2.0, 2.0))
    assert _threads.others_busy(0.01) == 0.0


@pytest.mark.parametrize("env, want", [
    ({}, None), ({"OMP_NUM_THREADS": "4,2"}, 4), ({"OPENBLAS_NUM_THREADS": "3"}, 3),
    ({"OPENBLAS_NUM_THREADS": "x", "OMP_NUM_THREADS": "2"}, 2), ({"MKL_NUM_THREADS": "0"}, None),
])
def test_user_env_threads(monkeypatch, env, want):
    for var in _threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert _threads.user_env_threads() == want


class _FakeBlas:
    """threadpoolctl's controllers, as _blas() returns them, for one 2-thread library."""

    def __init__(self):
        self.lib_controllers = [self]
        self.num_threads = 2

    def set_num_threads(self, k):
        self.num_threads = k


@pytest.fixture
def auto(monkeypatch):
    """retune() with a fake BLAS on 2 CPUs, no user setting, and scripted busy time:
    ``auto.busy(cores)`` makes the next call see other processes using that many cores
    over the last 10 s."""
    blas = _FakeBlas()
    monkeypatch.setattr(_threads, "_blas", lambda: blas)
    monkeypatch.setattr(_threads, "_cpus", lambda: 2)
    monkeypatch.setattr(_threads, "_auto", {"off": False, "last": None})
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    for var in _threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    hz = os.sysconf("SC_CLK_TCK")

    def busy(cores, own=1.0):
        t = time.perf_counter()
        _threads._auto["last"] = (t - 10.0, 0, 0.0)
        sample = (t, int(10 * (cores + own) * hz), 10 * own)  # our own time left out
        monkeypatch.setattr(_threads, "_sample", lambda: sample)

    blas.busy = busy
    return blas


def test_retune_follows_the_competition(auto):
    auto.busy(0.9)  # a busy loop beside our 2 spinning threads gets ~0.85 core
    assert _threads.retune() == 1 and auto.num_threads == 1
    auto.busy(0.9)
    assert _threads.retune() is None and auto.num_threads == 1  # no change, no call
    auto.busy(0.05)  # it ended
    assert _threads.retune() == 2 and auto.num_threads == 2


def test_retune_waits_for_its_interval(auto):
    auto.busy(1.0)
    _threads._auto["last"] = (time.perf_counter(), 0, 0.0)  # decided just now
    assert _threads.retune(min_interval_s=2.0) is None and auto.num_threads == 2


def test_retune_leaves_a_user_choice_alone(auto, monkeypatch):
    _threads.set_num_threads(2)
    auto.busy(1.0)
    assert _threads.retune() is None and auto.num_threads == 2
    assert _threads.apply_default_threads() is None
    monkeypatch.setattr(_threads, "_auto", {"off": False, "last": None})
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    auto.busy(1.0)
    assert _threads.retune() is None and auto.num_threads == 2

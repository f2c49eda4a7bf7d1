"""Loading hostile or odd .dg files: sizes are checked before anything is allocated, only
the entries the manifest names are read, and every failure is one line naming the file."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad._random import default_generator
from deepgrad.io import _archive
from deepgrad.nn import init


def _saved(tmp_path, model=None):
    path = tmp_path / "base.dg"
    dg.save(model if model is not None else nn.Sequential(nn.Dense(4, input_dim=2, rng=0)),
            path)
    return path


def _rewrite(src, out, edit=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(src) as z:
        items = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(items["manifest.json"])
    if edit is not None:
        edit(manifest, items)
    items["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", compression) as z:
        for n, d in items.items():
            z.writestr(n, d)
    return out


def _dense_shape(units, input_dim):
    def edit(m, items):
        kw = m["architecture"]["args"][0]["__module__"]["kwargs"]
        kw["units"], kw["input_dim"] = units, input_dim
    return edit


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _npy_header(shape, descr="<f4"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


# --------------------------------------------------- item 5: the architecture is checked first
@contextlib.contextmanager
def _address_space_guard(extra=1 << 30):
    """Cap new allocations at ``extra`` bytes (a regression raises MemoryError instead of
    taking the machine's memory), and measure the block's traced peak."""
    limits = None
    if sys.platform == "linux":
        import resource

        vm = int(Path("/proc/self/status").read_text().split("VmSize:")[1].split()[0]) << 10
        limits = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + extra if limits[1] == resource.RLIM_INFINITY else min(vm + extra, limits[1])
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    tracemalloc.start()
    out = {"t0": time.perf_counter()}
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - out["t0"]
        out["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if limits is not None:
            resource.setrlimit(resource.RLIMIT_AS, limits)


@pytest.mark.parametrize("units,input_dim", [(8000, 8000), (60000, 20000)])
def test_huge_declared_architecture_fails_before_allocating(tmp_path, units, input_dim):
    """The issue's file: 1 KB declaring Dense(60000, input_dim=20000), 18.8 GB before."""
    big = _rewrite(_saved(tmp_path), tmp_path / "big.dg", _dense_shape(units, input_dim))
    assert big.stat().st_size < 3000
    with _address_space_guard() as m, pytest.raises(ValueError) as e:
        dg.load(big)
    assert m["seconds"] < 0.5
    assert m["peak"] < 4 << 20, m["peak"]
    assert str(e.value) == (f"{big}: weights don't match the architecture: 0.weight is stored "
                            f"as (4, 2) but the architecture declares ({units}, {input_dim}) "
                            "(and 1 more)")


@pytest.mark.parametrize("edit,problem", [
    ("sibling", "cannot rebuild the architecture: unknown layer class 'NoSuchLayer'"),
    ("parent", "cannot rebuild the architecture: cannot rebuild layer Sequential from its "
               "config"),
])
def test_broken_config_around_a_huge_layer_fails_before_allocating(tmp_path, edit, problem):
    """A layer that fails as a skeleton is retried for real: its huge siblings and
    children stay skeletons, so a broken config still costs nothing."""
    def breaks(m, items):
        _dense_shape(60000, 20000)(m, items)
        if edit == "sibling":
            m["architecture"]["args"].append(
                {"__module__": {"class": "NoSuchLayer", "args": [], "kwargs": {}}})
        else:
            m["architecture"]["kwargs"]["bogus"] = 1

    bad = _rewrite(_saved(tmp_path), tmp_path / "bad.dg", breaks)
    with _address_space_guard() as m, pytest.raises(ValueError) as e:
        dg.load(bad)
    assert m["seconds"] < 0.5 and m["peak"] < 4 << 20, m
    assert str(e.value).startswith(f"{bad}: {problem}")


def test_skip_init_builds_layers_without_memory_or_random_numbers():
    state = default_generator().bit_generator.state
    tracemalloc.start()
    try:
        with init.skip_init():
            m = nn.Sequential(nn.Linear(10**5, 10**5), nn.Dense(60000, input_dim=20000),
                              nn.Conv2d(512, 512, 99), nn.BatchNorm1d(10**9),
                              nn.LayerNorm((10**5, 10**5)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert default_generator().bit_generator.state == state
    shapes = {k: tuple(t.shape) for k, t in m._state_items()}
    assert shapes["0.weight"] == (10**5, 10**5) and shapes["2.weight"] == (512, 512, 99, 99)
    assert shapes["3.running_var"] == (10**9,) and shapes["4.bias"] == (10**5, 10**5)
    assert all(init.is_placeholder(t) for _, t in m._state_items())
    assert m[0].weight.dtype == np.float32
    # outside the block layers are built and initialized as always
    a, b = nn.Linear(3, 4, rng=0), nn.Linear(3, 4, rng=0)
    assert not init.is_placeholder(a.weight) and a.weight.data.flags.owndata
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(nn.BatchNorm1d(3).running_var.data, np.ones(3, np.float32))


def test_npy_header_declaring_more_than_the_entry_holds(tmp_path):
    def huge(m, items):
        items["weights/0.weight.npy"] = _npy_header((10**6, 10**6)) + b"\0" * 32

    bad = _rewrite(_saved(tmp_path), tmp_path / "hdr.dg", huge)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=(
            rf"^{bad}: corrupt model file \(entry weights/0.weight.npy: its header declares "
            r"shape \(1000000, 1000000\) float32 \(4,000,000,000,000 bytes\) but the entry "
            r"holds 32 bytes\)$")):
        dg.load(bad)
    assert time.perf_counter() - t0 < 0.5


def _patch_uncompressed_size(path, name, size):
    """Make the zip directory claim ``size`` bytes for entry ``name`` (a lying entry)."""
    data = bytearray(path.read_bytes())
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        n = struct.unpack("<H", data[i + 28: i + 30])[0]
        if data[i + 46: i + 46 + n] == name.encode():
            data[i + 24: i + 28] = struct.pack("<I", size)
        i = data.find(b"PK\x01\x02", i + 4)
    path.write_bytes(bytes(data))


def test_compressed_entry_holding_less_than_it_claims(tmp_path):
    """A deflated entry whose directory and header claim 16 MB but whose data is 1 KB."""
    header = _npy_header((2048, 2048))

    def short(m, items):
        _dense_shape(2048, 2048)(m, items)
        items["weights/0.weight.npy"] = header + b"\1" * 1024
        items["weights/0.bias.npy"] = _npy(np.zeros(2048, np.float32))

    bad = _rewrite(_saved(tmp_path), tmp_path / "short.dg", short, zipfile.ZIP_DEFLATED)
    _patch_uncompressed_size(bad, "weights/0.weight.npy", len(header) + 2048 * 2048 * 4)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^{bad}: corrupt model file \(entry "
                                         r"weights/0.weight.npy: .*EOF"):
        dg.load(bad)
    assert time.perf_counter() - t0 < 0.5


def test_zip_bomb_is_refused_and_honest_deflated_files_load(tmp_path, monkeypatch):
    model = nn.Sequential(nn.Linear(256, 256, init="zeros", rng=0))
    zipped = _rewrite(_saved(tmp_path, model), tmp_path / "z.dg", None, zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(dg.load(zipped)[0].weight.data, np.zeros((256, 256)))
    assert zipped.stat().st_size < 4096  # 256 KB of zeros, deflated
    monkeypatch.setattr(_archive, "EXPANSION_ALLOWANCE", 0)
    with pytest.raises(ValueError, match=(rf"^{zipped}: corrupt model file \(its arrays would "
                                          r"expand to 263,\d+ bytes from a \d+-byte file.*"
                                          r"weights/0.weight.npy; refusing a likely zip bomb")):
        dg.load(zipped)


def test_absurd_entry_count_and_manifest_size(tmp_path, monkeypatch):
    base = _saved(tmp_path)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)  # write zip64 end records
    z64 = _rewrite(base, tmp_path / "z64.dg", lambda m, it: it.update(
        {f"junk/{i}": b"" for i in range(5)}))
    monkeypatch.undo()
    assert b"PK\x06\x06" in z64.read_bytes()
    assert isinstance(dg.load(z64), nn.Sequential)
    monkeypatch.setattr(_archive, "MAX_ENTRIES", 6)
    with pytest.raises(ValueError, match=rf"^{z64}: not a deepgrad model file \(its zip "
                                         r"directory lists 8 entries in \d+ bytes"):
        dg.load(z64)
    monkeypatch.setattr(_archive, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(ValueError, match=rf"^{base}: corrupt model file \(its manifest is "
                                         r"[\d,]+ bytes, more than the 100 allowed\)"):
        dg.load(base)


# ------------------------------------------------- item 6: unreferenced entries are never read
def test_unreferenced_entries_are_never_read(tmp_path, monkeypatch):
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.BatchNorm1d(2))

    def add_junk(m, items):
        items["junk.npy"] = b"not an npy file at all"
        items["weights/extra.npy"] = _npy_header((10**6, 10**6)) + b"\0" * 8
        items["optimizer/0/stale.npy"] = _npy(np.ones(2_000_000, np.float32))  # 8 MB

    path = _rewrite(_saved(tmp_path, model), tmp_path / "junk.dg", add_junk)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *a, **k):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    t0 = time.perf_counter()
    loaded = dg.load(path)
    assert time.perf_counter() - t0 < 0.5
    assert set(opened) == {"manifest.json", *(f"weights/{k}.npy" for k in model.state_dict())}
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------- item 9: directories and non-zip files
def test_directory_is_not_a_model_file(tmp_path, capsys):
    from deepgrad.cli.main import main

    run = tmp_path / "runs" / "x"
    run.mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=rf"^{run}: is a directory, not a model file$"):
        dg.load(run)
    dg.save(nn.Sequential(nn.Linear(2, 1)), run / "model.dg")
    msg = f"{run}: is a directory, not a model file (the model is {run / 'model.dg'})"
    with pytest.raises(IsADirectoryError) as e:
        dg.io.load_checkpoint(run)
    assert str(e.value) == msg
    assert main(["evaluate", str(run), "planar"]) == 2
    assert capsys.readouterr().err.strip() == f"deepgrad: error: {msg}"


@pytest.mark.parametrize("content,problem", [
    (b"", "not a deepgrad model file (the file is empty)"),
    (b"name,value\n1,2\n", "not a deepgrad model file (not a zip archive)"),
    (b"PK\x03\x04" + b"\0" * 60, "truncated or corrupt model file (no zip directory at its end)"),
])
def test_file_that_is_not_a_zip(tmp_path, content, problem):
    path = tmp_path / "m.dg"
    path.write_bytes(content)
    with pytest.raises(ValueError) as e:
        dg.load(path)
    assert str(e.value) == f"{path}: {problem}"


# ----------------------------- models that cannot be built as a skeleton still load correctly
@dg.io.register_module(name="LimitsNeedsValues")
class _NeedsValues(nn.Module):
    """Checks its own initial values (a placeholder has only one) and keeps a view."""

    def __init__(self, n: int = 4):
        super().__init__()
        self.w = nn.Parameter(np.arange(n, dtype=np.float32))
        if self.w.data[1] != 1:
            raise RuntimeError("cannot be built without values")


@dg.io.register_module(name="LimitsKeepsView")
class _KeepsView(nn.Module):
    def __init__(self, n: int = 3):
        super().__init__()
        self.w = nn.Parameter(np.zeros((n, 2), np.float32))
        self.wt = self.w.data.T  # a view: must see the loaded values
        self.register_buffer("table", np.arange(n, dtype=np.float32), persistent=False)


def test_layers_that_need_their_initial_values_still_load(tmp_path):
    model = nn.Sequential(_NeedsValues(5), _KeepsView(3), nn.Linear(2, 2, rng=0))
    model[0].w.data[...] = 7
    model[1].w.data[...] = np.arange(6, dtype=np.float32).reshape(3, 2)
    path = tmp_path / "c.dg"
    dg.save(model, path)
    loaded = dg.load(path)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded[1].wt, loaded[1].w.data.T)
    np.testing.assert_array_equal(loaded[1].table.data, np.arange(3))
    assert not any(init.is_placeholder(t) for t in loaded.parameters())


def test_normal_load_allocates_each_weight_once_and_draws_no_random_numbers(tmp_path):
    model = nn.Sequential(nn.Linear(1000, 1500, rng=0), nn.ReLU(), nn.Linear(1500, 3, rng=1))
    path = tmp_path / "m.dg"
    dg.save(model, path)
    size = sum(a.nbytes for a in model.state_dict().values())  # 6 MB
    state = default_generator().bit_generator.state
    tracemalloc.start()
    try:
        loaded = dg.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * size, (peak, size)  # before: a random init, then a second copy
    assert default_generator().bit_generator.state == state
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert all(p.data.flags.writeable and p.data.flags.c_contiguous for p in loaded.parameters())

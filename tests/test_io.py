"""save / load: round trips, optimizer resume, atomic writes, and corrupt files."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, optim


def mlp():
    return nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(8, 3, rng=1), nn.Softmax(dim=-1))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dense(5, activation="tanh"),
                         nn.LayerNorm(5), nn.Dense(2, activation="sigmoid"))


@pytest.mark.parametrize("make,shape", [(mlp, (6, 4)), (cnn, (3, 1, 8, 8))])
def test_roundtrip_bit_identical(tmp_path, make, shape):
    model = make()
    x = dg.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    model.train()
    model(x)  # builds lazy layers, moves batch-norm running stats
    model.eval()
    with dg.no_grad():
        before = model(x).numpy()
    path = tmp_path / "m.dg"
    dg.save(model, path, metadata={"class_names": ["a", "b", "c"]})
    loaded = dg.load(path)
    assert type(loaded) is nn.Sequential and not loaded.training
    with dg.no_grad():
        after = loaded(x).numpy()
    np.testing.assert_array_equal(before, after)
    assert loaded.metadata["class_names"] == ["a", "b", "c"]
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items(),
                                  strict=True):
        assert k1 == k2 and v1.dtype == v2.dtype
        np.testing.assert_array_equal(v1, v2)


def test_float64_model_roundtrip(tmp_path):
    with dg.default_dtype(np.float64):
        model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    dg.save(model, tmp_path / "m.dg")
    assert dg.load(tmp_path / "m.dg")[0].weight.dtype == np.float64


def _step(model, opt, x, y):
    loss = dg.losses.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def test_optimizer_resume_gives_the_same_next_step(tmp_path):
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        _step(model, opt, x, y)
    dg.save(model, tmp_path / "ck.dg", optimizer=opt, epoch=3)
    ck = dg.io.load_checkpoint(tmp_path / "ck.dg")
    assert ck["epoch"] == 3 and ck["optimizer_state"]["class"] == "Adam"
    model2 = ck["model"].train()
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["optimizer_state"])
    assert opt2.param_groups[0]["lr"] == 0.01
    _step(model, opt, x, y)
    _step(model2, opt2, x, y)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_custom_layer_registers_and_roundtrips(tmp_path):
    @dg.io.register_module(name="ScaleTest")
    class Scale(nn.Module):
        def __init__(self, factor: float, n: int = 2):
            super().__init__()
            self.factor = factor
            self.w = nn.Parameter(np.full((n,), factor, np.float32))

        def forward(self, x):
            return x * self.w

    model = nn.Sequential(Scale(3.0, n=4), nn.ReLU())
    dg.save(model, tmp_path / "c.dg")
    loaded = dg.load(tmp_path / "c.dg")
    assert isinstance(loaded[0], Scale) and loaded[0].factor == 3.0
    assert loaded[0].w.shape == (4,)


def test_unsaveable_argument_is_a_clear_error(tmp_path):
    class Holder(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

    with pytest.raises(ValueError, match="cannot save an argument of type function"):
        dg.save(Holder(lambda x: x), tmp_path / "h.dg")
    assert not os.path.exists(tmp_path / "h.dg")


def test_atomic_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.dg"
    model = mlp()
    dg.save(model, path)
    good = path.read_bytes()

    def boom(self, name, data, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        dg.save(nn.Sequential(nn.Linear(4, 1)), path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["m.dg"]  # no temporary left behind
    dg.load(path)


def test_corrupt_files_name_the_path(tmp_path):
    path = tmp_path / "m.dg"
    dg.save(mlp(), path)
    data = path.read_bytes()
    trunc = tmp_path / "trunc.dg"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{trunc}.*(truncated|corrupt|not a deepgrad)"):
        dg.load(trunc)
    junk = tmp_path / "junk.dg"
    junk.write_bytes(b"hello world" * 10)
    with pytest.raises(ValueError, match=f"{junk}: not a deepgrad model file"):
        dg.load(junk)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="not a deepgrad model file"):
        dg.load(other)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        dg.load(tmp_path / "absent.dg")


def _rewrite(path, out, edit):
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(items["manifest.json"])
    edit(manifest, items)
    items["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as z:
        for n, d in items.items():
            z.writestr(n, d)


def test_newer_version_and_mismatched_weights(tmp_path):
    path = tmp_path / "m.dg"
    dg.save(mlp(), path)
    newer = tmp_path / "newer.dg"
    _rewrite(path, newer, lambda m, it: m.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99 is newer"):
        dg.load(newer)
    bad = tmp_path / "bad.dg"

    def widen(m, it):
        m["architecture"]["args"][0]["__module__"]["args"][1] = 9

    _rewrite(path, bad, widen)
    with pytest.raises(ValueError, match=f"{bad}: weights don't match the architecture.*0.weight"):
        dg.load(bad)
    pickled = tmp_path / "pickled.dg"

    def add_object_array(m, it):
        import io

        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        it["weights/0.weight.npy"] = buf.getvalue()

    _rewrite(path, pickled, add_object_array)
    with pytest.raises(ValueError, match=f"{pickled}: corrupt"):
        dg.load(pickled)


# ---------------------------------------------------------------------------- state dicts
def _bn_mlp(seed=0):
    return nn.Sequential(nn.Linear(4, 8, rng=seed), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Linear(8, 3, rng=seed + 1))


def test_state_dict_roundtrip_and_load_state_dict(tmp_path):
    model = _bn_mlp(0)
    model[1].running_mean.data[...] = np.arange(8)
    sd = model.state_dict()  # an OrderedDict
    path = tmp_path / "sd.dg"
    dg.save(sd, path)
    out = dg.load(path)
    assert type(out) is dict and list(out) == list(sd)
    for k in sd:
        assert out[k].dtype == sd[k].dtype and out[k].shape == sd[k].shape
        np.testing.assert_array_equal(out[k], sd[k])
    other = _bn_mlp(5)
    other.load_state_dict(dg.load(path))
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["kind"] == "state_dict" and manifest["format_version"] == 2
    assert manifest["weights"] == list(sd)


def test_state_dict_of_tensors_parameters_and_scalars(tmp_path):
    sd = {"w": nn.Parameter(np.ones((2, 3), np.float32)), "t": dg.tensor([1.0, 2.0]),
          "count": np.array(7), "scale": np.float64(0.5), "mask": np.array([True, False]),
          "nested/name.weight": np.zeros((0, 4), np.float32)}
    path = tmp_path / "sd.dg"
    dg.save(sd, path)
    out = dg.load(path)
    assert list(out) == list(sd)
    assert out["count"].shape == () and out["count"] == 7 and out["scale"].dtype == np.float64
    assert out["w"].dtype == np.float32 and out["mask"].dtype == np.bool_
    assert out["nested/name.weight"].shape == (0, 4)
    np.testing.assert_array_equal(out["t"], [1.0, 2.0])


@pytest.mark.parametrize("sd,problem", [
    ({1: np.zeros(2)}, "key 1 is not a string"),
    ({"/etc/passwd": np.zeros(2)}, "key '/etc/passwd' is not a usable name"),
    ({"../up": np.zeros(2)}, "key '../up' is not a usable name"),
    ({"a/../../b": np.zeros(2)}, "key 'a/../../b' is not a usable name"),
    ({"": np.zeros(2)}, "key '' is not a usable name"),
    ({"w": [1.0, 2.0]}, "the value of 'w' is a list, not an array or tensor"),
    ({"w": 3.0}, "the value of 'w' is a float, not an array or tensor"),
    ({"w": np.array([{}], dtype=object)}, "the value of 'w' has dtype object, not numbers"),
    ({"w": np.array(["a"])}, "the value of 'w' has dtype <U1, not numbers"),
])
def test_bad_state_dict_is_one_clear_error(tmp_path, sd, problem):
    path = tmp_path / "sd.dg"
    with pytest.raises(ValueError) as e:
        dg.save({"ok": np.zeros(1), **sd}, path)
    assert str(e.value).startswith(f"{path}: cannot save the state dict: {problem}")
    assert not path.exists()


def test_state_dict_file_is_not_a_model_and_other_objects_are_refused(tmp_path):
    path = tmp_path / "sd.dg"
    dg.save(mlp().state_dict(), path)
    with pytest.raises(ValueError, match=f"^{path}: is a state dict, not a model"):
        dg.io.load_checkpoint(path)
    with pytest.raises(ValueError, match=f"^{path}: cannot save a list"):
        dg.save([np.zeros(2)], path)
    with pytest.raises(ValueError, match="saved with a model, not with a state dict"):
        dg.save(mlp().state_dict(), path, epoch=3)


def test_model_files_stay_version_1_and_files_without_kind_load(tmp_path):
    path = tmp_path / "m.dg"
    model = mlp()
    dg.save(model, path)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["format_version"] == 1 and manifest["kind"] == "model"
    old = tmp_path / "old.dg"
    _rewrite(path, old, lambda m, it: m.pop("kind"))
    loaded = dg.load(old)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b)

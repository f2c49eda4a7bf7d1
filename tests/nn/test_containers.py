"""ModuleDict and ParameterList: PyTorch's container semantics (order, state_dict keys,
indexing, len/iter/items, update, append/extend), save/load and optimizer use."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


def _lin(i, o, seed=0):
    with dg.default_dtype(np.float64):
        return nn.Linear(i, o, rng=seed)


# ---------------------------------------------------------------------------- ModuleDict
def test_module_dict_order_keys_and_mapping_methods():
    a, b, c = _lin(2, 3), nn.ReLU(), _lin(3, 1)
    d = nn.ModuleDict({"b_first": a, "act": b})
    d["out"] = c
    assert list(d) == list(d.keys()) == ["b_first", "act", "out"]
    assert list(d.values()) == [a, b, c] and list(d.items())[2] == ("out", c)
    assert len(d) == 3 and "act" in d and "nope" not in d and d["out"] is c
    assert list(d.state_dict()) == ["b_first.weight", "b_first.bias", "out.weight", "out.bias"]
    # a replaced entry keeps its place; update takes pairs, dicts and ModuleDicts in order
    d["b_first"] = _lin(2, 3, 1)
    d.update([("z", nn.Tanh()), ("act", nn.Sigmoid())])
    assert list(d) == ["b_first", "act", "out", "z"]
    assert isinstance(d["act"], nn.Sigmoid)
    d.update(nn.ModuleDict(OrderedDict([("y", nn.ReLU()), ("x", nn.ReLU())])))
    assert list(d)[-2:] == ["y", "x"]
    assert isinstance(d.pop("z"), nn.Tanh) and "z" not in d
    del d["y"]
    assert list(d) == ["b_first", "act", "out", "x"]
    assert len(list(d.parameters())) == 4
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


def test_module_dict_matches_torch_state_dict_keys():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleDict({"enc": nn.Linear(2, 3), "norm": nn.LayerNorm(3)})
    theirs = torch.nn.ModuleDict({"enc": torch.nn.Linear(2, 3), "norm": torch.nn.LayerNorm(3)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours["enc"].weight.data, theirs["enc"].weight.detach().numpy())


def test_module_dict_checks():
    d = nn.ModuleDict()
    with pytest.raises(TypeError, match="expected a Module, got int"):
        d["a"] = 3
    with pytest.raises(KeyError, match="contain no '.'"):
        d["a.b"] = nn.ReLU()
    with pytest.raises(KeyError, match="'update' is an attribute"):
        d["update"] = nn.ReLU()
    with pytest.raises(TypeError, match="keys must be strings"):
        d[1] = nn.ReLU()
    with pytest.raises(ValueError, match=r"element 0 should be a \(key, module\) pair"):
        d.update([("a", nn.ReLU(), 3)])
    with pytest.raises(TypeError, match="mapping or an iterable"):
        d.update(nn.ReLU())
    with pytest.raises(KeyError):
        d["missing"]


class _Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"a": _lin(3, 2, 1), "b": _lin(3, 1, 2)})
        self.scales = nn.ParameterList([np.ones(2), np.full(1, 2.0)])

    def forward(self, x):
        return [self.heads[k](x) * s for k, s in zip(self.heads, self.scales, strict=True)]


def test_containers_inside_a_model_train_and_round_trip(tmp_path):
    model = _Heads()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
                     "scales.0", "scales.1"]
    opt = dg.optim.SGD(model.parameters(), lr=0.1)
    x = dg.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    before = model.scales[1].data.copy()
    a, b = model(x)
    (a.sum() + b.sum()).backward()
    opt.step()
    assert not np.array_equal(model.scales[1].data, before)
    # both containers save their architecture; ParameterList records shapes and dtypes
    path = tmp_path / "heads.dg"
    m2 = nn.Sequential(nn.ModuleDict({"a": _lin(3, 2)}),
                       nn.ParameterList([np.ones((2, 3)), np.zeros(4, np.float32)]))
    dg.save(m2, path)
    loaded = dg.load(path)
    assert list(loaded[0]) == ["a"] and [p.shape for p in loaded[1]] == [(2, 3), (4,)]
    assert [p.dtype for p in loaded[1]] == [np.float64, np.float32]
    for (k, v), (k2, v2) in zip(m2.state_dict().items(), loaded.state_dict().items(),
                                strict=True):
        assert k == k2
        np.testing.assert_array_equal(v, v2)


# ------------------------------------------------------------------------- ParameterList
def test_parameter_list_semantics():
    p0 = nn.Parameter(np.ones(2))
    pl = nn.ParameterList([p0, dg.tensor(np.zeros(3))])
    assert pl[0] is p0 and isinstance(pl[1], nn.Parameter) and pl[-1] is pl[1]
    pl.append(np.full((2, 2), 3.0))
    pl.extend([np.ones(1)])
    pl += [np.ones(5)]
    assert len(pl) == 5 and [p.shape for p in pl] == [(2,), (3,), (2, 2), (1,), (5,)]
    assert list(pl.state_dict()) == ["0", "1", "2", "3", "4"]
    sliced = pl[1:3]
    assert isinstance(sliced, nn.ParameterList) and list(sliced) == [pl[1], pl[2]]
    pl[0] = np.full(2, 7.0)  # replaced in place, key "0" kept
    assert list(pl.state_dict()) == ["0", "1", "2", "3", "4"]
    np.testing.assert_array_equal(pl.state_dict()["0"], [7.0, 7.0])
    with pytest.raises(IndexError, match="index 5 is out of range for ParameterList of length 5"):
        pl[5]
    with pytest.raises(TypeError, match="expected a Parameter, Tensor or array, got str"):
        pl.append("x")
    with pytest.raises(TypeError, match="iterable of parameters"):
        pl.extend(np.ones(3))
    with pytest.raises(TypeError, match="integers or slices"):
        pl["0"]
    assert "(2): Parameter of shape (2, 2) (float64)" in repr(pl)


def test_parameter_list_matches_torch_keys():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterList([np.ones(2), np.ones((3, 1))])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)),
                                     torch.nn.Parameter(torch.ones(3, 1))])
    assert list(ours.state_dict()) == list(theirs.state_dict())
    outer = nn.Sequential(ours)
    assert list(outer.state_dict()) == list(torch.nn.Sequential(theirs).state_dict())


def test_new_layers_save_and_load_with_their_state(tmp_path):
    with dg.default_dtype(np.float64):
        model = nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1, rng=0), nn.GroupNorm(2, 4), nn.PReLU(4),
            nn.InstanceNorm2d(4, affine=True, track_running_stats=True), nn.Hardswish(),
            nn.BatchNorm2d(4, momentum=None), nn.Mish(), nn.Dropout2d(0.3), nn.ReLU6(),
            nn.Hardsigmoid(), nn.Flatten(), nn.Unflatten(1, (4, -1)), nn.LayerNorm(9, bias=False))
    x = dg.tensor(np.random.default_rng(0).normal(size=(3, 2, 3, 3)))
    model(x)  # one training step moves the running statistics and the counter
    model.eval()
    path = tmp_path / "new_layers.dg"
    dg.save(model, path)
    loaded = dg.load(path)
    loaded.eval()
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert int(loaded[5].num_batches_tracked.data) == 1
    np.testing.assert_array_equal(loaded(x).data, model(x).data)

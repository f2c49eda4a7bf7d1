"""Module: registration order, dotted names, modes, state dicts, summary, repr."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


class Block(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.drop = nn.Dropout(0.5)
        self.register_buffer("count", np.zeros(1, np.float32))

    def forward(self, x):
        return self.drop(self.fc(x))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        self.block = Block(2)
        self.head = nn.Linear(2, 1, bias=False)

    def forward(self, x):
        return self.head(self.block(self.encoder(x)))


def test_named_parameters_order_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                     "encoder.2.bias", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert [n for n, _ in net.named_buffers()] == ["block.count"]
    assert len(list(net.parameters())) == 7
    assert net.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2 * 2 + 2 + 2
    assert [n for n, _ in net.named_children()] == ["encoder", "block", "head"]


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.block.drop.training
    net.eval()
    assert not net.training and not net.block.drop.training and not net.encoder[1].training
    net.train()
    assert net.block.drop.training


def test_state_dict_roundtrip_and_in_place():
    a, b = Net(), Net()
    sd = a.state_dict()
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(sd) == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                        "encoder.2.bias", "block.count", "block.fc.weight", "block.fc.bias",
                        "head.weight"]
    w = b.head.weight.data
    b.load_state_dict(sd)
    assert b.head.weight.data is w  # copied in place
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, sd[k])
    sd["head.weight"][...] = 7  # a copy: the model is not affected
    assert not np.any(a.head.weight.data == 7)


def test_load_state_dict_mismatch_lists_everything():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["extra.bias"] = np.zeros(3)
    sd["encoder.0.weight"] = np.zeros((5, 3))
    with pytest.raises(ValueError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: ['head.weight']" in msg
    assert "unexpected keys: ['extra.bias']" in msg
    assert "encoder.0.weight: expected (4, 3), found (5, 3)" in msg
    del sd["encoder.0.weight"]
    sd2 = Net().state_dict()
    del sd2["head.weight"]
    sd2["zzz"] = np.ones(1)
    missing, unexpected = net.load_state_dict(sd2, strict=False)
    assert missing == ["head.weight"] and unexpected == ["zzz"]


def test_load_state_dict_accepts_tensors_and_keeps_dtype():
    lin = nn.Linear(2, 3)
    lin.load_state_dict({"weight": dg.tensor(np.ones((3, 2))), "bias": np.arange(3.0)})
    assert lin.weight.dtype == np.float32 and lin.bias.data.tolist() == [0, 1, 2]


def test_repr_and_summary():
    net = Net()
    r = repr(net)
    assert "(encoder): Sequential(" in r and "(0): Linear(in_features=3, out_features=4" in r
    text = net.summary((3,), print_fn=None)
    assert "encoder.0 (Linear)" in text and "(None, 4)" in text
    assert "Total params: 34" in text and "Trainable params: 34" in text  # 16+10+6+2
    assert "(None, 1)" in text


def test_zero_grad_and_apply():
    net = Net()
    net(dg.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and "Linear" in seen


def test_setattr_before_super_init_is_clear():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_sequential_indexing():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and len(seq) == 3
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 2), "relu")
    ml = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 2)])
    assert len(list(ml.parameters())) == 4 and isinstance(ml[1], nn.Linear)


SCRIPT = """
import json, deepgrad as dg
from deepgrad import nn
m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                  nn.Linear(8, 3), nn.LayerNorm(3))
print(json.dumps(list(m.state_dict())))
"""


def test_state_dict_keys_identical_across_hash_seeds():
    outs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                           env=env, check=True)
        outs.append(json.loads(r.stdout))
    assert outs[0] == outs[1] and "1.running_mean" in outs[0]


def test_to_cpu_is_noop_and_module_dtype_follows_default():
    with dg.default_dtype(np.float64):
        lin = nn.Linear(2, 2)
    assert lin.weight.dtype == np.float64
    assert lin.to("cpu") is lin

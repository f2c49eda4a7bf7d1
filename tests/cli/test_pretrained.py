"""``model: {pretrained: ..., until: ..., freeze: ..., head: [...]}``: transfer learning from
a config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn

from .conftest import assert_user_error, run_cli


def _base(tmp_path: Path) -> Path:
    dg.manual_seed(0)
    x = dg.Input(2, name="x")
    h = nn.Dense(6, activation="tanh", name="hidden")(x)
    out = nn.Dense(1, activation="sigmoid", name="out")(h)
    path = tmp_path / "base.dg"
    dg.save(dg.Model(x, out), path)
    return path


def _config(tmp_path: Path, model: str) -> Path:
    cfg = tmp_path / "ft.yaml"
    cfg.write_text(f"""\
name: ft
seed: 0
data: {{source: planar, options: {{m: 40}}}}
model:
{model}
optimizer: {{name: sgd, lr: 0.5}}
epochs: 3
batch_size: full
""")
    return cfg


def test_cut_freeze_and_new_head(tmp_path: Path):
    base = _base(tmp_path)
    cfg = _config(tmp_path, f"""\
  pretrained: {base}
  until: hidden
  head:
    - dense: {{units: 3, activation: tanh}}
    - dense: {{units: 1, activation: sigmoid}}""")
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "run"), "-q")
    assert r.returncode == 0, r.stderr
    before = dg.load(base).state_dict()
    after = dg.load(tmp_path / "run" / "model.dg")
    state = after.state_dict()
    np.testing.assert_array_equal(state["hidden.weight"], before["hidden.weight"])  # frozen
    assert not any(k.startswith("out.") for k in state)  # the old head is gone
    assert not after.get_layer("hidden").trainable
    heads = [k for k in state if k not in ("hidden.weight", "hidden.bias")]
    assert len(heads) == 4


def test_unfrozen_onnx_model_trains_as_is(tmp_path: Path):
    pytest.importorskip("onnx")
    base = dg.load(_base(tmp_path))
    dg.onnx.export(base, np.zeros((1, 2), np.float32), tmp_path / "base.onnx")
    cfg = _config(tmp_path, f"""\
  pretrained: {tmp_path / 'base.onnx'}
  freeze: false""")
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "run"), "-q")
    assert r.returncode == 0, r.stderr
    trained = dg.load(tmp_path / "run" / "model.dg").state_dict()
    weights = [v for k, v in trained.items() if k.endswith("weight")]
    assert weights and not np.array_equal(weights[0], base.state_dict()["hidden.weight"])


@pytest.mark.parametrize("model, fragments", [
    ("  pretrained: base.dg\n  until: nothere", ["model.until", "no layer 'nothere'",
                                                  "hidden"]),
    ("  pretrained: missing.dg", ["model.pretrained", "missing.dg", "no such model file"]),
    ("  pretrained: base.txt", ["model.pretrained", "expected a .dg or .onnx"]),
    ("  pretrained: base.dg\n  frozen: true", ["model.frozen", "unknown key"]),
    ("  pretrained: base.dg\n  head: [{dense: {units: 0}}]", ["model.head[0]"]),
])
def test_errors_name_the_key(tmp_path: Path, model: str, fragments):
    _base(tmp_path)
    cfg = _config(tmp_path, model)
    assert_user_error(run_cli("train", str(cfg), "--out", str(tmp_path / "run"), "-q",
                              cwd=tmp_path), *fragments)


def test_data_of_another_shape(tmp_path: Path):
    _base(tmp_path)
    cfg = _config(tmp_path, "  pretrained: base.dg")
    cfg.write_text(cfg.read_text().replace("source: planar, options: {m: 40}",
                                           "source: spirals, options: {m: 30, classes: 3}"))
    r = run_cli("train", str(cfg), "--out", str(tmp_path / "run"), "-q", cwd=tmp_path)
    assert r.returncode == 2 and "deepgrad: error:" in r.stderr

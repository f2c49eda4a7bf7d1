"""``deepgrad gradcheck``: kinks (relu at 0, max-pool ties) pass correct code, wrong
backward passes still fail, and bad option values are refused naming the flag."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from deepgrad.autograd.ops.conv import Conv2d
from deepgrad.autograd.ops.linear import Linear
from deepgrad.autograd.ops.math import ReLU
from deepgrad.cli.gradcheck_kinks import OK, WARN, check_param
from deepgrad.cli.main import main

from .conftest import REPO, TINY, assert_user_error

# conv(relu) -> max-pool -> conv(relu) -> dense with zero biases (he_normal kernels) on
# images whose border is exactly 0: whole feature maps sit at relu's kink, and every
# max-pool window of the background is a tie.
KINKY = """\
seed: 0
data: {source: npz, path: kinky.npz, preprocessing: {scale: 255, layout: image}}
model:
  - conv2d: {filters: 2, kernel_size: 3, padding: same, activation: relu,
             kernel_initializer: he_normal}
  - maxpool2d: 2
  - conv2d: {filters: 2, kernel_size: 3, padding: same, activation: relu,
             kernel_initializer: he_normal}
  - flatten
  - dense: 3
"""


@pytest.fixture
def kinky(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = np.zeros((4, 8, 8), np.uint8)
    X[:, 2:6, 2:6] = rng.integers(1, 255, (4, 4, 4))
    np.savez(tmp_path / "kinky.npz", X=X, y=np.arange(4) % 3)
    cfg = tmp_path / "kinky.yaml"
    cfg.write_text(KINKY)
    return cfg


def _gradcheck(capsys: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``deepgrad gradcheck ARGS`` in this process (so monkeypatches reach it)."""
    rc = main(["gradcheck", *args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, rc, out.out, out.err)


# --- the kink test on a function whose kinks we place by hand -------------------------

def _relu_loss(x0: np.ndarray) -> tuple[Any, Any, np.ndarray]:
    """p, J(p) = Σ w relu(p) + Σ exp(p) / 3, and its gradient with relu'(0) = 0."""
    p = SimpleNamespace(data=x0.copy(), size=x0.size, shape=x0.shape)
    w = np.array([2.0, -1.5, 0.7])

    def J() -> float:
        return float(np.sum(w * np.maximum(p.data, 0)) + np.sum(np.exp(p.data)) / 3)

    return p, J, w * (x0 > 0) + np.exp(x0) / 3


@pytest.mark.parametrize("t", [0.0, 0.3, 0.65, 0.9, -0.4])
def test_an_entry_within_eps_of_a_kink_is_reported_and_left_out(t: float) -> None:
    eps = 1e-6
    p, J, g = _relu_loss(np.array([t * eps, 0.4, -0.8]))
    r = check_param(J, J(), p, g, eps, 64, 6, np.random.default_rng(0))
    assert (r.checked, r.kinks) == (3, 1) and r.error is not None and r.error < OK
    assert r.status == "ok"
    np.testing.assert_array_equal(p.data, [t * eps, 0.4, -0.8])  # restored exactly


def test_a_wrong_gradient_next_to_a_kink_still_fails() -> None:
    p, J, g = _relu_loss(np.array([0.0, 0.4, -0.8]))
    g[1] *= 1.01  # a smooth entry
    r = check_param(J, J(), p, g, 1e-6, 64, 6, np.random.default_rng(0))
    assert r.kinks == 1 and r.error is not None and r.error > WARN and r.status == "FAIL"


def test_a_kink_does_not_excuse_more_than_its_jump() -> None:
    p, J, g = _relu_loss(np.array([0.0, 0.4, -0.8]))
    g[0] = 5.0  # at the kink, but far outside [0, 2] + exp'/3: a bug, not the kink
    r = check_param(J, J(), p, g, 1e-6, 64, 6, np.random.default_rng(0))
    assert r.kinks == 0 and r.status == "FAIL"


def test_curvature_is_not_a_kink() -> None:
    p = SimpleNamespace(data=np.array([1.0, -2.0]), size=2, shape=(2,))

    def J() -> float:
        return float(np.sum(np.exp(3 * p.data)))

    r = check_param(J, J(), p, 3 * np.exp(3 * p.data), 1e-4, 64, 6,
                    np.random.default_rng(0))
    assert r.kinks == 0 and r.error is not None and r.error < OK


# --- the command on models with kinks, and with wrong backward passes ------------------

def test_conv_relu_maxpool_on_kinks_passes(capsys: Any, kinky: Path) -> None:
    r = _gradcheck(capsys, str(kinky), "--examples", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kinks: at the initial weights 2 of 67" in r.stdout
    assert "0.bias: 2" in r.stdout and "checking again at a nearby point" in r.stdout
    assert "all gradients agree" in r.stdout and "FAIL" not in r.stdout


def _scaled(monkeypatch: Any, op: Any, index: int, factor: float) -> None:
    """Make ``op``'s backward return its ``index``-th gradient times ``factor``."""
    orig = op.backward

    def backward(self: Any, gy: Any) -> Any:
        gs = orig(self, gy)
        if not isinstance(gs, tuple):
            return gs * factor
        return tuple(g * factor if k == index and g is not None else g
                     for k, g in enumerate(gs))

    monkeypatch.setattr(op, "backward", backward)


@pytest.mark.parametrize("op, index, factor, row", [
    (Conv2d, 1, 1.01, "0 (Conv2d)  weight"),   # the weight gradient 1% off
    (Conv2d, 2, 0.0, "0 (Conv2d)  bias"),      # the bias gradient dropped
    (ReLU, 0, 1.01, "0 (Conv2d)  weight"),     # relu's backward 1% off
    (Linear, 1, 1.01, "6 (Dense)   weight"),
])
def test_a_wrong_backward_on_kinks_still_disagrees(capsys: Any, kinky: Path, monkeypatch: Any,
                                                   op: Any, index: int, factor: float,
                                                   row: str) -> None:
    _scaled(monkeypatch, op, index, factor)
    r = _gradcheck(capsys, str(kinky), "--examples", "3")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "gradients DISAGREE" in r.stdout
    assert any(line.startswith(row) and line.endswith("FAIL")
               for line in r.stdout.splitlines()), r.stdout


def test_a_wrong_dense_backward_fails_on_a_smooth_model(capsys: Any, tiny_config: Path,
                                                        monkeypatch: Any) -> None:
    _scaled(monkeypatch, Linear, 2, 0.0)
    r = _gradcheck(capsys, str(tiny_config))
    assert r.returncode == 1 and "gradients DISAGREE" in r.stdout
    assert "kinks:" not in r.stdout  # tanh: nothing to move off


# --- the real examples (skipped without the MNIST files) -------------------------------

def _data_root() -> Path | None:
    for c in (os.environ.get("DEEPGRAD_DATA"), REPO.parent / "shared" / "data"):
        if c and (Path(c) / "mnist").is_dir() and (Path(c) / "fashion-mnist").is_dir():
            return Path(c)
    return None


@pytest.mark.parametrize("config", ["mnist_cnn.yaml", "fashion_mnist_cnn.yaml"])
def test_the_cnn_examples_pass(capsys: Any, monkeypatch: Any, config: str) -> None:
    root = _data_root()
    if root is None:
        pytest.skip("MNIST/Fashion-MNIST files not found (set DEEPGRAD_DATA)")
    monkeypatch.setenv("DEEPGRAD_DATA", str(root))
    r = _gradcheck(capsys, str(REPO / "examples" / config), "--examples", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all gradients agree" in r.stdout and "FAIL" not in r.stdout


# --- option values ---------------------------------------------------------------------

@pytest.mark.parametrize("flag, value, fragment", [
    ("--examples", "0", "--examples must be a positive integer, got 0"),
    ("--examples", "-3", "--examples must be a positive integer, got -3"),
    ("--eps", "0", "--eps must be a finite step in (0, 0.1]"),
    ("--eps", "-1e-6", "got -1e-06"),
    ("--eps", "nan", "got nan"),
    ("--eps", "inf", "got inf"),
    ("--eps", "0.5", "--eps must be a finite step in (0, 0.1]"),
    ("--max-elements", "-1", "--max-elements must be a non-negative integer, got -1"),
    ("--directions", "0", "--directions must be a positive integer, got 0"),
])
def test_bad_option_values_are_refused(capsys: Any, tmp_path: Path, flag: str, value: str,
                                       fragment: str) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    r = _gradcheck(capsys, str(cfg), f"{flag}={value}")
    assert_user_error(r, fragment)
    assert r.stdout == ""

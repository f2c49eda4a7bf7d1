"""The first three updates of each optimizer on a small quadratic, from its paper's formulas.

f(θ) = ½ Σ aᵢ θᵢ², so ∇f(θ) = a ⊙ θ. Each expected trajectory is written out below with
plain NumPy expressions, independently of deepgrad's implementation.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepgrad import _accel, optim

from .helpers import Param

A = np.array([1.0, 2.0, 0.5, 4.0])
THETA0 = np.array([1.0, -1.5, 2.0, 0.3])


def _run(opt_cls, **kw):
    p = Param(THETA0.copy())
    opt = opt_cls([p], **kw)
    out = []
    for _ in range(3):
        p.grad = A * p.data
        opt.step()
        out.append(p.data.copy())
    return out


def _check(got, want):
    for t, (x, y) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-15, err_msg=f"update {t + 1}")


def test_gradient_descent():
    # θ ← θ − α ∇f(θ)
    lr, th, want = 0.1, THETA0.copy(), []
    for _ in range(3):
        th = th - lr * A * th
        want.append(th)
    _check(_run(optim.SGD, lr=lr), want)


def test_momentum():
    # classical momentum (Polyak; Sutskever et al. 2013): v ← μv − α∇f(θ), θ ← θ + v
    lr, mu, th, v, want = 0.1, 0.9, THETA0.copy(), np.zeros(4), []
    for _ in range(3):
        v = mu * v - lr * A * th
        th = th + v
        want.append(th)
    _check(_run(optim.SGD, lr=lr, momentum=mu), want)


def test_nesterov_momentum():
    # Nesterov in PyTorch's (Sutskever's reformulated) form: b ← μb + g, θ ← θ − α(g + μb)
    lr, mu, th, b, want = 0.1, 0.9, THETA0.copy(), np.zeros(4), []
    for _ in range(3):
        g = A * th
        b = mu * b + g
        th = th - lr * (g + mu * b)
        want.append(th)
    _check(_run(optim.SGD, lr=lr, momentum=mu, nesterov=True), want)


def test_weight_decay_is_l2():
    # L2 penalty λ/2 ‖θ‖² adds λθ to the gradient
    lr, lam, th, want = 0.1, 0.2, THETA0.copy(), []
    for _ in range(3):
        th = th - lr * (A * th + lam * th)
        want.append(th)
    _check(_run(optim.SGD, lr=lr, weight_decay=lam), want)


def test_adagrad():
    # Duchi et al. 2011: G ← G + g², θ ← θ − α g / (√G + ε)
    lr, eps, th, G, want = 0.01, 1e-10, THETA0.copy(), np.zeros(4), []
    for _ in range(3):
        g = A * th
        G = G + g**2
        th = th - lr * g / (np.sqrt(G) + eps)
        want.append(th)
    _check(_run(optim.Adagrad), want)


def test_adadelta():
    # Zeiler 2012, Algorithm 1: E[g²] ← ρE[g²] + (1−ρ)g²; Δθ = −RMS[Δθ]/RMS[g] · g;
    # E[Δθ²] ← ρE[Δθ²] + (1−ρ)Δθ²; θ ← θ + Δθ, with RMS[y] = √(E[y²] + ε) (lr = 1)
    rho, eps, th, Eg, Ed, want = 0.9, 1e-6, THETA0.copy(), np.zeros(4), np.zeros(4), []
    for _ in range(3):
        g = A * th
        Eg = rho * Eg + (1 - rho) * g**2
        dth = -np.sqrt(Ed + eps) / np.sqrt(Eg + eps) * g
        Ed = rho * Ed + (1 - rho) * dth**2
        th = th + dth
        want.append(th)
    _check(_run(optim.Adadelta), want)


def test_rmsprop():
    # Hinton, lecture 6e: MS ← αMS + (1−α)g², θ ← θ − η g / (√MS + ε)
    lr, alpha, eps, th, ms, want = 0.01, 0.99, 1e-8, THETA0.copy(), np.zeros(4), []
    for _ in range(3):
        g = A * th
        ms = alpha * ms + (1 - alpha) * g**2
        th = th - lr * g / (np.sqrt(ms) + eps)
        want.append(th)
    _check(_run(optim.RMSprop), want)


def test_rmsprop_centered():
    # Graves 2013 (eqs. 38-41, momentum 0): n ← αn + (1−α)g², ḡ ← αḡ + (1−α)g,
    # θ ← θ − η g / (√(n − ḡ²) + ε)   (PyTorch puts ε outside the root)
    lr, alpha, eps = 0.01, 0.9, 1e-8
    th, n, gbar, want = THETA0.copy(), np.zeros(4), np.zeros(4), []
    for _ in range(3):
        g = A * th
        n = alpha * n + (1 - alpha) * g**2
        gbar = alpha * gbar + (1 - alpha) * g
        th = th - lr * g / (np.sqrt(n - gbar**2) + eps)
        want.append(th)
    _check(_run(optim.RMSprop, alpha=alpha, centered=True), want)


def _adam_expected(lr, b1, b2, eps, lam=0.0, amsgrad=False):
    # Kingma & Ba 2015, Algorithm 1 (AMSGrad: Reddi et al. 2018 keeps v̂ = max(v̂, v));
    # AdamW (Loshchilov & Hutter 2019, Algorithm 2): θ ← θ − α(m̂/(√v̂ + ε) + λθ)
    th, m, v, vmax, want = THETA0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for t in range(1, 4):
        g = A * th
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        th = th - lr * (m_hat / (np.sqrt(v_hat) + eps) + lam * th)
        want.append(th)
    return want


# both update paths: the ufuncs, and the compiled one pass (numba; skipped without it)
FUSED = [False, pytest.param(True, marks=pytest.mark.skipif(
    not _accel.available(), reason="numba is not installed"))]


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad, fused):
    _check(_run(optim.Adam, amsgrad=amsgrad, fused=fused),
           _adam_expected(1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad))
    _check(
        _run(optim.Adam, lr=0.1, betas=(0.5, 0.6), eps=1e-3, fused=fused),
        _adam_expected(0.1, 0.5, 0.6, 1e-3),
    )


@pytest.mark.parametrize("fused", FUSED)
def test_adamw(fused):
    _check(_run(optim.AdamW, fused=fused), _adam_expected(1e-3, 0.9, 0.999, 1e-8, lam=1e-2))
    _check(_run(optim.AdamW, lr=0.1, weight_decay=0.5, fused=fused),
           _adam_expected(0.1, 0.9, 0.999, 1e-8, 0.5))


def test_adam_amsgrad_uses_the_running_max():
    # v̂ only differs from v once the gradient shrinks: check that it did
    p = Param(THETA0.copy())
    opt = optim.Adam([p], lr=0.5, amsgrad=True)
    for _ in range(3):
        p.grad = A * p.data
        opt.step()
    st = opt.state[0][0]
    assert np.all(st["max_exp_avg_sq"] >= st["exp_avg_sq"])


def test_defaults_are_pytorchs():
    p = [Param(THETA0.copy())]
    assert optim.SGD(p).defaults == dict(
        lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False
    )
    d = optim.Adagrad(p).defaults
    assert (d["lr"], d["lr_decay"], d["weight_decay"], d["eps"]) == (1e-2, 0, 0, 1e-10)
    assert d["initial_accumulator_value"] == 0
    d = optim.Adadelta(p).defaults
    assert (d["lr"], d["rho"], d["eps"], d["weight_decay"]) == (1.0, 0.9, 1e-6, 0)
    d = optim.RMSprop(p).defaults
    assert (d["lr"], d["alpha"], d["eps"], d["weight_decay"]) == (1e-2, 0.99, 1e-8, 0)
    assert (d["momentum"], d["centered"]) == (0, False)
    for cls, wd in ((optim.Adam, 0), (optim.AdamW, 1e-2)):
        d = cls(p).defaults
        assert (d["lr"], d["betas"], d["eps"], d["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, wd)
        assert d["amsgrad"] is False

"""Gradient checking by finite differences, and a helper that tests an op in a few lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._config import no_grad
from .autograd.tensor import Tensor
from .backend import to_numpy

__all__ = ["GradcheckError", "gradcheck", "gradcheck_directional", "check_op"]


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with the finite-difference one."""


def _objective(fn: Callable[..., Any], inputs: Sequence[Any], gys: list[np.ndarray]) -> float:
    """sum(out * gy) over the outputs of ``fn``, evaluated under no_grad in float64."""
    with no_grad():
        outs = fn(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    return float(sum(np.sum(to_numpy(o.data) * g) for o, g in zip(outs, gys, strict=True)))


def _analytic(
    fn: Callable[..., Any], inputs: Sequence[Any], rng: np.random.Generator
) -> tuple[list[np.ndarray], list[Any]]:
    """Run fn with a random upstream gradient; returns the gys and each input's grad."""
    saved = [t.grad if isinstance(t, Tensor) else None for t in inputs]
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    outs = fn(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    gys = [rng.standard_normal(o.shape) for o in outs]
    for o in outs:
        if o.dtype != np.float64:
            raise TypeError(f"gradcheck: fn returned {o.dtype}; run it on float64 inputs")
    live = [(o, g) for o, g in zip(outs, gys, strict=True) if o.requires_grad]
    for k, (o, g) in enumerate(live):
        o.backward(g, retain_graph=k < len(live) - 1)
    grads = []
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            g = t.grad
            grads.append(np.zeros(t.shape) if g is None else np.array(to_numpy(g), copy=True))
        else:
            grads.append(None)
    for t, s in zip(inputs, saved, strict=True):
        if isinstance(t, Tensor):
            t.grad = s
    return gys, grads


def _checked_inputs(inputs: Sequence[Any]) -> list[int]:
    idx = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise TypeError(
                    f"gradcheck: input {i} is {t.dtype}; finite differences need float64"
                )
            idx.append(i)
    if not idx:
        raise ValueError("gradcheck: no input requires grad")
    return idx


def _name(inputs: Sequence[Any], i: int) -> str:
    t = inputs[i]
    nm = getattr(t, "name", None)
    return f"input {i}" + (f" ({nm})" if nm else "") + f" of shape {tuple(t.shape)}"


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare backward's gradients with central finite differences, element by element.

    Every input that is a float64 Tensor with ``requires_grad`` is checked. The output is
    contracted with a random upstream gradient (not all ones, which hides transposition
    bugs). ``fn`` may return a tensor or a tuple of tensors.

    Returns:
        True when every element satisfies ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Raises:
        GradcheckError: naming the input, the worst element, both values and the relative
            error.
    """
    idx = _checked_inputs(inputs)
    rng = np.random.default_rng(seed)
    gys, grads = _analytic(fn, inputs, rng)
    for i in idx:
        x = inputs[i]
        flat = x.data.reshape(-1)
        if not np.shares_memory(flat, x.data):  # pragma: no cover - non-contiguous input
            raise ValueError(f"gradcheck: {_name(inputs, i)} must be contiguous")
        num = np.empty(flat.size)
        for k in range(flat.size):
            orig = flat[k].item()
            flat[k] = orig + eps
            fp = _objective(fn, inputs, gys)
            flat[k] = orig - eps
            fm = _objective(fn, inputs, gys)
            flat[k] = orig
            num[k] = (fp - fm) / (2 * eps)
        ana = grads[i].reshape(-1)
        _compare(ana, num, atol, rtol, lambda k, i=i: _where(inputs, i, k), f"{_name(inputs, i)}")
    return True


def _where(inputs: Sequence[Any], i: int, k: int) -> str:
    return f"element {np.unravel_index(k, inputs[i].shape)}"


def _compare(
    ana: np.ndarray,
    num: np.ndarray,
    atol: float,
    rtol: float,
    where: Callable[[int], str],
    what: str,
) -> None:
    err = np.abs(ana - num)
    bad = ~(err <= atol + rtol * np.abs(num))  # also catches NaN
    if bad.any():
        score = np.where(np.isnan(err), np.inf, err / (atol + rtol * np.abs(num)))
        k = int(np.argmax(score))
        rel = err[k] / max(abs(ana[k]), abs(num[k]), 1e-300)
        raise GradcheckError(
            f"gradient mismatch for {what}, {where(k)}: analytic {ana[k]!r}, "
            f"numeric {num[k]!r}, relative error {rel:.3g} "
            f"({int(bad.sum())} of {bad.size} elements out of tolerance)"
        )


def gradcheck_directional(
    fn: Callable[..., Any],
    *inputs: Any,
    n_directions: int = 4,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Gradient check along random directions, for inputs too large to check elementwise.

    For each checked input and each random unit direction ``v``, compares ``<grad, v>``
    with ``(L(x + eps v) - L(x - eps v)) / (2 eps)`` where ``L = sum(out * gy)``. Costs
    two forward passes per direction instead of two per element.

    Raises:
        GradcheckError: naming the input, the direction, both values and the relative error.
    """
    idx = _checked_inputs(inputs)
    rng = np.random.default_rng(seed)
    gys, grads = _analytic(fn, inputs, rng)
    for i in idx:
        x = inputs[i]
        orig = x.data.copy()
        ana = np.empty(n_directions)
        num = np.empty(n_directions)
        for d in range(n_directions):
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v) or 1.0
            ana[d] = float(np.sum(grads[i] * v))
            x.data[...] = orig + eps * v
            fp = _objective(fn, inputs, gys)
            x.data[...] = orig - eps * v
            fm = _objective(fn, inputs, gys)
            x.data[...] = orig
            num[d] = (fp - fm) / (2 * eps)
        _compare(ana, num, atol, rtol, lambda k: f"random direction {k}", _name(inputs, i))
    return True


def check_op(
    fn: Callable[..., Any],
    reference: Callable[..., Any] | None,
    *shapes: tuple[int, ...],
    low: float = -2.0,
    high: float = 2.0,
    grad_inputs: Sequence[int] | None = None,
    seed: int = 0,
    rtol: float = 1e-7,
    atol: float = 1e-10,
    **gradcheck_kwargs: Any,
) -> None:
    """Test a differentiable op in one call (a small OpTestCase).

    Makes random inputs of the given shapes (uniform in [low, high)) and checks:
    the float64 forward against ``reference`` on NumPy arrays (if given); a float64
    gradcheck of the inputs in ``grad_inputs`` (default all); float32 in gives float32 out;
    and nothing is recorded under ``no_grad()``.
    """
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(low, high, size=s) for s in shapes]
    which = range(len(shapes)) if grad_inputs is None else grad_inputs
    xs = [Tensor(a.copy(), requires_grad=i in which) for i, a in enumerate(arrays)]
    out = fn(*xs)
    if reference is not None:
        expected = reference(*[a.copy() for a in arrays])
        np.testing.assert_allclose(to_numpy(out.data), expected, rtol=rtol, atol=atol)
    gradcheck(fn, *xs, seed=seed, **gradcheck_kwargs)
    xs32 = [Tensor(a.astype(np.float32), requires_grad=i in which) for i, a in enumerate(arrays)]
    out32 = fn(*xs32)
    if out32.dtype != np.float32:
        raise AssertionError(f"float32 inputs gave a {out32.dtype} output")
    out32.backward(np.ones(out32.shape, dtype=np.float32))
    for i in which:
        g = xs32[i].grad
        if g is not None and g.dtype != np.float32:
            raise AssertionError(f"float32 input {i} got a {g.dtype} gradient")
    with no_grad():
        out_ng = fn(*xs32)
    if out_ng.requires_grad or out_ng.grad_fn is not None:
        raise AssertionError("an op recorded a graph under no_grad()")

"""Optional compiled (numba) batch norm over (N, C, L) arrays in training mode.

NumPy's batch norm makes about a dozen passes over memory each way (the mean, x - mean,
its square, the variance, the scaling, γ and β; in backward the two sums, then four
elementwise steps). These kernels make three passes forward (the mean, the variance, then
x̂ and y written together) and two backward (both sums in one, then gx), channel by
channel. Sums are accumulated in float64 (float32 inputs included), so they are at least
as accurate as NumPy's pairwise float32 sums; the reassociation allowed to LLVM (to
vectorize the sums) changes only the order of those float64 additions.

Used only through :func:`takes` (numba installed, not turned off with
``DEEPGRAD_NUMBA=0``, C-contiguous NumPy float32/float64 arrays large enough); anything
else (CuPy arrays, other dtypes) takes the NumPy path in ops/norm.py. Single-threaded, as
every kernel of ``deepgrad._accel``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _accel

__all__ = ["takes", "forward", "backward"]

def _build() -> dict[str, Any]:
    return _accel.build_kernels(_make)


def _make(numba: Any, cache: bool) -> dict[str, Any]:
    jit = numba.njit(cache=cache, nogil=True, error_model="numpy",
                     fastmath={"reassoc", "contract"})

    @jit
    def forward_kernel(x, gamma, beta, eps, xhat, y, mean, var):  # pragma: no cover
        # x, xhat, y: (N, C, L); gamma, beta, mean, var: (C,)
        n_, c_, l_ = x.shape
        m = n_ * l_
        for c in range(c_):
            s = 0.0
            for n in range(n_):
                row = x[n, c]
                for i in range(l_):
                    s += row[i]
            mu = s / m
            ss = 0.0
            for n in range(n_):
                row = x[n, c]
                for i in range(l_):
                    d = row[i] - mu
                    ss += d * d
            v = ss / m
            mean[c] = mu
            var[c] = v
            inv = 1.0 / np.sqrt(v + eps)
            g = gamma[c]
            b = beta[c]
            for n in range(n_):
                row = x[n, c]
                xh = xhat[n, c]
                out = y[n, c]
                for i in range(l_):
                    t = (row[i] - mu) * inv
                    xh[i] = t
                    out[i] = t * g + b

    @jit
    def backward_kernel(gy, xhat, scale, gx, sums):  # pragma: no cover - compiled
        # gx = k·(m·gy - Σ gy - x̂·Σ(gy·x̂)) with k = scale/m per channel; sums (2, C)
        # receives Σ gy and Σ gy·x̂
        n_, c_, l_ = gy.shape
        m = n_ * l_
        for c in range(c_):
            s1 = 0.0
            s2 = 0.0
            for n in range(n_):
                g = gy[n, c]
                xh = xhat[n, c]
                for i in range(l_):
                    s1 += g[i]
                    s2 += g[i] * xh[i]
            sums[0, c] = s1
            sums[1, c] = s2
            if gx.shape[0] == 0:
                continue
            k = scale[c] / m
            a = k * m
            b = k * s2
            d = k * s1
            for n in range(n_):
                g = gy[n, c]
                xh = xhat[n, c]
                out = gx[n, c]
                for i in range(l_):
                    out[i] = g[i] * a - xh[i] * b - d

    return {"forward": forward_kernel, "backward": backward_kernel}


def takes(*arrays: Any) -> bool:
    """Whether the kernels run on these arrays: C-contiguous NumPy float32/float64 arrays
    of one dtype, the first large enough (:func:`deepgrad._accel.takes`)."""
    first = arrays[0]
    return _accel.takes(first) and all(
        type(a) is np.ndarray and a.dtype == first.dtype and a.flags.c_contiguous
        for a in arrays[1:]
    )


def forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
            eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode batch norm of ``x`` (N, C, ...) over all axes but 1.

    Returns x̂, y = γ·x̂ + β (γ = 1, β = 0 when None), and the batch mean and biased
    variance as float64 (C,) arrays.
    """
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    dt = x.dtype
    gamma = np.ones(c, dt) if gamma is None else np.ascontiguousarray(gamma, dtype=dt)
    beta = np.zeros(c, dt) if beta is None else np.ascontiguousarray(beta, dtype=dt)
    xhat, y = np.empty_like(x), np.empty_like(x)
    mean, var = np.empty(c), np.empty(c)
    _build()["forward"](x3, gamma.reshape(-1), beta.reshape(-1), float(eps),
                        xhat.reshape(x3.shape), y.reshape(x3.shape), mean, var)
    return xhat, y, mean, var


def backward(gy: np.ndarray, xhat: np.ndarray, scale: np.ndarray,
             need_x: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """gx (None unless ``need_x``), Σ gy and Σ gy·x̂ per channel (in gy's dtype) for
    training-mode batch norm; ``scale`` = γ·inv_std per channel."""
    n, c = gy.shape[:2]
    gy3 = gy.reshape(n, c, -1)
    gx = np.empty_like(gy) if need_x else np.empty((0, c, gy3.shape[2]), gy.dtype)
    sums = np.empty((2, c))
    _build()["backward"](gy3, xhat.reshape(gy3.shape), np.ascontiguousarray(
        scale.reshape(-1), dtype=np.float64), gx.reshape(gx.shape[0], c, -1), sums)
    sums = sums.astype(gy.dtype)
    return (gx if need_x else None), sums[0], sums[1]

"""Fused activation functions: ELU, GELU (exact and tanh form), SiLU, Softplus, Hardtanh.

Each is one op with a hand-written backward, finite (with finite gradients) for inputs of
±1e4. GELU's exact form needs erf, which NumPy lacks: ``_erfc`` implements W. J. Cody's
rational Chebyshev approximations (Math. Comp. 23, 1969; the SPECFUN ``CALERF`` routine),
accurate to about 1e-16 relative in float64, written with ``xp`` so it runs on CuPy too.
"""

from __future__ import annotations

import math
from typing import Any

from ...backend import get_array_module
from ..function import Function
from ..tensor import Tensor
from .math import _sigmoid

__all__ = ["elu", "gelu", "silu", "softplus", "hardtanh", "erf"]

# Cody's coefficients: erf on |x| <= 0.46875, erfc on (0.46875, 4], erfc on (4, inf).
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)
_SQRT1_2 = 1 / math.sqrt(2.0)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_K_TANH = math.sqrt(2 / math.pi)


def _cody_rational(t: Any, p: tuple[float, ...], q: tuple[float, ...]) -> tuple[Any, Any]:
    """Numerator and denominator of Cody's rational approximation in ``t``, evaluated in
    place by Horner's rule (``p`` has one coefficient more than ``q``)."""
    n = len(q)
    num = p[n] * t
    den = t + q[0]
    for i in range(n - 1):
        num += p[i]
        num *= t
        if i:
            den *= t
            den += q[i]
    den *= t
    den += q[n - 1]
    num += p[n - 1]
    return num, den


def _erf_small(x: Any) -> Any:
    """erf(x) for |x| <= 0.46875."""
    num, den = _cody_rational(x * x, _A, _B)
    num *= x
    return num / den


def _exp_neg_square(xp: Any, y: Any) -> Any:
    """exp(-y^2); in float64 as exp(-ys^2) exp(-(y - ys)(y + ys)), ys = y rounded to 1/16,
    so the rounding error of y^2 is not amplified (Cody's trick)."""
    if y.dtype.itemsize < 8:
        return xp.exp(-(y * y))
    ys = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-(ys * ys)) * xp.exp(-(y - ys) * (y + ys))


def _erfc_mid(xp: Any, y: Any) -> Any:
    """erfc(y) for 0.46875 < y <= 4."""
    num, den = _cody_rational(y, _C, _D)
    return num / den * _exp_neg_square(xp, y)


def _erfc_tail(xp: Any, y: Any) -> Any:
    """erfc(y) for y > 4."""
    z = 1 / (y * y)
    num, den = _cody_rational(z, _P, _Q)
    return (_SQRPI - z * num / den) / y * _exp_neg_square(xp, y)


def _erf_parts(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """(s, erf(x)·s, erfc(|x|)·(1 - s)) with s = 1.0 on the small region |x| <= 0.46875.

    The two central regions are evaluated densely on inputs clamped into range and blended
    arithmetically (cheaper than ``where`` on random masks); the rarely populated tail
    (|x| > 4) only on its own elements.
    """
    shape = x.shape
    x = xp.asarray(x).reshape(-1)  # 1-d, so a 0-d input's tail can be assigned in place
    a = xp.abs(x)
    s = (a <= 0.46875).astype(x.dtype)
    e_small = _erf_small(x * s)  # erf_small(0) = 0 outside the region
    ec = _erfc_mid(xp, xp.clip(a, 0.46875, 4.0))
    tail = a > 4.0
    if bool(tail.any()):
        ec[tail] = _erfc_tail(xp, a[tail])
    ec *= 1 - s
    return s.reshape(shape), e_small.reshape(shape), ec.reshape(shape)


def _erfc(xp: Any, x: Any) -> Any:
    """erfc(x) = 1 - erf(x), accurate in the tails (no cancellation)."""
    s, e_small, ec = _erf_parts(xp, x)
    neg = (x < 0).astype(x.dtype)
    # small region: 1 - erf(x); elsewhere erfc(|x|), or 2 - erfc(|x|) for x < 0
    return s * (1 - e_small) + ec + neg * (2 * (1 - s) - 2 * ec)


def _ndtr(xp: Any, x: Any) -> Any:
    """The standard normal CDF Φ(x) = erfc(-x/√2) / 2."""
    return 0.5 * _erfc(xp, -x * _SQRT1_2)


def erf(x: Any) -> Any:
    """The error function on a raw array (float64-accurate; not differentiable)."""
    xp = get_array_module(x)
    s, e_small, ec = _erf_parts(xp, x)
    neg = (x < 0).astype(x.dtype)
    # small region: erf(x); elsewhere 1 - erfc(|x|), negated for x < 0
    out = e_small + (1 - s) - ec
    return out - neg * (2 * out - 2 * e_small)


class ELU(Function):
    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        pos = x > 0
        y = xp.where(pos, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        if self.requires_grad:
            self.pos, self.y = pos, y
        return y

    def backward(self, gy: Any) -> Any:
        # d elu = 1 for x > 0, alpha e^x = y + alpha otherwise
        xp = get_array_module(gy)
        return xp.where(self.pos, gy, gy * (self.y + self.alpha))


class GELU(Function):
    def __init__(self, approximate: str) -> None:
        self.approximate = approximate

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if self.approximate == "tanh":
            t = xp.tanh(_K_TANH * (x + 0.044715 * x * x * x))
            if self.requires_grad:
                self.x, self.t = x, t
            return 0.5 * x * (1 + t)
        cdf = _ndtr(xp, x)
        if self.requires_grad:
            self.x, self.cdf = x, cdf
        return x * cdf

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        x = self.x
        if self.approximate == "tanh":
            # d = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 * 0.044715 x^2)
            t = self.t
            du = _K_TANH * (1 + 3 * 0.044715 * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
        # d gelu = Phi(x) + x phi(x)
        return gy * (self.cdf + x * (_INV_SQRT_2PI * xp.exp(-0.5 * x * x)))


class SiLU(Function):
    def forward(self, x: Any) -> Any:
        s = _sigmoid(get_array_module(x), x)
        if self.requires_grad:
            self.x, self.s = x, s
        return x * s

    def backward(self, gy: Any) -> Any:
        # d silu = s (1 + x (1 - s)), s = sigmoid(x)
        s = self.s
        return gy * (s * (1 + self.x * (1 - s)))


class Softplus(Function):
    def __init__(self, beta: float, threshold: float) -> None:
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        bx = x * self.beta
        lin = bx > self.threshold
        # log(1 + e^bx) = max(bx, 0) + log1p(e^-|bx|): never overflows
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        if self.requires_grad:
            self.bx, self.lin = bx, lin
        return xp.where(lin, x, soft)

    def backward(self, gy: Any) -> Any:
        # d softplus = sigmoid(beta x) (1 above the threshold, where softplus(x) = x)
        xp = get_array_module(gy)
        return xp.where(self.lin, gy, gy * _sigmoid(xp, self.bx))


class Hardtanh(Function):
    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        if self.requires_grad:
            self.inside = (x > self.lo) & (x < self.hi)
        return xp.clip(x, self.lo, self.hi)

    def backward(self, gy: Any) -> Any:
        # d hardtanh = 1 strictly inside (min_val, max_val), 0 elsewhere (as torch)
        return gy * self.inside


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise.

    Shape:
        x: any; output: same as x.
    """
    return ELU(alpha)(x)


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x Φ(x) (``approximate="none"``, exact, erf-based) or
    its tanh approximation 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))) (``"tanh"``).

    Both forms compute in the input's dtype: a float32 input makes no float64 temporaries
    (Cody's erfc in float32 is accurate to float32 rounding; float64 matches torch to 1e-10).

    Shape:
        x: any; output: same as x.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU(approximate)(x)


def silu(x: Any) -> Tensor:
    """Sigmoid-weighted linear unit (swish): x · sigmoid(x).

    Shape:
        x: any; output: same as x.
    """
    return SiLU()(x)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Smooth ReLU (1/beta) log(1 + e^(beta x)); x itself where beta x > threshold.

    Shape:
        x: any; output: same as x.
    """
    if beta <= 0:
        raise ValueError(f"softplus: beta must be > 0, got {beta}")
    return Softplus(beta, threshold)(x)


def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val].

    Shape:
        x: any; output: same as x.
    """
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be < max_val ({max_val})")
    return Hardtanh(float(min_val), float(max_val))(x)

"""One-pass, vectorized optimizer updates compiled by numba (an optional accelerator).

NumPy's ufuncs run on one core and each makes a full pass over the parameter, so Adam's
update costs about a dozen passes over memory per parameter per step: as much time as
all of a small MLP's matrix products. With numba installed (``pip install deepgrad[fast]``)
the whole update is one SIMD loop over the elements (3-6x faster), computed in the
parameter's dtype with the same operations in the same order as the ufunc path in
``functional``, so both give the same numbers (the tests compare them to within one ulp).

Used for NumPy arrays that are C-contiguous float32 or float64 of one dtype; anything else
(CuPy arrays, other dtypes) takes the ufunc path. ``DEEPGRAD_NUMBA=0`` in the environment
turns the automatic use off; ``Adam(..., fused=False)`` does so for one optimizer.
Kernels are compiled on first use and cached on disk by numba.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["available", "unavailable_reason", "qualifies", "adam_step"]

_kernels: dict[str, Any] | None = None
_error: str | None = None


def _compile() -> dict[str, Any] | None:
    """Import numba and build the kernels once; None (with the reason kept) without numba."""
    global _kernels, _error
    if _kernels is not None or _error is not None:
        return _kernels
    try:
        import numba
    except ImportError as exc:  # numba is optional
        _error = f"numba is not installed ({exc}); pip install 'deepgrad[fast]'"
        return None

    # One thread, on purpose: a parallel loop (numba's thread pool) measured 17x slower in
    # a training step, its threads and OpenBLAS's spinning ones fighting over the cores.
    # error_model="numpy" drops the division-by-zero checks, which lets LLVM vectorize.
    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def adam_kernel(p, g, m, v, vmax, one_minus_b1, b2, one_minus_b2, eps_t, neg_alpha,
                    wd, decay, maximize, amsgrad):  # pragma: no cover - compiled
        for i in range(p.size):
            pi = p[i]
            if decay != 1:  # AdamW: theta = theta (1 - lr lambda)
                pi = pi * decay
            gi = g[i]
            if wd != 0:  # Adam's L2 term, as functional._effective_grad adds it
                gi = (pi * wd - gi) if maximize else (gi + pi * wd)
            elif maximize:
                gi = -gi
            mi = m[i]
            mi = mi + (gi - mi) * one_minus_b1
            vi = v[i] * b2 + (gi * gi) * one_minus_b2
            m[i] = mi
            v[i] = vi
            if amsgrad:  # v_max = max(v_max, v), a NaN in either kept, as np.maximum does
                vm = vmax[i]
                if vm > vi or vm != vm:
                    vi = vm
                vmax[i] = vi
            p[i] = pi + (mi / (math.sqrt(vi) + eps_t)) * neg_alpha

    _kernels = {"adam": adam_kernel}
    return _kernels


def available() -> bool:
    """True when numba is importable (the compiled updates can be used)."""
    return _compile() is not None


def unavailable_reason() -> str | None:
    """Why the compiled updates are unavailable, or None when they are available."""
    _compile()
    return _error


def auto_enabled() -> bool:
    """Whether ``fused=None`` uses the compiled updates: not turned off by ``DEEPGRAD_NUMBA=0``."""
    return os.environ.get("DEEPGRAD_NUMBA", "1").strip().lower() not in ("0", "false", "no", "off")


def qualifies(param: Any, grad: Any, *state: Any) -> bool:
    """True when the compiled update can take these arrays.

    ``param`` and every ``state`` array: C-contiguous NumPy float32/float64 arrays of one
    dtype and shape; ``grad``: a NumPy array (or NumPy scalar) of that dtype and shape, copied to
    contiguous memory first when it is not.
    """
    if type(param) is not np.ndarray or param.dtype not in (np.float32, np.float64):
        return False
    if not isinstance(grad, np.ndarray | np.generic) or grad.dtype != param.dtype \
            or grad.shape != param.shape:
        return False
    return param.flags.c_contiguous and all(
        type(a) is np.ndarray and a.dtype == param.dtype and a.flags.c_contiguous
        and a.shape == param.shape
        for a in state
    )


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """``functional.adam_step`` as one compiled pass (see there for the formulas).

    The arrays must satisfy :func:`qualifies` (``param, grad, exp_avg, exp_avg_sq`` and
    ``max_exp_avg_sq`` with amsgrad); the scalars are cast to their dtype first,
    so a float32 update stays float32 throughout.
    """
    kernels = _compile()
    if kernels is None:
        raise ImportError(f"fused Adam needs numba: {_error}")
    dt = param.dtype.type
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    decay = 1.0 - lr * weight_decay if decoupled_weight_decay else 1.0
    wd = 0.0 if decoupled_weight_decay else weight_decay
    vmax = max_exp_avg_sq if amsgrad else exp_avg_sq
    if type(grad) is not np.ndarray or not grad.flags.c_contiguous:
        grad = np.ascontiguousarray(grad)  # a NumPy scalar (0-d result), or strided
    kernels["adam"](
        param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
        vmax.reshape(-1), dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2),
        dt(eps * bias_correction2_sqrt), dt(-lr * bias_correction2_sqrt / bias_correction1),
        dt(wd), dt(decay), bool(maximize), bool(amsgrad),
    )

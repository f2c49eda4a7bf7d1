"""Optional compiled kernels (numba): one-pass Adam updates and ReLU, used when installed.

NumPy's ufuncs each make a full pass over memory, and some (``np.maximum(x, 0)`` with its
scalar operand) do not even vectorize well. Adam's update costs about a dozen passes per
parameter per step: as much time as all of a small MLP's matrix products. With numba
installed (``pip install deepgrad[fast]``) the whole update is one SIMD loop over the
elements (3-6x faster); ReLU's forward (output and mask) and backward are one loop each
(2-4x faster), and so is the 2x2 max-pool's backward. Each kernel computes in the array's
dtype with the same operations in the same order as the NumPy path it replaces, so both
give the same numbers (the tests compare them to within one ulp, or exactly).

Used for C-contiguous NumPy float32/float64 arrays; anything else (CuPy arrays, other
dtypes) takes the NumPy path. numba is imported (about 0.5 s once per process, more on the
first compile; kernels are cached on disk) only once an array of at least
``AUTO_MIN_SIZE`` elements comes by, so small models never pay for it.
``DEEPGRAD_NUMBA=0`` in the environment turns the automatic use off;
``Adam(..., fused=False)`` does so for one optimizer.

Every kernel runs on one thread, on purpose: a parallel loop (numba's thread pool)
measured 17x slower inside a training step, its threads and OpenBLAS's spinning ones
fighting over the cores. ``error_model="numpy"`` drops the division-by-zero checks, which
lets LLVM vectorize the loops.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "available",
    "unavailable_reason",
    "auto_ready",
    "takes",
    "qualifies",
    "adam_step",
    "adam_group_step",
    "relu_forward",
    "relu_backward",
    "maxpool2x2_backward",
    "relu_into",
    "relu_backward_into",
    "softmax_xent_grad",
    "take_rows_into",
    "build_kernels",
]

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

    _kernels = _made(numba, _build)
    return _kernels


def _made(numba: Any, make: Callable[[Any, bool], dict[str, Any]]) -> dict[str, Any]:
    """``make(numba, cache)``: with numba's on-disk cache, or in memory only when no cache
    directory is writable."""
    try:
        return make(numba, True)
    except (RuntimeError, OSError):
        return make(numba, False)


_more: dict[Any, dict[str, Any]] = {}


def build_kernels(make: Callable[[Any, bool], dict[str, Any]]) -> dict[str, Any]:
    """The kernels ``make(numba, cache)`` returns, built once per process: how the kernel
    modules beside the ops (im2col, batch norm, max-pool) get theirs. Call it only where
    :func:`takes` said yes (numba importable)."""
    kernels = _more.get(make)
    if kernels is None:
        import numba

        kernels = _more[make] = _made(numba, make)
    return kernels


def _build(numba: Any, cache: bool) -> dict[str, Any]:
    """The kernels, as numba dispatchers (compiled lazily, per dtype, on first call)."""
    jit = numba.njit(cache=cache, nogil=True, error_model="numpy")

    @jit
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

    @jit
    def adam_group_kernel(ps, gs, ms, vs, vmaxs, one_minus_b1, b2, one_minus_b2, eps_t,
                          neg_alpha, wd, decay, maximize, amsgrad):  # pragma: no cover
        for j in range(len(ps)):  # adam_kernel on each parameter of a tuple: one dispatch
            adam_kernel(ps[j], gs[j], ms[j], vs[j], vmaxs[j], one_minus_b1, b2,
                        one_minus_b2, eps_t, neg_alpha, wd, decay, maximize, amsgrad)

    @jit
    def relu_kernel(x, y):  # pragma: no cover - compiled
        for i in range(x.size):  # y = max(x, 0), a NaN kept as np.maximum does
            v = x[i]
            y[i] = v if (v > 0 or v != v) else 0

    @jit
    def relu_mask_kernel(x, y, mask):  # pragma: no cover - compiled
        for i in range(x.size):  # and mask = x > 0, in the same pass
            v = x[i]
            pos = v > 0
            mask[i] = pos
            y[i] = v if (pos or v != v) else 0

    @jit
    def relu_backward_kernel(gy, mask, gx):  # pragma: no cover - compiled
        for i in range(gy.size):
            gx[i] = gy[i] if mask[i] else 0

    @jit
    def maxpool2x2_backward_kernel(gy, idx, gx):  # pragma: no cover - compiled
        # gy, idx: (P, OH, OW); gx: (P, 2 OH, 2 OW). Each window's gradient goes to its
        # (first) maximum, offset idx = 2 i + j; every input pixel is written once.
        for p in range(gy.shape[0]):
            for oy in range(gy.shape[1]):
                for ox in range(gy.shape[2]):
                    g = gy[p, oy, ox]
                    t = idx[p, oy, ox]
                    gx[p, 2 * oy, 2 * ox] = g if t == 0 else 0
                    gx[p, 2 * oy, 2 * ox + 1] = g if t == 1 else 0
                    gx[p, 2 * oy + 1, 2 * ox] = g if t == 2 else 0
                    gx[p, 2 * oy + 1, 2 * ox + 1] = g if t == 3 else 0

    @jit
    def xent_grad_kernel(s, labels, g, gx):  # pragma: no cover - compiled
        # gx = softmax * g, then g taken off at each row's label (the eager op's two steps)
        n, c = s.shape
        for i in range(n):
            for j in range(c):
                gx[i, j] = s[i, j] * g
            gx[i, labels[i]] -= g

    @jit
    def take_rows_kernel(x, rows, out):  # pragma: no cover - compiled
        # out[i] = x[rows[i]], cast to out's dtype as it is stored (one pass, no temporary)
        for i in range(rows.size):
            r = rows[i]
            for j in range(x.shape[1]):
                out[i, j] = x[r, j]

    return {"adam": adam_kernel, "adam_group": adam_group_kernel, "relu": relu_kernel,
            "relu_mask": relu_mask_kernel,
            "relu_backward": relu_backward_kernel, "xent_grad": xent_grad_kernel,
            "maxpool2x2_backward": maxpool2x2_backward_kernel, "take_rows": take_rows_kernel}


def _require(what: str) -> dict[str, Any]:
    """The kernels, or an ImportError saying that ``what`` needs numba and why it is missing."""
    kernels = _compile()
    if kernels is None:
        raise ImportError(f"{what} needs numba: {_error}")
    return kernels


def _contiguous(a: Any) -> np.ndarray:
    """``a`` as a C-contiguous ndarray: itself when it is one, else a copy (a NumPy scalar
    from a 0-d result, or a strided view)."""
    if type(a) is np.ndarray and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a)


def _plain(a: Any) -> np.ndarray:
    """``a`` as a C-contiguous, aligned, writeable ndarray (a copy unless it is one): the
    arrays of one tuple argument of a kernel must all have the same numba type."""
    if type(a) is np.ndarray:
        f = a.flags
        if f.c_contiguous and f.writeable and f.aligned:
            return a
    return np.array(a, order="C")


def available() -> bool:
    """True when numba is importable (the compiled kernels can be used)."""
    return _compile() is not None


def unavailable_reason() -> str | None:
    """Why the compiled kernels are unavailable, or None when they are available."""
    _compile()
    return _error


#: the automatic path imports numba only once an array this large comes by
AUTO_MIN_SIZE = 4096


def auto_ready(size: int) -> bool:
    """Whether the automatic choice takes a compiled kernel for an array of ``size``
    elements: once the kernels are loaded, always; before, only for a large enough array
    (which loads them); never with ``DEEPGRAD_NUMBA=0``."""
    if not auto_enabled():
        return False
    if _kernels is not None:
        return True
    if _error is not None or size < AUTO_MIN_SIZE:
        return False
    return _compile() is not None


def auto_enabled() -> bool:
    """Whether the automatic choice may use the kernels: not turned off by ``DEEPGRAD_NUMBA=0``."""
    return os.environ.get("DEEPGRAD_NUMBA", "1").strip().lower() not in ("0", "false", "no", "off")


#: below this many elements a kernel call (about 3 us of dispatch) loses to NumPy's ufuncs
ELEMENTWISE_MIN_SIZE = 2048


def takes(x: Any) -> bool:
    """Whether the automatic choice runs a compiled elementwise kernel on ``x``: a
    C-contiguous NumPy float32/float64 array of at least ``ELEMENTWISE_MIN_SIZE``
    elements, with :func:`auto_ready` for its size."""
    return (type(x) is np.ndarray and x.size >= ELEMENTWISE_MIN_SIZE and x.dtype in _FLOATS
            and x.flags.c_contiguous and auto_ready(x.size))


_FLOATS = (np.float32, np.float64)


def qualifies(param: Any, grad: Any, *state: Any) -> bool:
    """True when the compiled update can take these arrays.

    ``param`` and every ``state`` array: C-contiguous NumPy float32/float64 arrays of one
    dtype and shape; ``grad``: a NumPy array (or NumPy scalar) of that dtype and shape, copied to
    contiguous memory first when it is not.
    """
    if type(param) is not np.ndarray or param.dtype not in _FLOATS:
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
    kernels = _require("fused Adam")
    vmax = max_exp_avg_sq if amsgrad else exp_avg_sq
    kernels["adam"](
        param.reshape(-1), _contiguous(grad).reshape(-1), exp_avg.reshape(-1),
        exp_avg_sq.reshape(-1), vmax.reshape(-1),
        *_adam_scalars(param.dtype.type, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
                       maximize, decoupled_weight_decay),
    )


def _adam_scalars(dt: Any, step: int, lr: float, beta1: float, beta2: float, eps: float,
                  weight_decay: float, amsgrad: bool, maximize: bool, decoupled: bool
                  ) -> tuple[Any, ...]:
    """The Adam kernel's scalar arguments after its arrays, cast to the dtype ``dt``."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    decay = 1.0 - lr * weight_decay if decoupled else 1.0
    wd = 0.0 if decoupled else weight_decay
    return (dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2), dt(eps * bias_correction2_sqrt),
            dt(-lr * bias_correction2_sqrt / bias_correction1), dt(wd), dt(decay),
            bool(maximize), bool(amsgrad))


#: parameters per call of the group kernel: its tuples have this fixed length (padded
#: with empty arrays), so it is compiled once per dtype, whatever the model
GROUP_ARITY = 8
_EMPTY: dict[Any, np.ndarray] = {}  # the padding, one per dtype (never written)


def adam_group_step(
    params: list[np.ndarray],
    grads: list[np.ndarray],
    exp_avgs: list[np.ndarray],
    exp_avg_sqs: list[np.ndarray],
    max_exp_avg_sqs: list[np.ndarray] | None,
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
    """:func:`adam_step` on several parameters at the same ``step``, in calls of
    ``GROUP_ARITY`` parameters each: the same kernel on each, so the same numbers, with the
    per-parameter Python and dispatch paid once per call.

    Every ``(param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq])`` must satisfy
    :func:`qualifies`, all of one dtype, with writeable, aligned parameters and states (a
    read-only or strided gradient is copied first).
    """
    kernels = _require("fused Adam")
    scalars = _adam_scalars(params[0].dtype.type, step, lr, beta1, beta2, eps, weight_decay,
                            amsgrad, maximize, decoupled_weight_decay)
    vmaxs = max_exp_avg_sqs if amsgrad else exp_avg_sqs
    empty = _EMPTY.get(params[0].dtype)
    if empty is None:
        empty = _EMPTY[params[0].dtype] = np.empty(0, params[0].dtype)
    n, k = len(params), GROUP_ARITY
    for lo in range(0, n, k):
        hi = min(n, lo + k)
        pad = (empty,) * (lo + k - hi)
        kernels["adam_group"](
            tuple([a.reshape(-1) for a in params[lo:hi]]) + pad,
            tuple([_plain(g).reshape(-1) for g in grads[lo:hi]]) + pad,
            tuple([a.reshape(-1) for a in exp_avgs[lo:hi]]) + pad,
            tuple([a.reshape(-1) for a in exp_avg_sqs[lo:hi]]) + pad,
            tuple([a.reshape(-1) for a in vmaxs[lo:hi]]) + pad,
            *scalars)


def relu_forward(x: np.ndarray, mask: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``max(x, 0)`` and, when ``mask``, the boolean ``x > 0``, in one pass.

    ``x``: a C-contiguous NumPy float32/float64 array (see :func:`takes`).
    """
    kernels = _require("compiled ReLU")
    y = np.empty_like(x)
    if not mask:
        kernels["relu"](x.reshape(-1), y.reshape(-1))
        return y, None
    m = np.empty(x.shape, dtype=np.bool_)
    kernels["relu_mask"](x.reshape(-1), y.reshape(-1), m.reshape(-1))
    return y, m


def relu_backward(gy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``gy`` where ``mask``, else 0 (``gy * mask`` in one pass, no bool-to-float cast)."""
    kernels = _require("compiled ReLU")
    gy = _contiguous(gy)
    gx = np.empty_like(gy)
    kernels["relu_backward"](gy.reshape(-1), mask.reshape(-1), gx.reshape(-1))
    return gx


def relu_into(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> None:
    """:func:`relu_forward` into given C-contiguous buffers ``y`` (like ``x``) and ``mask``
    (bool): nothing allocated."""
    _require("compiled ReLU")["relu_mask"](x.reshape(-1), y.reshape(-1), mask.reshape(-1))


def relu_backward_into(gy: np.ndarray, mask: np.ndarray, gx: np.ndarray) -> None:
    """:func:`relu_backward` into a given C-contiguous buffer ``gx``."""
    _require("compiled ReLU")["relu_backward"](_contiguous(gy).reshape(-1), mask.reshape(-1),
                                               gx.reshape(-1))


def softmax_xent_grad(softmax: np.ndarray, labels: np.ndarray, g: Any, gx: np.ndarray
                      ) -> None:
    """The cross-entropy's logit gradient into ``gx``: ``softmax * g``, then ``g`` taken
    off at each row's label; ``softmax`` and ``gx`` (N, C) C-contiguous, ``labels`` (N,)
    integers in [0, C), ``g`` the per-row factor (a scalar of their dtype)."""
    _require("compiled cross-entropy gradient")["xent_grad"](
        softmax, labels, softmax.dtype.type(g), gx)


def take_rows_into(x: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = x[rows]`` (cast to ``out``'s dtype) in one pass, with no temporary:
    a minibatch gathered from float64 data straight into a float32 batch buffer.

    ``x`` (N, D) a NumPy float array (any strides); ``rows`` (B,) integers in [0, N),
    not checked; ``out`` (B, D) a writable float array.
    """
    _require("compiled row gather")["take_rows"](x, rows, out)


def maxpool2x2_backward(gy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Max-pool backward for 2x2 windows at stride 2 tiling the image (no padding).

    ``gy`` (N, C, OH, OW) float; ``idx`` (N, C, OH, OW) the offset ``2 i + j`` of each
    window's first maximum. Returns the input gradient (N, C, 2 OH, 2 OW) in one pass
    (1.5-1.8x faster than four compare-and-multiply passes).
    """
    kernels = _require("compiled max-pool")
    gy = _contiguous(gy)
    n, c, oh, ow = gy.shape
    gx = np.empty((n, c, 2 * oh, 2 * ow), dtype=gy.dtype)
    kernels["maxpool2x2_backward"](gy.reshape(n * c, oh, ow),
                                   _contiguous(idx).reshape(n * c, oh, ow),
                                   gx.reshape(n * c, 2 * oh, 2 * ow))
    return gx

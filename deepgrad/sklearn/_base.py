"""What the four estimators share: scikit-learn's input validation, the training step with
per-example weights, one epoch of minibatches, and prediction in chunks.

The loop is explicit (not ``Module.fit``) because scikit-learn's contract needs what
``fit`` does not offer: ``sample_weight`` per example, an L2 penalty scaled by the batch's
weight as scikit-learn's MLP scales it, sparse inputs densified batch by batch, and
shuffling drawn from ``random_state`` exactly as scikit-learn draws it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .. import _accel, _random
from .. import losses as L
from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ..callbacks import divergence_error
from ..train.compiled import CompiledStep, NonFiniteLoss

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est: Any, *args: Any, **kwargs: Any) -> Any:
        return est._validate_data(*args, **kwargs)

__all__ = ["NetBase", "validate_data", "seeded", "LOSSES", "check_dtype", "PREDICT_CHUNK",
           "expected_failed_checks", "as_dtype"]

validate_data = _validate_data
PREDICT_CHUNK = 4096
_FLOAT_DTYPES = (np.float64, np.float32)


#: what a diverged fit's error suggests
_DIVERGED_HINT = "scale the inputs (StandardScaler) or lower the learning rate"


@contextlib.contextmanager
def seeded(gen: np.random.Generator) -> Iterator[None]:
    """Make ``gen`` deepgrad's default generator for the block (layers built or dropout
    masks drawn without an explicit ``rng=`` then follow ``random_state``)."""
    old = _random._default
    _random._default = gen
    try:
        yield
    finally:
        _random._default = old


def check_dtype(dtype: Any, X: Any) -> np.dtype:
    """The training dtype: ``dtype`` ("float32"/"float64"), or X's for None."""
    if dtype is None:
        return np.dtype(X.dtype)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be 'float32', 'float64' or None, got {dtype!r}")
    return dt


_FLOAT32_REASON = (
    "float32 training (the default dtype): {what} agree to about 1e-7 relative, the "
    "check asks for rtol=1e-7; it passes with dtype='float64'")


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """The scikit-learn estimator checks ``estimator`` cannot pass, with the reason.

    Pass the result to ``check_estimator(est, expected_failed_checks=...)`` or
    ``parametrize_with_checks``; scikit-learn < 1.6 reads it from the ``_xfail_checks``
    tag. Empty for ``dtype="float64"``: all checks pass.
    """
    dtype = getattr(estimator, "dtype", "float32")
    if dtype is not None and np.dtype(dtype) == np.float32:
        weights = _FLOAT32_REASON.format(
            what="fits with integer sample weights and with repeated rows sum the same "
                 "numbers in another order, so their predictions")
        subset = _FLOAT32_REASON.format(
            what="BLAS products of a subset of rows and of all rows")
        return {"check_sample_weight_equivalence_on_dense_data": weights,
                "check_sample_weight_equivalence_on_sparse_data": weights,
                "check_methods_subset_invariance": subset}
    return {}


# ----------------------------------------------------------------------------- losses
# Each maps logits z (N, k) and targets t (N, k) to per-example losses (N,), as the
# matching scikit-learn loss does before its weighted average over examples.

def _softmax_ce(z: Tensor, t: np.ndarray) -> Tensor:
    return L.cross_entropy(z, t.argmax(axis=1), reduction="none")


def _logistic(z: Tensor, t: np.ndarray) -> Tensor:
    return L.binary_cross_entropy_with_logits(z, t.astype(z.dtype), reduction="none").sum(axis=1)


def _half_squared(z: Tensor, t: np.ndarray) -> Tensor:
    # summed over outputs: the gradient scikit-learn's MLPRegressor steps along (it reports
    # the mean over outputs: see NetBase._report_scale)
    return ((z - t.astype(z.dtype)) ** 2).sum(axis=1) * 0.5


def _squared(z: Tensor, t: np.ndarray) -> Tensor:
    return ((z - t.astype(z.dtype)) ** 2).mean(axis=1)


def _absolute(z: Tensor, t: np.ndarray) -> Tensor:
    return (z - t.astype(z.dtype)).abs().mean(axis=1)


def _huber(z: Tensor, t: np.ndarray) -> Tensor:
    return L.huber_loss(z, t.astype(z.dtype), reduction="none").mean(axis=1)


def _half_poisson(z: Tensor, t: np.ndarray) -> Tensor:
    # scikit-learn's half Poisson deviance with log link: Σ_k y log y − y z − y + exp(z)
    ta = t.astype(z.dtype)
    const = np.where(ta > 0, ta * np.log(np.where(ta > 0, ta, 1)), 0) - ta
    return (z.exp() - z * ta + const).sum(axis=1)


LOSSES: dict[str, Callable[[Tensor, np.ndarray], Tensor]] = {
    "softmax": _softmax_ce, "logistic": _logistic, "half_squared_error": _half_squared,
    "squared_error": _squared, "absolute_error": _absolute, "huber": _huber,
    "half_poisson": _half_poisson,
}


def as_dtype(X: Any, dtype: np.dtype) -> Any:
    """X as the epochs take it: sparse X stays sparse (densified batch by batch); dense X of
    another float dtype stays as it is when numba can gather each batch with the cast
    (:func:`_accel.take_rows_into`: no full copy of X), else it is converted once."""
    if sparse.issparse(X):
        return X
    X = np.asarray(X)
    if X.dtype != dtype and X.ndim == 2 and X.dtype in _FLOAT_DTYPES and \
            _accel.auto_ready(X.size):
        return X
    return np.asarray(X, dtype=dtype)


def _dense(Xb: Any, dtype: np.dtype) -> np.ndarray:
    if sparse.issparse(Xb):
        Xb = Xb.toarray()
    return np.ascontiguousarray(Xb, dtype=dtype)


class NetBase(BaseEstimator):
    """Training and prediction shared by the four estimators.

    Subclasses set, when the model is built: ``module_`` (the deepgrad Module),
    ``optimizer_``, ``_loss_name`` (a key of LOSSES), ``_dtype``; and define
    ``_logits(x)`` (the model's pre-activation outputs) and ``_penalty()``.
    """

    _device: str | None = None
    _report_scale = 1.0  # reported data loss = training loss × this

    # ------------------------------------------------------------------- validation
    def _check_X(self, X: Any, reset: bool) -> Any:
        return validate_data(self, X, accept_sparse=["csr", "csc"], dtype=_FLOAT_DTYPES,
                             reset=reset)

    def _check_weight(self, sample_weight: Any, X: Any) -> np.ndarray | None:
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=np.float64)

    # --------------------------------------------------------------------- training
    def _penalty(self) -> tuple[float, list[tuple[Any, float]]]:
        """(0.5·Σ‖W‖² scaled, [(parameter, grad factor)]) of an L2 term; none by default."""
        return 0.0, []

    def _logits(self, x: Tensor) -> Tensor:
        return self.module_(x)

    def _loss_fn(self) -> Callable[[Tensor, np.ndarray], Tensor]:
        name = self._loss_name
        return LOSSES[name] if isinstance(name, str) else name

    def _compiled_step(self) -> CompiledStep:
        """The model's compiled step (deepgrad.compile_step), made again when the model or
        the optimizer changed; its update hook adds the L2 penalty's gradient."""
        step = self.__dict__.get("_jit_step")
        if step is None or step.model is not self.module_ or \
                step.optimizer is not self.optimizer_:
            step = CompiledStep(self.module_, self.optimizer_, self._add_penalty_grads)
            self._jit_step = step
        return step

    def _add_penalty_grads(self) -> None:
        self._penalty_grads(self._jit_penalty, self._jit_n)

    def _penalty_grads(self, grads: list[tuple[Any, float]], wsum: float) -> None:
        """``p.grad += (factor / wsum) * p.data`` for each pair (d(½α‖W‖²/Σw)/dW = αW/Σw),
        the product written into a kept scratch array instead of a fresh temporary."""
        model = self.__dict__.get("module_")
        kept = self.__dict__.get("_penalty_bufs")
        if kept is None or kept[0] is not model:  # one set per model, not per fit
            kept = self._penalty_bufs = (model, {})
        bufs = kept[1]
        for p, factor in grads:
            g = p.grad
            if g is None:
                continue
            w = p.data
            if type(w) is not np.ndarray:  # CuPy: the plain expression
                g += (factor / wsum) * w
                continue
            tmp = bufs.get(id(p))
            if tmp is None or tmp.shape != w.shape or tmp.dtype != w.dtype:
                tmp = bufs[id(p)] = np.empty_like(w)
            np.multiply(w, factor / wsum, out=tmp)
            g += tmp

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: it may be the live __dict__
        state.pop("_penalty_bufs", None)  # scratch space, made again when needed
        state.pop("_batch_buf", None)
        return state

    def _step(self, xb: np.ndarray, tb: np.ndarray, wb: np.ndarray | None,
              epoch: int, b: int) -> float:
        """One gradient step on a batch; its loss (as scikit-learn's MLP reports it)."""
        opt = self.optimizer_
        device = self._device or "cpu"
        if wb is None and device == "cpu" and self._loss_name == "softmax" \
                and type(xb) is np.ndarray:
            step = self._compiled_step()
            if step.lowered:  # a dense chain: no graph, the same numbers
                pen, self._jit_penalty = self._penalty()
                self._jit_n = float(len(xb))
                lv = pen / self._jit_n
                with np.errstate(over="ignore", invalid="ignore"):
                    try:
                        if np.isfinite(lv):  # else nothing is updated, as below
                            lv += step(xb, tb.argmax(axis=1))
                    except NonFiniteLoss as e:
                        lv = e.value
                if not np.isfinite(lv):
                    raise divergence_error(lv, epoch, b, _DIVERGED_HINT)
                return lv
        x = Tensor(to_device(xb, device))
        if device != "cpu":  # targets and weights follow the model (CuPy)
            tb = to_device(tb, device)
            wb = None if wb is None else to_device(wb, device)
        with np.errstate(over="ignore", invalid="ignore"):
            per = self._loss_fn()(self._logits(x), tb)
            if per.ndim == 0:  # a user loss giving the batch mean
                if wb is not None:
                    raise ValueError("sample_weight needs a loss giving one value per "
                                     "example; the loss function returned a scalar")
                wsum, loss = float(len(xb)), per
            elif wb is None:
                wsum = float(len(xb))
                loss = per.mean()
            else:
                wsum = float(wb.sum())
                if wsum <= 0:  # every example weighs zero: nothing to learn from
                    return 0.0
                loss = (per * wb.astype(per.dtype)).sum() * (1.0 / wsum)
            pen, grads = self._penalty()
            lv = float(loss.item()) * self._report_scale + pen / wsum
            if not np.isfinite(lv):
                raise divergence_error(lv, epoch, b, _DIVERGED_HINT)
            opt.zero_grad()
            loss.backward()
            self._penalty_grads(grads, wsum)
            opt.step()
        return lv

    def _epoch(self, X: Any, T: np.ndarray, sw: np.ndarray | None, rs: Any,
               batch_size: int, order: np.ndarray | None, epoch: int,
               on_batch: Callable[[int, float, int], None] | None = None) -> float:
        """One pass over (X, T) in minibatches; returns the mean batch loss weighted by
        batch size.

        ``order`` (None: no shuffling) is the row order of the previous epoch, shuffled
        here in place by ``rs``: the draw of scikit-learn's
        ``sample_idx = shuffle(sample_idx, random_state=rs)``, whose Fisher-Yates swaps
        depend only on ``rs`` and the length, so the batches are scikit-learn's.
        """
        n = X.shape[0]
        idx = order
        if idx is not None:
            rs.shuffle(idx)
        self.module_.train()  # once per epoch, as fit does
        gather = self._gather(X, batch_size)
        total = 0.0
        for b, start in enumerate(range(0, n, batch_size)):  # sklearn's gen_batches
            sl = slice(start, min(start + batch_size, n))
            rows = idx[sl] if idx is not None else sl
            lv = self._step(gather(rows), T[rows], None if sw is None else sw[rows], epoch, b)
            size = sl.stop - sl.start
            total += lv * size
            if on_batch is not None:
                on_batch(b, lv, size)
        return total / n

    #: whether a batch may be gathered into one array reused by the next batch (the
    #: built-in MLPs, whose model keeps no reference to its inputs); False for user models
    _reuse_batches = False

    def _gather(self, X: Any, batch_size: int) -> Callable[[Any], np.ndarray]:
        """``rows -> X[rows]`` as a dense C-contiguous array of the training dtype.

        Dense float X of another dtype (see :func:`as_dtype`) is gathered and cast in one
        pass by numba, into a kept buffer when ``_reuse_batches`` (no allocation per
        batch; rows as a slice or an index array, the values the same either way)."""
        dtype = self._dtype
        if sparse.issparse(X) or X.dtype == dtype or not _accel.auto_ready(X.size):
            return lambda rows: _dense(X[rows], dtype)
        buf = None
        if self._reuse_batches:
            buf = self.__dict__.get("_batch_buf")
            if buf is None or buf.shape != (batch_size, X.shape[1]) or buf.dtype != dtype:
                buf = self._batch_buf = np.empty((batch_size, X.shape[1]), dtype=dtype)

        def gather(rows: Any) -> np.ndarray:
            if isinstance(rows, slice):
                rows = np.arange(rows.start, rows.stop)
            out = np.empty((len(rows), X.shape[1]), dtype=dtype) if buf is None else \
                buf[:len(rows)]
            _accel.take_rows_into(X, rows, out)
            return out

        return gather

    def _weighted_loss(self, X: Any, T: np.ndarray, sw: np.ndarray | None) -> float:
        """The data loss on (X, T) without training (validation loss)."""
        z = self._raw(X)
        with no_grad():
            per = to_numpy(self._loss_fn()(Tensor(z), T).data).astype(np.float64)
        return float(np.average(per, weights=None if per.ndim == 0 else sw))

    # ------------------------------------------------------------------- prediction
    def _raw(self, X: Any) -> np.ndarray:
        """The model's logits on validated X, in eval mode, in chunks."""
        module = self.module_
        was = module.training
        module.eval()
        outs = []
        try:
            with no_grad():
                for s in range(0, X.shape[0], PREDICT_CHUNK):
                    xb = Tensor(to_device(_dense(X[s:s + PREDICT_CHUNK], self._dtype),
                                          self._device or "cpu"))
                    outs.append(to_numpy(self._logits(xb).data))
        finally:
            module.train(was)
        if not outs:
            return np.zeros((0, self.n_outputs_), dtype=self._dtype)
        return np.concatenate(outs).reshape(X.shape[0], -1)

    def _decision(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        """Validated X's logits, and the float dtype of X (outputs are returned in it)."""
        check_is_fitted(self)
        Xv = self._check_X(X, reset=False)
        return self._raw(Xv), Xv.dtype

    # ------------------------------------------------------------------------- tags
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"multioutput": True, "_xfail_checks": expected_failed_checks(self)}

    def _check_fitted(self) -> None:
        check_is_fitted(self)

"""scikit-learn's MLP solvers on a deepgrad model: the stochastic loop ("adam", "sgd") with
its stopping rules, learning-rate schedules and early stopping, and "lbfgs" through
``scipy.optimize.minimize`` with gradients from deepgrad's autograd."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ._base import LOSSES, PREDICT_CHUNK, _dense, as_dtype

__all__ = ["fit_stochastic", "fit_lbfgs"]


def _split(est: Any, X: Any, Y: np.ndarray, sw: np.ndarray | None, rs: Any) -> tuple:
    """scikit-learn's early-stopping split: stratified for single-output classifiers."""
    stratify = Y if is_classifier(est) and Y.shape[1] == 1 else None
    arrays = [X, Y] if sw is None else [X, Y, sw]
    parts = train_test_split(*arrays, random_state=rs, test_size=est.validation_fraction,
                             stratify=stratify)
    X_tr, X_val, Y_tr, Y_val = parts[:4]
    sw_tr, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return X_tr, Y_tr, sw_tr, X_val, Y_val, sw_val


def _val_score(est: Any, X_val: Any, Y_val: np.ndarray, sw_val: np.ndarray | None) -> float:
    """Accuracy (classifiers) or R² (regressors) on the held-out part, as scikit-learn."""
    z = est._raw(X_val)
    if not np.isfinite(z).all():
        return float("nan")
    if is_classifier(est):
        y_true = est._label_binarizer.inverse_transform(Y_val)
        if est.head_ == "softmax" or (z.shape[1] > 1 and not est._multilabel()):
            y_pred = est.classes_[np.argmax(z, axis=1)]
        else:
            p = 1 / (1 + np.exp(-z.astype(np.float64)))
            y_pred = est._label_binarizer.inverse_transform(p.ravel() if p.shape[1] == 1
                                                            else p)
        return float(accuracy_score(y_true, y_pred, sample_weight=sw_val))
    if est.head_ == "exp":
        z = np.exp(z.astype(np.float64))
    return float(r2_score(Y_val, z, sample_weight=sw_val))


def _no_improvement(est: Any, early: bool, val: tuple | None) -> None:
    """Update ``_no_improvement_count`` (and the best state) after an epoch."""
    if early:
        score = _val_score(est, *val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_state = {k: v.copy() for k, v in est.module_.state_dict().items()}
        return
    if est.loss_curve_[-1] > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])


def _trigger_stopping(est: Any, msg: str) -> bool:
    """scikit-learn's rule: stop, unless sgd with learning_rate="adaptive" can divide the
    rate by 5 (while it stays above 1e-6)."""
    group = est.optimizer_.param_groups[0]
    if est.solver != "sgd" or est.learning_rate != "adaptive":
        if est.verbose:
            print(msg + " Stopping.")
        return True
    if group["lr"] <= 1e-6:
        if est.verbose:
            print(msg + " Learning rate too small. Stopping.")
        return True
    group["lr"] /= 5.0
    if est.verbose:
        print(msg + f" Setting learning rate to {group['lr']:f}")
    return False


def fit_stochastic(est: Any, X: Any, Y: np.ndarray, sw: np.ndarray | None, rs: Any,
                   incremental: bool) -> None:
    """scikit-learn's ``_fit_stochastic`` on ``est.module_``: epochs of minibatches until
    ``max_iter`` or no improvement by ``tol`` for ``n_iter_no_change`` epochs."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early = est.early_stopping
    val = None
    if early:
        X, Y, sw, *val = _split(est, X, Y, sw, rs)
    n = X.shape[0]
    if est.batch_size == "auto":
        batch_size = min(200, n)
    else:
        if est.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped", stacklevel=3)
        batch_size = int(np.clip(est.batch_size, 1, n))
    T = est._targets(Y)
    X = as_dtype(X, est._dtype)
    est.n_iter_ = 0
    order = np.arange(n) if est.shuffle else None
    for _ in range(est.max_iter):
        est.loss_ = est._epoch(X, T, sw, rs, batch_size, order, est.n_iter_)
        est.n_iter_ += 1
        est.t_ += n
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        _no_improvement(est, early, val)
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            est.optimizer_.param_groups[0]["lr"] = (
                float(est.learning_rate_init) / (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if early else "Training loss"
            msg = (f"{what} did not improve more than tol={est.tol:f} for "
                   f"{est.n_iter_no_change} consecutive epochs.")
            if _trigger_stopping(est, msg):
                break
            est._no_improvement_count = 0
        if incremental:
            break
        if est.n_iter_ == est.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
    if early:  # scikit-learn restores the weights of the best validation score
        est.module_.load_state_dict(est._best_state)


def _unpack(theta: np.ndarray, params: list[Any]) -> None:
    pos = 0
    for p in params:
        p.data[...] = to_device(theta[pos:pos + p.data.size].reshape(p.data.shape),
                                p.device).astype(p.data.dtype)
        pos += p.data.size


def _loss_grad(theta: np.ndarray, est: Any, params: list[Any], X: Any, T: np.ndarray,
               sw: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Full-batch loss and its gradient at the packed parameters ``theta``."""
    _unpack(theta, params)
    module = est.module_
    module.train()
    module.zero_grad()
    n = X.shape[0]
    wsum = float(n if sw is None else sw.sum())
    total = 0.0
    for s in range(0, n, PREDICT_CHUNK):
        xb = Tensor(to_device(_dense(X[s:s + PREDICT_CHUNK], est._dtype),
                              est._device or "cpu"))
        device = est._device or "cpu"
        per = LOSSES[est._loss_name](est._logits(xb), to_device(T[s:s + PREDICT_CHUNK], device))
        w = None if sw is None else to_device(sw[s:s + PREDICT_CHUNK].astype(per.dtype), device)
        part = (per.sum() if w is None else (per * w).sum()) * (1.0 / wsum)
        part.backward()
        total += float(part.item())
    pen, grads = est._penalty()
    est._penalty_grads(grads, wsum)
    grad = np.concatenate([np.zeros(p.data.size) if p.grad is None
                           else to_numpy(p.grad).astype(np.float64).ravel() for p in params])
    est._lbfgs_data_loss = total
    return total + pen / wsum, grad


def fit_lbfgs(est: Any, X: Any, Y: np.ndarray, sw: np.ndarray | None) -> None:
    """scikit-learn's "lbfgs" solver: L-BFGS-B on all parameters at once."""
    params = list(est.module_.parameters())
    theta0 = np.concatenate([to_numpy(p.data).astype(np.float64).ravel() for p in params])
    T = est._targets(Y)
    res = scipy.optimize.minimize(
        _loss_grad, theta0, args=(est, params, X, T, sw), method="L-BFGS-B", jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    _unpack(res.x, params)
    if res.status != 0:
        warnings.warn(f"lbfgs failed to converge after {res.nit} iteration(s) "
                      f"(status={res.status}): {res.message}. Increase max_iter or scale "
                      "the data.", ConvergenceWarning, stacklevel=3)
    est.n_iter_ = min(int(res.nit), est.max_iter)
    pen, _ = est._penalty()
    est.loss_ = float(est._lbfgs_data_loss * est._report_scale + pen / (
        X.shape[0] if sw is None else sw.sum()))

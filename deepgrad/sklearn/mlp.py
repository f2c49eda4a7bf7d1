"""MLPClassifier and MLPRegressor: scikit-learn's multi-layer perceptrons on deepgrad.

Same parameters, defaults and fitted attributes as ``sklearn.neural_network``'s, the same
initialization (Glorot uniform drawn from ``random_state``), loss (log-loss or half squared
error plus ``alpha/2·Σ‖W‖²`` over the batch's weight), minibatch order and stopping rules;
so swapping the import keeps code working. Added: ``dropout``, ``batch_norm``, ``dtype``
(float32 by default: faster) and ``device``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .. import nn, optim
from ..backend import default_dtype
from ._base import NetBase, check_dtype, seeded
from ._outputs import ClassifierOutputs, RegressorOutputs
from ._solvers import fit_lbfgs, fit_stochastic

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"identity": nn.Identity, "logistic": nn.Sigmoid, "tanh": nn.Tanh,
                "relu": nn.ReLU}


def _check(ok: bool, est: Any, name: str, want: str) -> None:
    if not ok:
        raise ValueError(f"The '{name}' parameter of {type(est).__name__} must be {want}. "
                         f"Got {getattr(est, name)!r} instead.")


def _num(v: Any, kind: type = Real) -> bool:
    return isinstance(v, kind) and not isinstance(v, bool)


def _stochastic(est: Any) -> bool:
    """partial_fit exists for the stochastic solvers only (as in scikit-learn)."""
    if est.solver not in ("adam", "sgd"):
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


class _MLP(NetBase):
    """Parameters, model building and fitting shared by MLPClassifier and MLPRegressor."""

    _reuse_batches = True  # the model is built here and keeps no reference to its inputs

    def _check_params(self) -> list[int]:
        """Validate the hyperparameters (at fit, as scikit-learn does); the hidden sizes."""
        h = self.hidden_layer_sizes
        sizes = list(h) if isinstance(h, Iterable) and not isinstance(h, str) else [h]
        _check(all(_num(s, Integral) for s in sizes), self, "hidden_layer_sizes",
               "an int or a sequence of ints")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        _check(self.activation in _ACTIVATIONS, self, "activation",
               f"a str among {set(_ACTIVATIONS)}")
        _check(self.solver in ("adam", "sgd", "lbfgs"), self, "solver",
               "a str among {'adam', 'sgd', 'lbfgs'}")
        _check(self.learning_rate in ("constant", "invscaling", "adaptive"), self,
               "learning_rate", "a str among {'constant', 'invscaling', 'adaptive'}")
        _check(self.batch_size == "auto" or (_num(self.batch_size, Integral)
                                              and self.batch_size >= 1), self, "batch_size",
               "an int in the range [1, inf) or 'auto'")
        for name, lo, hi, closed in (
                ("alpha", 0, math.inf, True), ("learning_rate_init", 0, math.inf, False),
                ("power_t", 0, math.inf, True), ("tol", 0, math.inf, True),
                ("momentum", 0, 1, True), ("epsilon", 0, math.inf, False),
                ("beta_1", 0, 1, True), ("beta_2", 0, 1, True),
                ("validation_fraction", 0, 1, False), ("dropout", 0, 1, True)):
            v = getattr(self, name)
            ok = _num(v) and (lo <= v if closed else lo < v) and (
                v <= hi if name == "momentum" else v < hi)
            _check(ok, self, name, f"a float in the range {'[' if closed else '('}{lo}, {hi})")
        for name in ("max_iter", "n_iter_no_change", "max_fun"):
            _check(_num(getattr(self, name), Integral) and getattr(self, name) >= 1, self, name,
                   "an int in the range [1, inf)")
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping",
                     "batch_norm"):
            _check(isinstance(getattr(self, name), bool | np.bool_), self, name,
                   "an instance of 'bool'")
        _check(self.device is None or isinstance(self.device, str), self, "device",
               "None or a device name ('cpu', 'cuda')")
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError("solver='lbfgs' needs a deterministic loss: use dropout=0 "
                             "(or solver='adam'/'sgd' with dropout)")
        return sizes

    def _build(self, units: list[int], rs: Any) -> nn.Sequential:
        """Linear layers initialized as scikit-learn's (Glorot uniform, bias included,
        drawn from ``rs`` in the same order), with the hidden activation between them."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        drop_rng = np.random.default_rng(rs.randint(2**31 - 1)) if self.dropout > 0 else None
        layers: list[nn.Module] = []
        with default_dtype(self._dtype), seeded(np.random.default_rng(0)):
            for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
                lin = nn.Linear(fan_in, fan_out)
                bound = np.sqrt(factor / (fan_in + fan_out))
                lin.weight.data[...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T
                lin.bias.data[...] = rs.uniform(-bound, bound, fan_out)
                layers.append(lin)
                if i == len(units) - 2:
                    break
                if self.batch_norm:
                    layers.append(nn.BatchNorm1d(fan_out))
                layers.append(_ACTIVATIONS[self.activation]())
                if self.dropout > 0:
                    layers.append(nn.Dropout(self.dropout, rng=drop_rng))
        return nn.Sequential(*layers)

    def _make_optimizer(self) -> optim.Optimizer:
        params = list(self.module_.parameters())
        if self.solver == "sgd":
            return optim.SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                             nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        return optim.Adam(params, lr=self.learning_rate_init,
                          betas=(self.beta_1, self.beta_2), eps=self.epsilon)

    def _initialize(self, Y: np.ndarray, units: list[int], rs: Any) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = units[-1]
        self.n_layers_ = len(units)
        self.out_activation_ = self.head_
        self._loss_name = self._loss_for_head()
        if self._loss_name == "half_squared_error":  # scikit-learn reports the output mean
            self._report_scale = 1.0 / units[-1]
        self.module_ = self._build(units, rs)
        self._best_state = {k: v.copy() for k, v in self.module_.state_dict().items()}
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False,
             classes: Any = None) -> _MLP:
        sizes = self._check_params()
        first = not hasattr(self, "module_") or (not self.warm_start and not incremental)
        X, Y = self._validate_xy(X, y, reset=first, incremental=incremental, classes=classes)
        sw = self._check_weight(sample_weight, X)
        self._dtype = check_dtype(self.dtype, X)
        self._device = self.device
        if first:
            self.head_ = self._out_activation(Y)
        units = [X.shape[1], *sizes, self._n_outputs_for(Y)]
        rs = check_random_state(self.random_state)
        if not first and [self.n_features_in_, *sizes, self.n_outputs_] != units:
            raise ValueError(f"The hidden_layer_sizes or the number of outputs changed since "
                             f"the model was fitted: {units[1:]} vs "
                             f"{[*sizes, self.n_outputs_]}; fit from scratch instead")
        if first:
            self._initialize(Y, units, rs)
            if self.device is not None:
                self.module_.to(self.device)
        if self.solver == "lbfgs":
            fit_lbfgs(self, X, Y, sw)
        else:
            if not incremental or not hasattr(self, "optimizer_"):
                self.optimizer_ = self._make_optimizer()
            fit_stochastic(self, X, Y, sw, rs, incremental)
        if not all(np.isfinite(p.data).all() for p in self.module_.parameters()):
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        return self

    def _penalty(self) -> tuple[float, list[tuple[Any, float]]]:
        if not self.alpha:
            return 0.0, []
        ws = self.__dict__.get("_coef_params")
        if ws is None or ws[0] is not self.module_[0].weight:  # cached per model
            ws = [m.weight for m in self.module_.modules() if isinstance(m, nn.Linear)]
            self._coef_params = ws
        val = sum(float(np.dot(w.data.ravel(), w.data.ravel())) for w in ws)
        return 0.5 * self.alpha * val, [(w, float(self.alpha)) for w in ws]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _MLP:
        """Fit the model to X and y (a fresh start unless ``warm_start``).

        Args:
            X: (n_samples, n_features) array-like or sparse matrix.
            y: (n_samples,) or (n_samples, n_outputs) targets.
            sample_weight: (n_samples,) weights, or None for equal weights.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in scikit-learn's (fan_in, fan_out) layout (views)."""
        return [m.weight.data.T for m in self.module_.modules() if isinstance(m, nn.Linear)]

    @coefs_.setter
    def coefs_(self, values: list[Any]) -> None:
        for c, v in zip(self.coefs_, values, strict=True):
            c[...] = v

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, one per layer (views)."""
        return [m.bias.data for m in self.module_.modules() if isinstance(m, nn.Linear)]

    @intercepts_.setter
    def intercepts_(self, values: list[Any]) -> None:
        for c, v in zip(self.intercepts_, values, strict=True):
            c[...] = v


_DOC_PARAMS = """
    Args (scikit-learn's; see its documentation for the details):
        hidden_layer_sizes: units of each hidden layer, e.g. (100,) or (64, 32).
        activation: "identity", "logistic", "tanh" or "relu" (hidden layers).
        solver: "adam", "sgd" or "lbfgs" (full-batch L-BFGS-B through scipy).
        alpha: L2 penalty, ``alpha/2·Σ‖W‖²`` over the summed sample weight of the batch.
        batch_size: examples per step; "auto" is min(200, n_samples).
        learning_rate: "constant", "invscaling" or "adaptive" (sgd only).
        learning_rate_init, power_t, momentum, nesterovs_momentum: sgd's settings.
        beta_1, beta_2, epsilon: adam's.
        max_iter: epochs (stochastic solvers) or iterations (lbfgs).
        shuffle, random_state: reshuffle each epoch; seed of initialization, shuffling,
            the early-stopping split and dropout.
        tol, n_iter_no_change: stop when the training loss (or validation score) does not
            improve by ``tol`` for ``n_iter_no_change`` epochs.
        early_stopping, validation_fraction: hold out that fraction (stratified for single-
            output classification); at the end the weights of the best validation score
            are restored, as scikit-learn does.
        warm_start: continue from the previous fit.
        max_fun: lbfgs's limit on function evaluations.
        verbose: print each epoch's loss (and validation score).
        dropout: deepgrad's; drop probability after each hidden activation (0: none).
        batch_norm: deepgrad's; BatchNorm1d after each hidden Linear, before the activation.
        dtype: deepgrad's; "float32" (default), "float64", or None for X's float dtype.
            Predictions come back in X's float dtype either way.
        device: deepgrad's; "cpu" (None) or "cuda".
"""


class MLPClassifier(ClassifierOutputs, _MLP):
    __doc__ = ("""Multi-layer perceptron classifier (scikit-learn's, on deepgrad).

    Softmax cross-entropy for multiclass targets, a sigmoid per output for binary and
    multilabel (indicator) targets; labels may be strings, integers or booleans.
""" + _DOC_PARAMS + """
    Attributes:
        classes_, n_features_in_, feature_names_in_, n_outputs_, n_layers_,
        out_activation_, loss_, loss_curve_, best_loss_, validation_scores_,
        best_validation_score_, n_iter_, t_, coefs_, intercepts_ (scikit-learn's);
        module_ (the trained deepgrad Sequential) and optimizer_.

    Shape:
        X (n_samples, n_features); y (n_samples,) labels or (n_samples, n_labels) 0/1.
    """)

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, batch_norm: bool = False, dtype: Any = "float32",
                 device: str | None = None) -> None:
        self.hidden_layer_sizes, self.activation, self.solver = (hidden_layer_sizes,
                                                                 activation, solver)
        self.alpha, self.batch_size, self.learning_rate = alpha, batch_size, learning_rate
        self.learning_rate_init, self.power_t, self.max_iter = (learning_rate_init, power_t,
                                                                max_iter)
        self.shuffle, self.random_state, self.tol = shuffle, random_state, tol
        self.verbose, self.warm_start, self.momentum = verbose, warm_start, momentum
        self.nesterovs_momentum, self.early_stopping = nesterovs_momentum, early_stopping
        self.validation_fraction, self.beta_1, self.beta_2 = (validation_fraction, beta_1,
                                                              beta_2)
        self.epsilon, self.n_iter_no_change, self.max_fun = epsilon, n_iter_no_change, max_fun
        self.dropout, self.batch_norm, self.dtype, self.device = (dropout, batch_norm, dtype,
                                                                  device)

    def _out_activation(self, Y: np.ndarray) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _loss_for_head(self) -> str:
        return self.head_

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)


class MLPRegressor(RegressorOutputs, _MLP):
    __doc__ = ("""Multi-layer perceptron regressor (scikit-learn's, on deepgrad).

    Args:
        loss: "squared_error" (half squared error, identity output) or "poisson" (half
            Poisson deviance, exp output; y >= 0). The other arguments as MLPClassifier's.
""" + _DOC_PARAMS + """
    Attributes:
        as MLPClassifier's, without ``classes_``.

    Shape:
        X (n_samples, n_features); y (n_samples,) or (n_samples, n_outputs).
    """)

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: Any = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, batch_norm: bool = False, dtype: Any = "float32",
                 device: str | None = None) -> None:
        self.loss = loss
        self.hidden_layer_sizes, self.activation, self.solver = (hidden_layer_sizes,
                                                                 activation, solver)
        self.alpha, self.batch_size, self.learning_rate = alpha, batch_size, learning_rate
        self.learning_rate_init, self.power_t, self.max_iter = (learning_rate_init, power_t,
                                                                max_iter)
        self.shuffle, self.random_state, self.tol = shuffle, random_state, tol
        self.verbose, self.warm_start, self.momentum = verbose, warm_start, momentum
        self.nesterovs_momentum, self.early_stopping = nesterovs_momentum, early_stopping
        self.validation_fraction, self.beta_1, self.beta_2 = (validation_fraction, beta_1,
                                                              beta_2)
        self.epsilon, self.n_iter_no_change, self.max_fun = epsilon, n_iter_no_change, max_fun
        self.dropout, self.batch_norm, self.dtype, self.device = (dropout, batch_norm, dtype,
                                                                  device)

    def _check_params(self) -> list[int]:
        _check(self.loss in ("squared_error", "poisson"), self, "loss",
               "a str among {'squared_error', 'poisson'}")
        return super()._check_params()

    def _validate_xy(self, X: Any, y: Any, reset: bool, incremental: bool,
                     classes: Any = None) -> tuple[Any, np.ndarray]:
        X, Y = super()._validate_xy(X, y, reset, incremental)
        if self.loss == "poisson" and np.any(Y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        return X, Y

    def _out_activation(self, Y: np.ndarray) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _loss_for_head(self) -> str:
        return "half_poisson" if self.loss == "poisson" else "half_squared_error"

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

"""NeuralNetClassifier and NeuralNetRegressor: any deepgrad model as a scikit-learn
estimator (Keras's ``SKLearnClassifier``, skorch's ``NeuralNetClassifier``).

The model is given as a Module (copied at each fit, never modified), a builder
``fn(n_features_in, n_outputs, **model__kwargs) -> Module`` (so GridSearchCV can vary
``model__units=...``), or a CLI-style list of hidden layers (``["dense 64"...]`` as in a
config's ``model:`` section, e.g. ``[{"dense": 64}, "relu", {"dropout": 0.2}]``) to which
the output layer is appended. The model outputs logits (a final Softmax/Sigmoid/
LogSoftmax is skipped in training and applied by ``predict_proba``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .. import nn
from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import default_dtype, to_device
from ..callbacks import CallbackList, ProgressBar
from ..train.compile import final_activation, forward_logits, resolve_optimizer
from ..train.inputs import param_dtype
from ._base import LOSSES, NetBase, as_dtype, check_dtype, seeded
from ._outputs import ClassifierOutputs, RegressorOutputs

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "mlp_builder"]

_ROUTED = ("model__", "optimizer__")
_CLS_LOSSES = {"cross_entropy": "softmax", "categorical_crossentropy": "softmax",
               "sparse_categorical_crossentropy": "softmax", "log_loss": "softmax",
               "binary_crossentropy": "logistic", "bce": "logistic"}
_REG_LOSSES = {"mse": "squared_error", "squared_error": "squared_error",
               "mae": "absolute_error", "absolute_error": "absolute_error",
               "huber": "huber", "poisson": "half_poisson"}


def mlp_builder(n_features_in: int, n_outputs: int, hidden: Sequence[int] = (100,),
                activation: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """The default model: Dense hidden layers with ``activation`` (and dropout), then a
    Dense layer of ``n_outputs`` logits. Grid-search it with ``model__hidden=(64, 32)``."""
    layers: list[nn.Module] = []
    for units in hidden:
        layers.append(nn.Dense(units, activation=activation, input_dim=n_features_in,
                               kernel_initializer="he_uniform"
                               if activation == "relu" else "glorot_uniform"))
        n_features_in = int(units)
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(n_outputs, input_dim=n_features_in))
    return nn.Sequential(*layers)


def _from_layer_list(spec: list[Any], n_in: int, n_out: int) -> nn.Module:
    from ..cli.errors import ConfigError
    from ..cli.layers import build_model, validate_model

    try:
        checked = validate_model([*spec, {"dense": {"units": n_out}}])
        return build_model(checked, (n_in,))
    except ConfigError as e:
        raise ValueError(f"model: {e}") from None


class _NeuralNet(NetBase):
    """What the two wrappers share: the model argument, routed parameters, the loop."""

    def __init__(self, model: Any = None, *, loss: Any = None, optimizer: Any = "adam",
                 epochs: int = 10, batch_size: int | None = 32, shuffle: bool = True,
                 validation_split: float = 0.0, callbacks: Sequence[Any] | None = None,
                 random_state: Any = None, warm_start: bool = False, verbose: int = 0,
                 dtype: Any = "float32", device: str | None = None, **kwargs: Any) -> None:
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.epochs, self.batch_size, self.shuffle = epochs, batch_size, shuffle
        self.validation_split, self.callbacks = validation_split, callbacks
        self.random_state, self.warm_start, self.verbose = random_state, warm_start, verbose
        self.dtype, self.device = dtype, device
        self._kwargs = dict(kwargs)  # checked at fit (scikit-learn: no validation in init)

    # ------------------------------------------------------------- parameters
    def _routed(self, prefix: str) -> dict[str, Any]:
        return {k[len(prefix):]: v for k, v in self._kwargs.items() if k.startswith(prefix)}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters plus the routed ``model__*`` / ``optimizer__*``."""
        params = super().get_params(deep=deep)
        params.update(self._kwargs)
        return params

    def set_params(self, **params: Any) -> _NeuralNet:
        """Set parameters; ``model__x`` / ``optimizer__x`` are routed to the builder and
        the optimizer."""
        for key in [k for k in params if k.startswith(_ROUTED)]:
            self._kwargs[key] = params.pop(key)
        return super().set_params(**params)

    def _check_params(self) -> None:
        bad = [k for k in self._kwargs if not k.startswith(_ROUTED)]
        if bad:
            raise TypeError(f"{type(self).__name__}: unexpected argument {bad[0]!r} (routed "
                            "arguments start with model__ or optimizer__)")
        for name in ("epochs",):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        bs = self.batch_size
        if bs is not None and (not isinstance(bs, int | np.integer) or bs < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {bs!r}")
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {self.validation_split}")

    # ------------------------------------------------------------------ model
    def _make_module(self, n_in: int, n_out: int) -> nn.Module:
        m, kwargs = self.model, self._routed("model__")
        if kwargs and (isinstance(m, nn.Module | list)):
            raise ValueError(f"model__{next(iter(kwargs))}: routed model arguments need a "
                             "builder function as model, not a Module or a layer list")
        if m is None:
            return mlp_builder(n_in, n_out, **kwargs)
        if isinstance(m, nn.Module):
            return copy.deepcopy(m)
        if isinstance(m, list | tuple):
            return _from_layer_list(list(m), n_in, n_out)
        if callable(m):
            built = m(n_in, n_out, **kwargs)
            if not isinstance(built, nn.Module):
                raise TypeError(f"model builder returned {type(built).__name__}, not a "
                                "deepgrad Module")
            return built
        raise TypeError("model must be a deepgrad Module, a builder function "
                        f"fn(n_features_in, n_outputs, **kw) or a list of layers, got {m!r}")

    def _logits(self, x: Tensor) -> Tensor:
        return forward_logits(self.module_, x, self._strip)

    def _build(self, X: Any, n_out: int, rs: Any) -> None:
        gen = np.random.default_rng(rs.randint(2**31 - 1))
        self._gen = gen
        with default_dtype(self._dtype), seeded(gen):
            module = self._make_module(X.shape[1], n_out)
        self.module_ = module
        if self.device is not None:
            module.to(self.device)
        head = final_activation(module)
        self._strip = head if self._is_cls and head else None
        probe = np.ascontiguousarray(X[:1].toarray() if hasattr(X, "toarray") else X[:1])
        module.eval()
        try:
            with no_grad(), seeded(gen):
                out = module(Tensor(to_device(probe.astype(param_dtype(module)),
                                              self.device or "cpu")))
        except ValueError as e:
            raise ValueError(f"X (shape {X.shape}) doesn't fit the model: {e}") from None
        finally:
            module.train()
        self._dtype = param_dtype(module)
        width = int(np.prod(out.shape[1:]))
        if width != n_out:
            raise ValueError(f"the model outputs {width} values per example; this problem "
                             f"needs {n_out} (n_outputs_)")
        spec = self.optimizer
        if not isinstance(spec, str | dict):
            raise TypeError(f"optimizer must be a name ('adam', 'sgd', ...) or a dict "
                            f"{{'name': ..., 'lr': ...}}, got {type(spec).__name__}: each fit "
                            "builds its own optimizer for the new model's parameters")
        if self._routed("optimizer__"):
            spec = {"name": spec, **self._routed("optimizer__")} if isinstance(spec, str) \
                else {**spec, **self._routed("optimizer__")}
        self.optimizer_ = resolve_optimizer(spec, list(module.parameters()))
        module.optimizer = self.optimizer_

    # -------------------------------------------------------------- training
    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False,
             classes: Any = None) -> _NeuralNet:
        self._check_params()
        first = not hasattr(self, "module_") or (not self.warm_start and not incremental)
        X, Y = self._validate_xy(X, y, reset=first, incremental=incremental, classes=classes)
        sw = self._check_weight(sample_weight, X)
        rs = check_random_state(self.random_state)
        self._device = self.device
        if first:
            self._dtype = check_dtype(self.dtype, X)
            self._set_head(Y)
            self.n_outputs_ = self._n_outputs_for(Y)
            self._build(X, self.n_outputs_, rs)
            self.history_ = {}
            self.n_iter_ = 0
        elif self._n_outputs_for(Y) != self.n_outputs_:
            raise ValueError(f"y needs {self._n_outputs_for(Y)} outputs; the model has "
                             f"{self.n_outputs_}")
        T = self._targets(Y)
        val = None
        n_val = int(np.floor(X.shape[0] * self.validation_split))
        if n_val:
            if n_val >= X.shape[0]:
                raise ValueError(f"validation_split={self.validation_split} leaves no "
                                 "training data")
            val = (X[-n_val:], T[-n_val:], None if sw is None else sw[-n_val:])
            X, T, sw = X[:-n_val], T[:-n_val], None if sw is None else sw[:-n_val]
        with seeded(self._gen):
            self._train(as_dtype(X, self._dtype), T, sw, rs, val,
                        1 if incremental else self.epochs)
        return self

    def _train(self, X: Any, T: np.ndarray, sw: Any, rs: Any, val: Any, epochs: int) -> None:
        n = X.shape[0]
        batch_size = n if self.batch_size is None else min(int(self.batch_size), n)
        self.callbacks_ = copy.deepcopy(list(self.callbacks or []))
        cbs = CallbackList([*self.callbacks_, ProgressBar(self.verbose)])
        module = self.module_
        cbs.set_model(module)
        cbs.set_params({"epochs": epochs, "steps": -(-n // batch_size), "samples": n,
                        "batch_size": batch_size, "verbose": self.verbose, "metrics": []})
        module.stop_training = False
        cbs.on_train_begin()
        order = np.arange(n) if self.shuffle else None
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch)
            logs = {"loss": self._epoch(
                X, T, sw, rs, batch_size, order, epoch,
                lambda b, lv, size: cbs.on_train_batch_end(b, {"loss": lv, "size": size}))}
            if val is not None:
                logs["val_loss"] = self._weighted_loss(*val)
            logs["lr"] = float(self.optimizer_.param_groups[0]["lr"])
            for k, v in logs.items():
                self.history_.setdefault(k, []).append(v)
            self.n_iter_ += 1
            cbs.on_epoch_end(epoch, logs)
            if module.stop_training:
                break
        cbs.on_train_end()
        bad = [name for name, p in module.named_parameters() if not np.isfinite(p.data).all()]
        if bad:
            raise ValueError(f"training produced non-finite weights (first: {bad[0]!r}); "
                             "scale the inputs or lower the learning rate")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _NeuralNet:
        """Train for ``epochs`` epochs (a fresh model unless ``warm_start``).

        Args:
            X: (n_samples, n_features) array-like or sparse matrix.
            y: targets (labels for the classifier; values for the regressor).
            sample_weight: (n_samples,) weights of each example's loss, or None.
        """
        return self._fit(X, y, sample_weight)

    def _loss_callable(self) -> Callable[..., Any] | None:
        return self.loss if callable(self.loss) and not isinstance(self.loss, str) else None


class NeuralNetClassifier(ClassifierOutputs, _NeuralNet):
    """Any deepgrad model as a scikit-learn classifier.

    Args:
        model: a Module (its initial weights start every fit), a builder
            ``fn(n_features_in, n_outputs, **model__kwargs)``, a list of hidden layers in
            the CLI's format, or None for :func:`mlp_builder` (one hidden layer of 100).
            The model outputs logits: one per class with cross-entropy, else one per
            output (binary: 1; multilabel: one per label).
        loss: None (softmax cross-entropy for multiclass, sigmoid cross-entropy for binary
            and multilabel), "cross_entropy" (also for binary: two logits),
            "binary_crossentropy" (one-vs-rest for multiclass), or a callable
            ``fn(logits, targets) -> (n,) per-example losses`` on one-hot targets.
        optimizer: a name ("adam", "sgd", ...), a dict, with ``optimizer__lr=...`` etc.
            routed to it.
        epochs, batch_size (None: full batch), shuffle: Keras's fit arguments.
        validation_split: fraction held out from the end; adds ``val_loss`` to the logs.
        callbacks: deepgrad callbacks (EarlyStopping, ReduceLROnPlateau, ...), copied at
            each fit (the copies are ``callbacks_``).
        random_state: seed of initialization (builder/list), shuffling and dropout.
        warm_start: continue training the fitted model on the next fit.
        verbose: deepgrad's progress display (0 silent, 1 bar, 2 a line per epoch).
        dtype: "float32", "float64" or None (X's); a given Module keeps its own.
        device: "cpu" (None) or "cuda".
        **kwargs: ``model__<name>`` (builder arguments), ``optimizer__<name>``.

    Attributes:
        classes_, n_features_in_, feature_names_in_, n_outputs_, module_, optimizer_,
        history_ (per-epoch loss, val_loss, lr), n_iter_ (epochs run), callbacks_.
    """

    _is_cls = True

    def _set_head(self, Y: np.ndarray) -> None:
        multilabel = self._multilabel()
        name = self.loss
        if name is None or callable(name):
            head = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        elif isinstance(name, str) and name.lower() in _CLS_LOSSES:
            head = _CLS_LOSSES[name.lower()]
        else:
            raise ValueError(f"unknown loss {name!r}; valid: None, a callable, "
                             f"{', '.join(sorted(_CLS_LOSSES))}")
        if head == "softmax" and multilabel:
            raise ValueError("multilabel targets need a sigmoid loss (loss=None or "
                             "'binary_crossentropy'), not softmax cross-entropy")
        self.head_ = head
        self._loss_name = self._loss_callable() or head

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> NeuralNetClassifier:
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)


class NeuralNetRegressor(RegressorOutputs, _NeuralNet):
    """Any deepgrad model as a scikit-learn regressor (one or several outputs).

    Args:
        loss: None or "mse" (mean squared error over outputs), "mae", "huber",
            "poisson" (the model outputs log-rates; predict returns exp), or a callable
            ``fn(outputs, targets) -> (n,) per-example losses``.
        The others as :class:`NeuralNetClassifier`'s.

    Attributes:
        n_features_in_, feature_names_in_, n_outputs_, module_, optimizer_, history_,
        n_iter_, callbacks_.
    """

    _is_cls = False

    def _set_head(self, Y: np.ndarray) -> None:
        name = "mse" if self.loss is None else self.loss
        fn = self._loss_callable()
        if fn is None and (not isinstance(name, str) or name.lower() not in _REG_LOSSES):
            raise ValueError(f"unknown loss {name!r}; valid: None, a callable, "
                             f"{', '.join(sorted(_REG_LOSSES))}")
        key = None if fn else _REG_LOSSES[name.lower()]
        if key == "half_poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' needs y >= 0")
        self.head_ = "exp" if key == "half_poisson" else "identity"
        self._loss_name = fn or key
        assert fn or key in LOSSES

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> NeuralNetRegressor:
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight, incremental=True)

"""Resolving what ``compile`` is given: loss names, optimizer names, and the model's final
activation (so the loss can use the fused, stable form on logits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import losses as L
from .. import optim
from ..autograd.ops.math import clip, log, sigmoid, softmax
from ..nn import activation as act
from ..nn.container import Sequential, run_layers
from ..nn.graph import Model as GraphModel
from ..nn.module import Module

__all__ = ["LossSpec", "resolve_loss", "resolve_optimizer", "final_activation", "LOSS_NAMES",
           "OPTIMIZER_NAMES", "NotCompiledError", "compiled_spec", "loss_and_outputs"]

_LOSS_ALIASES = {
    "binary_crossentropy": "binary",
    "binary_cross_entropy": "binary",
    "bce": "binary",
    "categorical_crossentropy": "categorical",
    "categorical_cross_entropy": "categorical",
    "sparse_categorical_crossentropy": "sparse",
    "sparse_categorical_cross_entropy": "sparse",
    "cross_entropy": "sparse",
    "mse": "mse",
    "mean_squared_error": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "huber": "huber",
    "huber_loss": "huber",
}
LOSS_NAMES = sorted(_LOSS_ALIASES)

OPTIMIZER_NAMES = {
    "sgd": ("SGD", {"lr": 0.01}),
    "momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "rmsprop": ("RMSprop", {"lr": 1e-3}),
    "adagrad": ("Adagrad", {}),
    "adadelta": ("Adadelta", {}),
}


@dataclass
class LossSpec:
    """A resolved loss.

    kind: "binary", "sparse", "categorical", "regression" or "custom".
    head: the model's final activation ("sigmoid", "softmax", "log_softmax" or None).
    from_logits: whether the loss is computed on pre-activation outputs (fused, stable).
    """

    name: str
    kind: str
    head: str | None
    from_logits: bool
    fn: Callable[[Any, Any], Any]

    def describe(self) -> str:
        """One line saying which loss and which form is used: fused with the final
        activation, on logits, as NLL on log-probabilities, or on clipped probabilities."""
        if self.kind == "custom":
            return f"loss: {self.name} (user function, on the model's outputs)"
        if self.kind in ("regression",):
            return f"loss: {self.name}"
        if self.from_logits:
            form = f"fused with the final {self.head}" if self.head else "on logits"
        elif self.head == "log_softmax":
            form = "negative log-likelihood on the final log_softmax's log-probabilities"
        else:
            form = "on probabilities (clipped)"
        return f"loss: {self.name}, {form}"

    def probabilities(self, out: Any) -> Any:
        """Turn the model's training-time outputs into what predict() returns."""
        if self.kind == "binary" and self.from_logits:
            return sigmoid(out)
        if self.kind in ("sparse", "categorical") and self.from_logits:
            return softmax(out, axis=-1)
        if self.head == "log_softmax":
            return out.exp()
        return out


def final_activation(model: Module, output: int = 0) -> str | None:
    """The model's final activation if it is structurally visible (a Sequential ending in
    Sigmoid/Softmax/LogSoftmax, or in a Dense layer with such an activation; for a graph
    model, the layer computing its ``output``-th output)."""
    m: Any = model
    if isinstance(m, GraphModel) and m.is_graph:
        m = m.outputs[output].node.layer
    while isinstance(m, Sequential) and len(m) > 0:
        m = m[len(m) - 1]
    if isinstance(m, act.Sigmoid):
        return "sigmoid"
    if isinstance(m, act.Softmax):
        return "softmax"
    if isinstance(m, act.LogSoftmax):
        return "log_softmax"
    name = getattr(m, "activation_name", None)
    if name in ("sigmoid", "softmax", "log_softmax"):
        return name
    return None


def forward_logits(model: Module, x: Any, head: str | None) -> Any:
    """Run ``model`` on ``x`` without its final ``head`` activation."""
    if head is None:
        return model(x)
    if isinstance(model, GraphModel) and model.is_graph:
        return model._run((x,), {0: strip_head})[0]
    return _forward_without_head(model, x)


def strip_head(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a graph model's final ``layer`` without its activation."""
    if kwargs or len(args) != 1:
        raise TypeError(f"cannot separate the final activation of {type(layer).__name__}")
    return _forward_without_head(layer, args[0])


def _forward_without_head(m: Any, x: Any) -> Any:
    if isinstance(m, Sequential):
        layers = tuple(m)
        return _forward_without_head(layers[-1], run_layers(layers[:-1], x))
    if isinstance(m, act.Sigmoid | act.Softmax | act.LogSoftmax):
        return x
    pre = getattr(m, "forward_pre_activation", None)
    if pre is not None:
        return pre(x)
    raise TypeError(f"cannot separate the final activation of {type(m).__name__}")


def _soft_nll(logp: Any, q: Any) -> Any:
    """Cross-entropy of probability (one-hot) targets with log-probabilities: mean -Σ q log p.

    Shape:
        logp: (N, C); q: (N, C) -> scalar.
    """
    return -(logp * q).sum(axis=-1).mean()


class NotCompiledError(RuntimeError):
    """fit/evaluate was called before compile()."""


def compiled_spec(model: Module) -> LossSpec:
    """The model's LossSpec; NotCompiledError if ``compile`` was not called."""
    spec = getattr(model, "_loss_spec", None)
    if spec is None:
        raise NotCompiledError(
            "the model is not compiled: call model.compile(optimizer=..., loss=...) first"
        )
    return spec


def loss_and_outputs(spec: LossSpec, model: Module, x: Any, y: Any) -> tuple[Any, Any]:
    """The loss of ``model`` on ``x`` against ``y``, and the outputs it was computed on."""
    out = forward_logits(model, x, spec.head if spec.from_logits else None)
    return spec.fn(out, y), out


def resolve_loss(loss: Any, model: Module, from_logits: bool | None = None,
                 output: int = 0) -> LossSpec:
    """A LossSpec from a name (Keras or PyTorch style) or a callable ``fn(outputs, y)``
    (for a graph model, for its ``output``-th output)."""
    head = final_activation(model, output)
    if head in ("sigmoid", "softmax") and isinstance(model, GraphModel) and model.is_graph \
            and model.output_is_internal(output):
        from_logits = False  # other layers use these probabilities: no logits to fuse with
        head = None
    if callable(loss) and not isinstance(loss, str):
        name = getattr(loss, "__name__", type(loss).__name__)
        return LossSpec(name, "custom", head, False, loss)
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")
    key = _LOSS_ALIASES.get(loss.lower())
    if key is None:
        raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(LOSS_NAMES)}")
    if key in ("mse", "mae", "huber"):
        fn = {"mse": L.mse_loss, "mae": L.l1_loss, "huber": L.huber_loss}[key]
        return LossSpec(loss, "regression", head, False, fn)
    if key == "binary":
        if head in ("softmax", "log_softmax"):
            raise ValueError(f"{loss} with a model ending in {head}: use a Sigmoid output")
        logits = True if head == "sigmoid" else (from_logits if from_logits is not None
                                                 else True)
        fn = L.binary_cross_entropy_with_logits if logits else L.binary_cross_entropy
        return LossSpec(loss, "binary", head, logits, fn)
    if head == "sigmoid":
        raise ValueError(f"{loss} with a model ending in sigmoid: use Softmax (or logits)")
    if head == "log_softmax":
        return LossSpec(loss, key, head, False, L.nll_loss if key == "sparse" else _soft_nll)
    logits = True if head == "softmax" else (from_logits if from_logits is not None else True)
    if logits:
        return LossSpec(loss, key, head, True, L.cross_entropy)

    def ce_on_probs(p: Any, y: Any) -> Any:
        eps = float(np.finfo(p.dtype).eps)
        return L.nll_loss(log(clip(p, eps, 1 - eps)), y)

    return LossSpec(loss, key, head, False, ce_on_probs)


def resolve_optimizer(optimizer: Any, params: list[Any]) -> Any:
    """An optimizer from a name ("adam", "sgd", ...), a dict ``{"name": ..., **hparams}``,
    or an existing Optimizer instance (returned as is)."""
    if isinstance(optimizer, optim.Optimizer):
        return optimizer
    kwargs: dict[str, Any] = {}
    if isinstance(optimizer, dict):
        kwargs = dict(optimizer)
        optimizer = kwargs.pop("name", kwargs.pop("type", None))
        if "learning_rate" in kwargs:
            kwargs["lr"] = kwargs.pop("learning_rate")
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name, a dict or an Optimizer, got {optimizer!r}")
    entry = OPTIMIZER_NAMES.get(optimizer.lower())
    if entry is None:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid names: "
                         f"{', '.join(sorted(OPTIMIZER_NAMES))}")
    cls_name, defaults = entry
    return getattr(optim, cls_name)(params, **{**defaults, **kwargs})

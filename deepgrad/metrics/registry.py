"""Metric names for the training loop: ``get_metric("accuracy")`` and friends.

A name gives a :class:`MetricFn`: call it on ``(y_true, y_pred)`` for a float over one
batch, or ask it for a fresh streaming :class:`~deepgrad.metrics.streaming.Metric`
(``.streaming()``) to aggregate a whole epoch exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deepgrad.backend import to_numpy
from deepgrad.metrics import streaming as S
from deepgrad.metrics._inputs import as_array

# name -> (streaming class, default keyword arguments)
_REGISTRY: dict[str, tuple[type[S.Metric], dict[str, Any]]] = {
    "accuracy": (S.Accuracy, {}),
    "acc": (S.Accuracy, {}),
    "binary_accuracy": (S.BinaryAccuracy, {}),
    "categorical_accuracy": (S.CategoricalAccuracy, {}),
    "sparse_categorical_accuracy": (S.SparseCategoricalAccuracy, {}),
    "top_k_accuracy": (S.TopKAccuracy, {}),
    "top_k_categorical_accuracy": (S.TopKAccuracy, {}),
    "sparse_top_k_categorical_accuracy": (S.TopKAccuracy, {}),
    "precision": (S.Precision, {"average": "auto"}),
    "recall": (S.Recall, {"average": "auto"}),
    "f1": (S.F1Score, {"average": "auto"}),
    "f1_score": (S.F1Score, {"average": "auto"}),
    "mse": (S.MeanSquaredError, {}),
    "mean_squared_error": (S.MeanSquaredError, {}),
    "mae": (S.MeanAbsoluteError, {}),
    "mean_absolute_error": (S.MeanAbsoluteError, {}),
    "r2": (S.R2Score, {}),
    "r2_score": (S.R2Score, {}),
}


def metric_names() -> list[str]:
    """Every name :func:`get_metric` accepts, sorted."""
    return sorted(_REGISTRY)


class MetricFn:
    """A named metric: ``fn(y_true, y_pred) -> float`` plus ``.streaming()`` for epochs.

    Attributes:
        name: the key for logs and ``History`` (the name the user gave).
    """

    def __init__(self, name: str, factory: Callable[[], S.Metric]) -> None:
        self.name = name
        self._factory = factory

    def streaming(self) -> S.Metric:
        """A fresh stateful metric (``update``/``result``/``reset``) computing the same value."""
        return self._factory()

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        m = self._factory()
        m.update(y_true, y_pred)
        return m.result()

    def __repr__(self) -> str:
        return f"MetricFn({self.name!r})"


class _BatchMean(S.Metric):
    """Streams a user function as the mean of its per-batch values weighted by batch size
    (exact only for metrics that are means over examples, as Keras does)."""

    def __init__(self, fn: Callable[[Any, Any], Any], name: str | None = None) -> None:
        super().__init__(name or getattr(fn, "__name__", "metric"), fn=fn)

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, y_true: Any, y_pred: Any) -> None:
        n = int(as_array(y_true, "y_true").shape[0])
        self.total += float(to_numpy(self._config["fn"](y_true, y_pred))) * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


def get_metric(metric: Any, **kwargs: Any) -> MetricFn:
    """Resolve a metric given by name, streaming :class:`Metric`, function or MetricFn.

    Args:
        metric: a Keras-style name ("accuracy"/"acc", "binary_accuracy",
            "categorical_accuracy", "sparse_categorical_accuracy", "top_k_accuracy",
            "precision", "recall", "f1", "mse", "mae", "r2", and long forms such as
            "mean_squared_error"); a :class:`Metric` instance (used as a template);
            a function ``(y_true, y_pred) -> float`` (streamed as a batch-size-weighted
            mean); or a :class:`MetricFn` (returned as is).
        **kwargs: settings for a named metric, e.g. ``k=3`` or ``average="macro"``.
            Precision, recall and F1 default to ``average="auto"``: binary (positive
            class 1) for at most two labels, macro otherwise.

    Raises:
        ValueError: an unknown name; the message lists the valid names.
    """
    if isinstance(metric, MetricFn):
        return metric
    if isinstance(metric, S.Metric):
        return MetricFn(metric.name, metric.clone)
    if isinstance(metric, str):
        key = metric.strip().lower()
        if key not in _REGISTRY:
            raise ValueError(f"unknown metric {metric!r}: valid names are {metric_names()}")
        cls, defaults = _REGISTRY[key]
        cfg = {**defaults, **kwargs, "name": metric}
        cls(**cfg)  # fail now on bad settings, not mid-epoch
        return MetricFn(metric, lambda: cls(**cfg))
    if callable(metric):
        name = getattr(metric, "name", None) or getattr(metric, "__name__", "metric")
        return MetricFn(name, lambda: _BatchMean(metric, name))
    raise TypeError(
        f"metric must be a name, a Metric, or a function (y_true, y_pred), got {metric!r}"
    )

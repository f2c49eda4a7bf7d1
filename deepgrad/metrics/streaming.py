"""Stateful metrics for epoch-level values: ``update`` per batch, ``result`` per epoch.

Each keeps sufficient statistics (counts, sums, a confusion matrix, or means and
second moments merged with Chan's formula for R²), so the epoch value equals the
one-shot metric over the epoch's concatenated data, whatever the batch sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.backend import get_array_module, to_numpy
from deepgrad.metrics import classification as C
from deepgrad.metrics import regression as R
from deepgrad.metrics._inputs import as_array, check_no_nan, check_same_length, present_labels


class Metric:
    """Base of the streaming metrics.

    Subclasses set ``default_name`` and implement ``reset``, ``update`` and ``result``.
    ``result()`` before any ``update`` is NaN.

    Example:
        >>> m = Accuracy()
        >>> for yb, pb in [([0, 1], [0, 0]), ([1], [1])]:
        ...     m.update(yb, pb)
        >>> m.result()  # 2 right out of 3
        0.6666666666666666
    """

    default_name = "metric"

    def __init__(self, name: str | None = None, **config: Any) -> None:
        self.name = name or self.default_name
        self._config = config
        self.reset()

    def reset(self) -> None:
        """Forget everything seen (call at the start of each epoch)."""
        raise NotImplementedError

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add a batch."""
        raise NotImplementedError

    def result(self) -> Any:
        """The metric over every batch since the last reset."""
        raise NotImplementedError

    def clone(self) -> Metric:
        """A fresh metric with the same settings and no state."""
        return type(self)(name=self.name, **self._config)

    def compute(self, y_true: Any, y_pred: Any) -> Any:
        """The metric over one batch, without touching this metric's state."""
        m = self.clone()
        m.update(y_true, y_pred)
        return m.result()

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}(name={self.name!r}{', ' if cfg else ''}{cfg})"


class _CountMetric(Metric):
    """A fraction of hits: keeps the number of hits and of trials."""

    def reset(self) -> None:
        self.hits, self.count = 0, 0

    def _hits(self, y_true: Any, y_pred: Any) -> Any:
        raise NotImplementedError

    def update(self, y_true: Any, y_pred: Any) -> None:
        h = self._hits(y_true, y_pred)
        self.hits += int(h.sum())
        self.count += int(h.size)

    def result(self) -> float:
        return self.hits / self.count if self.count else float("nan")


class Accuracy(_CountMetric):
    """Streaming :func:`~deepgrad.metrics.accuracy` (labels, thresholded or argmax scores)."""

    default_name = "accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None) -> None:
        super().__init__(name, threshold=threshold)

    def _hits(self, y_true: Any, y_pred: Any) -> Any:
        t, p = C.label_pair(y_true, y_pred, self._config["threshold"])
        return t == p


class BinaryAccuracy(_CountMetric):
    """Keras's binary accuracy: each element of ``y_pred > threshold`` against ``y_true``.

    Shape:
        y_true, y_pred: (N,), (N, 1) or (N, K) multi-label (same number of elements).
    """

    default_name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None) -> None:
        super().__init__(name, threshold=threshold)

    def _hits(self, y_true: Any, y_pred: Any) -> Any:
        y_true, y_pred = as_array(y_true, "y_true"), as_array(y_pred, "y_pred")
        check_same_length(y_true, y_pred)
        if y_true.size != y_pred.size:
            raise ValueError(
                f"y_true and y_pred must have the same shape for binary accuracy, got "
                f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}"
            )
        check_no_nan(y_pred, "y_pred")
        check_no_nan(y_true, "y_true")
        xp = get_array_module(y_true, y_pred)
        p = xp.asarray(y_pred) > float(self._config["threshold"])
        return xp.asarray(y_true).reshape(p.shape) == p


class CategoricalAccuracy(_CountMetric):
    """Keras's categorical accuracy: argmax of ``(N, C)`` scores against labels or one-hot."""

    default_name = "categorical_accuracy"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)

    def _hits(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = as_array(y_pred, "y_pred")
        if y_pred.ndim != 2 or y_pred.shape[1] < 2:
            raise ValueError(
                f"y_pred must hold class scores of shape (N, C) with C >= 2 for "
                f"{self.name}, got shape {tuple(y_pred.shape)}"
            )
        t, p = C.label_pair(y_true, y_pred)
        return t == p


class SparseCategoricalAccuracy(CategoricalAccuracy):
    """Keras's sparse categorical accuracy: integer labels against argmax of scores."""

    default_name = "sparse_categorical_accuracy"


class TopKAccuracy(_CountMetric):
    """Streaming :func:`~deepgrad.metrics.top_k_accuracy`."""

    default_name = "top_k_accuracy"

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        super().__init__(name, k=k)

    def _hits(self, y_true: Any, y_pred: Any) -> Any:
        return C.top_k_hits(y_true, y_pred, self._config["k"])


class _ConfusionMetric(Metric):
    """Keeps a host confusion matrix over every label seen, growing as new labels appear."""

    _index = 0  # 0 precision, 1 recall, 2 F1

    def __init__(self, average: str | None = "binary", pos_label: Any = 1, labels: Any = None,
                 zero_division: Any = 0, threshold: float = 0.5,
                 name: str | None = None) -> None:  # fmt: skip
        if average not in C.AVERAGES and average != "auto":
            raise ValueError(f"average must be one of {list(C.AVERAGES)}, got {average!r}")
        super().__init__(name, average=average, pos_label=pos_label, labels=labels,
                         zero_division=zero_division, threshold=threshold)  # fmt: skip

    def reset(self) -> None:
        self.classes: np.ndarray | None = None
        self.cm = np.zeros((0, 0), dtype=np.int64)

    def update(self, y_true: Any, y_pred: Any) -> None:
        t, p = C.label_pair(y_true, y_pred, self._config["threshold"])
        seen = present_labels(t, p)
        if self.classes is None:
            self.classes, self.cm = seen, np.zeros((len(seen), len(seen)), dtype=np.int64)
        new = np.union1d(self.classes, seen)
        if len(new) != len(self.classes):
            pos = np.searchsorted(new, self.classes)
            grown = np.zeros((len(new), len(new)), dtype=np.int64)
            grown[np.ix_(pos, pos)] = self.cm
            self.classes, self.cm = new, grown
        self.cm += C.confusion_counts(t, p, self.classes)

    def result(self) -> Any:
        if self.classes is None:
            return float("nan")
        cfg = {k: v for k, v in self._config.items() if k != "threshold"}
        return C.prf_from_confusion(self.cm, self.classes, **cfg)[self._index]


class Precision(_ConfusionMetric):
    """Streaming :func:`~deepgrad.metrics.precision`; ``average="auto"`` is binary for
    at most two labels, macro otherwise."""

    default_name = "precision"
    _index = 0


class Recall(_ConfusionMetric):
    """Streaming :func:`~deepgrad.metrics.recall` (``average`` as :class:`Precision`)."""

    default_name = "recall"
    _index = 1


class F1Score(_ConfusionMetric):
    """Streaming :func:`~deepgrad.metrics.f1_score` (``average`` as :class:`Precision`)."""

    default_name = "f1"
    _index = 2


class _RegressionMetric(Metric):
    """Per-output float64 sums over batches; the number of outputs is fixed by the first."""

    def __init__(self, multioutput: Any = "uniform_average", name: str | None = None) -> None:
        super().__init__(name, multioutput=multioutput)

    def reset(self) -> None:
        self.n = 0
        self.sums: dict[str, np.ndarray] = {}

    def _pair(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        t, p = R.regression_pair(y_true, y_pred)
        d = next(iter(self.sums.values())).shape[0] if self.sums else t.shape[1]
        if t.shape[1] != d:
            raise ValueError(f"y_true has {t.shape[1]} outputs, earlier batches had {d}")
        return t, p

    def _add(self, key: str, value: Any) -> None:
        v = to_numpy(value)
        self.sums[key] = self.sums[key] + v if key in self.sums else v


class MeanSquaredError(_RegressionMetric):
    """Streaming :func:`~deepgrad.metrics.mean_squared_error`."""

    default_name = "mse"
    _power = 2

    def update(self, y_true: Any, y_pred: Any) -> None:
        t, p = self._pair(y_true, y_pred)
        self._add("err", (abs(t - p) ** self._power).sum(axis=0))
        self.n += t.shape[0]

    def result(self) -> Any:
        if not self.n:
            return float("nan")
        return R.combine_outputs(self.sums["err"] / self.n, self._config["multioutput"])


class MeanAbsoluteError(MeanSquaredError):
    """Streaming :func:`~deepgrad.metrics.mean_absolute_error`."""

    default_name = "mae"
    _power = 1


class R2Score(_RegressionMetric):
    """Streaming :func:`~deepgrad.metrics.r2_score`: keeps the count, the mean and the
    sum of squared deviations of y_true (merged per batch with Chan's formula, stable
    for targets far from 0) and the sum of squared residuals."""

    default_name = "r2"

    def update(self, y_true: Any, y_pred: Any) -> None:
        t, p = self._pair(y_true, y_pred)
        nb = t.shape[0]
        mb = t.mean(axis=0)
        m2b = to_numpy(((t - mb) ** 2).sum(axis=0))
        mb = to_numpy(mb)
        self._add("res", ((t - p) ** 2).sum(axis=0))
        if self.n == 0:
            self.sums["mean"], self.sums["m2"] = mb, m2b
        else:
            n, total = self.n, self.n + nb
            delta = mb - self.sums["mean"]
            self.sums["mean"] = self.sums["mean"] + delta * (nb / total)
            self.sums["m2"] = self.sums["m2"] + m2b + delta**2 * (n * nb / total)
        self.n += nb

    def result(self) -> Any:
        if not self.n:
            return float("nan")
        return R.r2_from_sums(self.sums["res"], self.sums["m2"], self.n,
                              self._config["multioutput"])  # fmt: skip


__all__ = [
    "Metric",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKAccuracy",
    "Precision",
    "Recall",
    "F1Score",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "R2Score",
]

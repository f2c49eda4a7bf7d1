"""Metrics: one-shot functions (scikit-learn semantics), streaming metrics, a name registry.

Functions take NumPy or CuPy arrays, lists, or deepgrad Tensors and return Python floats
(per-class or per-output NumPy arrays where asked). Only ``deepgrad.backend`` and
``deepgrad.autograd`` may be imported from here (the layering test checks it).
"""

from deepgrad.metrics.classification import (
    accuracy,
    confusion_matrix,
    f1_score,
    precision,
    precision_recall_fscore_support,
    recall,
    top_k_accuracy,
)
from deepgrad.metrics.registry import MetricFn, get_metric, metric_names
from deepgrad.metrics.regression import mean_absolute_error, mean_squared_error, r2_score
from deepgrad.metrics.streaming import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    F1Score,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    Precision,
    R2Score,
    Recall,
    SparseCategoricalAccuracy,
    TopKAccuracy,
)

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "precision",
    "recall",
    "f1_score",
    "precision_recall_fscore_support",
    "confusion_matrix",
    "mean_squared_error",
    "mean_absolute_error",
    "r2_score",
    "get_metric",
    "metric_names",
    "MetricFn",
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

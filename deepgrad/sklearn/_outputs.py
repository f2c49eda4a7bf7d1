"""Targets in, predictions out: labels (strings, integers, booleans; binary, multiclass,
multilabel) to training targets and logits back to labels and probabilities, as
scikit-learn's MLPClassifier does it; regression targets one or several columns."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d

from ._base import validate_data

__all__ = ["ClassifierOutputs", "RegressorOutputs"]

_XY = {"accept_sparse": ["csr", "csc"], "multi_output": True,
       "dtype": (np.float64, np.float32)}


class ClassifierOutputs(ClassifierMixin):
    """Label handling and the predict methods of the classifiers.

    Needs ``head_``: "softmax" (one logit per class, cross-entropy) or "logistic" (one
    sigmoid per output: binary with one output, multilabel, or one-vs-rest multiclass).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True  # every deepgrad classifier
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {**super()._more_tags(), "multilabel": True}

    def _validate_xy(self, X: Any, y: Any, reset: bool, incremental: bool,
                     classes: Any = None) -> tuple[Any, np.ndarray]:
        """Validated X and the label-binarized targets (bool, (n, k)); sets ``classes_``
        as scikit-learn's MLPClassifier does (fit redefines them, partial_fit and
        warm_start check new labels against them)."""
        X, y = validate_data(self, X, y, reset=reset, **_XY)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        first_partial = incremental and not hasattr(self, "classes_")
        if first_partial:
            if classes is None and not str(_type(y)).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if classes is None else classes)
            self.classes_ = self._label_binarizer.classes_
        elif not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        if classes is not None and not first_partial and incremental and \
                not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call "
                             f"to partial_fit, which was {self.classes_!r}")
        new = unique_labels(y)
        if self.warm_start and not incremental and set(new) != set(self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {new}")
        if len(np.setdiff1d(new, self.classes_)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {new}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _targets(self, Y: np.ndarray) -> np.ndarray:
        """Binarized labels in the layout of the model's outputs."""
        if self.head_ == "softmax" and Y.shape[1] == 1:  # binary: two logits
            return np.hstack([~Y, Y])
        return Y

    def _n_outputs_for(self, Y: np.ndarray) -> int:
        return self._targets(Y).shape[1]

    def _multilabel(self) -> bool:
        return self._label_binarizer.y_type_.startswith("multilabel")

    def decision_function(self, X: Any) -> np.ndarray:
        """The logits: (n_samples,) for binary problems, (n_samples, n_outputs) otherwise.

        Shape:
            X (n_samples, n_features_in_).
        """
        z, dt = self._decision(X)
        if z.shape[1] == 1:
            return z.ravel().astype(dt)
        if self.head_ == "softmax" and len(self.classes_) == 2:
            return (z[:, 1] - z[:, 0]).astype(dt)
        return z.astype(dt)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes) (per label for multilabel)."""
        z, dt = self._decision(X)
        z = z.astype(np.float64)
        if self.head_ == "softmax":
            return softmax(z, axis=1).astype(dt)
        p = expit(z)
        if z.shape[1] == 1:
            return np.hstack([1 - p, p]).astype(dt)
        if not self._multilabel():  # one-vs-rest sigmoids over classes
            p = p / np.maximum(p.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)
        return p.astype(dt)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba` (computed from the logits where exact)."""
        self._check_fitted()
        if self.head_ == "softmax":
            z, dt = self._decision(X)
            return log_softmax(z.astype(np.float64), axis=1).astype(dt)
        return np.log(np.clip(self.predict_proba(X), np.finfo(np.float64).tiny, None))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (an indicator matrix for multilabel targets)."""
        z, _ = self._decision(X)
        if self.head_ == "softmax" or (z.shape[1] > 1 and not self._multilabel()):
            return self.classes_[np.argmax(z, axis=1)]
        p = expit(z.astype(np.float64))
        return self._label_binarizer.inverse_transform(p.ravel() if p.shape[1] == 1 else p)


def _type(y: Any) -> str:
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y)


class RegressorOutputs(RegressorMixin):
    """Target handling and ``predict`` of the regressors (one or several outputs)."""

    def _validate_xy(self, X: Any, y: Any, reset: bool, incremental: bool,
                     classes: Any = None) -> tuple[Any, np.ndarray]:
        X, y = validate_data(self, X, y, y_numeric=True, reset=reset, **_XY)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y.reshape(len(y), -1)

    def _targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def _n_outputs_for(self, Y: np.ndarray) -> int:
        return Y.shape[1]

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values, (n_samples,) for one output, else (n_samples, n_outputs).

        Shape:
            X (n_samples, n_features_in_).
        """
        z, dt = self._decision(X)
        if self.head_ == "exp":
            z = np.exp(z.astype(np.float64))
        z = z.astype(dt)
        return z.ravel() if z.shape[1] == 1 else z

"""scikit-learn estimators backed by deepgrad networks (``pip install deepgrad[sklearn]``).

* :class:`MLPClassifier`, :class:`MLPRegressor`: drop-in replacements for
  ``sklearn.neural_network``'s, with the same parameters, defaults and fitted attributes,
  plus ``dropout``, ``batch_norm``, ``dtype`` and ``device``.
* :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor`: wrap any deepgrad model (a
  Module, a builder ``fn(n_features_in, n_outputs, **model__kwargs)``, or a CLI-style list
  of layers) for Pipeline, GridSearchCV and cross_val_score.

``import deepgrad`` never imports this package; importing it imports scikit-learn.
"""

from __future__ import annotations

try:
    import sklearn as _sklearn  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "deepgrad.sklearn needs scikit-learn: pip install 'deepgrad[sklearn]' "
        "(or pip install scikit-learn>=1.3)"
    ) from e

from ._base import expected_failed_checks  # noqa: E402
from .mlp import MLPClassifier, MLPRegressor  # noqa: E402
from .wrappers import NeuralNetClassifier, NeuralNetRegressor, mlp_builder  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor",
           "expected_failed_checks", "mlp_builder"]

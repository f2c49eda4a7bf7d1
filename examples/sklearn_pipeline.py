"""deepgrad networks inside scikit-learn: Pipeline, cross_val_score, GridSearchCV, pickling.

    python examples/sklearn_pipeline.py        # about 15 s of CPU

Needs ``pip install deepgrad[sklearn]``.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepgrad import nn
from deepgrad.callbacks import EarlyStopping
from deepgrad.sklearn import MLPClassifier, NeuralNetClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def build(n_features_in: int, n_outputs: int, units: int = 32, dropout: float = 0.0):
    """A builder: NeuralNetClassifier calls it with the data's sizes and model__* values."""
    return nn.Sequential(nn.Linear(n_features_in, units), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(units, n_outputs))


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)

    # 1. a drop-in for sklearn.neural_network.MLPClassifier, in a pipeline
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0))
    scores = cross_val_score(pipe, X_tr, y_tr, cv=5)
    print(f"MLPClassifier 5-fold accuracy: {scores.mean():.3f} ± {scores.std():.3f}")

    # 2. grid search over scikit-learn's parameters and deepgrad's (dropout, batch_norm)
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(32,), (64, 32)],
                               "mlpclassifier__alpha": [1e-4, 1e-2],
                               "mlpclassifier__batch_norm": [False, True]}, cv=3, n_jobs=2)
    grid.fit(X_tr, y_tr)
    print(f"best {grid.best_params_}: test accuracy {grid.score(X_te, y_te):.3f}")

    # 3. any deepgrad model: a builder whose arguments the grid varies (model__*), the
    #    optimizer's too (optimizer__*), deepgrad callbacks, string labels
    Xw, yw = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[yw]
    net = make_pipeline(StandardScaler(), NeuralNetClassifier(
        build, epochs=60, batch_size=16, validation_split=0.2, random_state=0,
        callbacks=[EarlyStopping(patience=5, restore_best_weights=True)]))
    search = GridSearchCV(net, {"neuralnetclassifier__model__units": [8, 32],
                                "neuralnetclassifier__model__dropout": [0.0, 0.3],
                                "neuralnetclassifier__optimizer__lr": [1e-3, 1e-2]}, cv=3)
    search.fit(Xw, names)
    print(f"NeuralNetClassifier best {search.best_params_}: cv {search.best_score_:.3f}")

    # 4. a fitted estimator pickles, predictions identical after loading
    fitted = grid.best_estimator_
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict_proba(X_te), fitted.predict_proba(X_te))
    print("pickle round trip: identical predictions")


if __name__ == "__main__":
    main()

"""Regression with mean squared error: a small MLP fits a noisy nonlinear function.

Shows the data helpers (train_test_split, Standardizer fitted on the training set only)
and evaluate() with regression metrics. Offline; a few seconds.

Run:  python examples/regression.py
"""

from __future__ import annotations

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import Standardizer, train_test_split


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(1000, 2)).astype(np.float32)
    y = (np.sin(X[:, 0]) * X[:, 1] + 0.1 * rng.standard_normal(1000)).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    scaler = Standardizer().fit(X_train)  # statistics of the training set only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 1))
    model.compile(optimizer={"name": "adam", "lr": 3e-3}, loss="mse", metrics=["mae", "r2"])
    model.fit(X_train, y_train, epochs=60, batch_size=32, validation_split=0.1, verbose=0,
              seed=0)
    res = model.evaluate(X_test, y_test)
    print(f"test MSE {res['loss']:.4f}, MAE {res['mae']:.4f}, R^2 {res['r2']:.3f}")
    baseline = float(np.mean((y_test - y_train.mean()) ** 2))
    print(f"(predicting the mean gives MSE {baseline:.4f})")


if __name__ == "__main__":
    main()

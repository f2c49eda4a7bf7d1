"""The PyTorch-style explicit training loop on deepgrad: DataLoader, a model, a loss,
backward(), an optimizer step — every piece visible.

    for xb, yb in loader:
        loss = cross_entropy(model(tensor(xb)), yb)
        opt.zero_grad(); loss.backward(); opt.step()

Trains a small network on the built-in spirals (3 classes, not linearly separable).
Offline; a few seconds.

Run:  python examples/explicit_loop.py
"""

from __future__ import annotations

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import ArrayDataset, DataLoader, make_spirals, train_test_split
from deepgrad.losses import cross_entropy
from deepgrad.metrics import accuracy


def main() -> None:
    X, y = make_spirals(n_classes=3)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    loader = DataLoader(ArrayDataset(X_train, y_train), batch_size=32, shuffle=True, seed=0)

    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    opt = dg.optim.Adam(model.parameters(), lr=1e-2)
    sched = dg.optim.lr_scheduler.StepLR(opt, step_size=40, gamma=0.5)

    for epoch in range(120):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = cross_entropy(model(dg.tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
        if epoch % 20 == 0 or epoch == 119:
            model.eval()
            with dg.no_grad():
                scores = model(dg.tensor(X_test)).numpy()
            print(f"epoch {epoch:3d}  train loss {total / len(X_train):.4f}  "
                  f"test accuracy {100 * accuracy(y_test, scores):.1f} %  "
                  f"lr {opt.param_groups[0]['lr']:.4g}")
    assert np.isfinite(total)


if __name__ == "__main__":
    main()

"""The benchmark's workloads: data, the two models on each side, training and inference.

Everything here runs inside one worker process (see ``bench.worker``); the deepgrad side
uses the library as a user would (``deepgrad.nn`` layers, ``losses.cross_entropy``,
``optim.Adam`` and an explicit loop over ``DataLoader`` batches, or ``model.fit``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 128
LR = 1e-3


# ------------------------------------------------------------------------------ data
def data_dir() -> Path | None:
    """The MNIST folder: ``$DEEPGRAD_DATA/mnist`` (or ``$DEEPGRAD_DATA``), else ../shared/data."""
    root = Path(__file__).resolve().parent.parent
    cands = []
    env = os.environ.get("DEEPGRAD_DATA")
    if env:
        cands += [Path(env) / "mnist", Path(env)]
    cands.append(root.parent / "shared" / "data" / "mnist")
    for c in cands:
        if (c / "train-images-idx3-ubyte.gz").exists() or (c / "train-images-idx3-ubyte").exists():
            return c
    return None


def load_data(n_train: int | None = None, n_test: int | None = None, seed: int = 0
              ) -> tuple[dict[str, np.ndarray], str]:
    """MNIST as float32 images in [0, 1], shape (n, 1, 28, 28), and uint8 labels.

    Returns the arrays and a description of their source ("mnist <dir>" or "random").
    Falls back to random data of the same shape when the files are absent.
    """
    folder = data_dir()
    if folder is not None:
        from deepgrad.data import load_mnist

        Xtr, ytr = load_mnist(folder, kind="train")
        Xte, yte = load_mnist(folder, kind="test")
        source = f"MNIST files in {folder}"
    else:
        rng = np.random.default_rng(seed)
        Xtr = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        ytr = rng.integers(0, 10, 60000).astype(np.uint8)
        Xte = rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8)
        yte = rng.integers(0, 10, 10000).astype(np.uint8)
        source = "RANDOM data of MNIST's shape (no MNIST files found; accuracy is meaningless)"
    Xtr, ytr = Xtr[:n_train], ytr[:n_train]
    Xte, yte = Xte[:n_test], yte[:n_test]

    def scale(a: np.ndarray) -> np.ndarray:
        out = np.empty((len(a), 1, 28, 28), dtype=np.float32)
        np.multiply(a.reshape(len(a), 1, 28, 28), np.float32(1 / 255), out=out)
        return out

    data = {"Xtr": scale(Xtr), "ytr": ytr.astype(np.int64), "Xte": scale(Xte),
            "yte": yte.astype(np.int64)}
    return data, source


def flat(X: np.ndarray) -> np.ndarray:
    """(n, 1, 28, 28) -> (n, 784) without a copy."""
    return X.reshape(len(X), -1)


# ------------------------------------------------------------------------ deepgrad
def dg_model(kind: str, seed: int = 0) -> Any:
    """The MLP or CNN in deepgrad, He-initialized (uniform) hidden layers, float32."""
    from deepgrad import nn

    rng = np.random.default_rng(seed)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(784, 256, init="he_uniform", rng=rng), nn.ReLU(),
            nn.Linear(256, 128, init="he_uniform", rng=rng), nn.ReLU(),
            nn.Linear(128, 10, init="he_uniform", rng=rng),
        )
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, init="he_uniform", rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, init="he_uniform", rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(784, 128, init="he_uniform", rng=rng), nn.ReLU(),
        nn.Linear(128, 10, init="he_uniform", rng=rng),
    )


class DeepgradRunner:
    """Train and predict with deepgrad; ``epoch()`` is the explicit PyTorch-style loop."""

    name = "deepgrad"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0,
                 api: str = "loop") -> None:
        import deepgrad as dg
        from deepgrad.data import ArrayDataset, DataLoader

        self.dg, self.kind, self.api = dg, kind, api
        self.model = dg_model(kind, seed)
        self.opt = dg.optim.Adam(self.model.parameters(), lr=LR)
        X = flat(data["Xtr"]) if kind == "mlp" else data["Xtr"]
        self.X, self.y = X, data["ytr"]
        self.loader = DataLoader(ArrayDataset(X, self.y), batch_size=BATCH, shuffle=True,
                                 seed=seed)
        if api == "fit":
            self.model.compile(optimizer=self.opt, loss="sparse_categorical_crossentropy")
        self.seed = seed

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.model.state_dict().items()}

    def epoch(self) -> float:
        if self.api == "fit":
            self.model.fit(self.X, self.y, epochs=1, batch_size=BATCH, verbose=0,
                           seed=self.seed)
            self.seed += 1
            return float("nan")
        from deepgrad.losses import cross_entropy

        dg, model, opt = self.dg, self.model, self.opt
        model.train()
        total = 0.0
        for xb, yb in self.loader:
            loss = cross_entropy(model(dg.tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        return total / len(self.loader)

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        dg, model = self.dg, self.model
        X = flat(X) if self.kind == "mlp" else X
        model.eval()
        outs = []
        with dg.no_grad():
            for i in range(0, len(X), batch):
                outs.append(model(dg.tensor(X[i : i + batch])).data.argmax(axis=1))
        model.train()
        return np.concatenate(outs)


# --------------------------------------------------------------------------- torch
class TorchRunner:
    """The same network in PyTorch, started from deepgrad's initial weights."""

    name = "torch"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0,
                 device: str = "cpu") -> None:
        import torch
        from torch import nn

        self.torch, self.kind, self.device = torch, kind, device
        if kind == "mlp":
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                                  nn.ReLU(), nn.Linear(128, 10))
        else:
            model = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        init = dg_model(kind, seed).state_dict()  # same initial weights on both sides
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in init.items()})
        self.model = model.to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        X = flat(data["Xtr"]) if kind == "mlp" else data["Xtr"]
        self.X = torch.from_numpy(X).to(device)
        self.y = torch.from_numpy(data["ytr"]).to(device)
        self.gen = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        torch, model, opt = self.torch, self.model, self.opt
        F = torch.nn.functional
        model.train()
        n = len(self.X)
        order = torch.randperm(n, generator=self.gen).to(self.device)
        total, nb = 0.0, 0
        for i in range(0, n, BATCH):
            idx = order[i : i + BATCH]
            loss = F.cross_entropy(model(self.X[idx]), self.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            nb += 1
        self.sync()
        return total / nb

    def sync(self) -> None:
        if self.device != "cpu":
            self.torch.cuda.synchronize()

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        torch, model = self.torch, self.model
        X = torch.from_numpy(flat(X) if self.kind == "mlp" else X).to(self.device)
        model.eval()
        outs = []
        with torch.no_grad():
            for i in range(0, len(X), batch):
                outs.append(model(X[i : i + batch]).argmax(dim=1))
        self.sync()
        model.train()
        return torch.cat(outs).cpu().numpy()


# ------------------------------------------------------------------------- sklearn
class SklearnRunner:
    """scikit-learn's MLPClassifier, 784-256-128-10, adam, batch 128, one epoch per call."""

    name = "sklearn"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0) -> None:
        if kind != "mlp":
            raise ValueError("scikit-learn has no CNN")
        from sklearn.neural_network import MLPClassifier

        self.clf = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam",
                                 learning_rate_init=LR, batch_size=BATCH, random_state=seed)
        self.X, self.y = flat(data["Xtr"]), data["ytr"]
        self.classes = np.arange(10)

    def epoch(self) -> float:
        # partial_fit = one pass over the data in shuffled mini-batches
        self.clf.partial_fit(self.X, self.y, classes=self.classes)
        return float(self.clf.loss_)

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        return self.clf.predict(flat(X))


RUNNERS: dict[str, Callable[..., Any]] = {
    "deepgrad": DeepgradRunner, "torch": TorchRunner, "sklearn": SklearnRunner,
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out

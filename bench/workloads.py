"""The benchmark's workloads: data, the models on each side, training and inference.

Everything here runs inside one worker process (see ``bench.worker``); the deepgrad side
uses the library as a user would (``deepgrad.nn`` layers, ``losses.cross_entropy``,
``optim.Adam`` and an explicit loop over ``DataLoader`` batches, or ``model.fit``). The
PyTorch and JAX peers live in ``bench/torch_runner.py`` and ``bench/jax_runner.py``; they
start from deepgrad's initial weights (copied).

Workloads (``KINDS``): ``mlp`` 784-256-128-10; ``cnn`` LeNet-like; ``convnet`` the Keras
"simple MNIST convnet"; ``resnet`` the small ResNet of examples/resnet.py; ``lstm`` a
character language model (embedding -> LSTM -> linear).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 128
LR = 1e-3
ROOT = Path(__file__).resolve().parent.parent

#: batch size per workload (the LSTM's is bench/rnn.py's)
BATCHES = {"mlp": BATCH, "cnn": BATCH, "convnet": BATCH, "resnet": BATCH, "lstm": 64}
#: the character language model: sequence length, embedding and hidden sizes, vocabulary
#: (the 95 printable ASCII characters and newline; anything else reads as "?")
LSTM_T, LSTM_E, LSTM_H = 100, 64, 256
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
#: Python standard-library sources used as the LSTM's text (fixed for a Python version)
CORPUS_MODULES = ("argparse", "dataclasses", "textwrap", "typing")


def batch_size(kind: str) -> int:
    return BATCHES[kind]


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


def load_chars(n_train: int | None = None, n_test: int | None = None
               ) -> tuple[dict[str, np.ndarray], str]:
    """The character language model's data: windows of ``LSTM_T + 1`` characters of
    Python standard-library sources; inputs are the first ``LSTM_T``, targets the next.

    Returns int64 arrays ``Xtr, ytr`` of shape (n_train, T) and ``Xte, yte``
    (n_test, T), and a description of the source.
    """
    import importlib

    n_train, n_test = n_train or 1280, n_test or 256
    need = (n_train + n_test) * (LSTM_T + 1)
    text = ""
    for name in CORPUS_MODULES:
        text += Path(importlib.import_module(name).__file__).read_text(encoding="utf-8")
    while len(text) < need:  # too short: repeat it (never the case for the defaults)
        text += text
    lut = np.full(256, VOCAB.index("?"), dtype=np.int64)  # byte -> index in VOCAB
    lut[[ord(ch) for ch in VOCAB]] = np.arange(len(VOCAB))
    codes = lut[np.frombuffer(text[:need].encode("ascii", "replace"), np.uint8)]
    seqs = codes.reshape(n_train + n_test, LSTM_T + 1)
    data = {"Xtr": seqs[:n_train, :-1].copy(), "ytr": seqs[:n_train, 1:].copy(),
            "Xte": seqs[n_train:, :-1].copy(), "yte": seqs[n_train:, 1:].copy()}
    version = ".".join(map(str, sys.version_info[:3]))
    return data, f"text of Python {version}'s {', '.join(CORPUS_MODULES)} sources"


def load_for(kind: str, n_train: int | None, n_test: int | None
             ) -> tuple[dict[str, np.ndarray], str]:
    """The data of workload ``kind``: MNIST images, or characters for the LSTM."""
    return load_chars(n_train, n_test) if kind == "lstm" else load_data(n_train, n_test)


def flat(X: np.ndarray) -> np.ndarray:
    """(n, 1, 28, 28) -> (n, 784) without a copy."""
    return X.reshape(len(X), -1)


def inputs(kind: str, X: np.ndarray) -> np.ndarray:
    """The model's input array: flat images for the MLP, as loaded otherwise."""
    return flat(X) if kind == "mlp" else X


# ------------------------------------------------------------------------ deepgrad
def _resnet_example() -> Any:
    """examples/resnet.py as a module (the examples folder is not a package)."""
    import importlib.util

    name = "deepgrad_example_resnet"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "resnet.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def dg_model(kind: str, seed: int = 0) -> Any:
    """Workload ``kind``'s network in deepgrad, float32, initialized from ``seed``.

    The MLP and CNN use He-uniform hidden layers; the Keras convnet Keras's defaults
    (Glorot-uniform kernels, zero biases); the ResNet examples/resnet.py's (He-normal
    convolutions); the LSTM model PyTorch's.
    """
    import deepgrad as dg
    from deepgrad import nn

    rng = np.random.default_rng(seed)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(784, 256, init="he_uniform", rng=rng), nn.ReLU(),
            nn.Linear(256, 128, init="he_uniform", rng=rng), nn.ReLU(),
            nn.Linear(128, 10, init="he_uniform", rng=rng),
        )
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, init="he_uniform", rng=rng), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, init="he_uniform", rng=rng), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(784, 128, init="he_uniform", rng=rng), nn.ReLU(),
            nn.Linear(128, 10, init="he_uniform", rng=rng),
        )
    if kind == "convnet":
        g = "glorot_uniform"
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, init=g, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, init=g, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5, rng=rng), nn.Linear(1600, 10, init=g, rng=rng),
        )
    if kind == "resnet":
        dg.manual_seed(seed)  # examples/resnet.py initializes from the global generator
        return _resnet_example().ResNet(1, (16, 32, 64), 1)
    if kind == "lstm":
        return _char_lm(nn, rng)
    raise ValueError(f"dg_model: unknown workload {kind!r}")


def _char_lm(nn: Any, rng: np.random.Generator) -> Any:
    class CharLM(nn.Module):
        """Embedding -> LSTM -> Linear over the characters; PyTorch's names."""

        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(len(VOCAB), LSTM_E, rng=rng)
            self.lstm = nn.LSTM(LSTM_E, LSTM_H, batch_first=True, rng=rng)
            self.fc = nn.Linear(LSTM_H, len(VOCAB), rng=rng)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(self.embedding(x))
            return self.fc(out)

    return CharLM()


def _logits_2d(kind: str, logits: Any, y: Any) -> tuple[Any, Any]:
    """The LSTM's (N, T, V) logits and (N, T) targets as (N*T, V) and (N*T,)."""
    if kind != "lstm":
        return logits, y
    return logits.reshape(-1, len(VOCAB)), y.reshape(-1)


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
        X = inputs(kind, data["Xtr"])
        self.X, self.y, self.batch = X, data["ytr"], batch_size(kind)
        self.loader = DataLoader(ArrayDataset(X, self.y), batch_size=self.batch, shuffle=True,
                                 seed=seed)
        if api == "fit":
            self.model.compile(optimizer=self.opt, loss="sparse_categorical_crossentropy")
        self.step = dg.compile_step(self.model, self.opt) if api == "jit" else None
        self.seed = seed

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.model.state_dict().items()}

    def epoch(self) -> float:
        if self.api == "fit":
            hist = self.model.fit(self.X, self.y, epochs=1, batch_size=self.batch, verbose=0,
                                  seed=self.seed)
            self.seed += 1
            return float(getattr(hist, "history", {}).get("loss", [float("nan")])[-1])
        from deepgrad.losses import cross_entropy

        dg, model, opt, kind = self.dg, self.model, self.opt, self.kind
        model.train()
        total = 0.0
        if self.step is not None:  # the compiled step (deepgrad.compile_step)
            for xb, yb in self.loader:
                total += self.step(xb, yb)
            return total / len(self.loader)
        for xb, yb in self.loader:
            loss = cross_entropy(*_logits_2d(kind, model(dg.tensor(xb)), yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        return total / len(self.loader)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """The mean loss on ``X, y`` at the current weights, in eval mode."""
        from deepgrad.losses import cross_entropy

        dg, model = self.dg, self.model
        model.eval()
        with dg.no_grad():
            out = cross_entropy(*_logits_2d(self.kind, model(dg.tensor(inputs(self.kind, X))),
                                            y)).item()
        model.train()
        return float(out)

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        dg, model = self.dg, self.model
        X = inputs(self.kind, X)
        model.eval()
        outs = []
        with dg.no_grad():
            for i in range(0, len(X), batch):
                outs.append(model(dg.tensor(X[i : i + batch])).data.argmax(axis=-1))
        model.train()
        return np.concatenate(outs)


# ------------------------------------------------------------------------- sklearn
class SklearnRunner:
    """scikit-learn's MLPClassifier, 784-256-128-10, adam, batch 128, one epoch per call."""

    name = "sklearn"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0) -> None:
        if kind != "mlp":
            raise ValueError("scikit-learn has only the MLP")
        from sklearn.neural_network import MLPClassifier

        self.clf = MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam",
                                 learning_rate_init=LR, batch_size=BATCH, random_state=seed)
        self.X, self.y = flat(data["Xtr"]), data["ytr"]
        self.classes = np.arange(10)

    def epoch(self) -> float:
        # partial_fit = one pass over the data in shuffled mini-batches
        self.clf.partial_fit(self.X, self.y, classes=self.classes)
        return float(self.clf.loss_)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float | None:
        return None  # its own initialization: not comparable

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        return self.clf.predict(flat(X))


def _torch_runner(*args: Any, **kw: Any) -> Any:
    from .torch_runner import TorchRunner

    return TorchRunner(*args, **kw)


def _jax_runner(*args: Any, **kw: Any) -> Any:
    from .jax_runner import JaxRunner

    return JaxRunner(*args, **kw)


RUNNERS: dict[str, Callable[..., Any]] = {
    "deepgrad": DeepgradRunner, "torch": _torch_runner, "sklearn": SklearnRunner,
    "jax": _jax_runner,
}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out

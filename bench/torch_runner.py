"""The PyTorch peer: every workload's network in ``torch.nn``, from deepgrad's initial
weights (copied through ``state_dict``; the parameter names are the same on both sides),
trained by the usual loop (shuffled batches, ``F.cross_entropy``, ``torch.optim.Adam``). The
batch order is a NumPy permutation from the run's seed, the same as deepgrad's
``DataLoader`` and the JAX peer draw, so without dropout the peers' losses agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .workloads import LR, LSTM_E, LSTM_H, VOCAB, batch_size, dg_model, inputs


def _resnet(nn: Any, torch: Any) -> Any:
    """examples/resnet.py's ResNet (widths 16 32 64, one block per stage), same names."""

    def conv(c_in: int, c_out: int, k: int, stride: int = 1) -> Any:
        return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)

    class Block(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = conv(c_in, c_out, 3, stride), nn.BatchNorm2d(c_out)
            self.conv2, self.bn2 = conv(c_out, c_out, 3), nn.BatchNorm2d(c_out)
            self.proj_conv = self.proj_bn = None
            if stride != 1 or c_in != c_out:
                self.proj_conv, self.proj_bn = conv(c_in, c_out, 1, stride), nn.BatchNorm2d(c_out)

        def forward(self, x: Any) -> Any:
            h = torch.relu(self.bn1(self.conv1(x)))
            h = self.bn2(self.conv2(h))
            if self.proj_conv is not None:
                x = self.proj_bn(self.proj_conv(x))
            return torch.relu(h + x)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem_conv, self.stem_bn = conv(1, 16, 3), nn.BatchNorm2d(16)
            self.blocks = nn.ModuleList([Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2)])
            self.fc = nn.Linear(64, 10)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.stem_bn(self.stem_conv(x)))
            for block in self.blocks:
                x = block(x)
            return self.fc(x.mean(dim=(2, 3)))

    return ResNet()


def torch_model(kind: str) -> Any:
    """Workload ``kind``'s network in PyTorch (its own initialization, to be overwritten)."""
    import torch
    from torch import nn

    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == "convnet":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(1600, 10))
    if kind == "resnet":
        return _resnet(nn, torch)
    if kind == "lstm":
        class CharLM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = nn.Embedding(len(VOCAB), LSTM_E)
                self.lstm = nn.LSTM(LSTM_E, LSTM_H, batch_first=True)
                self.fc = nn.Linear(LSTM_H, len(VOCAB))

            def forward(self, x: Any) -> Any:
                return self.fc(self.lstm(self.embedding(x))[0])

        return CharLM()
    raise ValueError(f"torch_model: unknown workload {kind!r}")


def load_deepgrad_weights(model: Any, state: dict[str, Any]) -> None:
    """Copy deepgrad's state dict into ``model``; every parameter and buffer must match
    (BatchNorm's ``num_batches_tracked``, which deepgrad does not keep, may be absent)."""
    import torch

    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not match: missing {missing}, unexpected {unexpected}")


class TorchRunner:
    """The same network in PyTorch, started from deepgrad's initial weights."""

    name = "torch"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0,
                 device: str = "cpu") -> None:
        import torch

        self.torch, self.kind, self.device = torch, kind, device
        model = torch_model(kind)
        load_deepgrad_weights(model, dg_model(kind, seed).state_dict())
        self.model = model.to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.X = torch.from_numpy(inputs(kind, data["Xtr"])).to(device)
        self.y = torch.from_numpy(data["ytr"]).to(device)
        self.rng = np.random.default_rng(seed)  # the batch order of deepgrad's DataLoader
        self.batch = batch_size(kind)

    def _loss(self, X: Any, y: Any) -> Any:
        logits = self.model(X)
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                      y.reshape(-1))

    def epoch(self) -> float:
        torch, model, opt = self.torch, self.model, self.opt
        model.train()
        n = len(self.X)
        order = torch.from_numpy(self.rng.permutation(n)).to(self.device)
        total, nb = 0.0, 0
        for i in range(0, n, self.batch):
            idx = order[i : i + self.batch]
            loss = self._loss(self.X[idx], self.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            nb += 1
        self.sync()
        return total / nb

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """The mean loss on ``X, y`` at the current weights, in eval mode."""
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            out = self._loss(torch.from_numpy(inputs(self.kind, X)).to(self.device),
                             torch.from_numpy(y).to(self.device)).item()
        self.model.train()
        return float(out)

    def sync(self) -> None:
        if self.device != "cpu":
            self.torch.cuda.synchronize()

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        torch, model = self.torch, self.model
        X = torch.from_numpy(inputs(self.kind, X)).to(self.device)
        model.eval()
        outs = []
        with torch.no_grad():
            for i in range(0, len(X), batch):
                outs.append(model(X[i : i + batch]).argmax(dim=-1))
        self.sync()
        model.train()
        return torch.cat(outs).cpu().numpy()

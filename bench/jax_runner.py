"""The JAX peer (``jax``/``jaxlib`` 0.10.2, ``optax`` 0.2.8; bench environment only).

What a Keras user on the JAX backend gets: the whole training step (forward, loss,
gradients, the optax Adam update) is one ``jax.jit`` function, the training state donated
to it (Keras's ``donate_argnums``), images channels-last (Keras's default ``NHWC``
layout, kernels ``HWIO``), batches gathered by NumPy on the host and passed in. The
weights are deepgrad's initial ones, copied and transposed into Keras's layouts (the dense
layer after ``Flatten`` gets its rows permuted from ``C, H, W`` to ``H, W, C`` order), so
the three peers compute the same function. The loss is summed on the device and read once
per epoch; the epoch ends when its last update is ready (``block_until_ready``).

Workloads: ``mlp``, ``cnn`` and ``convnet`` (the MNIST networks of ``bench.workloads``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .workloads import LR, batch_size, dg_model

#: the spatial shape (C, H, W) entering Flatten in each network
_FLATTEN = {"cnn": (16, 7, 7), "convnet": (64, 5, 5)}


def keras_layout(kind: str, state: dict[str, Any]) -> tuple[list[tuple], list[dict]]:
    """The architecture (a list of layer descriptions) and parameters in Keras's layouts,
    from a deepgrad ``Sequential``'s state dict (PyTorch's layouts and names)."""
    arch: list[tuple] = []
    params: list[dict[str, np.ndarray]] = []
    model = dg_model(kind)  # the layer sequence (its weights are not used)
    flattened = None
    for i, layer in enumerate(model):
        name = type(layer).__name__
        if name == "Linear":
            W, b = np.asarray(state[f"{i}.weight"]), np.asarray(state[f"{i}.bias"])
            K = W.T
            if flattened is not None:  # rows from (C, H, W) to (H, W, C) order
                C, H, Wd = flattened
                K = K.reshape(C, H, Wd, -1).transpose(1, 2, 0, 3).reshape(C * H * Wd, -1)
                flattened = None
            arch.append(("dense",))
            params.append({"kernel": np.ascontiguousarray(K), "bias": b.copy()})
        elif name == "Conv2d":
            W, b = np.asarray(state[f"{i}.weight"]), np.asarray(state[f"{i}.bias"])
            pad = layer.padding[0] if isinstance(layer.padding, tuple) else layer.padding
            arch.append(("conv", "SAME" if pad == 1 else "VALID"))
            params.append({"kernel": np.ascontiguousarray(W.transpose(2, 3, 1, 0)),
                           "bias": b.copy()})
        elif name in ("ReLU", "MaxPool2d", "Flatten", "Dropout"):
            arch.append((name.lower(), getattr(layer, "p", None)))
            params.append({})
            if name == "Flatten":
                flattened = _FLATTEN[kind]
        else:
            raise ValueError(f"keras_layout: no JAX version of {name}")
    return arch, params


def _forward(jax: Any, arch: list[tuple], params: list[dict], x: Any, train: bool,
             key: Any) -> Any:
    lax, jnp = jax.lax, jax.numpy
    for spec, p in zip(arch, params, strict=True):
        kind = spec[0]
        if kind == "dense":
            x = x @ p["kernel"] + p["bias"]
        elif kind == "conv":
            x = lax.conv_general_dilated(x, p["kernel"], (1, 1), spec[1],
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
            x = x + p["bias"]
        elif kind == "relu":
            x = jax.nn.relu(x)
        elif kind == "maxpool2d":
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "dropout" and train:
            rate = spec[1]
            keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
            x = jnp.where(keep, x / (1.0 - rate), 0.0)
    return x


class JaxRunner:
    """Train and predict with JAX: one jitted step, optax Adam, deepgrad's initial weights."""

    name = "jax"

    def __init__(self, kind: str, data: dict[str, np.ndarray], seed: int = 0) -> None:
        if kind not in ("mlp", "cnn", "convnet"):
            raise ValueError(f"the JAX peer has no {kind!r} workload")
        import jax
        import optax

        self.jax, self.kind, self.batch = jax, kind, batch_size(kind)
        arch, params = keras_layout(kind, dg_model(kind, seed).state_dict())
        self.params = jax.device_put(params)
        opt = optax.adam(LR)  # b1 0.9, b2 0.999, eps 1e-8: torch's and deepgrad's
        self.opt_state = opt.init(self.params)
        self.X, self.y = self._layout(data["Xtr"]), data["ytr"].astype(np.int32)
        self.rng = np.random.default_rng(seed)
        self.key, self.steps = jax.random.PRNGKey(seed), 0
        fwd = _forward

        def loss_fn(p: Any, x: Any, y: Any, train: bool, key: Any) -> Any:
            logits = fwd(jax, arch, p, x, train, key)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        def step(p: Any, s: Any, x: Any, y: Any, key: Any, i: Any, total: Any) -> Any:
            key = jax.random.fold_in(key, i)  # dropout's mask of step i
            loss, grads = jax.value_and_grad(loss_fn)(p, x, y, True, key)
            updates, s = opt.update(grads, s, p)
            return optax.apply_updates(p, updates), s, total + loss

        self._step = jax.jit(step, donate_argnums=(0, 1))
        self._loss = jax.jit(lambda p, x, y: loss_fn(p, x, y, False, None))
        self._predict = jax.jit(lambda p, x: fwd(jax, arch, p, x, False, None).argmax(-1))

    def _layout(self, X: np.ndarray) -> np.ndarray:
        """Images (n, 1, 28, 28) as the MLP's (n, 784) or Keras's channels-last (n, 28, 28, 1)."""
        if self.kind == "mlp":
            return X.reshape(len(X), -1)
        return np.ascontiguousarray(X.transpose(0, 2, 3, 1))

    def epoch(self) -> float:
        jax, n, bs = self.jax, len(self.X), self.batch
        order = self.rng.permutation(n)
        total = jax.numpy.zeros((), jax.numpy.float32)
        nb = 0
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            self.params, self.opt_state, total = self._step(
                self.params, self.opt_state, self.X[idx], self.y[idx], self.key,
                np.int32(self.steps), total)
            nb += 1
            self.steps += 1
        return float(total.block_until_ready()) / nb

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """The mean loss on ``X, y`` at the current weights, in eval mode."""
        return float(self._loss(self.params, self._layout(X), y.astype(np.int32)))

    def predict(self, X: np.ndarray, batch: int = 1000) -> np.ndarray:
        X = self._layout(X)
        outs = [self._predict(self.params, X[i : i + batch]) for i in range(0, len(X), batch)]
        return np.concatenate([np.asarray(o) for o in outs])

"""A ``model:`` that starts from a pretrained network (transfer learning from a config):

```yaml
model:
  pretrained: runs/digits-0-4/model.dg     # a .dg or .onnx model
  until: flatten                           # keep the layers up to this one (optional)
  freeze: true                             # its weights don't train (default true)
  head:                                    # new layers on top (optional)
    - dense: {units: 64, activation: relu}
    - dense: 5
```

``until`` names a layer of a graph model (``deepgrad summary`` lists them) or a child of a
``Sequential`` (``"3"``); the kept part is frozen as Keras freezes (BatchNorm in inference
mode) unless ``freeze: false``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype
from .errors import ConfigError
from .schema import as_bool, as_str, check_keys, join_path

__all__ = ["is_pretrained", "validate_pretrained", "build_pretrained"]

KEYS = ("pretrained", "until", "freeze", "head")


def is_pretrained(spec: Any) -> bool:
    """Whether a ``model:`` section starts from a pretrained network."""
    return isinstance(spec, dict) and "pretrained" in spec


def validate_pretrained(spec: dict[str, Any], path: str = "model") -> dict[str, Any]:
    """Check the keys; returns the spec with defaults and the head validated."""
    from .layers import validate_layer  # noqa: PLC0415 - layers imports us

    check_keys(spec, path, KEYS, required=("pretrained",))
    src = as_str(spec["pretrained"], join_path(path, "pretrained"))
    if Path(src).suffix.lower() not in (".dg", ".onnx"):
        raise ConfigError(join_path(path, "pretrained"),
                          f"expected a .dg or .onnx model file, got {src!r}")
    until = spec.get("until")
    head = spec.get("head") or []
    if not isinstance(head, list):
        raise ConfigError(join_path(path, "head"), "expected a list of layers")
    return {
        "pretrained": src,
        "until": None if until is None else as_str(str(until), join_path(path, "until")),
        "freeze": as_bool(spec.get("freeze", True), join_path(path, "freeze")),
        "head": [validate_layer(e, join_path(join_path(path, "head"), i))
                 for i, e in enumerate(head)],
    }


def _load(src: str, path: str) -> nn.Module:
    from .common import load_model_file  # noqa: PLC0415 - common imports the data layer

    if not Path(src).is_file():
        raise ConfigError(join_path(path, "pretrained"), f"{src}: no such model file")
    model, _ = load_model_file(src)
    model.train()
    return model


def _cut_graph(base: nn.Model, until: str, path: str) -> nn.Model:
    names = [n.name for n in base.nodes if n.layer is not None]
    try:
        layer = base.get_layer(until)
    except (ValueError, KeyError):
        raise ConfigError(join_path(path, "until"),
                          f"no layer {until!r} in the model; its layers: "
                          f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''}"
                          ) from None
    return nn.Model(base.inputs, layer.output, name=base.name)


def _cut_sequential(base: nn.Sequential, until: str, path: str) -> nn.Sequential:
    names = [n for n, _ in base.named_children()]
    if until not in names:
        raise ConfigError(join_path(path, "until"),
                          f"no layer {until!r} in the Sequential; its layers are "
                          f"{', '.join(names)}")
    return nn.Sequential(*[m for _, m in base.named_children()][: names.index(until) + 1])


def _output_shape(model: nn.Module, input_shape: tuple[int, ...], path: str) -> tuple:
    x = Tensor(np.zeros((1, *input_shape), dtype=get_default_dtype()))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            y = model(x)
    except ValueError as e:
        raise ConfigError(join_path(path, "pretrained"),
                          f"the model doesn't take this data's examples of shape "
                          f"{input_shape}: {e}") from None
    finally:
        for m, t in modes:
            object.__setattr__(m, "training", t)
    if not isinstance(y, Tensor):
        raise ConfigError(join_path(path, "until"),
                          "the kept part must end in one output; choose one layer with until")
    return tuple(int(s) for s in y.shape[1:])


def build_pretrained(spec: dict[str, Any], input_shape: tuple[int, ...],
                     path: str = "model") -> nn.Module:
    """The pretrained model, cut at ``until``, frozen, with the ``head`` on top."""
    from .layers import build_model  # noqa: PLC0415 - layers imports us

    base = _load(spec["pretrained"], path)
    is_graph = isinstance(base, nn.Model) and base.is_graph
    if spec["until"] is not None:
        if is_graph:
            base = _cut_graph(base, spec["until"], path)
        elif isinstance(base, nn.Sequential):
            base = _cut_sequential(base, spec["until"], path)
        else:
            raise ConfigError(join_path(path, "until"),
                              f"the model is a {type(base).__name__}, which can't be cut; "
                              "only graph models and Sequentials can")
    shape = _output_shape(base, input_shape, path)
    if spec["freeze"]:
        base.trainable = False
    if not spec["head"]:
        return base
    head = build_model(spec["head"], shape, join_path(path, "head"))
    if is_graph:
        out = base.outputs[0]
        for layer in head:
            out = layer(out)
        return nn.Model(base.inputs, out, name=base.name)
    return nn.Sequential(*base.children(), *head.children()) if isinstance(
        base, nn.Sequential) else nn.Sequential(base, *head.children())

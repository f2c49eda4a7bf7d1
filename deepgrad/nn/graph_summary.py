"""The summary table of a graph model (Keras's, with a "Connected to" column)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import Model

__all__ = ["graph_summary"]


def _shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def graph_summary(model: Model, print_fn: Callable[[str], Any] | None = print) -> str:
    """Print and return one row per node: name (type), output shape, parameters (counted
    at a layer's first call), the nodes it takes; then total, trainable and non-trainable
    parameter counts (frozen parameters are non-trainable)."""
    rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
    seen: set[int] = set()
    for n in model.nodes:
        count = 0
        if n.layer is not None and id(n.layer) not in seen:
            seen.add(id(n.layer))
            count = sum(p.size for p in n.layer.parameters())
        rows.append((f"{n.name} ({n.kind})", _shape(n.output.shape), f"{count:,}",
                     ", ".join(str(i) for i in n.inputs)))
    total = model.num_parameters()
    trainable = model.num_parameters(trainable_only=True)
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    rule = "-" * (sum(w) + 9)
    lines = [f'Model: "{model.name or "model"}"', rule]
    for i, r in enumerate(rows):
        lines.append(f"{r[0]:<{w[0]}}   {r[1]:<{w[1]}}   {r[2]:>{w[2]}}   {r[3]}".rstrip())
        if i == 0:
            lines.append(rule.replace("-", "="))
    lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}"]
    spec = getattr(model, "_loss_spec", None)
    multi = getattr(model, "_multi_spec", None)
    if multi:
        lines += [f"{o.key}: " + (o.spec.describe() if o.spec else "not trained")
                  + (f" (weight {o.weight:g})" if o.weight != 1.0 else "") for o in multi]
    elif spec is not None:
        lines.append(spec.describe())
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text

"""Graph models in configs: named layers wired by ``inputs:``, built into a graph ``Model``.

A ``model:`` that is a mapping declares a graph (a list is a plain stack of layers)::

    model:
      input: image                 # the name of the model's input (default: input)
      layers:
        - {name: stem, conv2d: {filters: 16, kernel_size: 3, padding: same}}
        - {name: bn, batchnorm: {}}                   # inputs: the layer above
        - {name: relu1, relu: null}
        - {name: skip, add: {}, inputs: [relu1, stem]}
        - {name: pool, globalavgpool2d: {}}
        - {name: logits, dense: 10}
      outputs: [logits]            # default: the last layer

Each layer is a mapping with one layer kind (as in a list model, or a merge kind: add,
subtract, multiply, average, maximum, minimum, concatenate), an optional ``name`` (default
``<kind>_<index>``) and optional ``inputs`` (a name or a list; default: the layer above, or
the model's input for the first). Layers may be listed in any order. Errors name the node:
a duplicate name, an unknown input, a cycle, an output of nothing, a layer or input whose
value is never used.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from .errors import ConfigError
from .layers import make_layers, validate_layer
from .schema import as_int, as_str, check_keys, join_path, show

__all__ = ["MERGE_KINDS", "validate_graph", "build_graph"]

# kind -> (the deepgrad.nn class, its settings, minimum inputs, maximum inputs)
MERGE_KINDS: dict[str, tuple[str, tuple[str, ...], int, int | None]] = {
    "add": ("Add", (), 2, None),
    "subtract": ("Subtract", (), 2, 2),
    "multiply": ("Multiply", (), 2, None),
    "average": ("Average", (), 2, None),
    "maximum": ("Maximum", (), 2, None),
    "minimum": ("Minimum", (), 2, None),
    "concatenate": ("Concatenate", ("axis",), 2, None),
}
_NODE_KEYS = ("name", "inputs")


def _label(i: int, name: str) -> str:
    return f"model.layers[{i}] ({name})"


def _merge(kind: str, args: Any, p: str) -> dict[str, Any]:
    keys = MERGE_KINDS[kind][1]
    args = {} if args is None else args
    if not isinstance(args, dict):
        raise ConfigError(p, f"expected a mapping of settings, got {show(args)}")
    check_keys(args, p, keys)
    if kind == "concatenate":  # the channel/feature axis: Keras's -1 in channels-last
        return {"axis": as_int(args.get("axis", 1), join_path(p, "axis"), None, "an integer")}
    return {}


def _node(entry: Any, i: int, path: str) -> dict[str, Any]:
    """One layer of a graph as ``{"name", "inputs" (or None), kind: settings}``."""
    p = join_path(join_path(path, "layers"), i)
    if isinstance(entry, str):
        entry = {entry: None}
    if not isinstance(entry, dict):
        raise ConfigError(p, f"expected a layer mapping (e.g. {{name: b1, conv2d: {{...}}, "
                          f"inputs: stem}}), got {show(entry)}")
    kinds = [k for k in entry if k not in _NODE_KEYS]
    if len(kinds) != 1:
        raise ConfigError(p, f"expected one layer kind besides name and inputs, got "
                          f"{', '.join(map(str, kinds)) or 'none'}")
    kind = str(kinds[0]).lower()
    name = entry.get("name")
    name = f"{kind}_{i}" if name is None else as_str(name, join_path(p, "name"))
    if kind in MERGE_KINDS:
        node = {kind: _merge(kind, entry[kinds[0]], join_path(p, kind))}
    else:
        node = validate_layer({kind: entry[kinds[0]]}, p, graph=True)
    ins = entry.get("inputs")
    if ins is not None:
        ins = [ins] if isinstance(ins, str) else ins
        if not isinstance(ins, list) or not ins:
            raise ConfigError(join_path(p, "inputs"), f"expected a layer name or a list of "
                              f"names, got {show(entry.get('inputs'))}")
        ins = [as_str(x, join_path(join_path(p, "inputs"), j)) for j, x in enumerate(ins)]
    return {"name": name, "inputs": ins, **node}


def _names(v: Any, p: str) -> list[str]:
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, list) or not v:
        raise ConfigError(p, f"expected a layer name or a list of names, got {show(v)}")
    return [as_str(x, join_path(p, j)) for j, x in enumerate(v)]


def validate_graph(model: dict[str, Any], path: str = "model") -> dict[str, Any]:
    """Check a graph ``model:`` mapping; returns it with every name and input explicit.

    Raises:
        ConfigError: naming the node, for a duplicate name, an unknown input name, a cycle,
            an output that no layer produces, a layer or input whose value nothing uses.
    """
    check_keys(model, path, ("input", "layers", "outputs"), ("layers",))
    inp = as_str(model.get("input", "input"), join_path(path, "input"))
    layers = model["layers"]
    if not isinstance(layers, list) or not layers:
        raise ConfigError(join_path(path, "layers"), f"expected a non-empty list of layers, "
                          f"got {show(layers)}")
    nodes = [_node(e, i, path) for i, e in enumerate(layers)]
    where = {inp: f"{path}.input"}
    for i, n in enumerate(nodes):
        if n["name"] in where:
            raise ConfigError(join_path(join_path(join_path(path, "layers"), i), "name"),
                              f"duplicate name {n['name']!r} (already used by "
                              f"{where[n['name']]})")
        where[n["name"]] = _label(i, n["name"])
        if n["inputs"] is None:
            n["inputs"] = [nodes[i - 1]["name"] if i else inp]
    for i, n in enumerate(nodes):
        for j, src in enumerate(n["inputs"]):
            if src not in where:
                raise ConfigError(f"{_label(i, n['name'])}.inputs[{j}]", f"unknown input "
                                  f"{src!r}; known: {', '.join(where)}")
    outputs = _names(model.get("outputs", nodes[-1]["name"]), join_path(path, "outputs"))
    for j, o in enumerate(outputs):
        if o not in where or o == inp:
            raise ConfigError(f"{path}.outputs[{j}]", f"{o!r} is never reached: no layer "
                              f"is named so; layers: {', '.join(n['name'] for n in nodes)}")
    if len(outputs) != 1:
        raise ConfigError(f"{path}.outputs", f"deepgrad train fits one output (the data has "
                          f"one target), got {len(outputs)}: {', '.join(outputs)}")
    _check_acyclic(nodes)
    _check_all_used(nodes, inp, outputs, path)
    return {"input": inp, "layers": nodes, "outputs": outputs}


def _check_acyclic(nodes: list[dict[str, Any]]) -> None:
    index = {n["name"]: i for i, n in enumerate(nodes)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in nodes:
        stack = [(start["name"], iter(start["inputs"]))]
        trail = [start["name"]]
        if state.get(start["name"]):
            continue
        state[start["name"]] = 1
        while stack:
            name, it = stack[-1]
            src = next(it, None)
            if src is None:
                state[name] = 2
                stack.pop()
                trail.pop()
            elif src in index and state.get(src) == 1:
                loop = trail[trail.index(src):] + [src]
                i = index[src]
                raise ConfigError(_label(i, src), "is in a cycle: " + " <- ".join(loop))
            elif src in index and not state.get(src):
                state[src] = 1
                stack.append((src, iter(nodes[index[src]]["inputs"])))
                trail.append(src)


def _check_all_used(nodes: list[dict[str, Any]], inp: str, outputs: list[str],
                    path: str) -> None:
    used = {src for n in nodes for src in n["inputs"]} | set(outputs)
    if inp not in used:
        raise ConfigError(f"{path}.input", f"the input {inp!r} is used by no layer")
    for i, n in enumerate(nodes):
        if n["name"] not in used:
            raise ConfigError(_label(i, n["name"]), "its output is used by no layer and is "
                              "not in outputs (remove it, or list it as an input)")


def _order(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes, each after its inputs (validated acyclic)."""
    done: set[str] = set()
    names = {n["name"] for n in nodes}
    out: list[dict[str, Any]] = []
    pending = list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(s in done or s not in names for s in n["inputs"]):
                out.append(n)
                done.add(n["name"])
            else:
                rest.append(n)
        pending = rest
    return out


def _kind(node: dict[str, Any]) -> str:
    return next(k for k in node if k not in _NODE_KEYS)


def build_graph(spec: dict[str, Any], input_shape: tuple[int, ...],
                path: str = "model") -> nn.Module:
    """A graph ``Model`` from a validated graph spec and one example's input shape.

    Raises:
        ConfigError: naming the node whose inputs don't fit it.
    """
    from ..nn import Input, Model  # noqa: PLC0415

    index = {n["name"]: i for i, n in enumerate(spec["layers"])}
    values = {spec["input"]: Input(tuple(int(s) for s in input_shape), name=spec["input"])}
    for node in _order(spec["layers"]):
        name, kind = node["name"], _kind(node)
        p = _label(index[name], name)
        xs = [values[s] for s in node["inputs"]]
        try:
            values[name] = _call(kind, node[kind], name, xs, p)
        except ValueError as e:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ConfigError(p, f"doesn't fit its input{'s' if len(xs) > 1 else ''} "
                              f"{shapes}: {e}") from None
        if 0 in values[name].shape[1:]:
            raise ConfigError(p, f"its output is empty (shape {values[name].shape}): the "
                              "input is too small for this kernel/stride")
    try:
        return Model(values[spec["input"]], values[spec["outputs"][0]])
    except ValueError as e:
        raise ConfigError(path, str(e)) from None


def _call(kind: str, args: dict[str, Any], name: str, xs: list[Any], p: str) -> Any:
    """Make the layer(s) of one node, named after it, and call them on ``xs``."""
    if kind in MERGE_KINDS:
        cls, _keys, low, high = MERGE_KINDS[kind]
        if len(xs) < low or (high is not None and len(xs) > high):
            want = f"exactly {high}" if high == low else f"at least {low}"
            raise ConfigError(p, f"{kind} takes {want} inputs, got {len(xs)}")
        layer = getattr(nn, cls)(**args)
        object.__setattr__(layer, "name", name)
        return layer(xs)
    if len(xs) != 1:
        raise ConfigError(p, f"{kind} takes one input, got {len(xs)}; merge them first "
                          f"(kinds: {', '.join(MERGE_KINDS)})")
    x = xs[0]
    mods = make_layers(kind, args, tuple(int(s) for s in x.shape[1:]), p)
    for j, m in enumerate(mods):  # conv2d + its activation: <name>, <name>_relu
        object.__setattr__(m, "name", f"{name}_{type(m).__name__.lower()}" if j else name)
        x = m(x)
    return x


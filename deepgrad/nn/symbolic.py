"""Symbolic tensors: what ``Input`` returns and what a layer returns when called on one.

Calling any Module on a :class:`SymbolicTensor` records a :class:`Node` (the layer, its
parents, the call's structure) instead of computing, and returns a new SymbolicTensor whose
shape is inferred at once by running the layer on one zero example (eval mode, no graph),
so lazy layers (``Dense(units)``) learn their input size then and a mismatch is reported
where the model is declared. :class:`~deepgrad.nn.graph.Model` turns the recorded nodes
into a network (Keras's functional API).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_default_dtype

if TYPE_CHECKING:
    from .module import Module

__all__ = ["SymbolicTensor", "Node", "Input", "symbolic_call", "is_symbolic_args"]

_ids = itertools.count()


class Node:
    """One call of a layer in a graph (or an ``Input``).

    Attributes:
        layer: the Module called (None for an Input).
        parents: the SymbolicTensors it was called on, flattened, in call order.
        args: the call's positional structure, each SymbolicTensor replaced by its index
            in ``parents`` (``[0]`` for ``layer(x)``, ``[[0, 1]]`` for ``Add()([a, b])``).
        kwargs: constant keyword arguments of the call.
        output: the SymbolicTensor it returns.
        name: set by the Model that contains it (unique in that model).
    """

    def __init__(self, layer: Module | None, parents: list[SymbolicTensor], args: list[Any],
                 kwargs: dict[str, Any], shape: tuple[int | None, ...], dtype: np.dtype,
                 input_name: str | None = None) -> None:
        self.id = next(_ids)
        self.layer = layer
        self.parents = parents
        self.args = args
        self.kwargs = kwargs
        self.input_name = input_name
        self.name: str | None = input_name
        self.output = SymbolicTensor(self, shape, dtype)

    @property
    def kind(self) -> str:
        """The layer's class name, or "InputLayer"."""
        return "InputLayer" if self.layer is None else type(self.layer).__name__

    @property
    def inputs(self) -> list[str | None]:
        """The names of the parent nodes, in call order."""
        return [p.node.name for p in self.parents]

    def __repr__(self) -> str:
        return f"<Node {self.name or '?'} ({self.kind}) -> {self.output.shape}>"


class SymbolicTensor:
    """A placeholder for a batch of values in a model being declared (Keras's KerasTensor).

    Attributes:
        shape: with the batch axis first, as None: ``(None, 784)``.
        dtype: the NumPy dtype of the values.
        node: the Node that produces it.
    """

    __slots__ = ("node", "shape", "dtype")

    def __init__(self, node: Node, shape: tuple[int | None, ...], dtype: np.dtype) -> None:
        self.node, self.shape, self.dtype = node, shape, np.dtype(dtype)

    @property
    def name(self) -> str | None:
        """The name of the node producing it (set when a Model containing it is built)."""
        return self.node.name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"SymbolicTensor(shape={self.shape}, dtype={self.dtype.name}, name={self.name!r})"

    def _no_ops(self, *_: Any) -> Any:
        raise TypeError("a SymbolicTensor (from deepgrad.Input) stands for data not yet given: "
                        "combine it with layers (deepgrad.nn.Add, Multiply, Activation, ...), "
                        "not with operators")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_ops
    __truediv__ = __matmul__ = __neg__ = __getitem__ = _no_ops
    __array__ = _no_ops
    __hash__ = object.__hash__


def Input(shape: int | tuple[int, ...] | list[int], name: str | None = None,  # noqa: N802
          dtype: Any = None) -> SymbolicTensor:
    """A model input (Keras's ``Input``): a symbolic batch of examples of ``shape``.

    Args:
        shape: the shape of ONE example, without the batch axis; an int ``m`` means ``(m,)``.
        name: the input's name (keys of dict inputs, summary); default ``input``,
            ``input_1``, ... in the model.
        dtype: the values' dtype (default: deepgrad's default float dtype).

    Returns:
        SymbolicTensor of shape ``(None, *shape)``.
    """
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, tuple | list) or not all(
            isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 0
            for d in shape):
        raise ValueError(f"Input: shape must be an int or a tuple of non-negative ints "
                         f"(without the batch axis), got {shape!r}")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"Input: name must be a string, got {name!r}")
    dt = np.dtype(get_default_dtype() if dtype is None else dtype)
    node = Node(None, [], [], {}, (None, *(int(d) for d in shape)), dt, input_name=name)
    return node.output


def is_symbolic_args(args: tuple[Any, ...]) -> bool:
    """Whether a call's first argument is a SymbolicTensor or a list/tuple of them."""
    a = args[0]
    if a.__class__ is SymbolicTensor:
        return True
    return a.__class__ in (list, tuple) and len(a) > 0 and a[0].__class__ is SymbolicTensor


def _structure(value: Any, parents: list[SymbolicTensor]) -> Any:
    if isinstance(value, SymbolicTensor):
        parents.append(value)
        return len(parents) - 1
    if isinstance(value, list | tuple):
        return [_structure(v, parents) for v in value]
    raise ValueError(f"cannot mix a SymbolicTensor with a {type(value).__name__} in a layer "
                     "call: pass only SymbolicTensors (from deepgrad.Input or other layers)")


def _zeros(t: SymbolicTensor) -> Tensor:
    return Tensor(np.zeros((1, *t.shape[1:]), dtype=t.dtype))


def _fill(structure: Any, values: list[Any]) -> Any:
    if isinstance(structure, list):
        return [_fill(s, values) for s in structure]
    return values[structure]


def layer_label(layer: Module) -> str:
    """``'name' (Class)`` or ``Class``, for messages."""
    name = layer.__dict__.get("name")
    return f"layer {name!r} ({type(layer).__name__})" if name else f"layer {type(layer).__name__}"


def symbolic_call(layer: Module, args: tuple[Any, ...], kwargs: dict[str, Any]
                  ) -> SymbolicTensor:
    """Record ``layer(*args, **kwargs)`` on SymbolicTensors; its output, shape inferred."""
    label = layer_label(layer)
    parents: list[SymbolicTensor] = []
    try:
        structure = [_structure(a, parents) for a in args]
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None
    for k, v in kwargs.items():
        if isinstance(v, SymbolicTensor):
            raise ValueError(f"{label}: SymbolicTensors must be positional arguments, "
                             f"got one as {k}=")
    # run on one zero example, eval mode (dropout off, batch norm frozen), no graph
    modes = [(m, m.training) for m in layer.modules()]
    for m, _ in modes:
        object.__setattr__(m, "training", False)
    shapes = " and ".join(str(p.shape) for p in parents)
    try:
        with no_grad(), np.errstate(all="ignore"):
            out = layer.forward(*_fill(structure, [_zeros(p) for p in parents]), **kwargs)
    except (ValueError, TypeError, IndexError) as e:
        raise ValueError(f"{label} cannot be applied to input of shape {shapes}: {e}"
                         ) from None
    finally:
        for m, was in modes:
            object.__setattr__(m, "training", was)
    if not isinstance(out, Tensor):
        raise ValueError(f"{label} returned a {type(out).__name__} for input of shape "
                         f"{shapes}; a layer in a graph must return one tensor")
    if out.ndim < 1 or out.shape[0] != 1:
        raise ValueError(f"{label} changed the batch axis (input {shapes}, output of one "
                         f"example {tuple(out.shape)}); layers in a graph keep it first")
    node = Node(layer, parents, structure, dict(kwargs), (None, *out.shape[1:]), out.dtype)
    layer.__dict__.setdefault("_nodes", []).append(node)
    return node.output

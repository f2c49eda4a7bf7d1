"""Merge layers (Keras's Add, Concatenate, ...) and the shape layers Reshape, Permute and
Activation, for graph models.

Merge layers are called on a list of tensors with the same batch size. Element-wise ones
follow Keras's broadcasting: an input of lower rank gets axes of size 1 inserted after its
batch axis, then the non-batch shapes broadcast as NumPy's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd.ops.math import maximum, minimum
from ..autograd.ops.shape import concatenate
from ..autograd.tensor import Tensor
from .module import Module

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
           "Reshape", "Permute", "Activation"]


def _shapes(xs: Sequence[Tensor]) -> str:
    return ", ".join(str((None, *x.shape[1:])) for x in xs)


class _Merge(Module):
    """Element-wise merge of a list of tensors (subclasses define ``_merge``)."""

    _min_inputs = 2
    _max_inputs: int | None = None

    def _check(self, xs: Any) -> list[Tensor]:
        name = type(self).__name__
        if not isinstance(xs, list | tuple):
            raise ValueError(f"{name} must be called on a list of tensors, got "
                             f"{type(xs).__name__}")
        n = len(xs)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            want = (f"exactly {self._max_inputs}" if self._max_inputs == self._min_inputs
                    else f"at least {self._min_inputs}")
            raise ValueError(f"{name} takes {want} inputs, got {n}")
        xs = [x if isinstance(x, Tensor) else Tensor(x) for x in xs]
        if any(x.ndim < 1 for x in xs) or len({x.shape[0] for x in xs}) > 1:
            raise ValueError(f"{name}: inputs must share their batch size, got shapes "
                             + ", ".join(str(tuple(x.shape)) for x in xs))
        return xs

    def _aligned(self, xs: list[Tensor]) -> list[Tensor]:
        """Lower-rank inputs with size-1 axes after the batch axis; shapes checked."""
        rank = max(x.ndim for x in xs)
        out = []
        for x in xs:
            if x.ndim < rank:
                x = x.reshape(x.shape[0], *([1] * (rank - x.ndim)), *x.shape[1:])
            out.append(x)
        for axis in range(1, rank):
            sizes = {x.shape[axis] for x in out} - {1}
            if len(sizes) > 1:
                raise ValueError(f"{type(self).__name__}: inputs of shapes {_shapes(xs)} "
                                 "cannot be broadcast together")
        return out

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        return self._merge(self._aligned(self._check(xs)))

    def _merge(self, xs: list[Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Add(_Merge):
    """Sum of a list of tensors (residual connections).

    Shape:
        inputs [(N, *s1), (N, *s2), ...] broadcastable -> (N, *broadcast shape).
    """

    def _merge(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    _max_inputs = 2

    def _merge(self, xs: list[Tensor]) -> Tensor:
        return xs[0] - xs[1]


class Multiply(_Merge):
    """Element-wise product of a list of tensors (gating)."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """Element-wise mean of a list of tensors (ensembles)."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out * (1.0 / len(xs))


class Maximum(_Merge):
    """Element-wise maximum of a list of tensors (ties split the gradient as ``maximum``)."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = maximum(out, x)
        return out


class Minimum(_Merge):
    """Element-wise minimum of a list of tensors."""

    def _merge(self, xs: list[Tensor]) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = minimum(out, x)
        return out


class Concatenate(_Merge):
    """Join a list of tensors along ``axis`` (Keras's ``Concatenate``).

    Args:
        axis: the axis, counting the batch axis as 0 (default -1: the last); the other
            axes must match.

    Shape:
        [(N, ..., a_i, ...)] -> (N, ..., sum a_i, ...).
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Concatenate: axis must be an int, got {axis!r}")
        self.axis = axis

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        xs = self._check(xs)
        rank = xs[0].ndim
        ax = self.axis + rank if self.axis < 0 else self.axis
        bad = any(x.ndim != rank for x in xs) or not 1 <= ax < rank or any(
            x.shape[:ax] + x.shape[ax + 1:] != xs[0].shape[:ax] + xs[0].shape[ax + 1:]
            for x in xs)
        if bad:
            raise ValueError(f"Concatenate(axis={self.axis}): inputs of shapes {_shapes(xs)} "
                             "must have the same rank and match except along the axis "
                             "(which cannot be the batch axis)")
        return concatenate(xs, axis=ax)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Reshape(Module):
    """Reshape each example to ``target_shape`` (Keras's; the batch axis is kept).

    Args:
        target_shape: the new shape of ONE example; one entry may be -1 (inferred).

    Shape:
        (N, *s) -> (N, *target_shape), with prod(s) == prod(target_shape).
    """

    def __init__(self, target_shape: Sequence[int]) -> None:
        super().__init__()
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        t = tuple(target_shape)
        if (not all(isinstance(d, int) and (d > 0 or d == -1) for d in t)
                or sum(d == -1 for d in t) > 1):
            raise ValueError(f"Reshape: target_shape must be positive ints with at most one "
                             f"-1, got {target_shape!r}")
        self.target_shape = t

    def forward(self, x: Tensor) -> Tensor:
        n = 1
        for d in x.shape[1:]:
            n *= d
        known = 1
        for d in self.target_shape:
            known *= d if d != -1 else 1
        ok = n % known == 0 if -1 in self.target_shape else n == known
        if x.ndim < 1 or not ok:
            raise ValueError(f"Reshape{self.target_shape}: an example of shape "
                             f"{tuple(x.shape[1:])} ({n} values) cannot take that shape")
        return x.reshape(x.shape[0], *self.target_shape)

    def extra_repr(self) -> str:
        return f"target_shape={self.target_shape}"


class Permute(Module):
    """Permute the axes of each example (Keras's; ``dims`` are 1-based, batch excluded).

    Args:
        dims: a permutation of ``1..rank-1``, e.g. ``(2, 1)`` swaps the two axes of
            (N, a, b) giving (N, b, a).
    """

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        d = tuple(dims)
        if sorted(d) != list(range(1, len(d) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(d)} (1-based, "
                             f"the batch axis excluded), got {dims!r}")
        self.dims = d

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute{self.dims}: expected examples with {len(self.dims)} "
                             f"axes, got shape {tuple(x.shape[1:])}")
        return x.permute(0, *self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Activation(Module):
    """An activation function as a layer: ``Activation("relu")`` (Keras's).

    Args:
        activation: a name as in Dense's ``activation`` ("relu", "softmax", "sigmoid",
            "tanh", "linear", ...).
    """

    def __init__(self, activation: str) -> None:
        super().__init__()
        from .activation import get_activation

        if not isinstance(activation, str):
            raise ValueError(f"Activation: activation must be a name, got {activation!r}")
        object.__setattr__(self, "_act", get_activation(activation))
        self.activation_name = activation.lower()

    def forward(self, x: Tensor) -> Tensor:
        return self._act(x)

    def forward_pre_activation(self, x: Tensor) -> Tensor:
        """The input itself (the logits, for fused losses)."""
        return x

    def extra_repr(self) -> str:
        return repr(self.activation_name)

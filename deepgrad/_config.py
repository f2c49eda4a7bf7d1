"""Grad mode, kept per context (a ContextVar) so threads and async tasks don't share it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = [
    "is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad", "inference_mode",
    "is_inference_mode",
]

_grad_enabled: ContextVar[bool] = ContextVar("deepgrad_grad_enabled", default=True)
_inference: ContextVar[bool] = ContextVar("deepgrad_inference_mode", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """True when operations record a graph for backward (the default)."""
    return _grad_enabled.get()


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode for its block."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._tokens: list[Any] = []

    def __enter__(self) -> _GradMode:
        self._tokens.append(_grad_enabled.set(self.mode))
        return self

    def __exit__(self, *exc: object) -> None:
        _grad_enabled.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:  # type: ignore[override]
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(self.mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _GradMode:
    """Context manager / decorator under which no operation records a graph.

    Example:
        >>> with deepgrad.no_grad():
        ...     y = model(x)   # y.requires_grad is False, nothing kept for backward
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager / decorator that turns graph recording back on inside ``no_grad``."""
    return _GradMode(True)


@contextlib.contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Context manager that sets grad mode to ``mode`` for its block."""
    token = _grad_enabled.set(bool(mode))
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def is_inference_mode() -> bool:
    """True inside ``inference_mode()``: tensors made here are inference tensors."""
    return _inference.get()


class _InferenceMode(contextlib.ContextDecorator):
    """Context manager and decorator for ``inference_mode(mode)``."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._tokens: list[tuple[Any, Any]] = []

    def __enter__(self) -> _InferenceMode:
        grad = _grad_enabled.set(False) if self.mode else None
        self._tokens.append((_inference.set(self.mode), grad))
        return self

    def __exit__(self, *exc: object) -> None:
        inf, grad = self._tokens.pop()
        _inference.reset(inf)
        if grad is not None:
            _grad_enabled.reset(grad)

    def __call__(self, func: F) -> F:  # type: ignore[override]
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _InferenceMode(self.mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def inference_mode(mode: bool = True) -> _InferenceMode:
    """Context manager / decorator like :func:`no_grad`, for pure inference (PyTorch's
    ``torch.inference_mode``).

    No graph is recorded, and every tensor made inside is marked an inference tensor:
    using one later in an operation that records a graph (an input that, with a tensor
    requiring grad, would be kept for backward) raises RuntimeError, as does
    ``requires_grad_()`` on it. Copy it first (``deepgrad.tensor(t.numpy().copy())``) to
    use it in training. ``inference_mode(False)`` turns the marking off inside an
    inference block (grad mode is left as it is).

    Example:
        >>> with deepgrad.inference_mode():
        ...     probs = model(x).softmax(-1)
    """
    return _InferenceMode(mode)

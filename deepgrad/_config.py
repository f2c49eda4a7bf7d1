"""Grad mode, kept per context (a ContextVar) so threads and async tasks don't share it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad"]

_grad_enabled: ContextVar[bool] = ContextVar("deepgrad_grad_enabled", default=True)

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

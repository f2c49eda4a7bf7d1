"""Small validators for config values: each returns the checked value or raises a
ConfigError naming the key path and what was expected (``expected a positive integer,
got 'ten'``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["show", "as_int", "as_float", "as_bool", "as_str", "as_choice", "as_mapping",
           "as_pair", "check_keys", "join_path"]


def show(v: Any) -> str:
    """A value as it appears in an error message."""
    return "null" if v is None else repr(v)


def join_path(path: str, key: str | int) -> str:
    """``model[2]`` + ``"dense"`` -> ``model[2].dense``; + 3 -> ``model[2][3]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def as_int(v: Any, path: str, minimum: int | None = 1, what: str | None = None) -> int:
    """An integer >= ``minimum`` (bools and floats with a fraction are rejected)."""
    ok = isinstance(v, int) and not isinstance(v, bool)
    if isinstance(v, float) and v.is_integer():
        ok, v = True, int(v)
    desc = what or ("a positive integer" if minimum == 1 else
                    "a non-negative integer" if minimum == 0 else "an integer")
    if not ok or (minimum is not None and v < minimum):
        raise ConfigError(path, f"expected {desc}, got {show(v)}")
    return int(v)


def as_float(v: Any, path: str, low: float | None = None, high: float | None = None,
             low_open: bool = False, high_open: bool = False, what: str | None = None) -> float:
    """A finite number within the given bounds (``low_open``: ``low`` itself excluded)."""
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    if ok:
        f = float(v)
        ok = not ((low is not None and (f < low or (low_open and f == low)))
                  or (high is not None and (f > high or (high_open and f == high))))
    if not ok:
        if what is None:
            if low == 0 and low_open and high is None:
                what = "a positive number"
            elif low is not None and high is not None:
                lb, hb = "(" if low_open else "[", ")" if high_open else "]"
                what = f"a number in {lb}{low:g}, {high:g}{hb}"
            elif low is not None:
                what = f"a number {'>' if low_open else '>='} {low:g}"
            else:
                what = "a number"
        raise ConfigError(path, f"expected {what}, got {show(v)}")
    return float(v)


def as_bool(v: Any, path: str) -> bool:
    """True or false."""
    if not isinstance(v, bool):
        raise ConfigError(path, f"expected true or false, got {show(v)}")
    return v


def as_str(v: Any, path: str) -> str:
    """A non-empty string."""
    if not isinstance(v, str) or not v:
        raise ConfigError(path, f"expected a non-empty string, got {show(v)}")
    return v


def as_choice(v: Any, path: str, choices: Iterable[str], what: str = "value") -> str:
    """One of ``choices`` (case-insensitive); the error lists the valid ones."""
    valid = sorted(choices)
    if not isinstance(v, str) or v.lower() not in valid:
        raise ConfigError(path, f"unknown {what} {show(v)}; valid: {', '.join(valid)}")
    return v.lower()


def as_mapping(v: Any, path: str) -> dict[str, Any]:
    """A mapping with string keys (None is an empty one)."""
    if v is None:
        return {}
    if not isinstance(v, Mapping) or not all(isinstance(k, str) for k in v):
        raise ConfigError(path, f"expected a mapping of settings, got {show(v)}")
    return dict(v)


def as_pair(v: Any, path: str, minimum: int = 1) -> int | tuple[int, int]:
    """An integer or a pair of integers, each >= ``minimum``."""
    if isinstance(v, list | tuple):
        if len(v) != 2:
            raise ConfigError(path, f"expected an integer or a pair of integers, got {show(v)}")
        return (as_int(v[0], f"{path}[0]", minimum), as_int(v[1], f"{path}[1]", minimum))
    return as_int(v, path, minimum)


def check_keys(mapping: Mapping[str, Any], path: str, valid: Iterable[str],
               required: Iterable[str] = ()) -> None:
    """Reject unknown keys (listing the valid ones) and missing required keys."""
    valid = list(valid)
    for k in mapping:
        if k not in valid:
            where = join_path(path, k)
            raise ConfigError(where, f"unknown key; valid keys here: {', '.join(valid)}")
    for k in required:
        if k not in mapping or mapping[k] is None:
            raise ConfigError(join_path(path, k), "missing (required)")

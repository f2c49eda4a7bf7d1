"""Optimizer: parameter groups, per-parameter state, hooks, and state_dict in PyTorch's layout."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._config import enable_grad
from ..backend import get_array_module, to_numpy

__all__ = ["Optimizer", "HookHandle"]

Hook = Callable[["Optimizer"], None]


class HookHandle:
    """Returned by ``register_step_*_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Hook], hook: Hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        """Unregister the hook (doing nothing if it is already gone)."""
        for i, h in enumerate(self._hooks):
            if h is self._hook:
                del self._hooks[i]
                return


def _is_param(x: Any) -> bool:
    return hasattr(x, "data") and hasattr(x, "grad") and not isinstance(x, np.ndarray)


def _copy_value(v: Any) -> Any:
    """A copy of a state value: arrays are copied, anything else is returned as is."""
    return v.copy() if hasattr(v, "shape") and hasattr(v, "copy") else v


class Optimizer:
    """Base class of the optimizers: parameter groups, state, hooks and checkpoints.

    A parameter is any object with ``.data`` (a float NumPy or CuPy array, updated in
    place, never rebound) and ``.grad`` (an array of the same shape, or ``None``: the
    parameter is then skipped by ``step``).

    ``param_groups`` is a list of dicts as in PyTorch: ``"params"`` (a list) plus every
    hyperparameter, so each group may have its own. ``state`` is a list, aligned with
    ``param_groups``, of lists of per-parameter dicts aligned with each group's params.

    Args:
        params: an iterable of parameters, or of dicts each with a ``"params"`` entry and
            any hyperparameters overriding ``defaults`` for that group.
        defaults: the default hyperparameters.

    Subclasses implement ``_update(param, grad, state, group)`` for one parameter (raw
    arrays) and may override ``_check_group(group)`` to validate hyperparameters.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: list[list[dict[str, Any]]] = []
        self.step_pre_hooks: list[Hook] = []
        self.step_post_hooks: list[Hook] = []
        if _is_param(params) or isinstance(params, dict):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of parameters "
                f"or dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest).

        Args:
            param_group: a dict with ``"params"`` (a parameter or an ordered iterable of
                them) and optional hyperparameters.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("param_group needs a 'params' entry")
        if _is_param(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs"
            )
        params = list(params)
        for p in params:
            if not _is_param(p):
                raise TypeError(f"optimizer can only optimize parameters, got {type(p).__name__}")
            if getattr(p.data, "dtype", np.dtype(object)).kind != "f":
                raise TypeError(f"optimizer can only optimize float arrays, got {p.data.dtype}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}  # transient check only
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once (in this or another group)")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)
        self.state.append([{} for _ in params])

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError naming a bad hyperparameter of ``group`` (subclasses)."""
        _check_nonneg(group, "lr")

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group (get and set)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"Invalid learning rate lr: {value} (must be >= 0)")
        self.param_groups[0]["lr"] = value

    # ------------------------------------------------------------------ stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def register_step_pre_hook(self, hook: Hook) -> HookHandle:
        """Call ``hook(optimizer)`` at the start of every ``step`` (e.g. to clip gradients)."""
        self.step_pre_hooks.append(hook)
        return HookHandle(self.step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Hook) -> HookHandle:
        """Call ``hook(optimizer)`` at the end of every ``step``."""
        self.step_post_hooks.append(hook)
        return HookHandle(self.step_post_hooks, hook)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once; frozen parameters
        (``requires_grad`` False) are skipped even if they hold a stale gradient.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss
                (run with grad mode on, before the update).

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for hook in list(self.step_pre_hooks):
            hook(self)
        for group, states in zip(self.param_groups, self.state, strict=True):
            todo = []
            for p, state in zip(group["params"], states, strict=True):
                grad = p.grad
                if grad is None or not getattr(p, "requires_grad", True):
                    continue
                if hasattr(grad, "requires_grad"):  # a Tensor: use its array
                    grad = grad.data
                data = p.data
                if grad.shape != data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: gradient of shape {tuple(grad.shape)} "
                        f"for a parameter of shape {tuple(data.shape)}"
                    )
                if grad.dtype != data.dtype:
                    grad = grad.astype(data.dtype)
                todo.append((data, grad, state))
            if todo:
                self._update_group(todo, group)
        for hook in list(self.step_post_hooks):
            hook(self)
        return loss

    def _update_group(self, todo: list[tuple[Any, Any, dict[str, Any]]], group: dict) -> None:
        """Update the group's parameters that have a gradient: ``(param, grad, state)``
        triples, in order (checked by ``step``). One :meth:`_update` each unless an
        optimizer does them together."""
        for data, grad, state in todo:
            self._update(data, grad, state, group)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout, with copies of the state arrays.

        Returns:
            ``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index]}]}``
            where parameters are numbered 0, 1, ... across the groups in order; only
            parameters with state appear in ``"state"``. Scratch arrays are left out.
        """
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group, states in zip(self.param_groups, self.state, strict=True):
            saved = {k: _copy_value(v) for k, v in group.items() if k != "params"}
            saved["params"] = list(range(index, index + len(group["params"])))
            groups.append(saved)
            for st in states:
                kept = {k: _copy_value(v) for k, v in st.items() if not k.startswith("_")}
                if kept:
                    state[index] = kept
                index += 1
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: hyperparameters per group and per-parameter state.

        State arrays are copied, cast to their parameter's float dtype and moved to its
        device. The groups must have the same sizes as this optimizer's.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                    f"parameters, this optimizer's has {len(group['params'])}"
                )
        saved_state = {int(k): v for k, v in state_dict["state"].items()}
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            new_group = dict(group)  # keys missing from an older checkpoint keep their value
            new_group.update({k: _copy_value(v) for k, v in saved.items() if k != "params"})
            new_group["params"] = group["params"]
            self._check_group(new_group)
            self.param_groups[gi] = new_group
            states = []
            for p, index in zip(group["params"], saved["params"], strict=True):
                st = saved_state.get(int(index), {})
                states.append({k: _cast_like(v, p.data) for k, v in st.items()})
            self.state[gi] = states

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _cast_like(v: Any, param: Any) -> Any:
    """A copy of state value ``v``; a float array is cast to ``param``'s dtype and device."""
    if not hasattr(v, "shape") or not hasattr(v, "dtype"):
        return v
    xp = get_array_module(param)
    if xp is np:
        v = to_numpy(v)
    if v.ndim == 0 and v.dtype.kind in "iub":
        return v.item()  # a step count saved as an array comes back as a Python int
    dtype = param.dtype if v.dtype.kind == "f" else v.dtype
    return xp.array(v, dtype=dtype, copy=True)


def _check_nonneg(group: dict[str, Any], name: str) -> None:
    value = group[name]
    if not value >= 0.0:
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")


def _check_unit(group: dict[str, Any], name: str, value: Any = None, closed: bool = False) -> None:
    value = group[name] if value is None else value
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"Invalid {name}: {value} (must be in {interval})")

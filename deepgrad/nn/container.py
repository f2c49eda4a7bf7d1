"""Containers: Sequential, ModuleList, ModuleDict and ParameterList (PyTorch's)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..autograd.ops.math import relu
from ..autograd.tensor import Tensor
from . import module as _module
from .activation import ReLU
from .module import Module
from .parameter import Parameter
from .pooling import MaxPool1d, MaxPool2d

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList"]

#: the max-pooling layers that commute with a preceding ReLU
_MAX_POOLS = (MaxPool1d, MaxPool2d)


def relu_then_pool(a: Module, b: Module) -> bool:
    """Whether layer ``a`` is a plain ReLU and ``b`` a plain max-pooling layer (no indices):
    then ``b(a(x))`` is computed as ``relu(b(x))``, the same values and gradients bit for
    bit (relu(max) = max(relu), and the gradient reaches the same element or is zero), with
    the ReLU on the pooled output, a quarter of the data for 2x2 windows. ``Sequential``
    and graph models run such pairs in that order."""
    return a.__class__ is ReLU and b.__class__ in _MAX_POOLS and not b.return_indices


def run_layers(layers: tuple[Module, ...], x: Any) -> Any:
    """Apply ``layers`` in order, as ``Sequential`` does (a ReLU followed by max-pooling
    runs after it: :func:`relu_then_pool`; not while ``summary()`` records each layer)."""
    n, i = len(layers), 0
    while i < n:
        m = layers[i]
        i += 1
        if i < n and relu_then_pool(m, layers[i]) and _module._recorder is None:
            x = relu(layers[i](x))
            i += 1
        else:
            x = m(x)
    return x


class Sequential(Module):
    """Layers applied in order; indexable (``model[0]``, ``model[1:]``) and iterable.

    Example:
        >>> model = Sequential(Linear(2, 4), Tanh(), Linear(4, 1), Sigmoid())
    """

    def __init__(self, *layers: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict | dict):
            for name, m in layers[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(layers):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, "
                                    "not a Module")
                self.add_module(str(i), m)

    def get_config(self) -> dict[str, Any]:
        names = list(self._modules)
        if names == [str(i) for i in range(len(names))]:
            return {"*args": list(self._modules.values())}
        return {"*args": [OrderedDict(self._modules)]}

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"index {idx} out of range for Sequential of length {len(mods)}")
        return mods[idx][1]

    def append(self, module: Module) -> Sequential:
        """Add a layer at the end; returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def forward(self, x: Any) -> Any:
        return run_layers(tuple(self._modules.values()), x)


class ModuleList(Module):
    """A list of modules, registered so their parameters are found (no forward)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def get_config(self) -> dict[str, Any]:
        return {"modules": list(self._modules.values())}

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end; returns self."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add several modules at the end; returns self."""
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int) -> Module:
        return list(self._modules.values())[idx]


def _check_key(owner: Module, key: Any) -> str:
    """A sub-module or parameter name, as torch's ``add_module`` checks it."""
    name = type(owner).__name__
    if not isinstance(key, str):
        raise TypeError(f"{name}: keys must be strings, got {type(key).__name__}")
    if not key or "." in key:
        raise KeyError(f"{name}: a key must be non-empty and contain no '.', got {key!r}")
    if hasattr(type(owner), key):
        raise KeyError(f"{name}: key {key!r} is an attribute of {name}; choose another")
    return key


class ModuleDict(Module):
    """Modules held in an insertion-ordered dict, registered so their parameters are found
    (``state_dict`` keys ``"<key>.weight"``), as ``torch.nn.ModuleDict``; no forward.

    Example:
        >>> heads = ModuleDict({"cls": Linear(8, 3), "box": Linear(8, 4)})
        >>> heads["cls"](h), list(heads) == ["cls", "box"]
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def get_config(self) -> dict[str, Any]:
        return {"modules": OrderedDict(self._modules)}

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        _check_key(self, key)
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{key!r}]: expected a Module, got "
                            f"{type(module).__name__}")
        if key in self._modules:
            self._modules[key] = module  # a replaced entry keeps its place, as in torch
        else:
            self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        """(key, module) pairs, in insertion order."""
        return self._modules.items()

    def values(self) -> Iterable[Module]:
        """The modules, in insertion order."""
        return self._modules.values()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        return self._modules.pop(key)

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace entries from a mapping (a dict, OrderedDict or ModuleDict, in its
        order) or an iterable of (key, module) pairs."""
        if isinstance(modules, Mapping | ModuleDict):
            pairs = list(modules.items())
        elif isinstance(modules, Iterable) and not isinstance(modules, str | Module):
            pairs = []
            for i, kv in enumerate(modules):
                if isinstance(kv, str) or not isinstance(kv, Iterable) or len(kv := tuple(kv)) != 2:
                    raise ValueError(f"ModuleDict.update: element {i} should be a (key, module) "
                                     f"pair, got {kv!r}")
                pairs.append(kv)
        else:
            raise TypeError("ModuleDict.update expects a mapping or an iterable of (key, "
                            f"module) pairs, got {type(modules).__name__}")
        for k, m in pairs:
            self[k] = m


class ParameterList(Module):
    """Parameters held in a list, registered under ``"0"``, ``"1"``, ... (``state_dict``
    keys ``"<name>.0"``), as ``torch.nn.ParameterList``; no forward. A tensor or array
    added becomes a Parameter.

    Args:
        values: the initial parameters.
        shapes, dtypes: rebuild a saved list as zero parameters of these shapes and dtypes
            (what ``deepgrad.save`` records; the weights are then loaded).

    Example:
        >>> scales = ParameterList([Parameter(np.ones(3)) for _ in range(2)])
        >>> scales.append(np.zeros(4)); len(scales)
        3
    """

    def __init__(self, values: Iterable[Any] | None = None, *,
                 shapes: Iterable[Iterable[int]] | None = None,
                 dtypes: Iterable[Any] | None = None) -> None:
        super().__init__()
        if shapes is not None:
            shapes = [tuple(int(n) for n in s) for s in shapes]
            dts = [np.float32] * len(shapes) if dtypes is None else list(dtypes)
            if len(dts) != len(shapes):
                raise ValueError(f"ParameterList: {len(shapes)} shapes but {len(dts)} dtypes")
            values = [*(values or ()), *(np.zeros(s, d) for s, d in zip(shapes, dts,
                                                                        strict=True))]
        if values is not None:
            self.extend(values)

    def get_config(self) -> dict[str, Any]:
        ps = list(self._parameters.values())
        return {"shapes": [tuple(p.shape) for p in ps], "dtypes": [p.dtype for p in ps]}

    @staticmethod
    def _as_parameter(value: Any, where: str) -> Parameter:
        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return Parameter(value.data)
        if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
            return Parameter(value)
        raise TypeError(f"ParameterList{where}: expected a Parameter, Tensor or array, got "
                        f"{type(value).__name__}")

    def _index(self, idx: int) -> str:
        n = len(self._parameters)
        if not isinstance(idx, int | np.integer):
            raise TypeError(f"ParameterList indices must be integers or slices, got "
                            f"{type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for ParameterList of length {n}")
        return str(int(idx) % n)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[self._index(idx)]

    def __setitem__(self, idx: int, value: Any) -> None:
        self._parameters[self._index(idx)] = self._as_parameter(value, f"[{idx}]")

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add a parameter at the end; returns self."""
        n = len(self._parameters)
        self.register_parameter(str(n), self._as_parameter(value, f".append (item {n})"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add several parameters at the end; returns self."""
        if isinstance(values, Tensor | np.ndarray) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend expects an iterable of parameters, got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                         for i, p in enumerate(self._parameters.values()))

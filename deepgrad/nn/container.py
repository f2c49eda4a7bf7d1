"""Containers: Sequential and ModuleList."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module

__all__ = ["Sequential", "ModuleList"]


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
        for m in self._modules.values():
            x = m(x)
        return x


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

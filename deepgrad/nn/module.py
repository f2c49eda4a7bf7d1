"""Module: the base class of every layer and model (PyTorch's ``nn.Module``)."""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._config import no_grad
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype, to_device, to_numpy
from .init import init_skipped, is_placeholder, placeholder
from .parameter import Parameter
from .symbolic import SymbolicTensor, symbolic_call

__all__ = ["Module", "StateDictError"]


def _is_symbolic(a: Any) -> bool:
    """A SymbolicTensor, or a list/tuple starting with one (merge layers)."""
    c = a.__class__
    return c is SymbolicTensor or ((c is list or c is tuple) and len(a) > 0
                                   and a[0].__class__ is SymbolicTensor)


_recorder: list[tuple[str, Module, tuple[int, ...]]] | None = None


class StateDictError(ValueError):
    """``load_state_dict`` found missing, unexpected or wrongly shaped entries."""


class Module:
    """Base class of layers and models.

    Parameters, sub-modules and buffers assigned as attributes are registered in
    insertion-ordered dicts, so ``named_parameters()`` and ``state_dict()`` keys are the
    same in every run (``"0.weight"``, ``"encoder.1.bias"``). Subclasses implement
    ``forward``; calling the module calls it. The arguments a subclass was constructed with
    are recorded, so ``deepgrad.save`` can store the architecture.

    Every layer also takes a keyword ``name=`` (Keras's; ``layer.name``, None by default,
    names it in graph models). Called on a ``deepgrad.Input`` (a SymbolicTensor), a
    module records a node of a graph model instead of computing (see ``deepgrad.Model``).
    """

    training: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_records_args", False):
            return
        takes_name = "name" in inspect.signature(init).parameters

        @functools.wraps(init)
        def recording_init(self: Module, *args: Any, **kw: Any) -> None:
            if "_init_args" not in self.__dict__:
                object.__setattr__(self, "_init_args", (args, kw))
            if not takes_name and "name" in kw:  # Keras's name= on every layer
                kw = dict(kw)
                name = kw.pop("name")
                if name is not None and not isinstance(name, str):
                    raise ValueError(f"{cls.__name__}: name must be a string, got {name!r}")
                init(self, *args, **kw)
                if name is not None:
                    object.__setattr__(self, "name", name)
                return
            init(self, *args, **kw)

        recording_init._records_args = True  # type: ignore[attr-defined]
        cls.__init__ = recording_init  # type: ignore[method-assign]

    def __init__(self, *, name: str | None = None) -> None:
        if "_init_args" not in self.__dict__:  # a subclass without its own __init__
            object.__setattr__(self, "_init_args", ((), {}))
        if name is not None:  # Keras's layer name (any subclass takes name=... too)
            if not isinstance(name, str):
                raise ValueError(f"{type(self).__name__}: name must be a string, got {name!r}")
            object.__setattr__(self, "name", name)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", [])
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------- registration
    def _check_init(self) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._check_init()
            self._remove(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init()
            self._remove(name)
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} "
                                "(expected a Parameter or None)")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = self._as_buffer(value)
        elif "_modules" in self.__dict__ and name in self._modules and value is None:
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _remove(self, name: str) -> None:
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in d and name in d[key]:
                return d[key][name]
        if name == "name":  # set by name=... or by the graph Model that contains it
            return None
        if name in ("output", "input") and d.get("_nodes"):  # Keras's layer.output
            node = d["_nodes"][0]
            return node.output if name == "output" else (
                node.parents[0] if len(node.parents) == 1 else list(node.parents))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(key, {}):
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    @staticmethod
    def _as_buffer(value: Any) -> Tensor | None:
        if value is None:
            return None
        if not isinstance(value, Tensor):
            value = Tensor(value if hasattr(value, "dtype") else np.asarray(value))
        if init_skipped() and isinstance(value.data, np.ndarray) and not is_placeholder(value):
            value.data = placeholder(value.shape, value.dtype)  # skip_init(): no memory
        return value

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Register non-trainable state (e.g. running statistics) saved in state_dict."""
        self._check_init()
        self._remove(name)
        self._buffers[name] = self._as_buffer(value)
        if not persistent:
            self._non_persistent.append(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter (or None, for an absent optional one such as a bias)."""
        self._check_init()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{name}: expected a Parameter or None, got {type(param).__name__}")
        self._remove(name)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name``."""
        self._check_init()
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{name}: expected a Module, got {type(module).__name__}")
        self._remove(name)
        self._modules[name] = module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, pre-order."""
        seen: list[Module] = []
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if any(m is s for s in seen):
                continue
            seen.append(m)
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()
                        if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, pre-order."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct sub-modules."""
        for k, m in self._modules.items():
            if m is not None:
                yield k, m

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def _named(self, kind: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: list[Tensor] = []
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for k, t in getattr(m, kind).items():
                if t is None or any(t is s for s in seen):
                    continue
                seen.append(t)
                yield (f"{mname}.{k}" if mname else k), t

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs in registration order; shared ones once."""
        yield from self._named("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in ``named_parameters`` order (give these to an optimizer)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs in registration order."""
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (non-trainable state such as running statistics)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics); returns self."""
        for m in self.modules():  # a frozen layer with running statistics stays in eval
            object.__setattr__(m, "training", bool(mode) and (
                m.__dict__.get("_trainable", True) or not m._buffers))
        return self

    def eval(self) -> Module:
        """Set evaluation mode; same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self (PyTorch's).

        Frozen parameters get no gradient and optimizers skip them. Unlike
        ``trainable = False``, batch norm keeps its mode: call ``bn.eval()`` to stop it
        updating its running statistics.
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @property
    def trainable(self) -> bool:
        """Keras's flag: whether this module's parameters are trained (default True).

        Setting it (recursively, on every sub-module) freezes or unfreezes the parameters
        as ``requires_grad_`` does; in addition a frozen layer holding running statistics
        (batch norm) runs in inference mode even in ``train()`` (Keras's rule: fine-tuning
        with batch statistics wrecks a pretrained network). Re-compile after changing it.
        """
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for m in self.modules():
            object.__setattr__(m, "_trainable", value)
            if m._buffers:
                object.__setattr__(m, "training", self.training and value)
        for p in self.parameters():
            p.requires_grad_(value)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None."""
        for p in self.parameters():
            p.grad = None

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, device: str) -> Module:
        """Move parameters and buffers to ``device`` ('cpu', 'cuda', 'cuda:N') in place."""
        for m in self.modules():
            for d in (m._parameters, m._buffers):
                for t in d.values():
                    if t is None:
                        continue
                    t.data = to_device(t.data, device)
                    if t.grad is not None:
                        t.grad = to_device(t.grad, device)
        return self

    # -------------------------------------------------------------- state dicts
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    yield pre + k, p
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    yield pre + k, b

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and persistent buffer as NumPy arrays, keyed by
        PyTorch-style dotted names."""
        return OrderedDict((k, np.array(to_numpy(t.data), copy=True))
                           for k, t in self._state_items())

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True
                        ) -> tuple[list[str], list[str]]:
        """Copy arrays (NumPy arrays, Tensors, or a converted PyTorch state_dict) into the
        parameters and buffers in place, keeping their dtype and device.

        Returns:
            (missing_keys, unexpected_keys), both empty with ``strict=True``.

        Raises:
            StateDictError (a ValueError): listing missing, unexpected and wrong-shape
                keys (wrong shapes are an error even with ``strict=False``).
        """
        own = OrderedDict(self._state_items())
        given = {k: (v.data if isinstance(v, Tensor) else v) for k, v in state_dict.items()}
        missing = [k for k in own if k not in given]
        # PyTorch's batch-norm counter has no counterpart here; it is ignored
        unexpected = [k for k in given if k not in own
                      and not k.endswith("num_batches_tracked")]
        wrong = []
        for k, t in own.items():
            if k in given:
                shape = tuple(np.shape(given[k]))
                if shape != tuple(t.shape):
                    wrong.append(f"{k}: expected {tuple(t.shape)}, found {shape}")
        if wrong or (strict and (missing or unexpected)):
            parts = []
            if missing:
                parts.append(f"missing keys: {missing}")
            if unexpected:
                parts.append(f"unexpected keys: {unexpected}")
            if wrong:
                parts.append("wrong shapes: " + "; ".join(wrong))
            raise StateDictError(
                f"error loading state_dict into {type(self).__name__}: " + "; ".join(parts)
            )
        for k, t in own.items():
            if k in given:
                xp = get_array_module(t.data)
                t.data[...] = xp.asarray(to_numpy(given[k]) if xp is np else given[k],
                                         dtype=t.dtype)
        return missing, unexpected

    # ------------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and args[0].__class__ is not Tensor and _is_symbolic(args[0]):
            return symbolic_call(self, args, kwargs)  # declaring a graph model (functional API)
        out = self.forward(*args, **kwargs)
        if _recorder is not None and not self._modules and isinstance(out, Tensor):
            _recorder.append(("", self, tuple(out.shape)))
        return out

    # ----------------------------------------------------------------- display
    def extra_repr(self) -> str:
        """One line of the layer's settings, shown inside its repr."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for k, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({k}): {sub}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"

    def summary(self, input_shape: tuple[int, ...], dtype: Any = None,
                print_fn: Callable[[str], Any] | None = print) -> str:
        """Print and return a table of each layer's output shape and parameter count.

        Args:
            input_shape: the shape of ONE example, without the batch axis (Keras's
                convention), e.g. ``(784,)`` or ``(1, 28, 28)``.
        """
        global _recorder
        names = {id(m): n for n, m in self.named_modules()}
        x = Tensor(np.zeros((1, *tuple(input_shape)), dtype=dtype or self._dtype()))
        was = self.training
        self.eval()
        records: list[tuple[str, Module, tuple[int, ...]]] = []
        _recorder = records
        try:
            with no_grad():
                out = self(x)
        finally:
            _recorder = None
            self.train(was)
        rows = [("Layer (type)", "Output shape", "Param #")]
        for _, m, shape in records:
            if id(m) not in names:  # a helper module called inside a layer (Dense's activation)
                continue
            n = sum(p.size for p in m.parameters())
            name = names.get(id(m), "") or type(m).__name__
            rows.append((f"{name} ({type(m).__name__})", str((None, *shape[1:])), f"{n:,}"))
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        w = [max(len(r[i]) for r in rows) for i in range(3)]
        rule = "-" * (sum(w) + 6)
        lines = [f"Model: {type(self).__name__}", rule]
        for i, r in enumerate(rows):
            lines.append(f"{r[0]:<{w[0]}}   {r[1]:<{w[1]}}   {r[2]:>{w[2]}}")
            if i == 0:
                lines.append(rule.replace("-", "="))
        lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}",
                  f"Input: {(None, *tuple(input_shape))} -> output: {(None, *out.shape[1:])}"]
        spec = getattr(self, "_loss_spec", None)
        if spec is not None:
            lines.append(spec.describe())
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def _dtype(self) -> np.dtype:
        for p in self.parameters():
            return p.dtype
        return get_default_dtype()

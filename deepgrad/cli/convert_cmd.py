"""``deepgrad convert SRC DST``: between ``.dg``, ``.onnx`` and ``.safetensors``, by extension.

A safetensors file holds weights only: reading one needs an architecture (``--arch``, a
``.dg`` or ``.onnx`` file, or a training config, whose layers take the weights by name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..io import load_safetensors, save, save_safetensors
from ..nn.module import Module, StateDictError
from .common import load_model_file
from .errors import CLIError

__all__ = ["run_convert", "FORMATS"]

FORMATS = (".dg", ".onnx", ".safetensors")


def _kind(path: str, what: str) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise CLIError(f"{what} {path}: unknown format {ext or '(no extension)'!r}; use "
                       f"{', '.join(FORMATS)}")
    return ext


def _architecture(path: str) -> tuple[Module, dict[str, Any]]:
    """A model to load weights into: from a .dg or .onnx file, or built from a training
    config (its data is read for the input shape, as ``deepgrad train`` does)."""
    if Path(path).suffix.lower() not in (".yaml", ".yml", ".json"):
        return load_model_file(path, need_finite=False)
    from .config import load_config, validate_config  # noqa: PLC0415
    from .datasource import load_training_data  # noqa: PLC0415
    from .layers import build_model  # noqa: PLC0415
    from .preprocess import Preprocessor  # noqa: PLC0415

    cfg = validate_config(load_config(path), Path(path).stem, Path(path).resolve().parent)
    data = load_training_data(cfg["data"], cfg["seed"])
    prep = Preprocessor(**cfg["data"]["preprocessing"])
    prep.fit_transform(data.X, np.float32)  # the same statistics as the training run
    shape = tuple(prep.input_shape or ())
    return build_model(cfg["model"], shape), {"preprocessing": prep.get_config()}


def _example_input(model: Module, meta: dict[str, Any], src: str,
                   shape_arg: str | None) -> np.ndarray:
    """One example input for ONNX export: ``--input-shape``, the run's recorded input
    shape, or a graph model's Input."""
    dtype = next((p.data.dtype for p in model.parameters()), np.dtype(np.float32))
    if shape_arg:
        try:
            shape = tuple(int(s) for s in shape_arg.split(","))
        except ValueError:
            raise CLIError(f"--input-shape {shape_arg!r}: expected sizes like 1,28,28") from None
        return np.zeros((1, *shape), dtype=dtype)
    shape = (meta.get("preprocessing") or {}).get("input_shape")
    if shape:
        return np.zeros((1, *shape), dtype=dtype)
    if getattr(model, "is_graph", False) and len(model.inputs) == 1:
        t = model.inputs[0]
        return np.zeros((1, *t.shape[1:]), dtype=t.dtype)
    raise CLIError(f"{src}: the input shape is not recorded; pass --input-shape, e.g. "
                   "--input-shape 1,28,28 (one example, without the batch axis)")


def run_convert(args: Any) -> int:
    """Convert a model file; prints what it wrote."""
    src_kind, dst_kind = _kind(args.src, "SRC"), _kind(args.dst, "DST")
    if Path(args.dst).resolve() == Path(args.src).resolve():
        raise CLIError(f"DST {args.dst} is SRC; give another file name")
    if Path(args.dst).is_dir():
        raise CLIError(f"DST {args.dst}: is a directory; give a file name")
    meta: dict[str, Any] = {}
    if src_kind == ".safetensors":
        if not args.arch:
            raise CLIError(f"{args.src}: a safetensors file holds weights only; pass --arch "
                           "FILE (a .dg or .onnx model, or a training config, with the same "
                           "layers)")
        if not Path(args.src).is_file():
            raise CLIError(f"{args.src}: no such file")
        model, meta = _architecture(args.arch)
        try:
            model.load_state_dict(load_safetensors(args.src))
        except StateDictError as e:
            raise CLIError(f"{args.src} does not fit --arch {args.arch}: "
                           f"{str(e).splitlines()[0]}") from None
    else:
        model, meta = load_model_file(args.src)
    model.eval()
    if dst_kind == ".dg":
        save(model, args.dst, metadata=meta or None)
    elif dst_kind == ".safetensors":
        save_safetensors(model, args.dst, metadata={"format": "pt", "source": Path(args.src).name})
    else:
        from .. import onnx as dg_onnx

        x = _example_input(model, meta, args.src, args.input_shape)
        dg_onnx.export(model, x, args.dst, opset_version=args.opset)
    print(f"wrote {args.dst} ({model.num_parameters():,} parameters) from {args.src}")
    return 0

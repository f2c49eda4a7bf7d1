"""``deepgrad gradcheck CONFIG``: the course's gradient check for any configured model.

The model is built in float64 and run in eval mode (dropout off, batch norm on its running
statistics, so the loss is a deterministic function of the weights) on a few training
examples. For each parameter the analytic gradient (backward) is compared with central
differences ``(J(θ + ε) - J(θ - ε)) / 2ε``: every entry of small tensors, and random
directions for large ones (as ``deepgrad.testing.gradcheck_directional``). The relative
error is the course's ``‖g_analytic - g_numeric‖ / (‖g_analytic‖ + ‖g_numeric‖)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import no_grad
from .._random import manual_seed
from ..autograd.tensor import Tensor
from ..backend import default_dtype
from ..train.compile import forward_logits, resolve_loss
from ..train.validation import check_targets
from .common import infer_task, output_units
from .config import load_config, validate_config
from .datasource import load_training_data
from .errors import ConfigError
from .layers import build_model
from .output import format_table
from .preprocess import Preprocessor
from .train_cmd import _loss_and_metrics

__all__ = ["run_gradcheck", "relative_error"]

OK, WARN = 1e-6, 1e-3


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """‖a - n‖ / (‖a‖ + ‖n‖), 0 when both are zero."""
    den = float(np.linalg.norm(a) + np.linalg.norm(n))
    return 0.0 if den == 0 else float(np.linalg.norm(a - n)) / den


def _check_param(J: Any, p: Any, g: np.ndarray, eps: float, max_elems: int, n_dir: int,
                 rng: np.random.Generator) -> tuple[str, float]:
    orig = p.data.copy()
    if p.size <= max_elems:
        num = np.empty(p.size)
        flat = p.data.reshape(-1)
        for i in range(p.size):
            flat[i] = orig.reshape(-1)[i] + eps
            fp = J()
            flat[i] = orig.reshape(-1)[i] - eps
            fm = J()
            flat[i] = orig.reshape(-1)[i]
            num[i] = (fp - fm) / (2 * eps)
        return f"all {p.size}", relative_error(g.reshape(-1), num)
    ana, num = np.empty(n_dir), np.empty(n_dir)
    for d in range(n_dir):
        v = rng.standard_normal(p.shape)
        v /= np.linalg.norm(v)
        ana[d] = float(np.sum(g * v))
        p.data[...] = orig + eps * v
        fp = J()
        p.data[...] = orig - eps * v
        fm = J()
        p.data[...] = orig
        num[d] = (fp - fm) / (2 * eps)
    return f"{n_dir} directions", relative_error(ana, num)


def run_gradcheck(args: Any) -> int:
    """Print a per-parameter table of relative errors; exit 1 if any is above 1e-3."""
    from pathlib import Path

    raw = load_config(args.config)
    cfg = validate_config(raw, Path(args.config).stem, Path(args.config).resolve().parent)
    cfg["data"]["limit"] = max(args.examples, cfg["data"]["limit"] or 0)
    cfg["data"]["validation"] = None
    seed = cfg["seed"] if cfg["seed"] is not None else 0
    manual_seed(seed)
    data = load_training_data(cfg["data"], seed)
    prep = Preprocessor(**cfg["data"]["preprocessing"])
    X = prep.fit_transform(data.X, np.float64)[: args.examples]
    with default_dtype(np.float64):
        model = build_model(cfg["model"], prep.input_shape or ())
    units = output_units(model, prep.input_shape or ())
    loss, _ = _loss_and_metrics(cfg, infer_task(data.y, data.class_names), units)
    try:
        spec = resolve_loss(loss, model)
    except ValueError as e:
        raise ConfigError("loss", str(e)) from None
    model.eval()
    xt = Tensor(X)
    out_shape = (len(X), *model(xt).shape[1:])
    y = check_targets(np.asarray(data.y[: args.examples]), spec.kind, units, loss, out_shape)
    if y.dtype.kind == "f" or spec.kind in ("binary", "regression"):
        y = y.astype(np.float64)
    head = spec.head if spec.from_logits else None

    def J() -> float:
        with no_grad():
            return float(spec.fn(forward_logits(model, xt, head), y).item())

    for p in model.parameters():
        p.grad = None
    spec.fn(forward_logits(model, xt, head), y).backward()
    rng = np.random.default_rng(seed)
    names = {id(m): n for n, m in model.named_modules()}
    rows, worst = [], 0.0
    for _, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            g = np.array(p.grad if p.grad is not None else np.zeros(p.shape))
            how, err = _check_param(J, p, g, args.eps, args.max_elements, args.directions, rng)
            worst = max(worst, err)
            status = "ok" if err < OK else "check" if err < WARN else "FAIL"
            rows.append([f"{names[id(m)]} ({type(m).__name__})", pname, str(tuple(p.shape)),
                         how, f"{err:.2e}", status])
    print(f"gradient check of {cfg['name']} ({loss}) in float64 on {len(X)} examples, "
          f"eps={args.eps:g}")
    print(format_table(rows, ["layer", "param", "shape", "checked", "rel. error", "status"]))
    verdict = ("all gradients agree" if worst < OK else "small differences (kinks such as "
               "relu at 0 can cause them)" if worst < WARN else "gradients DISAGREE")
    print(f"largest relative error {worst:.2e}: {verdict} "
          f"(ok < {OK:g}, check < {WARN:g})")
    return 0 if worst < WARN else 1

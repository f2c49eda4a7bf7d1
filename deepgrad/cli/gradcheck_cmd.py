"""``deepgrad gradcheck CONFIG``: the course's gradient check for any configured model.

The model is built in float64 and run in eval mode (dropout off, batch norm on its running
statistics, so the loss is a deterministic function of the weights) on a few training
examples. For each parameter the analytic gradient (backward) is compared with central
differences ``(J(θ + ε) - J(θ - ε)) / 2ε``: every entry of small tensors, and random
directions for large ones (as ``deepgrad.testing.gradcheck_directional``). The relative
error is the course's ``‖g_analytic - g_numeric‖ / (‖g_analytic‖ + ‖g_numeric‖)``.

Kinks: where the loss is not differentiable (ReLU at 0, as zero biases on an image's zero
background put it; max-pool ties that move apart) or where a pre-activation lies within ε
of such a point, the central difference averages two one-sided slopes while backward
returns one of them, so correct code would look wrong. Each entry that disagrees is tested
for a kink (``gradcheck_kinks``: the second differences at -ε, 0 and ε are all ``J'' ε``
where J is smooth, and a kink makes them jump) and, when one explains the disagreement,
counted as at a kink and left out of the error; entries without a kink are compared as
before, so a wrong backward still fails. If the initial weights have any kink, the check
point is unsuitable as a whole: every parameter is moved by seeded noise (1% of its RMS;
0.01 for an all-zero tensor such as a fresh bias), which takes pre-activations off 0, and
the whole check runs again there. The first run is summarized in one line; the table and
the verdict are the second run's, with entries still at kinks counted in the table.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
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
from .errors import CLIError, ConfigError
from .gradcheck_kinks import OK, WARN, ParamCheck, check_param, move_off_kinks, relative_error
from .layers import build_model
from .output import format_table
from .preprocess import Preprocessor
from .train_cmd import _loss_and_metrics

__all__ = ["run_gradcheck", "relative_error"]

MOVE = 1e-2  # the seeded move off kinks, relative to each parameter's RMS
MAX_EPS = 1e-1


def _validate(args: Any) -> None:
    """Refuse option values that make the check meaningless, naming the flag."""
    for flag, v, lo, what in (("--examples", args.examples, 1, "a positive integer"),
                              ("--max-elements", args.max_elements, 0,
                               "a non-negative integer"),
                              ("--directions", args.directions, 1, "a positive integer")):
        if v < lo:
            raise CLIError(f"{flag} must be {what}, got {v}")
    eps = args.eps
    if not (math.isfinite(eps) and 0 < eps <= MAX_EPS):
        raise CLIError(f"--eps must be a finite step in (0, {MAX_EPS:g}] (the default 1e-6 "
                       f"suits float64), got {eps:g}")


def _examples(args: Any) -> tuple[dict[str, Any], np.ndarray, Any, tuple[int, ...], int]:
    """The validated config, the first ``--examples`` preprocessed inputs, the data, the
    input shape and the seed."""
    raw = load_config(args.config)
    cfg = validate_config(raw, Path(args.config).stem, Path(args.config).resolve().parent)
    cfg["data"]["limit"] = max(args.examples, cfg["data"]["limit"] or 0)
    cfg["data"]["validation"] = None
    seed = cfg["seed"] if cfg["seed"] is not None else 0
    manual_seed(seed)
    data = load_training_data(cfg["data"], seed)
    prep = Preprocessor(**cfg["data"]["preprocessing"])
    X = prep.fit_transform(data.X, np.float64)[: args.examples]
    return cfg, X, data, prep.input_shape or (), seed


def _setup(args: Any) -> tuple[str, str, Any, Any, Any, int, int]:
    """Build the float64 model and its loss on the first examples.

    Returns the config's name, the loss name, the model, ``J`` (the loss under no_grad),
    ``backward`` (fills every parameter's grad), the number of examples and the seed.
    """
    cfg, X, data, shape, seed = _examples(args)
    with default_dtype(np.float64):
        model = build_model(cfg["model"], shape)
    units = output_units(model, shape)
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

    def backward() -> None:
        for p in model.parameters():
            p.grad = None
        spec.fn(forward_logits(model, xt, head), y).backward()

    return cfg["name"], loss, model, J, backward, len(X), seed


Row = tuple[str, str, Any, ParamCheck]  # layer label, dotted parameter name, parameter, result


def _check_all(model: Any, J: Any, backward: Any, args: Any, seed: int) -> list[Row]:
    """One pass over every parameter at the model's current weights."""
    backward()
    j0 = J()
    rng = np.random.default_rng(seed)  # the same directions in every pass
    rows = []
    for mname, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            if not p.requires_grad:  # frozen (trainable: false): it gets no gradient
                continue
            g = np.array(p.grad if p.grad is not None else np.zeros(p.shape))
            res = check_param(J, j0, p, g, args.eps, args.max_elements, args.directions, rng)
            rows.append((f"{mname} ({type(m).__name__})", f"{mname}.{pname}".lstrip("."), p,
                         res))
    return rows


def _worst(rows: list[Row]) -> float:
    return max((r.error for *_, r in rows if r.error is not None), default=0.0)


def _kink_note(rows: list[Row]) -> str:
    """Two lines on the first pass's kinks and the move that follows."""
    total = sum(r.checked for *_, r in rows)
    kinks = sum(r.kinks for *_, r in rows)
    where = ", ".join(f"{qname}:\0{r.kinks}" for _, qname, _, r in rows if r.kinks)  # \0: no break
    note = (f"kinks: at the initial weights {kinks} of {total} checked entries/directions "
            f"cross a point where the loss has no gradient ({where}), e.g. a relu input "
            f"within eps of 0; the largest error among the others is {_worst(rows):.2e}.")
    move = (f"checking again at a nearby point: every parameter moved by seeded noise of "
            f"{MOVE:g} x its RMS ({MOVE:g} where it is all zero).")
    lines = (textwrap.fill(t, 100, subsequent_indent="  ") for t in (note, move))
    return "\n".join(lines).replace("\0", " ")


def _print_table(rows: list[Row]) -> None:
    cells = [[label, qname.rsplit(".", 1)[-1], str(tuple(p.shape)), r.how, r.kinks,
              "-" if r.error is None else f"{r.error:.2e}", r.status]
             for label, qname, p, r in rows]
    print(format_table(cells, ["layer", "param", "shape", "checked", "kinks", "rel. error",
                               "status"]))


def run_gradcheck(args: Any) -> int:
    """Print a per-parameter table of relative errors; exit 1 if any is above 1e-3."""
    _validate(args)
    name, loss, model, J, backward, n, seed = _setup(args)
    print(f"gradient check of {name} ({loss}) in float64 on {n} examples, eps={args.eps:g}")
    rows = _check_all(model, J, backward, args, seed)
    if any(r.kinks for *_, r in rows):  # the initial point is unsuitable: check elsewhere
        print(_kink_note(rows))
        move_off_kinks(list(model.parameters()), np.random.default_rng([seed, 1]), MOVE)
        rows = _check_all(model, J, backward, args, seed)
    _print_table(rows)
    if all(r.error is None for *_, r in rows):
        print("every checked entry crosses a kink: nothing could be compared "
              "(try a smaller --eps)")
        return 1
    worst, skipped = _worst(rows), sum(r.kinks for *_, r in rows)
    verdict = ("all gradients agree" if worst < OK else "small differences (rounding or "
               "curvature; try another --eps)" if worst < WARN else "gradients DISAGREE")
    tail = (f"; {skipped} entries/directions at kinks not compared (a smaller --eps "
            "crosses fewer)" if skipped else "")
    print(f"largest relative error {worst:.2e}: {verdict} (ok < {OK:g}, check < {WARN:g})"
          f"{tail}")
    return 0 if worst < WARN else 1

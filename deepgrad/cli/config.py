"""Config files for ``deepgrad train``: load YAML or JSON, validate every key (errors name
the key path, e.g. ``model[2].dense.units: expected a positive integer, got 'ten'``),
fill in defaults, and build the optimizer, schedule and callbacks.

A config (all keys but ``data`` and ``model`` optional)::

    name: planar-flower
    seed: 2
    data: {source: planar}            # see deepgrad.cli.datasource
    model:
      - dense: {units: 4, activation: tanh, kernel_initializer: small_random}
      - dense: {units: 1, activation: sigmoid, kernel_initializer: small_random}
    loss: binary_crossentropy         # default: from the data and the output layer
    metrics: [accuracy]
    optimizer: {name: sgd, lr: 1.2}
    schedule: {name: step, step_size: 10, gamma: 0.5}
    epochs: 10000
    batch_size: full                  # or a number
    callbacks: {early_stopping: {patience: 3}, checkpoint: {save_best_only: true}}
    augment: {horizontal_flip: true, crop: 2, rotation: 10}   # image data only
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .. import callbacks as cb
from .. import optim
from ..metrics import get_metric, metric_names
from ..nn.parameter import Parameter
from ..train import LOSS_NAMES, OPTIMIZER_NAMES, resolve_optimizer
from .augment import validate_augment
from .datasource import validate_data
from .errors import CLIError, ConfigError
from .layers import validate_model
from .rundir import check_run_name
from .schema import as_bool, as_choice, as_int, as_mapping, as_str, check_keys, show

__all__ = ["DEFAULT_CONFIG", "load_config", "validate_config", "apply_overrides",
           "make_optimizer", "make_callbacks", "TOP_KEYS"]

TOP_KEYS = ("name", "seed", "data", "model", "loss", "metrics", "optimizer", "schedule",
            "epochs", "batch_size", "shuffle", "callbacks", "augment")

DEFAULT_CONFIG: dict[str, Any] = {
    "name": "planar-flower",
    "seed": 2,
    "data": {"source": "planar"},
    "model": [
        {"dense": {"units": 4, "activation": "tanh", "kernel_initializer": "small_random"}},
        {"dense": {"units": 1, "activation": "sigmoid", "kernel_initializer": "small_random"}},
    ],
    "loss": "binary_crossentropy",
    "metrics": ["accuracy"],
    "optimizer": {"name": "sgd", "lr": 1.2},
    "epochs": 10000,
    "batch_size": "full",
}
"""The course's planar example: 4 tanh hidden units, full-batch gradient descent, lr 1.2."""

SCHEDULES = {
    "step": optim.StepLR, "multistep": optim.MultiStepLR, "exponential": optim.ExponentialLR,
    "cosine": optim.CosineAnnealingLR, "inverse_time": optim.InverseTimeDecay,
    "plateau": cb.ReduceLROnPlateau,
}
CALLBACKS = {"early_stopping": cb.EarlyStopping, "checkpoint": cb.ModelCheckpoint,
             "reduce_lr_on_plateau": cb.ReduceLROnPlateau}
_NOT_SETTINGS = {"self", "optimizer", "params", "last_epoch", "verbose", "filepath",
                 "save_optimizer", "maximize", "foreach", "differentiable", "capturable"}


def _settings(cls: type) -> list[str]:
    return [k for k, p in inspect.signature(cls.__init__).parameters.items()
            if k not in _NOT_SETTINGS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file into a dict.

    Raises:
        CLIError: for a missing or unreadable file, or malformed YAML/JSON (with the line).
    """
    p = Path(path)
    if p.is_dir():
        raise CLIError(f"{p}: is a directory, not a config file (expected a .yaml, .yml or "
                       ".json file)")
    if not p.is_file():
        raise CLIError(f"{p}: no such config file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CLIError(f"{p}: cannot read the config ({e})") from e
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise CLIError(f"{p}: malformed JSON at line {e.lineno}, column {e.colno}: "
                           f"{e.msg}") from e
    else:
        try:
            import yaml  # noqa: PLC0415 - only the config loader needs PyYAML
        except ImportError as e:
            raise CLIError("reading YAML configs needs PyYAML: pip install pyyaml") from e
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            what = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise CLIError(f"{p}: malformed YAML{where}: {what}") from e
    if not isinstance(data, dict):
        raise CLIError(f"{p}: expected a mapping of settings at the top level, got "
                       f"{type(data).__name__}")
    return data


def apply_overrides(raw: dict[str, Any], epochs: Any = None, batch_size: Any = None,
                    lr: Any = None, seed: Any = None) -> dict[str, Any]:
    """A copy of ``raw`` with command-line options applied (validated with the rest)."""
    raw = copy.deepcopy(raw)
    if epochs is not None:
        raw["epochs"] = epochs
    if batch_size is not None:
        raw["batch_size"] = batch_size
    if seed is not None:
        raw["seed"] = seed
    if lr is not None:
        opt = raw.get("optimizer", "adam")
        opt = {"name": opt} if isinstance(opt, str) else dict(as_mapping(opt, "optimizer"))
        opt["lr"] = lr
        raw["optimizer"] = opt
    return raw


def _dummy_params() -> list[Parameter]:
    return [Parameter(np.zeros(1, dtype=np.float32))]


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check_finite_numbers(v: dict[str, Any], path: str) -> None:
    """Every number among a section's settings is finite (``.inf``/``.nan`` in YAML)."""
    for k, x in v.items():
        items = x if isinstance(x, list) else [x]
        if any(isinstance(i, float) and not math.isfinite(i) for i in items):
            raise ConfigError(f"{path}.{k}", f"expected a finite number, got {show(x)}")


# Keras's optimizer names -> PyTorch's (the optimizers are PyTorch's: lr, betas, eps, ...)
OPTIMIZER_ALIASES = {"learning_rate": "lr", "epsilon": "eps", "rho": "alpha"}


def _optimizer_aliases(v: dict[str, Any], valid: list[str], path: str) -> dict[str, Any]:
    """Rename Keras's keys to the optimizer's own (PyTorch's) where it has that setting;
    ``beta_1``/``beta_2`` become ``betas``."""
    out = dict(v)
    for keras, torch in OPTIMIZER_ALIASES.items():
        if keras in out and keras not in valid and torch in valid:
            if torch in out:
                raise ConfigError(f"{path}.{keras}", f"'{keras}' and '{torch}' name the same "
                                  "setting; give one of them")
            out[torch] = out.pop(keras)
    if ("beta_1" in out or "beta_2" in out) and "betas" in valid:
        if "betas" in out:
            raise ConfigError(f"{path}.betas", "give betas or beta_1/beta_2, not both")
        out["betas"] = [out.pop("beta_1", 0.9), out.pop("beta_2", 0.999)]
    return out


def _validate_optimizer(v: Any) -> dict[str, Any]:
    path = "optimizer"
    if isinstance(v, str):
        v = {"name": v}
    v = dict(as_mapping(v, path))
    name = as_choice(v.pop("name", v.pop("type", "adam")), f"{path}.name", OPTIMIZER_NAMES,
                     "optimizer")
    cls = getattr(optim, OPTIMIZER_NAMES[name][0])
    v = _optimizer_aliases(v, _settings(cls), path)
    check_keys(v, path, _settings(cls))
    for k, x in v.items():
        if k == "betas":
            if not (isinstance(x, list) and len(x) == 2 and all(_finite(b) for b in x)):
                raise ConfigError(f"{path}.betas", f"expected a pair of finite numbers, got "
                                  f"{show(x)}")
        elif k in ("nesterov", "amsgrad", "centered"):
            as_bool(x, f"{path}.{k}")
        elif not _finite(x):
            raise ConfigError(f"{path}.{k}", f"expected a finite number, got {show(x)}")
    if "lr" in v and not v["lr"] > 0:
        raise ConfigError(f"{path}.lr", f"expected a positive number, got {show(v['lr'])}")
    try:
        resolve_optimizer({"name": name, **v}, _dummy_params())
    except (ValueError, TypeError) as e:
        raise ConfigError(path, str(e)) from None
    return {"name": name, **v}


def _validate_schedule(v: Any, epochs: int) -> dict[str, Any] | None:
    if v is None:
        return None
    path = "schedule"
    v = dict(as_mapping({"name": v} if isinstance(v, str) else v, path))
    name = as_choice(v.pop("name", None), f"{path}.name", SCHEDULES, "schedule")
    cls = SCHEDULES[name]
    check_keys(v, path, _settings(cls))
    _check_finite_numbers(v, path)
    if name == "cosine":
        v.setdefault("T_max", epochs)
    try:
        _make_schedule({"name": name, **v}, optim.SGD(_dummy_params(), lr=0.1))
    except (ValueError, TypeError) as e:
        raise ConfigError(path, str(e)) from None
    return {"name": name, **v}


def _make_schedule(s: dict[str, Any], opt: Any) -> Any:
    kw = {k: v for k, v in s.items() if k != "name"}
    if s["name"] == "plateau":
        return cb.ReduceLROnPlateau(**kw)
    return SCHEDULES[s["name"]](opt, **kw)


def _validate_callbacks(v: Any) -> dict[str, dict[str, Any]]:
    v = as_mapping(v, "callbacks")
    check_keys(v, "callbacks", CALLBACKS)
    out = {}
    for name, settings in v.items():
        p = f"callbacks.{name}"
        s = {} if settings is True or settings is None else as_mapping(settings, p)
        check_keys(s, p, _settings(CALLBACKS[name]))
        _check_finite_numbers(s, p)
        if "patience" in s:
            as_int(s["patience"], f"{p}.patience", 0)
        if "monitor" in s:
            as_str(s["monitor"], f"{p}.monitor")
        for k in ("restore_best_weights", "save_best_only"):
            if k in s:
                as_bool(s[k], f"{p}.{k}")
        if "mode" in s:
            as_choice(s["mode"], f"{p}.mode", ("auto", "min", "max"), "mode")
        out[name] = s
    return out


def validate_config(raw: dict[str, Any], name: str = "run",
                    base_dir: str | Path = ".") -> dict[str, Any]:
    """Validate a whole config; returns the resolved config (defaults filled in).

    Raises:
        ConfigError: for the first problem, naming its key path.
    """
    raw = as_mapping(raw, "")
    check_keys(raw, "", TOP_KEYS, ("data", "model"))
    cfg: dict[str, Any] = {"name": check_run_name(as_str(raw.get("name", name), "name"))}
    cfg["seed"] = None if raw.get("seed") is None else as_int(raw["seed"], "seed", 0)
    cfg["data"] = validate_data(raw["data"], Path(base_dir))
    cfg["model"] = validate_model(raw["model"])
    loss = raw.get("loss")
    cfg["loss"] = None if loss in (None, "auto") else as_choice(loss, "loss", LOSS_NAMES, "loss")
    metrics = raw.get("metrics")
    if metrics is not None:
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, list):
            raise ConfigError("metrics", f"expected a list of metric names, got {show(metrics)}")
        metrics = [as_choice(m, f"metrics[{i}]", metric_names(), "metric")
                   for i, m in enumerate(metrics)]
    cfg["metrics"] = metrics
    cfg["optimizer"] = _validate_optimizer(raw.get("optimizer", "adam"))
    cfg["epochs"] = as_int(raw.get("epochs", 10), "epochs")
    bs = raw.get("batch_size", 32)
    cfg["batch_size"] = "full" if bs in (None, "full") else as_int(
        bs, "batch_size", what="a positive integer or 'full'")
    cfg["shuffle"] = as_bool(raw.get("shuffle", True), "shuffle")
    cfg["schedule"] = _validate_schedule(raw.get("schedule"), cfg["epochs"])
    cfg["callbacks"] = _validate_callbacks(raw.get("callbacks"))
    cfg["augment"] = validate_augment(raw.get("augment"))
    return cfg


def metric_keys(metrics: list[str]) -> list[str]:
    """The log names of metrics (``acc`` is logged as ``accuracy``)."""
    return [get_metric(m).name for m in metrics]


def make_optimizer(cfg: dict[str, Any], params: list[Any]) -> Any:
    """The configured optimizer over ``params``."""
    return resolve_optimizer(dict(cfg["optimizer"]), params)


def make_callbacks(cfg: dict[str, Any], opt: Any, out_dir: Path, logged: list[str]
                   ) -> list[cb.Callback]:
    """The schedule and callbacks of a validated config (``logged``: the epoch log keys).

    Raises:
        ConfigError: for a monitored quantity that is not logged.
    """
    result: list[cb.Callback] = []
    default_monitor = "val_loss" if "val_loss" in logged else "loss"
    s = cfg.get("schedule")
    if s is not None:
        if s["name"] == "plateau":
            kw = {"monitor": default_monitor, **{k: v for k, v in s.items() if k != "name"}}
            _check_monitor(kw["monitor"], "schedule.monitor", logged)
            result.append(cb.ReduceLROnPlateau(**kw))
        else:
            result.append(cb.LearningRateScheduler(_make_schedule(s, opt)))
    for name, settings in cfg["callbacks"].items():
        kw = {"monitor": default_monitor, **settings}
        _check_monitor(kw["monitor"], f"callbacks.{name}.monitor", logged)
        if name == "checkpoint":
            kw["filepath"] = str(out_dir / "checkpoint.dg")
        result.append(CALLBACKS[name](**kw))
    return result


def _check_monitor(monitor: str, path: str, logged: list[str]) -> None:
    if monitor not in logged:
        raise ConfigError(path, f"{show(monitor)} is not logged during training; "
                          f"available: {', '.join(logged)}")

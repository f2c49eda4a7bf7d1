"""``deepgrad train [CONFIG]``: train from a config, write the model, history, plots and
the resolved config into the output directory, and print a summary table."""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import callbacks as cb
from .._random import manual_seed
from ..io import save
from ..nn.module import Module
from .common import infer_task, output_units
from .config import (
    DEFAULT_CONFIG,
    apply_overrides,
    load_config,
    make_callbacks,
    make_optimizer,
    metric_keys,
    validate_config,
)
from .datasource import LoadedData, load_training_data
from .errors import ConfigError
from .layers import build_model
from .output import atomic_write_text, format_table, history_csv
from .preprocess import Preprocessor

__all__ = ["run_train", "default_out_dir"]


class _Interrupt(cb.Callback):
    """First Ctrl-C: stop after the current batch (outputs are still written)."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = False

    def handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupted: stopping after this batch (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if self.requested:
            self.model.stop_training = True


class _EveryN(cb.Callback):
    """One line every ``n`` epochs (for long full-batch runs, like the course's prints)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        total = self.params.get("epochs", "?")
        if epoch % self.n == 0 or epoch + 1 == total:
            text = " - ".join(f"{k}: {v:.4f}" for k, v in (logs or {}).items() if k != "lr")
            print(f"Epoch {epoch + 1}/{total} - {text}", flush=True)


def default_out_dir(name: str) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>`` under the current directory."""
    return Path("runs") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _resolve(args: Any) -> dict[str, Any]:
    if args.config is None:
        raw, name, base = DEFAULT_CONFIG, "planar-flower", Path.cwd()
    else:
        raw = load_config(args.config)
        name, base = Path(args.config).stem, Path(args.config).resolve().parent
    raw = apply_overrides(raw, args.epochs, args.batch_size, args.lr, args.seed)
    return validate_config(raw, name, base)


def _loss_and_metrics(cfg: dict[str, Any], task: str, units: int) -> tuple[str, list[str]]:
    loss = cfg["loss"]
    if loss is None:
        loss = ("mse" if task == "regression" else "binary_crossentropy" if units == 1
                else "sparse_categorical_crossentropy")
    metrics = cfg["metrics"]
    if metrics is None:
        metrics = ["mae"] if task == "regression" else ["accuracy"]
    return loss, metrics


def _class_names(data: LoadedData, task: str, units: int) -> list[str] | None:
    if task != "classification":
        return None
    if data.class_names is not None:
        return [str(c) for c in data.class_names]
    ys = data.y if data.y_val is None else np.concatenate([data.y, data.y_val])
    k = max(int(ys.max()) + 1, 2 if units == 1 else units)
    return [str(i) for i in range(k)]


def _write_plots(out: Path, model: Module, history: Any, prep: Preprocessor,
                 data: LoadedData, task: str, title: str) -> list[str]:
    written = []
    try:
        from ..viz import plot_decision_boundary, plot_learning_curve

        plot_learning_curve(history, path=out / "learning_curve.png", title=title)
        written.append("learning_curve.png")
        if task == "classification" and prep.raw_shape == (2,):
            dtype = next(iter(model.parameters())).dtype
            plot_decision_boundary(lambda g: model.predict(prep.transform(g, dtype)),
                                   data.X, data.y, path=out / "decision_boundary.png",
                                   title=title)
            written.append("decision_boundary.png")
    except ImportError:
        print("note: matplotlib is not installed, so no plots were drawn "
              "(pip install 'deepgrad[plot]')")
    return written


def _dump_config(cfg: dict[str, Any]) -> tuple[str, str]:
    try:
        import yaml  # noqa: PLC0415 - optional at import time
    except ImportError:
        return "config.json", json.dumps(cfg, indent=2) + "\n"
    return "config.yaml", yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)


def _progress(args: Any, epochs: int) -> tuple[int, list[cb.Callback]]:
    """fit's verbose level and extra progress callbacks for the chosen verbosity."""
    if args.quiet:
        return 0, []
    if args.verbose:
        return 2, []
    if epochs > 100:
        return 0, [_EveryN(max(epochs // 10, 1))]
    return 1, []


def _summary(model: Module, X: np.ndarray, y: np.ndarray, Xv: Any, yv: Any, val_name: str,
             seconds: float, samples: int, epochs_run: int) -> str:
    res = model.evaluate(X, y)
    keys, rows = list(res), [["train", *res.values()]]
    if Xv is not None:
        rows.append([val_name, *model.evaluate(Xv, yv).values()])
    table = format_table(rows, ["", *keys])
    rate = samples / max(seconds, 1e-9)
    return (f"{table}\n{epochs_run} epochs in {seconds:.1f} s, {rate:,.0f} samples/s "
            f"({len(X):,} training examples)")


def run_train(args: Any) -> int:
    """The train command; returns the exit code (130 when interrupted)."""
    cfg = _resolve(args)
    out = Path(args.out) if args.out else default_out_dir(cfg["name"])
    seed = cfg["seed"]
    if seed is not None:
        manual_seed(seed)
    data = load_training_data(cfg["data"], seed)
    prep = Preprocessor(**cfg["data"]["preprocessing"])
    X = prep.fit_transform(data.X, np.float32)
    Xv = None if data.X_val is None else prep.transform(data.X_val, np.float32)
    model = build_model(cfg["model"], prep.input_shape or ())
    units = output_units(model, prep.input_shape or ())
    task = infer_task(data.y, data.class_names)
    loss, metrics = _loss_and_metrics(cfg, task, units)
    opt = make_optimizer(cfg, list(model.parameters()))
    try:
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except ValueError as e:
        raise ConfigError("loss", str(e)) from None
    cfg["loss"], cfg["metrics"] = loss, metrics
    logged = ["loss", *metric_keys(metrics)]
    logged += [f"val_{k}" for k in logged] if Xv is not None else []
    model.metadata = {
        "cli_version": 1, "name": cfg["name"], "task": task,
        "class_names": _class_names(data, task, units), "loss": loss, "metrics": metrics,
        "preprocessing": prep.get_config(),
        "data": {k: v for k, v in cfg["data"].items() if k != "preprocessing"}
        | {"target": data.target, "feature_names": data.feature_names},
    }
    out.mkdir(parents=True, exist_ok=True)
    extra = make_callbacks(cfg, opt, out, logged)
    verbose, progress = _progress(args, cfg["epochs"])
    stop = _Interrupt()
    if not args.quiet:
        print(f"training {cfg['name']}: {len(X):,} examples of shape {prep.input_shape}"
              + (f", {len(Xv):,} for {data.val_name}" if Xv is not None else "")
              + f" -> {out}")
        if args.verbose:
            model.summary(prep.input_shape or ())
    previous = signal.signal(signal.SIGINT, stop.handler)
    t0 = time.perf_counter()
    try:
        bs = None if cfg["batch_size"] == "full" else cfg["batch_size"]
        history = model.fit(X, data.y, epochs=cfg["epochs"], batch_size=bs,
                            validation_data=None if Xv is None else (Xv, data.y_val),
                            shuffle=cfg["shuffle"], seed=seed, verbose=verbose,
                            callbacks=[*extra, *progress, stop])
    finally:
        signal.signal(signal.SIGINT, previous)
    seconds = time.perf_counter() - t0
    epochs_run = len(history.epoch)
    save(model, out / "model.dg", epoch=epochs_run)
    atomic_write_text(out / "history.csv", history_csv(history.history, history.epoch))
    cname, ctext = _dump_config(cfg)
    atomic_write_text(out / cname, ctext)
    plots = [] if stop.requested else _write_plots(out, model, history, prep, data, task,
                                                   cfg["name"])
    print(_summary(model, X, data.y, Xv, data.y_val, data.val_name, seconds,
                   epochs_run * len(X), epochs_run))
    print(f"wrote {out}/: model.dg, history.csv, {cname}"
          + "".join(f", {p}" for p in plots))
    if stop.requested:
        print(f"deepgrad: interrupted after {epochs_run} epochs; the model so far is in "
              f"{out / 'model.dg'}", file=sys.stderr)
        return 130
    return 0

"""``deepgrad train [CONFIG]``: train from a config, write the model, history, plots and
the resolved config into the output directory, and print a summary table."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import callbacks as cb
from .. import distributed as dist
from .._random import manual_seed
from .._threads import ENV_VARS, apply_default_threads, retune, set_num_threads
from ..data import ArrayDataset, DataLoader
from ..io import save
from ..nn.module import Module
from .augment import make_augment
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
from .errors import CLIError, ConfigError
from .layers import build_model
from .output import atomic_write_text, format_table, history_csv
from .preprocess import Preprocessor
from .rundir import RunDir, claim_default, claim_out, clean_stale

__all__ = ["run_train"]


class _StopNow(Exception):
    """Ctrl-C while no training step is running: leave ``fit`` at once."""


class _Interrupt(cb.Callback):
    """First Ctrl-C: leave ``fit`` now if between steps (validation, data loading), else
    right after the current step, so the weights are never half-updated; the partial epoch
    is not validated or logged. A second Ctrl-C quits at once."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = False
        self.in_step = False
        self.epoch = 0  # 1-based, 0 before the first epoch
        self.steps_done = 0

    @property
    def where(self) -> str:
        """``epoch E, step S/N``: where training was when Ctrl-C came."""
        if not self.epoch:
            return "epoch 1"
        steps = self.params.get("steps")
        return (f"epoch {self.epoch}, step {self.steps_done}" + (f"/{steps}" if steps else "")
                if self.steps_done else f"epoch {self.epoch}")

    def handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupted: stopping and saving the model as it is "
              "(Ctrl-C again to quit at once)", file=sys.stderr, flush=True)
        if self.model is not None:
            self.model.stop_training = True
        if not self.in_step:
            raise _StopNow

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch, self.steps_done = epoch + 1, 0

    def on_train_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self.in_step = True

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self.in_step = False
        self.steps_done = batch + 1
        if self.requested:  # the step is done: leave before the epoch's validation
            raise _StopNow


class _Retune(cb.Callback):
    """Re-decides the automatic BLAS thread count while training (every 2 s at most), so
    a process that starts beside the run, or with it, is noticed."""

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        retune()


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


def _claim(args: Any, name: str) -> RunDir:
    """The run's output directory, claimed (see deepgrad.cli.rundir), stale debris noted."""
    run = (claim_out(Path(args.out), args.overwrite) if args.out
           else claim_default(name))
    for path, size in clean_stale(run, scan_siblings=not args.out):
        print(f"deepgrad: removed {path} ({size / 1e6:.1f} MB), a temporary left by a run "
              "that was killed", file=sys.stderr)
    return run


def _prepare(args: Any) -> dict[str, Any]:
    """Config, data, preprocessing and the compiled model, checked before any output."""
    cfg = _resolve(args)
    seed = cfg["seed"]
    if seed is not None:
        manual_seed(seed)
    data = load_training_data(cfg["data"], seed)
    prep = Preprocessor(**cfg["data"]["preprocessing"])
    X = prep.fit_transform(data.X, np.float32)
    Xv = None if data.X_val is None else prep.transform(data.X_val, np.float32)
    model = build_model(cfg["model"], prep.input_shape or ())
    augment = (None if cfg["augment"] is None
               else make_augment(cfg["augment"], prep.input_shape, seed))
    units = output_units(model, prep.input_shape or ())
    task = infer_task(data.y, data.class_names)
    loss, metrics = _loss_and_metrics(cfg, task, units)
    opt = make_optimizer(cfg, list(model.parameters()))
    try:
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except ValueError as e:
        raise ConfigError("loss", str(e)) from None
    cfg["loss"], cfg["metrics"] = loss, metrics
    model.metadata = {
        "cli_version": 1, "name": cfg["name"], "task": task,
        "class_names": _class_names(data, task, units), "loss": loss, "metrics": metrics,
        "preprocessing": prep.get_config(),
        "data": {k: v for k, v in cfg["data"].items() if k != "preprocessing"}
        | {"target": data.target, "feature_names": data.feature_names},
    }
    return {"cfg": cfg, "data": data, "prep": prep, "X": X, "Xv": Xv, "model": model,
            "opt": opt, "task": task, "augment": augment}


def _fit(args: Any, job: dict[str, Any], out: Path, stop: _Interrupt) -> Any:
    """Train with the config's callbacks and Ctrl-C handling; returns the History."""
    cfg, model, X, Xv, data = job["cfg"], job["model"], job["X"], job["Xv"], job["data"]
    logged = ["loss", *metric_keys(cfg["metrics"])]
    logged += [f"val_{k}" for k in logged] if Xv is not None else []
    extra = make_callbacks(cfg, job["opt"], out, logged)
    verbose, progress = _progress(args, cfg["epochs"])
    if not args.quiet:
        print(f"training {cfg['name']}: {len(X):,} examples of shape {job['prep'].input_shape}"
              + (f", {len(Xv):,} for {data.val_name}" if Xv is not None else "")
              + f" -> {out if not args.out else args.out}", flush=True)
        if args.verbose:
            model.summary(job["prep"].input_shape or ())
        if dist.world_size() > 1 and verbose == 0:  # (fit prints it when verbose)
            print(dist.describe(None if cfg["batch_size"] == "full" else cfg["batch_size"]),
                  flush=True)
    bs = None if cfg["batch_size"] == "full" else cfg["batch_size"]
    x, y = X, data.y
    if job["augment"] is not None:  # fresh random transforms for every batch
        sampler = _shard(len(X), cfg)  # under mpiexec: this rank's share (fit sets epochs)
        x, y = DataLoader(ArrayDataset(X, data.y), batch_size=bs,
                          shuffle=cfg["shuffle"] and sampler is None, seed=cfg["seed"],
                          transform=job["augment"], sampler=sampler), None
    auto = [] if args.threads or dist.world_size() > 1 else [_Retune()]
    previous = signal.signal(signal.SIGINT, stop.handler)
    try:
        return model.fit(x, y, epochs=cfg["epochs"], batch_size=bs,
                         validation_data=None if Xv is None else (Xv, data.y_val),
                         shuffle=cfg["shuffle"], seed=cfg["seed"], verbose=verbose,
                         callbacks=[*extra, *progress, *auto, stop])
    except _StopNow:  # (Ctrl-C before fit set up its History: an empty one)
        return getattr(model, "history", None) or cb.History()
    finally:
        signal.signal(signal.SIGINT, previous)


def _write(out: Path, job: dict[str, Any], history: Any, interrupted: str | None
           ) -> list[str]:
    """model.dg, history.csv, the resolved config and (when finished) the plots."""
    model, epochs_run = job["model"], len(history.epoch)
    meta = {"interrupted": interrupted} if interrupted else None
    save(model, out / "model.dg", epoch=epochs_run, metadata=meta)
    atomic_write_text(out / "history.csv", history_csv(history.history, history.epoch))
    cname, ctext = _dump_config(job["cfg"])
    atomic_write_text(out / cname, ctext)
    plots = [] if interrupted else _write_plots(out, model, history, job["prep"], job["data"],
                                                job["task"], job["cfg"]["name"])
    return ["model.dg", "history.csv", cname, *plots]


def _last_epoch(history: Any) -> str:
    if not history.epoch:
        return "no epoch was completed"
    logs = {k: v[-1] for k, v in history.history.items() if v and k != "lr"}
    return f"last completed epoch {history.epoch[-1] + 1}: " + ", ".join(
        f"{k} {v:.4f}" for k, v in logs.items())


def _shard(n: int, cfg: dict[str, Any]) -> Any:
    """A DistributedSampler for this rank under ``mpiexec -n N`` (N > 1), else None."""
    if dist.world_size() == 1:
        return None
    seed = cfg["seed"] if cfg["seed"] is not None else dist.broadcast_object(
        int(np.random.default_rng().integers(2**31)))
    return dist.DistributedSampler(n, shuffle=cfg["shuffle"], seed=seed)


def _local_ranks() -> int:
    """How many ranks of this run share this machine (MPICH and Open MPI say so)."""
    for var in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    return dist.world_size()


def _claim_shared(args: Any, name: str) -> RunDir:
    """Rank 0 claims the run directory and tells the others its path (their RunDir only
    names it: they never write, commit or abandon it); alone, the plain claim."""
    if dist.world_size() == 1:
        return _claim(args, name)
    run, error = None, None
    if dist.is_main():
        try:
            run = _claim(args, name)
        except Exception as e:  # noqa: BLE001 - re-raised below, the others told
            error = e
    shared = dist.broadcast_object((None if run is None else str(run.path),
                                    None if error is None else str(error)))
    if error is not None:
        raise error
    if shared[1] is not None:
        raise CLIError(f"rank 0 could not claim the run directory: {shared[1]}")
    return run if dist.is_main() else RunDir(Path(shared[0]), Path(shared[0]), None, False)


def run_train(args: Any) -> int:
    """The train command; returns the exit code (130 when interrupted).

    Under ``mpiexec -n N`` (N > 1) it trains data-parallel: every rank loads the same
    data and config, rank 0 alone prints and writes the run directory, and an error on
    any rank ends all ranks (``MPI_Abort``) with that rank's message.
    """
    if dist.world_size() == 1:
        return _run_train(args)
    if not dist.is_main():
        args.quiet, args.verbose = True, False
    try:
        code = _run_train(args)
    except BaseException as e:  # noqa: BLE001 - every rank must end, not wait in a collective
        if isinstance(e, SystemExit) and not e.code:
            raise
        dist.abort(f"deepgrad: error: {type(e).__name__}: {e}",
                   130 if isinstance(e, KeyboardInterrupt) else 1)
    dist.barrier()
    return code


def _run_train(args: Any) -> int:
    if dist.world_size() > 1 and not args.threads and not any(
            os.environ.get(v) for v in ENV_VARS):  # each rank its share of the cores
        set_num_threads(max(1, (os.cpu_count() or 1) // _local_ranks()))
    elif args.threads:
        set_num_threads(args.threads)
    else:
        apply_default_threads()  # the free cores, unless OMP/OPENBLAS_NUM_THREADS is set
    job = _prepare(args)
    dist.check_same_everywhere(  # one collective: same config and data on every rank
        (job["cfg"], job["X"].shape, str(job["X"].dtype)), "the config or the data")
    run = _claim_shared(args, job["cfg"]["name"])
    stop = _Interrupt()
    try:
        t0 = time.perf_counter()
        history = _fit(args, job, run.path, stop)
        seconds = time.perf_counter() - t0
        interrupted = f"by Ctrl-C in {stop.where}" if stop.requested else None
        if not dist.is_main():  # rank 0 writes the files and prints the summary
            return 130 if interrupted else 0
        written = _write(run.path, job, history, interrupted)
    except BaseException:
        if dist.is_main():
            run.abandon()
        raise
    run.commit()
    out, epochs_run = run.final, len(history.epoch)
    if interrupted:
        print(_last_epoch(history))
        print(f"wrote {out}/: {', '.join(written)}")
        print(f"deepgrad: interrupted {interrupted} ({epochs_run} complete epochs); the "
              f"model as it was is in {out / 'model.dg'}", file=sys.stderr)
        return 130
    X, data = job["X"], job["data"]
    print(_summary(job["model"], X, data.y, job["Xv"], data.y_val, data.val_name, seconds,
                   epochs_run * len(X), epochs_run))
    print(f"wrote {out}/: {', '.join(written)}")
    return 0

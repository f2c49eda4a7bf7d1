"""``deepgrad evaluate`` / ``predict`` under ``mpiexec -n N``: each rank loads the model and
the data, computes its contiguous shard (rank r: the batches ``[r*B//N, (r+1)*B//N)`` of the
``B`` batches one process would run, i.e. rows ``[r*n//N, (r+1)*n//N)`` up to batch
alignment), and rank 0 gathers the parts in the original order and alone prints or writes:
the same predictions CSV, byte for byte, and the same loss and metrics as one process.

Every rank reaches the one gather with either its part or its error, so an error on any
rank (a missing file, bad data, a non-finite loss) ends all ranks with one message from
rank 0 and the same non-zero exit code, without ``MPI_Abort``; Ctrl-C (or anything else
that escapes) ends them with ``MPI_Abort``, as ``deepgrad train`` does.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import distributed as dist
from .._config import no_grad
from .._threads import ENV_VARS, set_num_threads
from ..autograd.tensor import Tensor
from ..backend import to_device, to_numpy
from ..train.compile import compiled_spec, forward_logits
from ..train.evaluation import _nonfinite_eval_error
from ..train.inputs import model_device, prepare_xy
from .errors import CLIError

__all__ = ["run_evaluate_sharded", "run_predict_sharded", "shard_bounds", "run_sharded",
           "evaluate_parts", "combine_evaluation"]

# exceptions that the CLI reports as one line without their type (as cli.main does)
_EXPECTED = (CLIError, FileNotFoundError, ValueError, ImportError, OSError, FloatingPointError)


def shard_bounds(n: int, rank: int, size: int, batch_size: int = 1) -> tuple[int, int]:
    """Rank ``rank``'s contiguous rows ``[lo, hi)`` of ``n`` examples over ``size`` ranks.

    The ``ceil(n / batch_size)`` batches of a single-process run are split as
    ``[r*B//size, (r+1)*B//size)``, so every rank computes exactly the batches one process
    would (a float32 GEMM's rounding can depend on the batch's row count; aligned shards
    make the gathered outputs bitwise those of one process). ``batch_size=1``: rows
    ``[r*n//size, (r+1)*n//size)``.
    """
    batches = -(-n // batch_size)
    return (min(n, rank * batches // size * batch_size),
            min(n, (rank + 1) * batches // size * batch_size))


def _local_ranks() -> int:
    for var in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    return dist.world_size()


def _error_text(e: BaseException) -> tuple[str, int]:
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, _EXPECTED):
        return text, 2
    return f"{type(e).__name__}: {text}", 1


def run_sharded(local: Callable[[int, int], Any], combine: Callable[[list[Any]], Any],
                report: Callable[[Any], int]) -> int:
    """Run a sharded command on every rank; returns the exit code (the same on all ranks).

    Args:
        local: ``local(rank, size)`` loads what it needs and returns this rank's part
            (a picklable value); it may raise.
        combine: on rank 0, the parts in rank order -> the result; it may raise.
        report: on rank 0, prints or writes the result; returns the exit code.
    """
    if not any(os.environ.get(v) for v in ENV_VARS):  # each rank its share of the cores
        set_num_threads(max(1, (os.cpu_count() or 1) // _local_ranks()))
    try:
        code, own, result = _run_sharded(local, combine)
    except BaseException as e:  # noqa: BLE001 - a rank left in a collective must not wait
        if isinstance(e, SystemExit) and not e.code:
            raise
        dist.abort(f"deepgrad: error: {type(e).__name__}: {e}",
                   130 if isinstance(e, KeyboardInterrupt) else 1)
        raise  # (abort does not return)
    if own is not None:  # rank 0's own error, every rank told: reported by deepgrad's main
        raise own
    if code is None and dist.is_main():  # the others are done: an error here is rank 0's
        return report(result)
    return code or 0


def _run_sharded(local: Callable[[int, int], Any], combine: Callable[[list[Any]], Any]
                 ) -> tuple[int | None, BaseException | None, Any]:
    """(the exit code of a failed run or None, rank 0's own exception to re-raise, the
    combined result on rank 0)."""
    rank, size = dist.rank(), dist.world_size()
    own: BaseException | None = None
    try:
        part: tuple[str, Any] = ("ok", local(rank, size))
    except Exception as e:  # noqa: BLE001 - sent to rank 0, which reports it
        part = ("error", _error_text(e))
        own = e
    parts = dist.comm().gather(part, root=0)
    status: tuple[int, str, int] | None = None  # (failing rank, message, exit code)
    result = None
    if rank == 0:
        failed = [(r, p[1]) for r, p in enumerate(parts) if p[0] == "error"]
        if failed:
            r, (text, code) = failed[0]
            status = (r, text, code)
        else:
            try:
                result = combine([p[1] for p in parts])
            except Exception as e:  # noqa: BLE001 - every rank exits with its code
                own = e
                status = (0, *_error_text(e))
    status = dist.broadcast_object(status)
    if status is not None:
        r, text, code = status
        if rank == 0:
            if r == 0 and own is not None:
                return code, own, None
            sys.stderr.write(f"deepgrad: error: (rank {r} of {size}) {text}\n")
        return code, None, None
    return None, None, result


def check_same_length(parts: list[dict[str, Any]]) -> int:
    """The number of examples, after checking that every rank loaded as many."""
    ns = [p["n"] for p in parts]
    if len(set(ns)) != 1:
        raise CLIError("the ranks loaded different data (numbers of examples by rank: "
                       f"{ns}); run every rank on the same files")
    return ns[0]


def evaluate_parts(model: Any, X: np.ndarray, y: np.ndarray, lo: int, hi: int,
                   batch_size: int, classes: bool) -> dict[str, Any]:
    """This rank's rows ``lo:hi``: the outputs the loss is computed on (as evaluate
    computes them), the checked targets and, if ``classes``, the predicted classes."""
    part: dict[str, Any] = {"n": len(X), "out": None, "y": None, "classes": None}
    if hi <= lo:
        return part
    spec = compiled_spec(model)
    Xa, ya = prepare_xy(model, spec, X[lo:hi], y[lo:hi])
    device, was = model_device(model), model.training
    head = spec.head if spec.from_logits else None
    outs = []
    model.eval()
    try:
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):
            for i in range(0, len(Xa), batch_size):
                xb = Tensor(to_device(Xa[i:i + batch_size], device))
                outs.append(to_numpy(forward_logits(model, xb, head).data))
    finally:
        model.train(was)
    part["out"], part["y"] = np.concatenate(outs), to_numpy(ya)
    if classes:
        part["classes"] = np.asarray(model.predict_classes(Xa, batch_size, verbose=0))
    return part


def combine_evaluation(model: Any, parts: list[dict[str, Any]], batch_size: int
                       ) -> tuple[dict[str, float], np.ndarray | None]:
    """Loss and metrics over all ranks' outputs, in the single-process batches (so the
    figures are those of one process), and the predicted classes in order (or None)."""
    check_same_length(parts)
    full = [p for p in parts if p["out"] is not None]
    if not full:
        raise CLIError("evaluate: the data holds no examples")
    out, ya = np.concatenate([p["out"] for p in full]), np.concatenate([p["y"] for p in full])
    cls = None if full[0]["classes"] is None else np.concatenate([p["classes"] for p in full])
    spec = compiled_spec(model)
    streams = [m.streaming() for m in model._metric_fns]
    total, count = 0.0, 0
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        for b, i in enumerate(range(0, len(out), batch_size)):
            ob, yb = Tensor(out[i:i + batch_size]), ya[i:i + batch_size]
            lv = float(spec.fn(ob, yb).item())
            if not math.isfinite(lv):
                raise _nonfinite_eval_error(model, lv, "evaluate", b)
            total += lv * len(ob)
            count += len(ob)
            if streams:
                probs = to_numpy(spec.probabilities(ob).data)
                for s in streams:
                    s.update(yb, probs)
    res = {"loss": total / count}
    for m, s in zip(model._metric_fns, streams, strict=True):
        res[m.name] = float(s.result())
    return res, cls


def run_evaluate_sharded(args: Any) -> int:
    """``deepgrad evaluate`` under ``mpiexec -n N`` (called by ``run_evaluate``)."""
    from . import commands as C  # noqa: PLC0415 - commands imports this module lazily

    job: dict[str, Any] = {}

    def local(rank: int, size: int) -> dict[str, Any]:
        model, meta = C.load_model_file(args.model)
        C._compile_saved(model, meta, args.model)
        X, y, _ = C.prepare_inputs(model, meta, args.data, args.data_dir)
        if y is None:
            raise CLIError(f"{args.data}: no labels/targets in the data; evaluate needs them "
                           "(use deepgrad predict for unlabelled data)")
        job.update(model=model, meta=meta, n=len(X), y=y)
        lo, hi = shard_bounds(len(X), rank, size, args.batch_size)
        return evaluate_parts(model, X, y, lo, hi, args.batch_size,
                              C._shows_confusion(meta))

    def report(result: tuple[dict[str, float], np.ndarray | None]) -> int:
        res, cls = result
        C._print_evaluation(args.data, job["n"], res, job["meta"], job["y"], lambda: cls)
        return 0

    return run_sharded(local, lambda parts: combine_evaluation(job["model"], parts,
                                                               args.batch_size), report)


def run_predict_sharded(args: Any) -> int:
    """``deepgrad predict`` under ``mpiexec -n N`` (called by ``run_predict``)."""
    from . import commands as C  # noqa: PLC0415 - commands imports this module lazily

    job: dict[str, Any] = {}

    def local(rank: int, size: int) -> dict[str, Any]:
        model, meta = C.load_model_file(args.model)
        X, _, _ = C.prepare_inputs(model, meta, args.data, args.data_dir)
        job.update(meta=meta, n=len(X), is_clf=C._predict_setup(model, meta, args.model))
        lo, hi = shard_bounds(len(X), rank, size, args.batch_size)
        p = (None if hi <= lo else
             np.asarray(model.predict(X[lo:hi], batch_size=args.batch_size, verbose=0)))
        return {"n": len(X), "p": p}

    def combine(parts: list[dict[str, Any]]) -> str:
        check_same_length(parts)
        shards = [q["p"] for q in parts if q["p"] is not None]
        if not shards:
            raise CLIError("predict: the data holds no examples")
        p = np.concatenate(shards)
        return C._predictions_csv(p, job["meta"], job["is_clf"])

    def report(text: str) -> int:
        C._write_predictions(args, text, job["n"])
        return 0

    return run_sharded(local, combine, report)

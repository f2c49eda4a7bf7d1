"""Run under ``mpiexec -n 2 python tests/distributed/mpi_worker.py MODE OUT_DIR``; the
tests in this folder launch it. Also imported by the tests (world of one) to compute the
single-process references with the same code."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn

N, B, STEPS = 32, 4, 4  # examples, per-rank batch, steps


def data(dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, 6)).astype(dtype)
    y = (X @ rng.normal(size=(6, 2)) + 0.1 * rng.normal(size=(N, 2))).astype(dtype)
    return X, y


def model(dtype, seed=0):
    with dg.default_dtype(dtype):
        dg.manual_seed(seed)
        return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))


def make_opt(name, params):
    if name == "sgd":
        return dg.optim.SGD(params, lr=0.05, momentum=0.9)
    return dg.optim.Adam(params, lr=0.01)


def flat(m):
    return np.concatenate([p.data.ravel().astype(np.float64) for p in m.parameters()])


def loop(dtype, opt_name, batch, world=1, clip=None):
    """STEPS steps of an explicit loop; with world>1 under MPI, data-parallel. ``clip``:
    a max gradient norm applied by a step pre-hook."""
    X, y = data(dtype)
    m = model(dtype, seed=dist.rank())  # different on each rank: broadcast must fix it
    opt = make_opt(opt_name, m.parameters())
    if clip is not None:
        opt.register_step_pre_hook(lambda o: dg.optim.clip_grad_norm_(m.parameters(), clip))
    sampler = None
    if world > 1:
        opt = dist.DistributedOptimizer(opt, bucket_mb=1e-4)  # several small buckets
        dist.broadcast_parameters(m)
        dist.broadcast_optimizer_state(opt)
        sampler = dist.DistributedSampler(N, shuffle=False)
    loader = dg.data.DataLoader((X, y), batch_size=batch, sampler=sampler)
    identical = True
    for step, (xb, yb) in enumerate(loader):
        if step == STEPS:
            break
        opt.zero_grad()
        loss = ((m(dg.Tensor(xb)) - dg.Tensor(yb)) ** 2).mean()
        loss.backward()
        opt.step()
        if world > 1:
            mine = flat(m).tobytes()
            identical &= all(g == mine for g in dist.allgather_object(mine))
    return m, identical


def fit_run(dtype, opt_name, batch):
    X, y = data(dtype)
    m = model(dtype, seed=dist.rank())
    m.compile(optimizer=make_opt(opt_name, list(m.parameters())), loss="mse", metrics=["mae"])
    h = m.fit(X, y, epochs=2, batch_size=batch, shuffle=False, verbose=0)
    return m, h.history


def mode_equiv(out):
    res = {}
    for dtype in (np.float64, np.float32):
        for opt_name in ("sgd", "adam"):
            key = f"{np.dtype(dtype).name}_{opt_name}"
            m, identical = loop(dtype, opt_name, B, world=dist.world_size())
            res[f"loop_{key}"] = flat(m)
            res[f"identical_{key}"] = np.array(identical)
            m, hist = fit_run(dtype, opt_name, B)
            res[f"fit_{key}"] = flat(m)
            res[f"fitloss_{key}"] = np.array(hist["loss"])
            res[f"fitmae_{key}"] = np.array(hist["mae"])
            same = all(g == flat(m).tobytes() for g in dist.allgather_object(flat(m).tobytes()))
            res[f"fitidentical_{key}"] = np.array(same)
    X, y = data(np.float64)  # fit given a loader with a DistributedSampler
    m = model(np.float64, seed=dist.rank())
    m.compile(optimizer=make_opt("adam", list(m.parameters())), loss="mse")
    m.fit(dg.data.DataLoader((X, y), batch_size=B, sampler=dist.DistributedSampler(
        N, shuffle=False)), epochs=2, verbose=0)
    res["fit_loader"] = flat(m)
    m, _ = loop(np.float64, "sgd", B, world=dist.world_size(), clip=0.05)
    res["loop_clipped"] = flat(m)
    # frozen parameters are skipped (their grad stays None, no bucket holds them)
    m = model(np.float64)
    m[0].weight.requires_grad = False
    opt = dist.DistributedOptimizer(dg.optim.SGD(m.parameters(), lr=0.1), bucket_mb=1e-4)
    res["default_buckets"] = np.array(
        dist.GradientAverager(list(m.parameters())).bucket_sizes())
    X, y = data(np.float64)
    ((m(dg.Tensor(X)) - dg.Tensor(y)) ** 2).mean().backward()
    opt.step()
    res["frozen_grad_is_none"] = np.array(m[0].weight.grad is None)
    res["bucket_sizes"] = np.array(opt.averager.bucket_sizes())
    res["calls"] = np.array(opt.averager.calls)
    # a parameter no rank used keeps grad None; one only rank 1 used gets the average
    unused, half = nn.Linear(2, 2), nn.Linear(2, 2)
    if dist.rank() == 1:
        for p in half.parameters():
            p.grad = np.full(p.shape, 4.0, p.dtype)
    dist.GradientAverager([*unused.parameters(), *half.parameters()]).average()
    res["unused_grad_is_none"] = np.array(unused.weight.grad is None)
    res["half_grad"] = half.weight.grad
    lin = nn.Linear(3, 2)  # float16 buckets on the wire, float32 gradients back
    for p in lin.parameters():
        p.grad = np.full(p.shape, (1.0 + dist.rank()) / 3, np.float32)
    dist.GradientAverager(list(lin.parameters()), compression="fp16").average()
    res["fp16_grad"] = lin.weight.grad
    if dist.is_main():
        np.savez(Path(out) / "equiv.npz", **res)


def mode_shuffle(out):
    sampler = dist.DistributedSampler(N, shuffle=True, seed=3)
    X = np.arange(N)
    seen = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        loader = dg.data.DataLoader((X,), batch_size=B, sampler=sampler)
        seen.append([xb[0].tolist() for xb in loader])
    everyone = dist.allgather_object(seen)
    if dist.is_main():
        np.save(Path(out) / "shuffle.npy", np.array(everyone))


def sync_bn_case(dtype, training=True):
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 3.0, size=(2 * B, 3, 4, 5)).astype(dtype)
    g = rng.normal(size=x.shape).astype(dtype)
    return x, g


def mode_syncbn(out):
    res = {}
    for dtype in (np.float64, np.float32):
        x, g = sync_bn_case(dtype)
        with dg.default_dtype(dtype):
            net = nn.Sequential(nn.BatchNorm2d(3))
        net = dist.SyncBatchNorm.convert_sync_batchnorm(net)
        bn = net[0]
        bn.weight.data[...] = np.array([1.5, -0.5, 2.0], dtype)
        r = dist.rank()
        xs = dg.Tensor(x[r * B:(r + 1) * B], requires_grad=True)
        y = bn(xs)
        (y * dg.Tensor(g[r * B:(r + 1) * B])).sum().backward()
        gw, gb = bn.weight.grad.copy(), bn.bias.grad.copy()
        dist.allreduce(gw, "sum")
        dist.allreduce(gb, "sum")
        parts = dist.allgather_object((y.data, xs.grad))
        name = np.dtype(dtype).name
        res[f"y_{name}"] = np.concatenate([p[0] for p in parts])
        res[f"gx_{name}"] = np.concatenate([p[1] for p in parts])
        res[f"gw_{name}"], res[f"gb_{name}"] = gw, gb
        res[f"rm_{name}"], res[f"rv_{name}"] = bn.running_mean.data, bn.running_var.data
        res[f"type_{name}"] = np.array(type(bn).__name__)
    # momentum=None: PyTorch's cumulative average over two global batches
    x, _ = sync_bn_case(np.float64)
    with dg.default_dtype(np.float64):
        cma = dist.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3, momentum=None))
    r = dist.rank()
    for scale in (1.0, 3.0):
        cma(dg.Tensor(x[r * B:(r + 1) * B] * scale))
    res["cma_rm"], res["cma_rv"] = cma.running_mean.data, cma.running_var.data
    res["cma_count"] = np.asarray(cma.num_batches_tracked.data)
    if dist.is_main():
        np.savez(Path(out) / "syncbn.npz", **res)


class _Boom(dg.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if dist.rank() == 1 and batch == 2:
            raise RuntimeError("boom on rank 1 at batch 3")


def mode_raise(out):
    X, y = data(np.float64)
    m = model(np.float64)
    m.compile(optimizer="sgd", loss="mse")
    m.fit(X, y, epochs=50, batch_size=2, verbose=0, callbacks=[_Boom()])


def mode_nan(out):
    X, y = data(np.float64)
    if dist.rank() == 1:
        X = X.copy()
        X[:, 0] = np.nan  # bad data on one rank only
    m = model(np.float64)
    m.compile(optimizer="sgd", loss="mse")
    m.fit(X, y, epochs=50, batch_size=2, verbose=0)


def mode_nanloss(out):
    X, y = data(np.float64)

    def loss(out, target):  # a NaN loss on rank 1 only, at its 3rd batch
        loss.calls += 1
        bad = dist.rank() == 1 and loss.calls == 3
        return ((out - target) ** 2).mean() * (float("nan") if bad else 1.0)

    loss.calls = 0
    m = model(np.float64)
    m.compile(optimizer="sgd", loss=loss)
    m.fit(X, y, epochs=50, batch_size=2, verbose=0)


def mode_mismatch(out):
    X, y = data(np.float64)
    with dg.default_dtype(np.float64):
        m = (nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2)) if dist.rank() == 0
             else nn.Sequential(nn.Linear(6, 9), nn.Tanh(), nn.Linear(9, 2)))
    m.compile(optimizer="sgd", loss="mse")
    try:
        m.fit(X, y, epochs=1, batch_size=2, verbose=0)
    except dist.DistributedMismatchError as e:
        print(f"rank {dist.rank()} caught: {e}", flush=True)
        sys.exit(3)


def mode_kill(out):
    X, y = data(np.float64)
    m = model(np.float64)
    m.compile(optimizer="sgd", loss="mse")

    class _Kill(dg.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if dist.rank() == 1 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    m.fit(X, y, epochs=10**6, batch_size=2, verbose=0, callbacks=[_Kill()])


def resume(path, out_path, batch):
    """Load a checkpoint (weights and SGD-momentum state), train 2 more epochs (``batch``
    per process, no shuffling), checkpoint to ``out_path``; returns the model."""
    ck = dg.io.load_checkpoint(path)
    m = ck["model"]
    opt = dg.optim.SGD(list(m.parameters()), lr=0.05, momentum=0.9)
    opt.load_state_dict(ck["optimizer_state"])
    m.compile(optimizer=opt, loss="mse")
    X, y = data(np.float64)
    m.fit(X, y, epochs=ck["epoch"] + 2, initial_epoch=ck["epoch"], batch_size=batch,
          shuffle=False,
          verbose=0, callbacks=[dg.callbacks.ModelCheckpoint(str(out_path))])
    return m


def mode_resume(out):
    resume(Path(out) / "single.dg", Path(out) / "dist.dg", B)


def mode_hang(out):
    X, y = data(np.float64)
    m = model(np.float64)
    m.compile(optimizer="sgd", loss="mse")

    class _Hang(dg.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if dist.rank() == 1 and batch == 1:
                time.sleep(10**6)  # a stuck rank: rank 0 waits in the next Allreduce

    m.fit(X, y, epochs=10**6, batch_size=2, verbose=0, callbacks=[_Hang()])


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    dist.init()
    t0 = time.perf_counter()
    globals()[f"mode_{mode}"](out)

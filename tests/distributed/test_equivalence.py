"""2 ranks with batch B each == one process with batch 2B (explicit loop and fit), bitwise
identical parameters on every rank, the shared shuffled order, SyncBatchNorm == BatchNorm on
the global batch. Each test launches ``mpiexec -n 2`` once."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn

from . import mpi_worker as W
from ._mpi import worker

TOL = {"float64": 1e-12, "float32": 1e-5}


@pytest.fixture(scope="module")
def equiv(tmp_path_factory):
    out = tmp_path_factory.mktemp("equiv")
    r = worker("equiv", out)
    assert r.returncode == 0, r.stderr
    return dict(np.load(out / "equiv.npz"))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_explicit_loop_matches_one_process_with_the_global_batch(equiv, dtype, opt):
    ref, _ = W.loop(np.dtype(dtype).type, opt, 2 * W.B)  # one process, batch 2B
    key = f"{dtype}_{opt}"
    got = equiv[f"loop_{key}"]
    assert not np.array_equal(got, W.flat(W.model(np.dtype(dtype).type)))  # it trained
    np.testing.assert_allclose(got, W.flat(ref), rtol=0, atol=TOL[dtype])
    assert equiv[f"identical_{key}"]  # bitwise equal on both ranks after every step


def test_clipping_applies_to_the_averaged_gradient(equiv):
    ref, _ = W.loop(np.float64, "sgd", 2 * W.B, clip=0.05)
    np.testing.assert_allclose(equiv["loop_clipped"], W.flat(ref), rtol=0, atol=1e-12)
    unclipped, _ = W.loop(np.float64, "sgd", 2 * W.B)
    assert np.abs(W.flat(unclipped) - W.flat(ref)).max() > 1e-3  # the clip was active


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_fit_matches_one_process_with_the_global_batch(equiv, dtype, opt):
    ref, hist = W.fit_run(np.dtype(dtype).type, opt, 2 * W.B)
    key = f"{dtype}_{opt}"
    np.testing.assert_allclose(equiv[f"fit_{key}"], W.flat(ref), rtol=0, atol=TOL[dtype])
    # the history holds global values (all ranks' examples), not rank 0's
    np.testing.assert_allclose(equiv[f"fitloss_{key}"], hist["loss"], rtol=1e-5)
    np.testing.assert_allclose(equiv[f"fitmae_{key}"], hist["mae"], rtol=1e-5)
    assert equiv[f"fitidentical_{key}"]


def test_fit_with_a_sharded_loader_matches_one_process(equiv):
    ref, _ = W.fit_run(np.float64, "adam", 2 * W.B)
    np.testing.assert_allclose(equiv["fit_loader"], W.flat(ref), rtol=0, atol=1e-12)


def test_buckets_and_frozen_parameters(equiv):
    assert equiv["frozen_grad_is_none"]
    # 6x8 weight frozen: 8 + 16 + 2 elements left, 1e-4 MB buckets (12 float64) -> 3 buckets
    assert equiv["bucket_sizes"].tolist() == [8, 16, 2]
    assert int(equiv["calls"]) == 3  # one Allreduce per bucket, not per parameter
    assert equiv["default_buckets"].tolist() == [26]  # 16 MB by default: one bucket
    assert equiv["unused_grad_is_none"]  # skipped by the optimizer, as in one process
    np.testing.assert_array_equal(equiv["half_grad"], 2.0)  # (0 + 4) / 2 on rank 0
    assert equiv["fp16_grad"].dtype == np.float32  # compression="fp16": mean of 1/3, 2/3
    np.testing.assert_allclose(equiv["fp16_grad"], 0.5, rtol=1e-3)


def test_shuffled_shards_make_up_the_single_process_batch(tmp_path):
    r = worker("shuffle", tmp_path)
    assert r.returncode == 0, r.stderr
    seen = np.load(tmp_path / "shuffle.npy")  # (rank, epoch, step, B)
    one = dg.distributed.DistributedSampler(W.N, shuffle=True, seed=3, num_replicas=1, rank=0)
    for epoch in range(2):
        one.set_epoch(epoch)
        order = one.indices()
        for step in range(seen.shape[2]):
            union = np.sort(seen[:, epoch, step].ravel())
            expect = np.sort(order[step * 2 * W.B:(step + 1) * 2 * W.B])
            np.testing.assert_array_equal(union, expect)
    assert not np.array_equal(seen[:, 0], seen[:, 1])  # a new order each epoch


def test_sync_batchnorm_equals_batchnorm_on_the_global_batch(tmp_path):
    r = worker("syncbn", tmp_path)
    assert r.returncode == 0, r.stderr
    got = dict(np.load(tmp_path / "syncbn.npz"))
    for dtype in ("float64", "float32"):
        dt = np.dtype(dtype).type
        x, g = W.sync_bn_case(dt)
        with dg.default_dtype(dt):
            bn = nn.BatchNorm2d(3)
        bn.weight.data[...] = np.array([1.5, -0.5, 2.0], dt)
        xt = dg.Tensor(x, requires_grad=True)
        y = bn(xt)
        (y * dg.Tensor(g)).sum().backward()
        tol = dict(rtol=0, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
        assert got[f"type_{dtype}"] == "SyncBatchNorm"
        assert got[f"y_{dtype}"].dtype == dt
        np.testing.assert_allclose(got[f"y_{dtype}"], y.data, **tol)
        np.testing.assert_allclose(got[f"gx_{dtype}"], xt.grad, **tol)
        np.testing.assert_allclose(got[f"gw_{dtype}"], bn.weight.grad, **tol)
        np.testing.assert_allclose(got[f"gb_{dtype}"], bn.bias.grad, **tol)
        np.testing.assert_allclose(got[f"rm_{dtype}"], bn.running_mean.data, **tol)
        np.testing.assert_allclose(got[f"rv_{dtype}"], bn.running_var.data, **tol)
    x, _ = W.sync_bn_case(np.float64)
    with dg.default_dtype(np.float64):
        bn = nn.BatchNorm2d(3, momentum=None)
    for scale in (1.0, 3.0):
        bn(dg.Tensor(x * scale))
    np.testing.assert_allclose(got["cma_rm"], bn.running_mean.data, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["cma_rv"], bn.running_var.data, rtol=0, atol=1e-12)
    assert int(got["cma_count"]) == 2


def test_checkpoints_move_between_one_process_and_two_ranks(tmp_path):
    X, y = W.data(np.float64)
    m = W.model(np.float64)
    opt = dg.optim.SGD(list(m.parameters()), lr=0.05, momentum=0.9)
    m.compile(optimizer=opt, loss="mse")
    m.fit(X, y, epochs=1, batch_size=2 * W.B, shuffle=False, verbose=0)
    dg.save(m, tmp_path / "single.dg", optimizer=opt, epoch=1)
    r = worker("resume", tmp_path)  # 2 ranks resume the single process's checkpoint
    assert r.returncode == 0, r.stderr
    ref = W.resume(tmp_path / "single.dg", tmp_path / "ref.dg", 2 * W.B)  # one process
    ck = dg.io.load_checkpoint(tmp_path / "dist.dg")  # written by rank 0 alone
    assert ck["epoch"] == 3 and ck["optimizer_state"]["state"]
    np.testing.assert_allclose(W.flat(ck["model"]), W.flat(ref), rtol=0, atol=1e-12)
    again = W.resume(tmp_path / "dist.dg", tmp_path / "again.dg", 2 * W.B)  # back to one
    assert dg.io.load_checkpoint(tmp_path / "again.dg")["epoch"] == 5
    assert not np.array_equal(W.flat(again), W.flat(ref))

"""deepgrad.distributed in a world of one (no MPI needed): the sampler's rules (PyTorch's),
DataLoader(sampler=...), the API's checks, SyncBatchNorm's conversion, lazy mpi4py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn


@pytest.mark.parametrize("n", [0, 1, 7, 8, 10])
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_follows_pytorch(n, p, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler

    shards = []
    for r in range(p):
        ours = dist.DistributedSampler(n, shuffle=False, drop_last=drop_last,
                                       num_replicas=p, rank=r)
        theirs = TorchSampler(torch.arange(n), num_replicas=p, rank=r, shuffle=False,
                              drop_last=drop_last) if n else None
        if theirs is not None:
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
        shards.append(list(ours))
        shuffled = dist.DistributedSampler(n, seed=4, drop_last=drop_last, num_replicas=p,
                                           rank=r)
        assert len(shuffled) == len(ours)
    assert len({len(s) for s in shards}) == 1  # every rank the same number of steps
    if not drop_last and n:
        assert set().union(*map(set, shards)) == set(range(n))


def test_sampler_epochs_share_one_permutation_across_ranks():
    a = dist.DistributedSampler(10, seed=1, num_replicas=2, rank=0)
    b = dist.DistributedSampler(10, seed=1, num_replicas=2, rank=1)
    first = sorted(list(a) + list(b))
    assert first == list(range(10))
    before = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != before and sorted(list(a) + list(b)) == list(range(10))


@pytest.mark.parametrize("kw, match", [
    ({"n": -1}, "n must be"), ({"n": 4, "seed": -1}, "seed must be"),
    ({"n": 4, "num_replicas": 0}, "num_replicas must be"),
    ({"n": 4, "num_replicas": 2, "rank": 2}, "rank must be in"),
])
def test_sampler_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        dist.DistributedSampler(**kw)


def test_dataloader_takes_a_sampler():
    X = np.arange(10)[:, None].astype(np.float32)
    s = dist.DistributedSampler(10, shuffle=False, num_replicas=2, rank=1)
    loader = dg.data.DataLoader((X,), batch_size=2, sampler=s)
    assert len(loader) == 3
    assert [b[0].ravel().tolist() for b in loader] == [[1, 3], [5, 7], [9]]
    assert [b[0].ravel().tolist() for b in dg.data.DataLoader((X,), None, sampler=s)] == \
        [[1, 3, 5, 7, 9]]
    with pytest.raises(ValueError, match="sampler and shuffle=True are exclusive"):
        dg.data.DataLoader((X,), shuffle=True, sampler=s)
    with pytest.raises(TypeError, match="sampler must define __len__ and __iter__"):
        dg.data.DataLoader((X,), sampler=3)


def test_world_of_one():
    assert dist.world_size() == 1 and dist.rank() == 0 and dist.is_main()
    dist.barrier()
    a = np.arange(3.0)
    assert dist.allreduce(a) is a and a.tolist() == [0, 1, 2]
    assert dist.broadcast(a) is a
    assert dist.allgather_object({"x": 1}) == [{"x": 1}]
    with pytest.raises(ValueError, match="op must be one of"):
        dist.allreduce(a, "avg")
    with pytest.raises(TypeError, match="op='mean' needs a float array"):
        dist.allreduce(np.arange(3), "mean")
    with pytest.raises(ValueError, match="root must be a rank"):
        dist.broadcast(a, root=1)
    with pytest.raises(TypeError, match="array must be"):
        dist.allreduce([1.0, 2.0])


def test_distributed_optimizer_alone_is_the_wrapped_optimizer():
    def run(wrap):
        dg.manual_seed(0)
        m = nn.Linear(3, 2)
        opt = dg.optim.Adam(m.parameters(), lr=0.1)
        clipped = []
        opt.register_step_pre_hook(lambda o: clipped.append(
            dg.optim.clip_grad_norm_(m.parameters(), 0.01)))
        opt = dist.DistributedOptimizer(opt) if wrap else opt
        for _ in range(3):
            opt.zero_grad()
            (m(dg.Tensor(np.ones((4, 3), np.float32))) ** 2).sum().backward()
            opt.step()
        return m.weight.data.copy(), opt.state_dict(), clipped

    (w1, sd1, c1), (w2, sd2, c2) = run(False), run(True)
    np.testing.assert_array_equal(w1, w2)
    assert sd1.keys() == sd2.keys() and len(c1) == len(c2) == 3
    opt = dist.DistributedOptimizer(dg.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1))
    opt.lr = 0.5
    assert opt.optimizer.lr == 0.5 and "DistributedOptimizer(SGD" in repr(opt)
    with pytest.raises(TypeError, match="already a DistributedOptimizer"):
        dist.DistributedOptimizer(opt)
    with pytest.raises(ValueError, match="bucket_mb must be > 0"):
        dist.DistributedOptimizer(dg.optim.SGD(nn.Linear(2, 2).parameters(), lr=1), 0)
    with pytest.raises(ValueError, match="compression must be"):
        dist.GradientAverager([], compression="int8")


def test_convert_sync_batchnorm_shares_state_and_alone_equals_batchnorm():
    dg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(12, 4), nn.BatchNorm1d(4))
    ref = [net[1], net[5]]
    x = np.random.default_rng(0).normal(size=(5, 2, 4, 4)).astype(np.float32)
    y_ref = net(dg.Tensor(x)).data.copy()
    for bn in ref:
        bn.reset_running_stats()
    out = dist.SyncBatchNorm.convert_sync_batchnorm(net)
    assert out is net
    assert isinstance(net[1], dist.SyncBatchNorm) and isinstance(net[5], dist.SyncBatchNorm)
    assert net[1].weight is ref[0].weight and net[1].running_mean is ref[0].running_mean
    np.testing.assert_array_equal(net(dg.Tensor(x)).data, y_ref)
    single = dist.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(4))
    assert isinstance(single, dist.SyncBatchNorm)
    with pytest.raises(ValueError, match=r"SyncBatchNorm: expected input of shape \(N, 4"):
        single(dg.Tensor(np.ones((2, 3), np.float32)))


def test_mpi4py_is_imported_only_under_a_launcher():
    code = ("import sys, deepgrad, deepgrad.distributed as d; d.init(); "
            "import numpy as np; d.allreduce(np.ones(2)); m = deepgrad.nn.Linear(2, 2); "
            "m.compile('sgd', 'mse'); m.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0); "
            "print('mpi4py' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_missing_mpi4py_names_the_extra():
    code = ("import sys; sys.modules['mpi4py'] = None; import deepgrad.distributed as d\n"
            "try:\n    d.init(use_mpi=True)\nexcept ImportError as e:\n    print(e)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert 'pip install "deepgrad[mpi]"' in r.stdout, r.stdout + r.stderr

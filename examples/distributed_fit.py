"""Data-parallel training on MPI, two ways; the same script runs alone or under mpiexec:

    python examples/distributed_fit.py
    mpiexec -n 2 python examples/distributed_fit.py

1. ``fit``: data-parallel by itself under mpiexec (each rank its shard, ``batch_size`` per
   process, averaged gradients; rank 0 prints).
2. An explicit loop: DistributedSampler + DistributedOptimizer + broadcast at start.
"""

from __future__ import annotations

import numpy as np

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn

dist.init()  # joins the MPI world under mpiexec; a world of one otherwise
rng = np.random.default_rng(0)
X = rng.normal(size=(4096, 20)).astype(np.float32)
y = (X[:, :5].sum(axis=1) > 0).astype(np.int64)


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2))


# 1. fit: with SyncBatchNorm the batch statistics are those of the global batch
model = dist.SyncBatchNorm.convert_sync_batchnorm(make_model())
model.compile(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9},
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(X, y, epochs=3, batch_size=64, seed=0, verbose=2)

# 2. the same by hand
model = make_model()
opt = dist.DistributedOptimizer(dg.optim.Adam(model.parameters(), lr=1e-3))
dist.broadcast_parameters(model)  # every rank starts from rank 0's weights
dist.broadcast_optimizer_state(opt)
sampler = dist.DistributedSampler(len(X), shuffle=True, seed=0)
loader = dg.data.DataLoader((X, y), batch_size=64, sampler=sampler)
lossf = nn.CrossEntropyLoss()
for epoch in range(3):
    sampler.set_epoch(epoch)  # a new shared permutation each epoch
    total = np.zeros(2)
    for xb, yb in loader:
        opt.zero_grad()
        loss = lossf(model(dg.Tensor(xb)), yb)
        loss.backward()
        opt.step()  # averages the gradients over all ranks, then Adam
        total += (float(loss.item()) * len(xb), len(xb))
    dist.allreduce(total, "sum")  # the epoch's loss over every rank's examples
    if dist.is_main():
        print(f"loop epoch {epoch + 1}: loss {total[0] / total[1]:.4f} "
              f"(world size {dist.world_size()})")

"""Time-series forecast: a GRU predicts the next value of a noisy seasonal series (or a
column of a CSV you give) from the previous window, against the naive last-value forecast.

Run:  python examples/sequences/forecast.py [--csv FILE --column NAME] [--window 48]
As a config:  python examples/sequences/forecast.py --npz examples/sequences/forecast.npz
              deepgrad train examples/sequences/forecast.yaml
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.text import sliding_windows, time_split


def seasonal_series(n: int = 4000, seed: int = 0) -> np.ndarray:
    """A daily and a weekly cycle (period 24 and 168 steps), a slow trend and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168) + t / n
            + 0.2 * rng.standard_normal(n)).astype(np.float32)


class Forecaster(nn.Module):
    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, rng=0)
        self.head = nn.Linear(hidden, 1, rng=1)

    def forward(self, x):
        _, h = self.gru(x)  # (1, N, hidden)
        return self.head(h[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv")
    ap.add_argument("--column")
    ap.add_argument("--window", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--npz", help="write the windows (X, y in time order) here and exit")
    args = ap.parse_args(argv)
    dg.set_num_threads(args.threads)
    if args.csv:
        import csv  # noqa: PLC0415

        with open(args.csv, newline="") as f:
            rows = list(csv.DictReader(f))
        col = args.column or next(iter(rows[0]))
        series = np.array([float(r[col]) for r in rows], dtype=np.float32)
    else:
        series = seasonal_series()
    X, y = sliding_windows(series, window=args.window)  # X (n, window, 1), y (n, 1)
    if args.npz:
        np.savez_compressed(args.npz, X=X, y=y)
        print(f"wrote {args.npz}: X {X.shape}, y {y.shape}")
        return
    X_tr, X_te, y_tr, y_te = time_split(X, y, test_size=0.2, gap=args.window)
    mu, sd = X_tr.mean(), X_tr.std()  # scaled with training statistics only
    norm = lambda a: ((a - mu) / sd).astype(np.float32)  # noqa: E731
    model = Forecaster()
    opt = dg.optim.Adam(model.parameters(), lr=3e-3)
    loader = dg.data.DataLoader((norm(X_tr), norm(y_tr)), batch_size=64, shuffle=True, seed=0)
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for xb, yb in loader:
            loss = dg.losses.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with dg.no_grad():
            pred = model(norm(X_te)).data * sd + mu
        model.train()
        mae = float(np.abs(pred - y_te).mean())
        print(f"epoch {epoch}: test MAE {mae:.4f} ({time.perf_counter() - t0:.0f} s)")
    naive = float(np.abs(X_te[:, -1] - y_te).mean())
    print(f"GRU test MAE {mae:.4f}  vs  naive last-value forecast {naive:.4f} "
          f"({naive / mae:.2f}x lower error), {len(X_tr)} training / {len(X_te)} test windows")


if __name__ == "__main__":
    main()

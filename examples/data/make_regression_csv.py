"""Write examples/data/regression.csv: 200 rows, features x1..x3 and a target y.

y = 2 sin(x1) + 0.5 x2² - 0.8 x3 + 0.1·noise: a smooth nonlinear function that a linear
model fits only partly and a small MLP fits well. Seeded; rerunning gives the same file.

Run:  python examples/data/make_regression_csv.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2.5, 2.5, size=(200, 3))
    y = 2 * np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - 0.8 * X[:, 2] + 0.1 * rng.standard_normal(200)
    path = Path(__file__).with_name("regression.csv")
    rows = np.column_stack([X, y])
    lines = ["x1,x2,x3,y"] + [",".join(f"{v:.4f}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path} ({len(y)} rows)")


if __name__ == "__main__":
    main()

"""deepgrad.sklearn.MLPClassifier against scikit-learn's MLPClassifier, same settings.

Same architecture (hidden_layer_sizes), solver (adam, learning_rate_init 1e-3), batch size
("auto" = 200), alpha and number of epochs (tol=0 and n_iter_no_change above max_iter, so
both run exactly ``--epochs`` epochs); the inputs standardized; scikit-learn trains in
float64 (its inputs' dtype), deepgrad in its default float32 (and float64 for reference).
Every fit runs single-threaded (threadpoolctl limits BLAS to 1 thread), the fits of one
seed back to back, so machine load hits both alike; one warm-up fit of each first (numba's
kernel compile, imports). Reported: test accuracy mean ± std over the seeds and the
median fit time.

    python -m bench.sklearn_mlp                      # digits, breast cancer, wine, MNIST
    python -m bench.sklearn_mlp --only digits,wine --seeds 5
    python -m bench.sklearn_mlp --mnist-train 60000 --mnist-epochs 5 --grid
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _load(name: str, args: argparse.Namespace) -> tuple[Any, ...]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name == "mnist":
        from deepgrad.data import load_mnist

        env = os.environ.get("DEEPGRAD_DATA")
        folder = Path(env) / "mnist" if env else \
            Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
        Xtr, ytr = load_mnist(folder, kind="train")
        Xte, yte = load_mnist(folder, kind="test")
        Xtr = Xtr.reshape(len(Xtr), -1)[: args.mnist_train].astype(np.float64) / 255
        Xte = Xte.reshape(len(Xte), -1).astype(np.float64) / 255
        return Xtr, Xte, np.asarray(ytr)[: args.mnist_train], np.asarray(yte)
    loader = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
              "wine": datasets.load_wine}[name]
    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def _fit(cls: Any, kw: dict[str, Any], data: tuple[Any, ...]) -> tuple[float, float]:
    Xtr, Xte, ytr, yte = data
    est = cls(**kw)
    t = time.perf_counter()
    est.fit(Xtr, ytr)
    return time.perf_counter() - t, float(est.score(Xte, yte))


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    from deepgrad.sklearn import MLPClassifier as DgMLP

    rows = []
    impls = {"scikit-learn": (SkMLP, {}), "deepgrad": (DgMLP, {}),
             "deepgrad-f64": (DgMLP, {"dtype": "float64"})}
    for name in args.only.split(","):
        data = _load(name, args)
        epochs = args.mnist_epochs if name == "mnist" else args.epochs
        base = dict(hidden_layer_sizes=tuple(args.hidden), solver="adam", alpha=1e-4,
                    batch_size="auto", learning_rate_init=1e-3, max_iter=epochs, tol=0.0,
                    n_iter_no_change=epochs + 1)
        res: dict[str, dict[str, list[float]]] = {k: {"t": [], "acc": []} for k in impls}
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cls, extra in impls.values():  # warm-up
                _fit(cls, {**base, **extra, "max_iter": 1, "random_state": 0}, data)
            for seed in range(args.seeds):
                order = list(impls) if seed % 2 == 0 else list(impls)[::-1]
                for key in order:
                    cls, extra = impls[key]
                    t, acc = _fit(cls, {**base, **extra, "random_state": seed}, data)
                    res[key]["t"].append(t)
                    res[key]["acc"].append(acc)
        row = {"dataset": name, "n_train": len(data[0]), "n_features": data[0].shape[1],
               "epochs": epochs}
        for key, r in res.items():
            row[key] = {"acc_mean": statistics.mean(r["acc"]),
                        "acc_std": statistics.pstdev(r["acc"]),
                        "fit_s": statistics.median(r["t"])}
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    sk, dg, d64 = row["scikit-learn"], row["deepgrad"], row["deepgrad-f64"]
    acc = lambda r: f"{r['acc_mean']:.4f} ± {r['acc_std']:.4f}"  # noqa: E731
    return (f"| {row['dataset']} | {row['n_train']}x{row['n_features']} | {row['epochs']} | "
            f"{acc(sk)} | {acc(dg)} | {acc(d64)} | {sk['fit_s']:.2f} | {dg['fit_s']:.2f} | "
            f"{dg['fit_s'] / sk['fit_s']:.2f}x | {d64['fit_s'] / sk['fit_s']:.2f}x |")


def grid(n_jobs: int) -> None:
    """GridSearchCV over hidden_layer_sizes x alpha on digits with n_jobs workers (joblib's
    loky processes; each limits BLAS to cpu_count // n_jobs threads, so no oversubscription)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from deepgrad.sklearn import MLPClassifier

    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(make_pipeline(StandardScaler(), MLPClassifier(max_iter=30,
                                                                        random_state=0)),
                          {"mlpclassifier__hidden_layer_sizes": [(32,), (100,), (64, 32)],
                           "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3, n_jobs=n_jobs)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    print(f"GridSearchCV 3x2 grid, cv=3, n_jobs={n_jobs}: {time.perf_counter() - t:.1f} s, "
          f"best {search.best_params_} score {search.best_score_:.4f}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default="digits,breast_cancer,wine,mnist")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--hidden", type=int, nargs="+", default=[100])
    p.add_argument("--mnist-train", type=int, default=60000)
    p.add_argument("--mnist-epochs", type=int, default=5)
    p.add_argument("--grid", action="store_true", help="also run the GridSearchCV example")
    args = p.parse_args(argv)
    print("| dataset | train | epochs | acc scikit-learn | acc deepgrad (f32) | "
          "acc deepgrad (f64) | fit s scikit-learn | fit s deepgrad | ratio f32 | "
          "ratio f64 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    run(args)
    if args.grid:
        grid(2)


if __name__ == "__main__":
    main()

"""The course's cat vs non-cat classifiers: logistic regression, a 2-layer and an L-layer net.

Run from anywhere:  python examples/course/cat.py [--data DIR]

The data directory (holding train_catvnoncat.h5 and test_catvnoncat.h5) is --data, else
$DEEPGRAD_DATA/catvnoncat, else ../shared/data/catvnoncat next to the repository. Without it
the script says so and exits with status 0. Needs h5py (pip install 'deepgrad[data]').

Images are flattened with X.reshape(m, -1).T to (12288, m) and divided by 255, as in the
course. Then:
- logistic regression, 2,000 iterations, learning rate 0.005 (course: train 99 %, test 70 %);
- LINEAR-RELU-LINEAR-SIGMOID with n_h = 7, 2,500 iterations, learning rate 0.0075
  (course: cost 0.6930 after iteration 0, train 100 %, test 72 %);
- the L-layer model [12288, 20, 7, 5, 1], 2,500 iterations, learning rate 0.0075, W / sqrt(n)
  initialisation (course: cost 0.771749 after iteration 0, train 98.6 %, test 80 %).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from deepgrad.course import deep_nn, logistic_regression
from deepgrad.course.datasets import load_cat_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def find_data(data: Path | None) -> tuple[Path | None, str]:
    """The data directory (--data if given, else the first of $DEEPGRAD_DATA/catvnoncat and
    ../shared/data/catvnoncat that holds both files), or None, and where it was looked for."""
    if data is not None:
        candidates = [data]
    else:
        candidates = [REPO_ROOT.parent / "shared" / "data" / "catvnoncat"]
        if os.environ.get("DEEPGRAD_DATA"):
            candidates.insert(0, Path(os.environ["DEEPGRAD_DATA"]) / "catvnoncat")
    for directory in candidates:
        if all((directory / f).is_file() for f in FILES):
            return directory, ""
    return None, " or ".join(str(c) for c in candidates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="directory holding train_catvnoncat.h5 and test_catvnoncat.h5")
    args = parser.parse_args(argv)

    directory, where = find_data(args.data)
    if directory is None:
        print(f"Cat vs non-cat data not found in {where}: skipping "
              "(pass --data DIR or set DEEPGRAD_DATA).")
        return 0
    try:
        train_x_orig, train_y, test_x_orig, test_y, classes = load_cat_dataset(directory)
    except ImportError as e:
        print(f"{e}: skipping.")
        return 0

    train_x = train_x_orig.reshape(train_x_orig.shape[0], -1).T / 255
    test_x = test_x_orig.reshape(test_x_orig.shape[0], -1).T / 255
    print(f"Data from {directory}: train_x {train_x.shape}, test_x {test_x.shape}, "
          f"classes {[c.decode() for c in classes]}")

    print("\n== Logistic regression (2000 iterations, learning rate 0.005) ==")
    start = time.perf_counter()
    logistic_regression.model(train_x, train_y, test_x, test_y, num_iterations=2000,
                              learning_rate=0.005, print_cost=True)
    print(f"({time.perf_counter() - start:.1f} s)")

    print("\n== Two-layer model (n_h = 7, 2500 iterations, learning rate 0.0075) ==")
    start = time.perf_counter()
    parameters, _ = deep_nn.two_layer_model(train_x, train_y, (12288, 7, 1),
                                            num_iterations=2500, print_cost=True)
    print("train", end=" ")
    deep_nn.predict(train_x, train_y, parameters)
    print("test", end=" ")
    deep_nn.predict(test_x, test_y, parameters)
    print(f"({time.perf_counter() - start:.1f} s)")

    print("\n== L-layer model [12288, 20, 7, 5, 1] (2500 iterations, learning rate 0.0075) ==")
    start = time.perf_counter()
    parameters, _ = deep_nn.L_layer_model(train_x, train_y, [12288, 20, 7, 5, 1],
                                          num_iterations=2500, print_cost=True)
    print("train", end=" ")
    deep_nn.predict(train_x, train_y, parameters)
    print("test", end=" ")
    deep_nn.predict(test_x, test_y, parameters)
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmark's statistics on made-up worker results (no timing is measured here)."""

from __future__ import annotations

import pytest

report = pytest.importorskip("bench.report")


def _epochs(walls, disturbed=(), gemm=None):
    return [{"wall": w, "cpu_self": 2 * w, "other_cores": 0.5 if i in disturbed else 0.0,
             "disturbed": i in disturbed, "loss": 1.0,
             **({"gemm_gflops": gemm} if gemm else {})} for i, w in enumerate(walls)]


def _train(impl, seed, walls, disturbed=(), gemm=None, acc=0.98):
    return {"spec": {"task": "train", "kind": "mlp", "impl": impl, "epochs": len(walls),
                     "seed": seed},
            "epochs": _epochs(walls, disturbed, gemm),
            "infer": [{"wall": 0.03, "cpu_self": 0.06, "other_cores": 0.0,
                       "disturbed": False}],
            "accuracy": acc, "peak_rss_mib": 300.0, "rss_before_mib": 250.0,
            "n_train": 60000, "source": "test", "blas": []}


def test_paired_ratios_use_epochs_of_the_same_round_after_the_warm_up():
    results = [
        _train("deepgrad", 0, [9.0, 1.0, 2.0, 1.0], disturbed={3}, gemm=200.0),
        _train("torch", 0, [9.0, 2.0, 2.0, 4.0]),
        _train("sklearn", 0, [9.0, 5.0, 10.0]),
    ]
    s = report.summarize(results)
    assert s["mlp/deepgrad"]["epoch"]["median"] == 1.5  # warm-up and disturbed left out
    rows = {r["target"]: r for r in report.targets(s)}
    torch = rows["MLP epoch / torch"]
    assert torch["value"] == pytest.approx(1.5 / 2.0)
    assert torch["paired"].startswith("0.750 [0.500-1.000] n=2")  # rounds 1 and 2 only
    assert torch["best"] == pytest.approx(1.0 / 2.0)
    assert torch["holds"] is False
    sk = rows["sklearn / MLP epoch (speed-up)"]
    assert sk["paired"].startswith("5.000 [5.000-5.000] n=2")
    # floor share per epoch against the GEMM rate measured right after it
    floor = 3 * report.MLP_FWD_FLOPS * 60000 / 200e9
    share = rows["GEMM floor / MLP epoch"]
    assert share["paired"].startswith(f"{(floor / 1.0 + floor / 2.0) / 2:.3f}")


def test_a_cell_with_only_disturbed_samples_is_flagged():
    results = [_train("deepgrad", 0, [1.0, 1.0], disturbed={1}), _train("torch", 0, [1.0, 1.0])]
    s = report.summarize(results)
    assert s["mlp/deepgrad"]["epoch"]["flagged"]
    rows = {r["target"]: r for r in report.targets(s)}
    assert rows["MLP epoch / torch"]["disturbed"]
    assert "(!)" in report.table(s, ["header"])

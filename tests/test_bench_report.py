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


def _with_products(res, products, initial_loss=None, losses=None):
    for e, p in zip(res["epochs"], products, strict=True):
        e["products"] = {"wall": p, "step": p / 100, "disturbed": False, "other_cores": 0.0}
    if initial_loss is not None:
        res["initial_loss"] = initial_loss
    if losses is not None:
        for e, loss in zip(res["epochs"], losses, strict=True):
            e["loss"] = loss
    return res


def test_products_floor_is_summarized_and_paired_with_each_epoch():
    results = [
        _with_products(_train("deepgrad", 0, [9.0, 1.0, 2.0]), [5.0, 0.5, 0.5]),
        _train("torch", 0, [9.0, 1.0, 1.0]),
    ]
    s = report.summarize(results)
    d = s["mlp/deepgrad"]
    assert d["products"]["median"] == 0.5  # the warm-up epoch's products left out
    assert sorted(d["own_floor_shares"]) == [0.25, 0.5]
    rows = {r["target"]: r for r in report.targets(s)}
    row = rows["MLP products alone / epoch"]
    assert row["value"] == pytest.approx(0.5 / 1.5)
    assert row["paired"].startswith("0.375 [0.250-0.500] n=2 epochs")
    assert row["holds"] is False
    text = report.table(s, ["h"])
    assert "| 0.38 |" in text and "products alone s per epoch" in text


def test_a_disturbed_products_run_is_not_paired():
    res = _with_products(_train("deepgrad", 0, [1.0, 1.0, 1.0]), [0.9, 0.9, 0.9])
    res["epochs"][2]["products"]["disturbed"] = True
    s = report.summarize([res])
    assert s["mlp/deepgrad"]["own_floor_shares"] == [0.9]
    assert s["mlp/deepgrad"]["products"]["n_disturbed"] == 1


def test_epoch_targets_against_every_peer_and_information_rows():
    def kind(res, k):
        res["spec"]["kind"] = k
        return res

    results = [kind(_train("deepgrad", 0, [1.0, 1.0]), "cnn"),
               kind(_train("torch", 0, [1.0, 2.0]), "cnn"),
               kind(_train("jax", 0, [1.0, 0.25]), "cnn"),
               _train("deepgrad", 0, [1.0, 1.0]), _train("jax", 0, [1.0, 2.0]),
               _train("deepgrad-fit", 0, [1.0, 1.1])]
    rows = {r["target"]: r for r in report.targets(report.summarize(results))}
    assert rows["CNN epoch / torch"]["holds"] is True  # 0.5 <= 1.0
    assert rows["CNN epoch / jax"]["holds"] is None and rows["CNN epoch / jax"]["bound"] == "-"
    assert rows["CNN epoch / jax"]["value"] == pytest.approx(4.0)
    assert rows["MLP epoch / jax"]["holds"] is True
    assert rows["MLP fit / explicit loop"]["value"] == pytest.approx(1.1)
    assert rows["MLP fit / explicit loop"]["holds"] is False
    assert "CNN peak RSS / torch" in rows and rows["CNN peak RSS / torch"]["holds"] is True


def test_loss_agreement_compares_peers_with_deepgrad_round_by_round():
    results = [
        _with_products(_train("deepgrad", 0, [1.0, 1.0]), [0.1, 0.1], 2.30, [1.0, 0.5]),
        _with_products(_train("torch", 0, [1.0, 1.0]), [0.1, 0.1], 2.30, [1.0, 0.51]),
        _with_products(_train("jax", 0, [1.0, 1.0]), [0.1, 0.1], 2.3023, [1.0, 0.5]),
        _with_products(_train("sklearn", 0, [1.0, 1.0]), [0.1, 0.1], None, [3.0, 9.0]),
    ]
    (row,) = report.loss_agreement(report.summarize(results))
    assert row["kind"] == "mlp"
    assert row["initial"] == {"deepgrad": 2.30, "jax": 2.3023, "torch": 2.30}
    assert row["rel_diff_initial"] == pytest.approx(0.0023 / 2.30)
    assert row["rel_diff_epochs"] == pytest.approx(0.02)  # sklearn's own losses ignored
    assert row["last"]["sklearn"] == 9.0
    assert "largest relative difference from deepgrad" in report.table(
        report.summarize(results), ["h"])


# ------------------------------------------------------------------ products-only floors
floors = pytest.importorskip("bench.floors")


def test_mlp_step_products_match_the_reports_flop_count():
    ps = floors.step_products("mlp", 128)
    assert floors.flops(ps) == 128 * report.MLP_STEP_FLOPS
    assert (128, 784, 256, 1) in ps and (128, 256, 784, 1) not in ps  # no input gradient


def test_conv_and_lstm_products():
    assert floors.conv(2, 3, 4, 3, 5, 5) == [(50, 27, 4, 1), (4, 50, 27, 1), (50, 4, 27, 1)]
    assert len(floors.conv(2, 3, 4, 3, 5, 5, input_grad=False)) == 2
    ps = floors.lstm(batch=2, T=7, n_in=3, H=5)
    assert (2, 5, 20, 7) in ps and (2, 20, 5, 7) in ps  # per step, forward and backward
    assert (20, 14, 5, 1) in ps  # W_hh's gradient over all steps at once
    assert floors.flops(ps) == 2 * (3 * 14 * 3 * 20 + 2 * 7 * 2 * 5 * 20 + 20 * 14 * 5)


def test_resnet_products_follow_the_stride_plan():
    ps = floors.step_products("resnet", 2)
    rows = {m // 2 for m, k, n, c in ps if n in (16, 32, 64) and k in (9, 144, 288, 576, 16, 32)}
    assert rows == {28 * 28, 14 * 14, 7 * 7}
    proj = [p for p in ps if p[1] in (16, 32) and p[2] in (32, 64)]  # 1x1 projections
    assert [p[0] for p in proj] == [2 * 14 * 14, 2 * 7 * 7]
    with pytest.raises(ValueError, match="unknown workload"):
        floors.step_products("gru", 2)


def test_time_products_is_positive_and_finite():
    t = floors.time_products([(4, 3, 2, 2), (2, 2, 2, 1)], reps=2)
    assert 0 < t < 1


# ------------------------------------------------------------------ the JAX peer's layout
def test_keras_layout_permutes_the_dense_rows_after_flatten():
    jr = pytest.importorskip("bench.jax_runner")
    np = pytest.importorskip("numpy")
    wl = pytest.importorskip("bench.workloads")
    state = wl.dg_model("cnn").state_dict()
    arch, params = jr.keras_layout("cnn", state)
    assert [a[0] for a in arch] == ["conv", "relu", "maxpool2d", "conv", "relu", "maxpool2d",
                                    "flatten", "dense", "relu", "dense"]
    assert arch[0][1] == "SAME" and params[0]["kernel"].shape == (3, 3, 1, 8)
    x = np.random.default_rng(0).standard_normal((2, 16, 7, 7)).astype(np.float32)
    W = np.asarray(state["7.weight"])
    nchw = x.reshape(2, -1) @ W.T
    nhwc = x.transpose(0, 2, 3, 1).reshape(2, -1) @ params[7]["kernel"]
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-5, atol=1e-5)


def test_the_peers_compute_the_same_loss_from_the_same_weights():
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    import numpy as np

    from bench.jax_runner import JaxRunner
    from bench.torch_runner import TorchRunner
    from bench.workloads import DeepgradRunner

    rng = np.random.default_rng(0)
    data = {"Xtr": rng.random((32, 1, 28, 28), dtype=np.float32),
            "ytr": rng.integers(0, 10, 32), "Xte": rng.random((8, 1, 28, 28), dtype=np.float32),
            "yte": rng.integers(0, 10, 8)}
    for kind in ("mlp", "cnn"):
        X, y = data["Xtr"][:16], data["ytr"][:16]
        losses = [R(kind, data).loss(X, y) for R in (DeepgradRunner, TorchRunner, JaxRunner)]
        assert losses[1] == pytest.approx(losses[0], rel=1e-5)
        assert losses[2] == pytest.approx(losses[0], rel=1e-5)


# ------------------------------------------------------------------ the plan of a run
def test_plan_puts_the_peers_of_each_workload_in_one_lockstep_group():
    main = pytest.importorskip("bench.__main__")
    args = main._parse(["--quick", "--only", "convnet,resnet,lstm"])
    groups = main._plan(args, have_jax=True)
    impls = [[(g["kind"], g["impl"]) for g in group] for group in groups]
    assert impls == [[("convnet", "deepgrad"), ("convnet", "torch"), ("convnet", "jax")],
                     [("resnet", "deepgrad"), ("resnet", "torch")],
                     [("lstm", "deepgrad"), ("lstm", "torch")]]
    assert all(g["epochs"] == 1 for group in groups for g in group)
    assert groups[0][0]["n_train"] == main.SIZES["convnet"][1][0]
    no_jax = main._plan(main._parse(["--only", "mlp"]), have_jax=False)
    assert [g["impl"] for g in no_jax[0]] == ["deepgrad", "deepgrad-jit", "torch", "sklearn",
                                              "deepgrad-fit"]
    assert no_jax[0][0]["paired_gemm"] and no_jax[0][0]["epochs"] == 5
    assert no_jax[0][1]["epochs"] == 5  # the compiled step runs as long as the loop
    with pytest.raises(SystemExit, match="unknown workload"):
        main._plan(main._parse(["--only", "gru"]))

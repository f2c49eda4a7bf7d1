"""MLPClassifier / MLPRegressor: parity with scikit-learn's, labels, weights, partial_fit,
early stopping, pickling, determinism, validation, packaging."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as skn  # noqa: E402

from deepgrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(n=120, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (k, d))
    y = rng.integers(0, k, n)
    return centers[y] + rng.normal(0, 1, (n, d)), y


def test_import_deepgrad_does_not_import_sklearn():
    code = "import sys, deepgrad; assert 'sklearn' not in sys.modules, 'sklearn imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_sklearn_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sklearn' or name.startswith('sklearn.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import deepgrad\n"
        "try:\n"
        "    import deepgrad.sklearn\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert "deepgrad[sklearn]" in out


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_matches_sklearn_mlp_in_float64(solver):
    # same Glorot init drawn from random_state, same batch order, same loss: sgd (constant
    # rate) is the same update; adam differs only in where eps enters (PyTorch's form)
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(7, 4), solver=solver, max_iter=6, random_state=3,
              learning_rate_init=0.05, batch_size=32, alpha=0.01)
    ours = MLPClassifier(dtype="float64", **kw).fit(X, y)
    ref = skn.MLPClassifier(**kw).fit(X, y)
    # adam: eps is added to sqrt(v_hat) (PyTorch) rather than to sqrt(v) (scikit-learn),
    # which matters only for gradients below ~1e-8, hence the looser tolerance
    tol = 1e-10 if solver == "sgd" else 1e-3
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=tol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=tol * 10)


def test_regressor_matches_sklearn_multioutput_and_poisson():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    Y = np.c_[X[:, 0] - X[:, 1], X[:, 2] ** 2]
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=5, random_state=0,
              learning_rate_init=0.01)
    ours = MLPRegressor(dtype="float64", **kw).fit(X, Y)
    ref = skn.MLPRegressor(**kw).fit(X, Y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert ours.predict(X).shape == (60, 2) and ours.n_outputs_ == 2
    counts = rng.poisson(np.exp(0.3 * X[:, 0]))
    ours = MLPRegressor(loss="poisson", dtype="float64", **kw).fit(X, counts)
    ref = skn.MLPRegressor(loss="poisson", **kw).fit(X, counts)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert ours.out_activation_ == "exp" and (ours.predict(X) > 0).all()


def test_early_stopping_restores_the_best_weights_as_sklearn():
    X, y = _blobs(n=150)
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=40, random_state=0,
              learning_rate_init=0.2, early_stopping=True, n_iter_no_change=3,
              validation_fraction=0.2)
    ours = MLPClassifier(dtype="float64", **kw).fit(X, y)
    ref = skn.MLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_ < 40
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    assert ours.best_loss_ is None
    # the weights kept are those of the best epoch, not the last (scikit-learn's rule)
    for a, b in zip(ours.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_string_bool_and_integer_labels():
    X, y = _blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=60, random_state=0,
                        learning_rate_init=0.05).fit(X, names)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.predict(X).dtype == names.dtype and clf.score(X, names) > 0.9
    assert clf.predict_proba(X).shape == (120, 3) and clf.out_activation_ == "softmax"
    yb = y == 1
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=60, random_state=0).fit(X, yb)
    assert clf.predict(X).dtype == bool and clf.n_outputs_ == 1
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert clf.decision_function(X).shape == (120,)
    assert ((clf.decision_function(X) > 0) == clf.predict(X)).all()


def test_multilabel():
    X, y = _blobs(n=100)
    Y = np.c_[y == 0, y != 1, X[:, 0] > 0].astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=150, random_state=0,
                        learning_rate_init=0.02).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    pred = clf.predict(X)
    assert pred.shape == (100, 3) and set(np.unique(pred)) <= {0, 1}
    assert clf.predict_proba(X).shape == (100, 3)
    assert (pred == Y).mean() > 0.9


def test_partial_fit_needs_classes_then_continues():
    X, y = _blobs()
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, learning_rate_init=0.05)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    first = clf.loss_
    for _ in range(15):
        clf.partial_fit(X, y)
    assert clf.loss_ < first and clf.n_iter_ == 1 and len(clf.loss_curve_) == 16
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 3]))
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_sample_weight_zero_equals_dropping_rows_and_scales():
    X, y = _blobs(n=60)
    kw = dict(hidden_layer_sizes=(6,), max_iter=8, random_state=0, dtype="float64",
              shuffle=False)
    w = np.ones(60)
    w[40:] = 0
    a = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    b = MLPClassifier(**kw).fit(X[:40], y[:40])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)
    c = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    assert not np.allclose(c.predict_proba(X), MLPClassifier(**kw).fit(X, y).predict_proba(X))
    with pytest.raises(ValueError, match="sample_weight"):
        MLPClassifier(**kw).fit(X, y, sample_weight=np.ones(3))


def test_pickle_roundtrip_and_determinism():
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=7, dropout=0.2,
              batch_norm=True)
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))
    c.partial_fit(X, y)  # a restored estimator keeps training
    assert c.n_iter_ == 1 and len(c.loss_curve_) == 11
    d = MLPClassifier(**{**kw, "random_state": 8}).fit(X, y)
    assert not np.array_equal(d.predict_proba(X), a.predict_proba(X))


def test_dtype_coefs_layout_and_warm_start():
    X, y = _blobs()
    clf = MLPClassifier(hidden_layer_sizes=(9, 4), max_iter=3, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(5, 9), (9, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(9,), (4,), (3,)]
    assert clf.coefs_[0].dtype == np.float32 and clf.n_layers_ == 4
    assert clf.predict_proba(X).dtype == np.float64  # X's dtype
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    clf.coefs_[0][...] = 0  # views, as one edits scikit-learn's
    assert np.all(clf.module_[0].weight.data == 0)
    warm = MLPClassifier(hidden_layer_sizes=(9, 4), max_iter=3, random_state=0,
                         warm_start=True).fit(X, y)
    before = [c.copy() for c in warm.coefs_]
    warm.fit(X, y)
    assert len(warm.loss_curve_) == 6 and not np.allclose(before[0], warm.coefs_[0])
    with pytest.raises(ValueError, match="same classes"):
        warm.fit(X, np.where(y == 2, 5, y))


def test_lbfgs_and_sparse_input():
    from scipy import sparse

    X, y = _blobs()
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=(6,), max_iter=50, random_state=0,
                        dtype="float64").fit(X, y)
    assert clf.score(X, y) > 0.95 and 0 < clf.n_iter_ <= 50
    ref = skn.MLPClassifier(solver="lbfgs", hidden_layer_sizes=(6,), max_iter=50,
                            random_state=0).fit(X, y)
    assert abs(clf.loss_ - ref.loss_) < 0.05
    Xs = sparse.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    dense = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(
        Xs.toarray(), y)
    sp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(Xs, y)
    np.testing.assert_allclose(sp.predict_proba(Xs), dense.predict_proba(Xs.toarray()),
                               rtol=1e-5)


@pytest.mark.parametrize("bad, match", [
    (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes must be > 0"),
    (dict(solver="newton"), "'solver' parameter"),
    (dict(alpha=-1.0), "'alpha' parameter"),
    (dict(batch_size=0), "'batch_size' parameter"),
    (dict(dtype="int8"), "dtype must be"),
    (dict(solver="lbfgs", dropout=0.5), "lbfgs"),
])
def test_bad_parameters_raise_at_fit(bad, match):
    X, y = _blobs(n=20)
    est = MLPClassifier(**bad)  # scikit-learn validates in fit, not in __init__
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_bad_inputs_read_as_sklearn():
    X, y = _blobs(n=20)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(X, y)
    clf = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(np.ones((5, 2)), np.ones(5))
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(np.ones((5, 2)), -np.ones(5))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_multiclass_fit_runs_the_compiled_step_with_the_eager_numbers(solver, monkeypatch):
    from deepgrad.train.compiled import CompiledStep

    X, y = _blobs(n=150, d=6, k=4)
    kw = dict(hidden_layer_sizes=(16, 8), solver=solver, alpha=1e-2, batch_size=32,
              max_iter=4, random_state=0, dtype=np.float32)
    fast = MLPClassifier(**kw).fit(X, y)
    assert fast._jit_step.compiled and fast._jit_step.lowered
    monkeypatch.setattr(CompiledStep, "lowered", property(lambda self: False))
    eager = MLPClassifier(**kw).fit(X, y)
    assert eager.loss_curve_ == fast.loss_curve_
    for a, b in zip(fast.coefs_ + fast.intercepts_, eager.coefs_ + eager.intercepts_,
                    strict=True):
        assert np.array_equal(a, b)
    again = pickle.loads(pickle.dumps(fast))  # the step's buffers are not pickled
    assert again._jit_step._plans == {}
    assert np.array_equal(again.predict_proba(X), fast.predict_proba(X))


@pytest.mark.parametrize("shuffle", [True, False])
def test_float64_data_is_gathered_per_batch_with_the_numbers_of_a_converted_copy(
        shuffle, monkeypatch):
    from deepgrad import _accel
    from deepgrad.sklearn._base import as_dtype

    X, y = _blobs(n=700, d=8, k=3)  # 5,600 values: numba's gather takes it
    kw = dict(hidden_layer_sizes=(12,), alpha=1e-3, batch_size=64, max_iter=3,
              random_state=0, shuffle=shuffle, dtype=np.float32)
    if _accel.available():  # no float32 copy of the whole X: each batch is cast
        assert as_dtype(X, np.dtype(np.float32)) is X
    a = MLPClassifier(**kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X.astype(np.float32), y)
    monkeypatch.setenv("DEEPGRAD_NUMBA", "0")
    assert as_dtype(X, np.dtype(np.float32)).dtype == np.float32
    c = MLPClassifier(**kw).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_ == c.loss_curve_
    for p, q, r in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_,
                       c.coefs_ + c.intercepts_, strict=True):
        assert np.array_equal(p, q) and np.array_equal(p, r)
    state = pickle.loads(pickle.dumps(a)).__dict__  # scratch buffers are not pickled
    assert "_batch_buf" not in state and "_penalty_bufs" not in state
    assert "_penalty_bufs" in a.__dict__


def test_penalty_gradient_is_the_plain_expression_bit_for_bit():
    import deepgrad as dg

    rng = np.random.default_rng(1)
    clf = MLPClassifier(alpha=0.3)
    p = dg.tensor(rng.standard_normal((30, 20)).astype(np.float32), requires_grad=True)
    g0 = rng.standard_normal((30, 20)).astype(np.float32)
    for wsum in (7.0, 64.0):  # twice: the second call reuses the scratch array
        p.grad = g0.copy()
        clf._penalty_grads([(p, 0.3)], wsum)
        assert np.array_equal(p.grad, g0 + (0.3 / wsum) * p.data)


def test_refitting_keeps_one_set_of_scratch_buffers():
    X, y = _blobs(n=60)
    clf = MLPClassifier(hidden_layer_sizes=(7,), alpha=1e-2, max_iter=2, random_state=0)
    for _ in range(3):  # each fit builds a new model: the old model's scratch goes
        clf.fit(X, y)
    model, bufs = clf._penalty_bufs
    assert model is clf.module_ and len(bufs) == 2  # the two weight matrices

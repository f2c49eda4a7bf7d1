"""conv2d's two column layouts (one GEMM on (C·kh·kw, N·OH·OW) columns, whole or over
chunks of images, or a batched GEMM on (N, C·kh·kw, OH·OW)): each forced in turn, the same
numbers as PyTorch (float64 to 1e-10, float32 to 1e-5) for strides, paddings, dilation, no
bias and partial gradients; float64 gradchecks; float32 in and out; the automatic choice."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd.ops import conv as conv_ops
from deepgrad.autograd.ops.conv import Conv2d, conv2d
from deepgrad.testing import gradcheck

LAYOUTS = {"flat": 0, "batched": 10**9}  # FLAT_MIN_CK forcing each layout
#: per layout: (FLAT_MIN_CK, CHUNK_ABOVE, CHUNK_BYTES); "chunked": one image at a time
SETTINGS = {"flat": (0, 2**62, 2**62), "batched": (10**9, 2**62, 2**62),
            "chunked": (0, 0, 1)}

CASES = [  # (x shape, W shape, keyword arguments)
    ((3, 4, 7, 6), (5, 4, 3, 3), {"padding": 1}),
    ((2, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 3), "padding": (2, 1)}),
    ((2, 2, 10, 9), (3, 2, 3, 3), {"dilation": (2, 1), "padding": "same"}),
    ((3, 5, 6, 6), (4, 5, 2, 4), {"padding": "same"}),  # even kernel: uneven padding
    ((4, 3, 7, 7), (6, 3, 1, 1), {"stride": 2}),
    ((2, 3, 5, 8), (2, 3, 5, 3), {}),  # valid, one output row
]


@pytest.fixture(params=sorted(SETTINGS))
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    ck, above, chunk = SETTINGS[request.param]
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", ck)
    monkeypatch.setattr(conv_ops, "CHUNK_ABOVE", above)
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", chunk)
    return request.param


def _run(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, gy: np.ndarray, kw: dict,
         grads: tuple[bool, bool, bool] = (True, True, True)) -> list:
    xt = dg.Tensor(x, requires_grad=grads[0])
    Wt = dg.Tensor(W, requires_grad=grads[1])
    bt = None if b is None else dg.Tensor(b, requires_grad=grads[2])
    y = conv2d(xt, Wt, bt, **kw)
    y.backward(dg.Tensor(gy))
    return [y.numpy()] + [None if t is None or t.grad is None else np.asarray(t.grad)
                          for t in (xt, Wt, bt)]


def _torch(x: np.ndarray, W: np.ndarray, b: np.ndarray | None, gy: np.ndarray,
           kw: dict) -> list:
    torch = pytest.importorskip("torch")
    ts = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    y = torch.nn.functional.conv2d(*ts, **kw)
    y.backward(torch.tensor(gy))
    return [y.detach().numpy()] + [None if t is None else t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_each_layout_matches_torch(layout, case, bias, dtype):
    xs, ws, kw = case
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    y = conv2d(dg.Tensor(x), dg.Tensor(W), None if b is None else dg.Tensor(b), **kw)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ours, ref = _run(x, W, b, gy, kw), _torch(x, W, b, gy, kw)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for a, r in zip(ours, ref, strict=True):
        if r is None:
            assert a is None
            continue
        assert a.dtype == dtype and a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol * max(1.0, np.abs(r).max()))


def test_layouts_agree_on_partial_gradients(monkeypatch):
    rng = np.random.default_rng(1)
    x, W = rng.standard_normal((3, 4, 6, 5)), rng.standard_normal((5, 4, 3, 3))
    b, gy = rng.standard_normal(5), rng.standard_normal((3, 5, 6, 5))
    for grads in [(False, True, True), (True, False, False), (True, True, False),
                  (True, False, True), (False, False, True)]:
        out = {}
        for name, ck in LAYOUTS.items():
            monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", ck)
            out[name] = _run(x, W, b, gy, {"padding": 1}, grads)
        for a, r, want in zip(out["flat"][1:], out["batched"][1:], grads, strict=True):
            assert (a is None) == (not want)
            if want:
                np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def test_flat_layout_records_nothing_under_no_grad(monkeypatch):
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", 0)
    rng = np.random.default_rng(3)
    x = dg.Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    with dg.no_grad():
        y = conv2d(x, W, padding=1)
    assert not y.requires_grad and y.numpy().dtype == np.float32
    assert y.numpy().flags.c_contiguous


def test_automatic_choice():
    """The one-GEMM layout for batches with enough column rows; the batched one for a
    first layer on one channel, one example and groups."""
    rng = np.random.default_rng(4)

    def flat(xs, ws, groups=1):
        op = Conv2d(padding=1, groups=groups)
        op.forward(rng.standard_normal(xs), rng.standard_normal(ws))
        return op.flat

    assert flat((4, 8, 5, 5), (6, 8, 3, 3))  # 72 column rows
    assert not flat((4, 1, 5, 5), (6, 1, 3, 3))  # 9
    assert not flat((1, 8, 5, 5), (6, 8, 3, 3))  # one example
    assert not flat((4, 8, 5, 5), (8, 4, 3, 3), groups=2)
    assert not flat((0, 8, 5, 5), (6, 8, 3, 3))  # empty batch


@pytest.mark.parametrize("layout_ck", sorted(LAYOUTS.values()))
def test_second_backward_with_retain_graph(monkeypatch, layout_ck):
    """The one-GEMM layout writes the input gradient's columns over the saved columns; a
    second backward rebuilds them (gradients accumulate to exactly twice the first)."""
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", layout_ck)
    rng = np.random.default_rng(5)
    x = dg.Tensor(rng.standard_normal((3, 4, 6, 6)), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((5, 4, 3, 3)), requires_grad=True)
    b = dg.Tensor(rng.standard_normal(5), requires_grad=True)
    y = conv2d(x, W, b, padding=1)
    gy = dg.Tensor(rng.standard_normal(y.shape))
    y.backward(gy, retain_graph=True)
    first = [np.asarray(t.grad).copy() for t in (x, W, b)]
    y.backward(gy)
    for t, g in zip((x, W, b), first, strict=True):
        np.testing.assert_allclose(np.asarray(t.grad), 2 * g, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------- the one-GEMM layout in chunks
def _chunks(monkeypatch, per_chunk: int | None) -> None:
    """Force the one-GEMM layout with ``per_chunk`` images per chunk (None: no chunking)."""
    monkeypatch.setattr(conv_ops, "FLAT_MIN_CK", 0)
    monkeypatch.setattr(conv_ops, "_images_per_chunk",
                        lambda x, ck, L: x.shape[0] if per_chunk is None else per_chunk)


CHUNK_CASES = [  # (x shape, W shape, kwargs, images per chunk): uneven last chunks too
    ((5, 4, 7, 6), (5, 4, 3, 3), {"padding": 1}, 2),
    ((3, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 3), "padding": (2, 1)}, 2),
    ((4, 2, 10, 9), (3, 2, 3, 3), {"dilation": (2, 1), "padding": "same"}, 3),
    ((3, 5, 6, 6), (4, 5, 1, 1), {"stride": 2}, 1),
]


@pytest.mark.parametrize("grads", [(True, True, True), (False, True, True),
                                   (True, False, False), (True, True, False)])
@pytest.mark.parametrize("case", CHUNK_CASES)
def test_chunked_equals_whole_batch(monkeypatch, case, grads):
    """Chunks of images give the whole batch's output and gradients (float64, 1e-12; gW
    and gb are summed in another order), partial gradients included."""
    xs, ws, kw, per = case
    rng = np.random.default_rng(6)
    x, W, b = (rng.standard_normal(xs), rng.standard_normal(ws),
               rng.standard_normal(ws[0]))
    y = conv2d(dg.Tensor(x), dg.Tensor(W), dg.Tensor(b), **kw)
    gy = rng.standard_normal(y.shape)
    out = {}
    for name, n in (("whole", None), ("chunked", per)):
        _chunks(monkeypatch, n)
        out[name] = _run(x, W, b, gy, kw, grads)
    for a, r, want in zip(out["chunked"], out["whole"], (True, *grads), strict=True):
        assert (a is None) == (not want)
        if want:
            assert a.flags.c_contiguous
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("per_chunk", [None, 2])  # the one-GEMM layout, whole or chunked
@pytest.mark.parametrize("kw", [{"padding": 1}, {"stride": 2, "dilation": (1, 2)}])
def test_flat_layout_gradcheck(monkeypatch, kw, per_chunk):
    _chunks(monkeypatch, per_chunk)
    rng = np.random.default_rng(2)
    x = dg.Tensor(rng.standard_normal((3, 2, 5, 6)), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((3, 2, 3, 2)), requires_grad=True)
    b = dg.Tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, W, b: conv2d(x, W, b, **kw), x, W, b)


def test_chunked_second_backward_and_float32(monkeypatch):
    _chunks(monkeypatch, 2)
    rng = np.random.default_rng(8)
    x = dg.Tensor(rng.standard_normal((5, 4, 6, 6)).astype(np.float32), requires_grad=True)
    W = dg.Tensor(rng.standard_normal((5, 4, 3, 3)).astype(np.float32), requires_grad=True)
    y = conv2d(x, W, padding=1)
    assert y.numpy().dtype == np.float32 and y.numpy().flags.c_contiguous
    gy = dg.Tensor(rng.standard_normal(y.shape).astype(np.float32))
    y.backward(gy, retain_graph=True)
    first = [np.asarray(t.grad).copy() for t in (x, W)]
    y.backward(gy)
    for t, g in zip((x, W), first, strict=True):
        assert np.asarray(t.grad).dtype == np.float32
        np.testing.assert_allclose(np.asarray(t.grad), 2 * g, rtol=1e-6, atol=1e-6)


def test_images_per_chunk_rule(monkeypatch):
    """Chunks only when a NumPy batch's columns exceed CHUNK_ABOVE, each of at most
    CHUNK_BYTES (at least one image)."""
    monkeypatch.setattr(conv_ops, "CHUNK_ABOVE", 32 * 2**20)
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", 4 * 2**20)
    x = np.empty((128, 16, 28, 28), np.float32)
    ck, L = 16 * 9, 28 * 28  # 144 column rows of 784 columns: 451,584 bytes per image
    assert conv_ops._images_per_chunk(x, ck, L) == 9  # 58 MB; 9 images (4.06 MB) fit
    assert conv_ops._images_per_chunk(x[:75], ck, L) == 9  # 34 MB: chunked too
    assert conv_ops._images_per_chunk(x[:74], ck, L) == 74  # 33.4 MB <= 32 MiB: whole
    assert conv_ops._images_per_chunk(x[:1], ck, L) == 1
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", 1000)  # less than one image: one each
    assert conv_ops._images_per_chunk(x, ck, L) == 1
    monkeypatch.setattr(conv_ops, "CHUNK_ABOVE", 0)
    monkeypatch.setattr(conv_ops, "CHUNK_BYTES", 4 * 2**20)
    assert conv_ops._images_per_chunk(np.empty((4, 16, 28, 28)), ck, L) == 4  # float64 3.6 MB


def test_batched_layout_adds_the_bias_inside_the_product():
    """With a bias (groups=1, NumPy) the batched layout's columns end in a row of ones and
    the weight in the bias column: the output and both gradients are PyTorch's; grouped
    and bias-free convolutions keep the separate bias pass."""
    rng = np.random.default_rng(9)

    def op_for(xs, ws, bias, groups=1):
        op = Conv2d(padding=1, groups=groups)
        b = rng.standard_normal(ws[0]) if bias else None
        op.forward(rng.standard_normal(xs), rng.standard_normal(ws), b)
        return op

    assert op_for((4, 1, 5, 5), (6, 1, 3, 3), True).bias_row
    assert not op_for((4, 1, 5, 5), (6, 1, 3, 3), False).bias_row
    assert not op_for((4, 4, 5, 5), (6, 2, 3, 3), True, groups=2).bias_row
    assert not op_for((4, 8, 5, 5), (6, 8, 3, 3), True).bias_row  # the one-GEMM layout
    x, W, b = (rng.standard_normal((3, 1, 6, 5)), rng.standard_normal((4, 1, 3, 3)),
               rng.standard_normal(4))
    gy = rng.standard_normal((3, 4, 6, 5))
    for a, r in zip(_run(x, W, b, gy, {"padding": 1}), _torch(x, W, b, gy, {"padding": 1}),
                    strict=True):
        assert a.flags.c_contiguous
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)

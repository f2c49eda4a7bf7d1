"""summary() names the form of the loss that is used, for each final activation."""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import losses as L
from deepgrad import nn

RNG = np.random.default_rng(3)
X = RNG.standard_normal((30, 4))
Y3 = RNG.integers(0, 3, size=30)
Y2 = RNG.integers(0, 2, size=30)


def _body(out):
    with dg.default_dtype(np.float64):
        return [nn.Linear(4, 6, rng=0), nn.Tanh(), nn.Linear(6, out, rng=1)]


def _pre(model):
    """The outputs before the final activation."""
    return nn.Sequential(*list(model)[:3])(dg.tensor(X))


CASES = {
    # name: (layers after the body, outputs, loss, from_logits, targets, form, reference)
    "sigmoid": ([nn.Sigmoid()], 1, "binary_crossentropy", None, Y2,
                "fused with the final sigmoid",
                lambda m: L.binary_cross_entropy_with_logits(_pre(m), Y2[:, None] * 1.0)),
    "softmax": ([nn.Softmax(-1)], 3, "sparse_categorical_crossentropy", None, Y3,
                "fused with the final softmax", lambda m: L.cross_entropy(_pre(m), Y3)),
    "log_softmax": ([nn.LogSoftmax(-1)], 3, "sparse_categorical_crossentropy", None, Y3,
                    "negative log-likelihood on the final log_softmax's log-probabilities",
                    lambda m: L.nll_loss(m(dg.tensor(X)), Y3)),
    "log_softmax_onehot": ([nn.LogSoftmax(-1)], 3, "categorical_crossentropy", None,
                           np.eye(3)[Y3],
                           "negative log-likelihood on the final log_softmax's "
                           "log-probabilities", lambda m: L.nll_loss(m(dg.tensor(X)), Y3)),
    "none": ([], 3, "sparse_categorical_crossentropy", None, Y3, "on logits",
             lambda m: L.cross_entropy(m(dg.tensor(X)), Y3)),
    "none_probabilities": ([nn.Softmax(-1), nn.Identity()], 3,
                           "sparse_categorical_crossentropy", False, Y3,
                           "on probabilities (clipped)",
                           lambda m: L.nll_loss(dg.log(m(dg.tensor(X))), Y3)),
    "none_binary_probabilities": ([nn.Sigmoid(), nn.Identity()], 1, "binary_crossentropy",
                                  False, Y2, "on probabilities (clipped)",
                                  lambda m: L.binary_cross_entropy(m(dg.tensor(X)),
                                                                   Y2[:, None] * 1.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_summary_names_the_loss_used(name):
    head, out, loss, from_logits, y, form, reference = CASES[name]
    model = nn.Sequential(*_body(out), *head)
    model.compile("sgd", loss, from_logits=from_logits)
    line = model.summary((4,), print_fn=None).splitlines()[-1]
    assert line == f"loss: {loss}, {form}"
    model.eval()
    expected = float(reference(model).item())
    assert model.evaluate(X, y, batch_size=64)["loss"] == pytest.approx(expected, rel=1e-12)

"""deepgrad.course.numpy_basics against small examples worked by hand."""

import numpy as np
import pytest

from deepgrad.course.numpy_basics import (
    L1,
    L2,
    image2vector,
    normalize_rows,
    sigmoid,
    sigmoid_derivative,
    softmax,
)


def test_sigmoid_by_hand():
    # sigma(0) = 1 / (1 + 1) = 0.5;  sigma(ln 3) = 1 / (1 + 1/3) = 0.75
    # sigma(-ln 3) = 1 / (1 + 3) = 0.25
    x = np.array([0.0, np.log(3.0), -np.log(3.0)])
    np.testing.assert_allclose(sigmoid(x), [0.5, 0.75, 0.25], rtol=1e-15)


def test_sigmoid_large_inputs_exact_limits_without_warning():
    # exp(800) overflows to inf, so 1 / (1 + inf) = 0 exactly; exp(-800) = 0 gives 1.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = sigmoid(np.array([-800.0, 800.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])


def test_sigmoid_derivative_by_hand():
    # s(1 - s): 0.5 * 0.5 = 0.25 at 0;  0.75 * 0.25 = 0.1875 at ln 3
    x = np.array([0.0, np.log(3.0)])
    np.testing.assert_allclose(sigmoid_derivative(x), [0.25, 0.1875], rtol=1e-15)


def test_image2vector_row_major_column():
    # (2, 2, 3) image holding 0..11 -> a (12, 1) column 0..11 in row-major order
    image = np.arange(12).reshape(2, 2, 3)
    v = image2vector(image)
    assert v.shape == (12, 1)
    np.testing.assert_array_equal(v[:, 0], np.arange(12))


def test_normalize_rows_by_hand():
    # row 0: sqrt(0 + 9 + 16) = 5  -> [0, 3/5, 4/5]
    # row 1: sqrt(1 + 4 + 4) = 3   -> [1/3, 2/3, 2/3]
    x = np.array([[0.0, 3.0, 4.0], [1.0, 2.0, 2.0]])
    np.testing.assert_allclose(normalize_rows(x), [[0, 0.6, 0.8], [1 / 3, 2 / 3, 2 / 3]],
                               rtol=1e-15)
    np.testing.assert_array_equal(x, [[0.0, 3.0, 4.0], [1.0, 2.0, 2.0]])  # not modified


def test_softmax_row_wise_by_hand():
    # row 0: exp([0, ln 3]) = [1, 3], sum 4 -> [0.25, 0.75]
    # row 1: exp([0, 0]) = [1, 1], sum 2 -> [0.5, 0.5] (rows are independent)
    x = np.array([[0.0, np.log(3.0)], [0.0, 0.0]])
    np.testing.assert_allclose(softmax(x), [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


def test_softmax_course_example():
    # the course's exercise: rows sum to one, largest logit dominates
    s = softmax(np.array([[9, 2, 5, 0, 0], [7, 5, 0, 0, 0]]))
    np.testing.assert_allclose(s.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(s[0, 0], 9.80897665e-01, rtol=1e-8)
    np.testing.assert_allclose(s[1, 1], 1.18916387e-01, rtol=1e-8)


def test_L1_L2_by_hand():
    # |y - yhat| = [.1, .2, .1, .6, .1] -> L1 = 1.1
    # (y - yhat)^2 = [.01, .04, .01, .36, .01] -> L2 = 0.43
    yhat = np.array([0.9, 0.2, 0.1, 0.4, 0.9])
    y = np.array([1, 0, 0, 1, 1])
    assert L1(yhat, y) == pytest.approx(1.1, rel=1e-12)
    assert L2(yhat, y) == pytest.approx(0.43, rel=1e-12)

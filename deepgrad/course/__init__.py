"""The course's step-by-step functions, in its notation, on plain NumPy.

A reference implementation of the functions a learner writes in the course: NumPy helpers,
logistic regression as a one-neuron network, a one-hidden-layer network on the planar data,
an L-layer network on the cat images, and gradient checking. Examples are columns: X is
(n_x, m), Y is (1, m), W[l] is (n[l], n[l-1]), b[l] is (n[l], 1); parameters and gradients
are dicts keyed ``"W1"``, ``"dW1"``, ...

The modules share function names (each notebook has its own ``initialize_parameters``,
``compute_cost``, ``predict``), so they are imported as modules::

    from deepgrad.course import deep_nn
    parameters = deep_nn.initialize_parameters_deep([5, 4, 3])

This package imports nothing from the rest of deepgrad.
"""

from . import datasets, deep_nn, gradient_check, logistic_regression, numpy_basics, shallow_nn

__all__ = ["datasets", "deep_nn", "gradient_check", "logistic_regression", "numpy_basics",
           "shallow_nn"]

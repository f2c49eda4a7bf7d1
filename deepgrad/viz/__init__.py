"""Plots for learning and for what a network learned (matplotlib, the optional ``[plot]`` extra).

``import deepgrad.viz`` does not import matplotlib; each function imports it when called
and raises ImportError("plotting needs matplotlib: pip install 'deepgrad[plot]'") when it
is missing. Figures are ``matplotlib.figure.Figure`` objects on an Agg canvas (no pyplot,
no window, no global backend change); ``path=`` saves a PNG atomically.

``plot_graph`` (the autograd graph behind a tensor) and ``plot_model`` (a model's layer
graph) return Graphviz DOT text and need matplotlib only to draw a picture without
Graphviz's ``dot``.
"""

from deepgrad.viz._figure import MISSING_MATPLOTLIB, save_figure
from deepgrad.viz.graph import plot_graph, plot_model
from deepgrad.viz.images import plot_conv_filters, plot_image_grid
from deepgrad.viz.plots import plot_confusion_matrix, plot_decision_boundary, plot_learning_curve

__all__ = [
    "MISSING_MATPLOTLIB",
    "plot_confusion_matrix",
    "plot_conv_filters",
    "plot_decision_boundary",
    "plot_graph",
    "plot_image_grid",
    "plot_learning_curve",
    "plot_model",
    "save_figure",
]

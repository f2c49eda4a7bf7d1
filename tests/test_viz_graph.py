"""Drawing graphs: plot_graph (autograd), plot_model (layers), the DOT text, the layered
layout, rendering with matplotlib and with a (fake) Graphviz ``dot``."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.viz import plot_graph, plot_model
from deepgrad.viz._draw import Graph, GraphNode, to_dot
from deepgrad.viz._layout import count_crossings, layered_layout, topological_order
from deepgrad.viz.graph import autograd_graph

PNG = b"\x89PNG\r\n\x1a\n"


def _course_J() -> dg.Tensor:
    a, b, c = (dg.tensor(v, requires_grad=True, name=n) for v, n in
               ((5.0, "a"), (3.0, "b"), (2.0, "c")))
    u = b * c
    u.name = "u"
    J = 3 * (a + u)
    J.name = "J"
    return J


def _labels(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^  "(\w+)" \[label="([^"]*)"', dot, flags=re.M))


def _edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r'^  "(\w+)" -> "(\w+)";', dot, flags=re.M)


def test_plot_graph_of_the_course_J_has_each_op_and_tensor() -> None:
    dot = plot_graph(_course_J())
    labels = _labels(dot)
    assert sorted(labels.values()) == sorted([
        "a\\n() float32", "b\\n() float32", "c\\n() float32", "u\\n() float32",
        "() float32", "3\\n() float32", "J\\n() float32", "Mul", "Add", "Mul"])
    by = {v.split("\\n")[0]: k for k, v in labels.items()}
    edges = _edges(dot)
    assert len(edges) == 3 * 2 + 3  # two inputs and one output per op
    mul_bc = next(v for u, v in edges if u == by["b"])
    assert (by["c"], mul_bc) in edges and (mul_bc, by["u"]) in edges
    assert dot.startswith('digraph "J" {') and dot.rstrip().endswith("}")


def test_plot_graph_shapes_names_and_styles() -> None:
    W = nn.Parameter(np.ones((3, 2), dtype=np.float64))
    x = dg.tensor(np.ones((4, 2)), dtype=np.float64)
    y = (x @ W.T).sum()
    dot = plot_graph(y, names={"W": W})
    labels = list(_labels(dot).values())
    assert "W\\n(3, 2) float64" in labels and "(4, 2) float64" in labels
    assert "() float64" in labels  # the result
    assert plot_graph(y, show_shapes=False).count("float64") == 0
    g = autograd_graph(y, names={"W": W})
    styles = {n.lines[0]: n.style for n in g.nodes}
    assert styles["W"] == "param" and styles["(4, 2) float64"] == "const"


def test_plot_graph_shows_values_as_the_course_does() -> None:
    labels = _labels(plot_graph(_course_J(), show_values=True, show_shapes=False)).values()
    assert {"a = 5", "b = 3", "c = 2", "u = 6", "3", "J = 33"} <= set(labels)
    assert "11" in labels  # the unnamed a + u


def test_plot_graph_of_a_leaf_and_after_backward() -> None:
    a = dg.tensor([1.0, 2.0], requires_grad=True, name="a")
    assert list(_labels(plot_graph(a)).values()) == ["a\\n(2,) float32"]
    J = (a * a).sum()
    J.backward()
    with pytest.raises(ValueError, match="freed by backward"):
        plot_graph(J)
    with pytest.raises(TypeError, match="expected a Tensor"):
        plot_graph(np.ones(2))  # type: ignore[arg-type]


def test_a_10000_op_chain_is_walked_without_recursion() -> None:
    x = dg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    g = autograd_graph(y)
    assert sum(n.style == "op" for n in g.nodes) == 10_000


def test_dot_text_escapes_quotes_and_newlines() -> None:
    g = Graph('a "q"', [GraphNode("n1", ['say "hi"', "x\\y"], "op")], [])
    dot = to_dot(g)
    assert 'digraph "a \\"q\\""' in dot
    assert 'label="say \\"hi\\"\\nx\\\\y"' in dot


def test_write_dot_file_and_reject_unknown_suffix(tmp_path: Path) -> None:
    J = _course_J()
    text = plot_graph(J, tmp_path / "j.dot")
    assert (tmp_path / "j.dot").read_text() == text
    with pytest.raises(ValueError, match=r"unknown format '\.jpg'.*\.png, \.svg, \.pdf"):
        plot_graph(J, tmp_path / "j.jpg")
    with pytest.raises(ValueError, match="engine must be"):
        plot_graph(J, tmp_path / "j.png", engine="neato")


@pytest.mark.parametrize("suffix, magic", [(".png", PNG), (".svg", b"<?xml"),
                                           (".pdf", b"%PDF")])
def test_matplotlib_renders_each_format(tmp_path: Path, suffix: str, magic: bytes) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / f"j{suffix}"
    plot_graph(_course_J(), path, engine="matplotlib", dpi=40)
    assert path.read_bytes().startswith(magic)


def test_matplotlib_missing_names_the_plot_extra(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz either
    assert "digraph" in plot_graph(_course_J())  # DOT text needs neither
    with pytest.raises(ImportError, match=r"deepgrad\[plot\]"):
        plot_graph(_course_J(), tmp_path / "j.png")


def _fake_dot(bin_dir: Path, body: str) -> Path:
    log = bin_dir / "dot.log"
    script = bin_dir / "dot"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {log}\ncat > {bin_dir / 'stdin.dot'}\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_graphviz_dot_on_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _fake_dot(tmp_path, "printf 'FAKEPNG'")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    text = plot_graph(_course_J(), tmp_path / "j.png", dpi=72)
    assert (tmp_path / "j.png").read_bytes() == b"FAKEPNG"
    assert log.read_text().split() == ["-Tpng", "-Gdpi=72"]
    assert (tmp_path / "stdin.dot").read_text() == text


def test_a_failing_dot_falls_back_to_matplotlib(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    _fake_dot(tmp_path, "echo 'Error: syntax' >&2; exit 3")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.warns(RuntimeWarning, match="exit code 3: Error: syntax"):
        plot_graph(_course_J(), tmp_path / "j.png", dpi=30)
    assert (tmp_path / "j.png").read_bytes().startswith(PNG)
    with pytest.raises(RuntimeError, match="dot failed"):
        plot_graph(_course_J(), tmp_path / "k.png", engine="dot")
    assert not (tmp_path / "k.png").exists()


def test_engine_dot_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="needs Graphviz's dot"):
        plot_graph(_course_J(), tmp_path / "j.png", engine="dot")


# ----------------------------------------------------------------------------- plot_model
def test_plot_model_sequential_shows_names_kinds_and_shapes() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Dense(5))
    labels = list(_labels(plot_model(model, input_shape=(1, 6, 6))).values())
    assert labels == ["input: InputLayer\\n(None, 1, 6, 6)", "0: Conv2d\\n(None, 4, 6, 6)",
                      "1: ReLU\\n(None, 4, 6, 6)", "2: Flatten\\n(None, 144)",
                      "3: Dense\\n(None, 5)"]
    assert model.training  # restored after the shape pass
    assert "float32" in plot_model(model, input_shape=(1, 6, 6), show_dtype=True)
    no_shapes = _labels(plot_model(model, show_shapes=False))
    assert list(no_shapes.values())[0] == "0: Conv2d"
    with pytest.raises(ValueError, match=r"input_shape \(2, 6, 6\) does not fit"):
        plot_model(model, input_shape=(2, 6, 6))


def test_plot_model_sequential_infers_a_dense_input() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    labels = list(_labels(plot_model(model)).values())
    assert labels[0] == "input: InputLayer\\n(None, 3)" and labels[-1] == "1: Tanh\\n(None, 4)"


def test_plot_model_graph_model_with_a_merge_and_a_shared_layer(tmp_path: Path) -> None:
    x = nn.Input(4, name="x")
    shared = nn.Dense(4, name="shared")
    a = shared(x)
    b = shared(a)
    s = nn.Add()([a, b])
    y = nn.Dense(2, name="head")(s)
    model = nn.Model(x, y)
    dot = plot_model(model)
    labels = _labels(dot)
    assert labels["x"] == "x: InputLayer\\n(None, 4)"
    assert labels["head"] == "head: Dense\\n(None, 2)"
    add = next(k for k, v in labels.items() if ": Add" in v)
    assert {("x", "shared"), ("shared", "shared:1"), ("shared", add), ("shared:1", add),
            (add, "head")} <= set(re.findall(r'"([\w:]+)" -> "([\w:]+)"', dot))
    assert '"shared:1" [label="shared:1: Dense' in dot


def test_plot_model_rejects_other_modules() -> None:
    class Net(nn.Module):
        def forward(self, x: dg.Tensor) -> dg.Tensor:
            return x

    with pytest.raises(TypeError, match=r"plot_graph\(model\(x\)\)"):
        plot_model(Net())


# ----------------------------------------------------------------------------- layout
def test_topological_order_and_cycles() -> None:
    assert topological_order(["c", "b", "a"], [("a", "b"), ("b", "c")]) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cycle"):
        topological_order(["a", "b"], [("a", "b"), ("b", "a")])


def test_layout_layers_sources_late_and_routes_long_edges() -> None:
    nodes = ["x", "h1", "h2", "k", "sum"]
    edges = [("x", "h1"), ("h1", "h2"), ("h2", "sum"), ("x", "sum"), ("k", "sum")]
    sizes = {n: (1.0, 0.5) for n in nodes}
    lay = layered_layout(nodes, edges, sizes)
    assert lay.layer == {"x": 0, "h1": 1, "h2": 2, "k": 2, "sum": 3}  # k next to its use
    assert len(lay.routes[3]) == 4  # x -> sum crosses two layers: two bend points
    assert all(lay.pos[u][1] < lay.pos[v][1] for u, v in edges)
    for r in lay.routes:
        assert r[0][1] < r[-1][1]
    # boxes on one layer never overlap
    xs = sorted(lay.pos[n][0] for n in ("h2", "k"))
    assert xs[1] - xs[0] >= 1.0


def test_layout_ordering_removes_crossings() -> None:
    # two chains whose second layer is listed crosswise
    nodes = ["a", "b", "d", "c"]
    edges = [("a", "c"), ("b", "d")]
    lay = layered_layout(nodes, edges, {n: (1.0, 0.4) for n in nodes})
    rows: dict[int, list[str]] = {}
    for n in sorted(lay.pos, key=lambda n: lay.pos[n][0]):
        rows.setdefault(lay.layer[n], []).append(n)
    assert count_crossings(rows[0], rows[1], edges) == 0
    assert count_crossings(["a", "b"], ["d", "c"], edges) == 1

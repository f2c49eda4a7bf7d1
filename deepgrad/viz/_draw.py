"""A drawable graph (labelled nodes, edges), its Graphviz DOT text, and its rendering.

Rendering uses Graphviz's ``dot`` executable when it is on PATH, otherwise matplotlib (the
``[plot]`` extra) with the layered layout of :mod:`deepgrad.viz._layout`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._fileio import atomic_open
from ._figure import require_matplotlib, save_figure
from ._layout import layered_layout

__all__ = ["GraphNode", "Graph", "to_dot", "render", "write_graph", "file_format",
           "IMAGE_FORMATS"]

IMAGE_FORMATS = ("png", "svg", "pdf")
DOT_SUFFIXES = ("dot", "gv")

# style -> (Graphviz shape, fill colour); the matplotlib drawing uses the same.
STYLES: dict[str, tuple[str, str]] = {
    "tensor": ("ellipse", "#fbe3c0"),   # an intermediate value (DeZero's orange)
    "leaf": ("ellipse", "#f9c98d"),     # a tensor the user made (requires grad)
    "param": ("ellipse", "#f2c4c4"),    # a Parameter
    "const": ("ellipse", "#e8e8e8"),    # a constant (no grad)
    "op": ("box", "#cfe2f3"),           # a Function
    "input": ("box", "#d5ecd4"),        # a model input
    "layer": ("box", "#cfe2f3"),        # a layer
    "merge": ("box", "#e4d7f0"),        # a merge layer
}
FONT_SIZE = 9.0
LINE_HEIGHT = 1.3  # in units of the font size


@dataclass
class GraphNode:
    """One box of the drawing: an id unique in its graph, label lines, and a style."""

    id: str
    lines: list[str]
    style: str = "layer"


@dataclass
class Graph:
    """Nodes and directed edges ``(source id, target id)``, drawn top to bottom."""

    name: str
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: Graph) -> str:
    """The Graphviz DOT text of ``g`` (``dot -Tpng`` draws it)."""
    lines = [f"digraph {_quote(g.name)} {{",
             "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10, style=filled, penwidth=0.8];',
             "  edge [arrowsize=0.7];"]
    for n in g.nodes:
        shape, fill = STYLES.get(n.style, STYLES["layer"])
        style = ', style="filled,rounded"' if shape == "box" else ""
        lines.append(f"  {_quote(n.id)} [label={_quote(chr(10).join(n.lines))}, "
                     f'shape={shape}, fillcolor="{fill}"{style}];')
    for u, v in g.edges:
        lines.append(f"  {_quote(u)} -> {_quote(v)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def file_format(path: str | os.PathLike[str]) -> str:
    """The format a path's suffix asks for (png, svg, pdf, dot, gv); ValueError otherwise."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in (*IMAGE_FORMATS, *DOT_SUFFIXES):
        raise ValueError(f"path: unknown format {path.suffix!r} for {path}; expected one of "
                         f"{', '.join('.' + f for f in (*IMAGE_FORMATS, *DOT_SUFFIXES))}")
    return fmt


def write_graph(g: Graph, path: str | os.PathLike[str] | None, engine: str = "auto",
                dpi: float = 150) -> str:
    """Write ``g`` to ``path`` (.dot/.gv text, or a .png/.svg/.pdf picture); returns the DOT.

    Args:
        engine: "auto" (Graphviz's ``dot`` when it is on PATH, else matplotlib), "dot"
            or "matplotlib".
        dpi: resolution of a PNG.
    """
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    text = to_dot(g)
    if path is None:
        return text
    p = Path(path)
    fmt = file_format(p)
    if fmt in DOT_SUFFIXES:
        with atomic_open(p, "w") as f:
            f.write(text)
        return text
    exe = shutil.which("dot") if engine in ("auto", "dot") else None
    if engine == "dot" and exe is None:
        raise RuntimeError("engine='dot' needs Graphviz's dot executable on PATH "
                           "(e.g. apt install graphviz); engine='matplotlib' needs only "
                           "the [plot] extra")
    if exe is not None:
        err = _render_with_dot(exe, text, fmt, p, dpi)
        if err is None:
            return text
        if engine == "dot":
            raise RuntimeError(f"Graphviz's dot failed: {err}")
        warnings.warn(f"Graphviz's dot failed ({err}); drawing with matplotlib instead",
                      RuntimeWarning, stacklevel=3)
    render(g, p, dpi)
    return text


def _render_with_dot(exe: str, text: str, fmt: str, path: Path, dpi: float) -> str | None:
    """Run ``dot``; returns None on success or the reason it failed."""
    try:
        r = subprocess.run([exe, f"-T{fmt}", f"-Gdpi={dpi:g}"], input=text.encode(),
                           capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if r.returncode != 0 or not r.stdout:
        msg = r.stderr.decode(errors="replace").strip().splitlines()
        return f"exit code {r.returncode}" + (f": {msg[-1]}" if msg else "")
    with atomic_open(path, "wb") as f:
        f.write(r.stdout)
    return None


def _measure(lines: list[str], renderer: Any) -> tuple[float, float]:
    """Width and height in inches of the text lines at FONT_SIZE (``renderer`` at 72 dpi)."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family="DejaVu Sans", size=FONT_SIZE)
    w = max((renderer.get_text_width_height_descent(s, prop, ismath=False)[0]
             for s in lines if s), default=0.0)
    return w / 72.0, len(lines) * FONT_SIZE * LINE_HEIGHT / 72.0


def render(g: Graph, path: str | os.PathLike[str] | None = None, dpi: float = 150) -> Any:
    """Draw ``g`` with matplotlib; returns the Figure (saved to ``path`` when given)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
    from matplotlib.figure import Figure

    sizes, shapes = {}, {}
    renderer = RendererAgg(1, 1, 72)  # for text sizes: 1 pixel = 1 point
    for n in g.nodes:
        w, h = _measure(n.lines, renderer)
        shape = STYLES.get(n.style, STYLES["layer"])[0]
        pad = (0.45, 0.22) if shape == "ellipse" else (0.22, 0.14)
        sizes[n.id] = (max(w + pad[0], 0.5), h + pad[1])
        shapes[n.id] = shape
    lay = layered_layout([n.id for n in g.nodes], g.edges, sizes)
    margin = 0.15
    fw, fh = lay.width + 2 * margin, lay.height + 2 * margin
    dpi = min(float(dpi), 30000.0 / max(fw, fh, 1.0))  # keep the picture under 30k pixels
    fig = Figure(figsize=(fw, fh), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, lay.width + margin)
    ax.set_ylim(lay.height + margin, -margin)
    ax.set_axis_off()
    _spread_ports(g, lay, sizes, shapes)
    _draw_edges(ax, g, lay)
    for n in g.nodes:
        _draw_node(ax, n, lay.pos[n.id], sizes[n.id], shapes[n.id])
    if path is not None:
        save_figure(fig, path)
    return fig


def _spread_ports(g: Graph, lay: Any, sizes: dict[str, tuple[float, float]],
                  shapes: dict[str, str]) -> None:
    """Spread the ends of edges that meet at one box along its top (or bottom) edge,
    ordered by where they come from, so that arrows don't pile up at one point."""
    ends: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for k, (u, v) in enumerate(g.edges):
        pts = lay.routes[k]
        ends.setdefault((v, -1), []).append((pts[-2][0], k))
        ends.setdefault((u, 0), []).append((pts[1][0], k))
    for (n, at), group in ends.items():
        if len(group) < 2:
            continue
        (x, y), (w, h) = lay.pos[n], sizes[n]
        step = min(0.2, 0.5 * w / len(group))
        for j, (_, k) in enumerate(sorted(group)):
            dx = (j - (len(group) - 1) / 2) * step
            half = h / 2
            if shapes[n] == "ellipse":
                half *= max(0.0, 1.0 - (2 * dx / w) ** 2) ** 0.5
            lay.routes[k][at] = (x + dx, y + (half if at == 0 else -half))


def _draw_node(ax: Any, n: GraphNode, xy: tuple[float, float], size: tuple[float, float],
               shape: str) -> None:
    from matplotlib.patches import Ellipse, FancyBboxPatch

    fill = STYLES.get(n.style, STYLES["layer"])[1]
    (x, y), (w, h) = xy, size
    if shape == "ellipse":
        patch = Ellipse((x, y), w, h, facecolor=fill, edgecolor="#333333", lw=0.8, zorder=2)
    else:
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                               boxstyle="round,pad=0,rounding_size=0.06", facecolor=fill,
                               edgecolor="#333333", lw=0.8, zorder=2)
    ax.add_patch(patch)
    ax.text(x, y, "\n".join(n.lines), ha="center", va="center", fontsize=FONT_SIZE,
            family="DejaVu Sans", linespacing=LINE_HEIGHT, zorder=3)


def _draw_edges(ax: Any, g: Graph, lay: Any) -> None:
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MPath

    for pts in lay.routes:  # repeated edges (x * x) are apart: their ends were spread
        verts, codes = [pts[0]], [MPath.MOVETO]
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
            dy = (y1 - y0) / 2  # a cubic with vertical tangents at both ends, as dot draws
            verts += [(x0, y0 + dy), (x1, y1 - dy), (x1, y1)]
            codes += [MPath.CURVE4] * 3
        path = MPath(verts, codes)
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=9,
                                     color="#444444", lw=0.8, shrinkA=0, shrinkB=0,
                                     zorder=1))

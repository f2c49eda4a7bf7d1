"""A small layered (Sugiyama-style) layout for drawing DAGs without Graphviz.

The four classic steps, each kept simple:

1. layers: longest path from the sources; a source is then pulled down to sit just above
   its first consumer (so a constant such as the ``3`` of ``3 * u`` sits next to its op);
2. long edges are split by dummy nodes, one per layer they cross;
3. order within a layer: barycentre sweeps down and up, keeping the order with the fewest
   crossings;
4. x coordinates: each sweep moves every node towards the mean x of its neighbours, as
   close as the minimum spacing allows (an exact least-squares fit with the order kept:
   isotonic regression by pool-adjacent-violators).

Units are whatever ``sizes`` is in (the renderer uses inches); y grows downwards.
Pure Python: no NumPy, no matplotlib.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

__all__ = ["Layout", "layered_layout", "topological_order", "count_crossings"]

Node = Hashable


class _Dummy:
    """A bend point of an edge that crosses a layer."""

    __slots__ = ()


@dataclass
class Layout:
    """Node centres, edge routes (through the dummy nodes) and the drawing's extent."""

    pos: dict[Node, tuple[float, float]]
    layer: dict[Node, int]
    routes: list[list[tuple[float, float]]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def topological_order(nodes: Sequence[Node], edges: Sequence[tuple[Node, Node]]) -> list[Node]:
    """Kahn's algorithm, stable in the order ``nodes`` are given.

    Raises:
        ValueError: when the edges contain a cycle (naming the nodes on it).
    """
    indeg = {n: 0 for n in nodes}
    succ: dict[Node, list[Node]] = {n: [] for n in nodes}
    for u, v in edges:
        succ[u].append(v)
        indeg[v] += 1
    rank = {n: i for i, n in enumerate(nodes)}
    ready = [n for n in nodes if indeg[n] == 0]
    out: list[Node] = []
    while ready:
        ready.sort(key=rank.__getitem__, reverse=True)
        n = ready.pop()
        out.append(n)
        for v in succ[n]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if len(out) != len(nodes):
        stuck = [n for n in nodes if indeg[n] > 0]
        raise ValueError(f"the graph has a cycle through {stuck[:6]}")
    return out


def _layers(order: list[Node], edges: Sequence[tuple[Node, Node]]) -> dict[Node, int]:
    layer = {n: 0 for n in order}
    preds: dict[Node, list[Node]] = {n: [] for n in order}
    succs: dict[Node, list[Node]] = {n: [] for n in order}
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
    for n in order:
        if preds[n]:
            layer[n] = max(layer[u] for u in preds[n]) + 1
    for n in order:  # pull sources down next to their first consumer
        if not preds[n] and succs[n]:
            layer[n] = max(0, min(layer[v] for v in succs[n]) - 1)
    return layer


def count_crossings(upper: list[Node], lower: list[Node],
                    edges: Sequence[tuple[Node, Node]]) -> int:
    """Edge crossings between two adjacent layers (edges from ``upper`` to ``lower``)."""
    iu = {n: i for i, n in enumerate(upper)}
    il = {n: i for i, n in enumerate(lower)}
    seg = sorted((iu[u], il[v]) for u, v in edges if u in iu and v in il)
    total = 0
    for a in range(len(seg)):
        for b in range(a + 1, len(seg)):
            if seg[a][0] < seg[b][0] and seg[a][1] > seg[b][1]:
                total += 1
    return total


def _total_crossings(rows: list[list[Node]], edges: list[tuple[Node, Node]]) -> int:
    return sum(count_crossings(rows[i], rows[i + 1], edges) for i in range(len(rows) - 1))


def _sweep(rows: list[list[Node]], nbrs: dict[Node, list[Node]], down: bool) -> None:
    idx = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
    for i in idx:
        ref = rows[i - 1] if down else rows[i + 1]
        where = {n: j for j, n in enumerate(ref)}

        def key(jn: tuple[int, Node], where: dict[Node, int] = where) -> float:
            j, n = jn
            near = [where[m] for m in nbrs[n] if m in where]
            return sum(near) / len(near) if near else float(j)

        rows[i] = [n for _, n in sorted(enumerate(rows[i]), key=key)]


def _isotonic(target: list[float]) -> list[float]:
    """The non-decreasing sequence closest to ``target`` in least squares (PAV)."""
    blocks: list[list[float]] = []  # [sum, count]
    for t in target:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out: list[float] = []
    for s, c in blocks:
        out += [s / c] * int(c)
    return out


def _place(row: list[Node], want: dict[Node, float], width: dict[Node, float],
           gap: float) -> dict[Node, float]:
    """x of each node in ``row``: closest to ``want`` with the order and spacing kept."""
    offsets, acc = [], 0.0
    for j, n in enumerate(row):
        if j:
            acc += (width[row[j - 1]] + width[n]) / 2 + gap
        offsets.append(acc)
    fit = _isotonic([want[n] - o for n, o in zip(row, offsets, strict=True)])
    return {n: f + o for n, f, o in zip(row, fit, offsets, strict=True)}


def _anchors(near: list[Node], preds: dict[Node, list[Node]]) -> list[Node]:
    """The neighbours a node should line up with: sources (weights, constants) hang beside
    the chain they feed instead of pulling it sideways, unless they are all there is."""
    inner = [m for m in near if preds[m]]
    return inner or near


def layered_layout(nodes: Sequence[Node], edges: Sequence[tuple[Node, Node]],
                   sizes: dict[Node, tuple[float, float]], gap_x: float = 0.3,
                   gap_y: float = 0.45, sweeps: int = 6) -> Layout:
    """Positions for drawing the DAG ``(nodes, edges)`` top to bottom.

    Args:
        nodes: the nodes, in a preferred order (ties keep it).
        edges: ``(u, v)`` pairs, u drawn above v; repeated pairs are allowed.
        sizes: ``(width, height)`` of each node's box.
        gap_x, gap_y: the minimum space between boxes side by side and between layers.
        sweeps: rounds of ordering and of coordinate refinement.

    Returns:
        A :class:`Layout`: box centres, one route per edge (in ``edges`` order) from the
        bottom of its source box to the top of its target box, and the total extent.
    """
    order = topological_order(list(nodes), edges)
    layer = _layers(order, edges)
    width = {n: sizes[n][0] for n in order}
    height = {n: sizes[n][1] for n in order}
    chains: list[list[Node]] = []  # each edge as source, dummies..., target
    all_edges: list[tuple[Node, Node]] = []
    for u, v in edges:
        chain = [u]
        for lv in range(layer[u] + 1, layer[v]):
            d = _Dummy()
            layer[d], width[d], height[d] = lv, 0.0, 0.0
            chain.append(d)
        chain.append(v)
        chains.append(chain)
        all_edges += list(zip(chain[:-1], chain[1:], strict=True))
    n_layers = max(layer.values(), default=-1) + 1
    rows: list[list[Node]] = [[] for _ in range(n_layers)]
    for n in [*order, *(d for c in chains for d in c[1:-1])]:
        rows[layer[n]].append(n)
    preds: dict[Node, list[Node]] = {n: [] for n in layer}
    succs: dict[Node, list[Node]] = {n: [] for n in layer}
    for u, v in all_edges:
        preds[v].append(u)
        succs[u].append(v)
    best, best_c = [list(r) for r in rows], _total_crossings(rows, all_edges)
    for _ in range(sweeps):
        _sweep(rows, preds, down=True)
        _sweep(rows, succs, down=False)
        c = _total_crossings(rows, all_edges)
        if c < best_c:
            best, best_c = [list(r) for r in rows], c
    rows = best
    x: dict[Node, float] = {}
    for row in rows:
        x.update(_place(row, {n: 0.0 for n in row}, width, gap_x))
    for it in range(2 * sweeps):
        down = it % 2 == 0
        for row in (rows if down else rows[::-1]):
            nb = preds if down else succs
            want = {}
            for n in row:
                near = _anchors(nb[n] or (succs[n] if down else preds[n]), preds)
                want[n] = sum(x[m] for m in near) / len(near) if near else x[n]
            x.update(_place(row, want, width, gap_x))
    for _ in range(2 * sweeps):  # then balance: between the neighbours above and below
        for row in rows:
            want = {}
            for n in row:
                near = _anchors(preds[n] + succs[n], preds)
                want[n] = sum(x[m] for m in near) / len(near) if near else x[n]
            x.update(_place(row, want, width, gap_x))
    return _finish(rows, x, width, height, chains, gap_y)


def _finish(rows: list[list[Node]], x: dict[Node, float], width: dict[Node, float],
            height: dict[Node, float], chains: list[list[Node]], gap_y: float) -> Layout:
    left = min((x[n] - width[n] / 2 for r in rows for n in r), default=0.0)
    right = max((x[n] + width[n] / 2 for r in rows for n in r), default=0.0)
    y: dict[Node, float] = {}
    top = 0.0
    for row in rows:
        h = max((height[n] for n in row), default=0.0)
        for n in row:
            y[n] = top + h / 2
        top += h + gap_y
    pos = {n: (x[n] - left, y[n]) for r in rows for n in r}
    routes = []
    for chain in chains:
        u, v = chain[0], chain[-1]
        pts = [(pos[u][0], pos[u][1] + height[u] / 2)]
        pts += [pos[d] for d in chain[1:-1]]
        pts.append((pos[v][0], pos[v][1] - height[v] / 2))
        routes.append(pts)
    real = {n: p for n, p in pos.items() if not isinstance(n, _Dummy)}
    layer = {n: i for i, r in enumerate(rows) for n in r if n in real}
    return Layout(pos=real, layer=layer, routes=routes, width=right - left,
                  height=max(top - gap_y, 0.0))

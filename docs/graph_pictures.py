"""Regenerate the README's graph pictures: docs/graph_J.png and docs/model_resnet.png.

graph_J.png: the course's computation graph J = 3(a + bc), as deepgrad recorded it
(``dg.viz.plot_graph``). model_resnet.png: the small ResNet of examples/resnet.py
(``dg.viz.plot_model``), its identity and projection shortcuts side by side.

Run:  python docs/graph_pictures.py            (drawn with Graphviz's dot when it is on
      PATH, else with matplotlib; --engine matplotlib forces the latter)
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import deepgrad as dg
import deepgrad.viz

DOCS = Path(__file__).resolve().parent


def course_graph() -> dg.Tensor:
    """J = 3(a + bc) with the course's values a = 5, b = 3, c = 2 and names u = bc, v = a + u."""
    a, b, c = (dg.tensor(x, requires_grad=True, name=n) for x, n in
               ((5.0, "a"), (3.0, "b"), (2.0, "c")))
    u = b * c
    u.name = "u"
    v = a + u
    v.name = "v"
    J = 3 * v
    J.name = "J"
    return J


def resnet() -> dg.nn.Model:
    path = DOCS.parent / "examples" / "resnet.py"
    spec = importlib.util.spec_from_file_location("resnet_example", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["resnet_example"] = mod
    spec.loader.exec_module(mod)
    return mod.resnet_functional((1, 28, 28))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engine", default="auto", choices=("auto", "dot", "matplotlib"))
    args = p.parse_args(argv)
    J = course_graph()
    assert J.item() == 33.0  # 3 * (5 + 3 * 2)
    dg.viz.plot_graph(J, DOCS / "graph_J.png", show_values=True, engine=args.engine, dpi=110)
    dg.viz.plot_model(resnet(), DOCS / "model_resnet.png", engine=args.engine, dpi=90)
    print(f"wrote {DOCS / 'graph_J.png'} and {DOCS / 'model_resnet.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

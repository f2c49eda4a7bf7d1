"""The dependency direction of STYLE.md, checked by parsing every import in the package.

A -> B means B may import A:
  _config, backend, _random, _fileio, _accel, _threads -> autograd
  -> losses, metrics, nn, optim, testing -> io, onnx, distributed -> train, callbacks -> viz, cli;
  sklearn may import what cli may (it reuses cli.layers' layer lists);
  backend -> data (imported by distributed and above);  course imports nothing.
(io sits below train, not above as in STYLE.md's first sketch: a checkpoint callback
saves models, and saving needs only nn and optim.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import deepgrad

PKG = Path(deepgrad.__file__).parent
BASE = {"_config", "backend", "_random", "_fileio", "_accel", "_threads"}
ENGINE = BASE | {"autograd"}
MODEL = ENGINE | {"losses", "metrics", "nn", "optim", "testing"}
TRAIN = MODEL | {"io", "onnx", "data", "distributed", "train", "callbacks"}
ALLOWED: dict[str, set[str]] = {
    "_config": set(),
    "_random": set(),
    "_fileio": set(),
    "_accel": set(),
    "_threads": set(),
    "backend": set(),
    "autograd": ENGINE,
    "losses": ENGINE,
    "metrics": ENGINE,
    "testing": ENGINE,
    "optim": ENGINE,  # never nn
    "nn": ENGINE | {"losses"},
    "data": BASE,
    "train": TRAIN,
    "callbacks": TRAIN,
    "io": MODEL | {"io"},
    "onnx": MODEL | {"io", "onnx"},  # a table onto existing ops and layers; never train
    "distributed": MODEL | {"data", "distributed"},  # never train or cli (fit calls it)
    "viz": TRAIN | {"viz"},
    "cli": TRAIN | {"viz", "cli"},
    "sklearn": TRAIN | {"viz", "cli", "sklearn"},  # scikit-learn estimators; cli.layers lists
    "course": set(),
}
TOP = {"__init__", "__main__"}


def _group(path: Path, pkg: Path = PKG) -> str:
    rel = path.relative_to(pkg)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, pkg: Path = PKG) -> list[tuple[int, str]]:
    """Absolute dotted names of every deepgrad module this file imports (lazy ones too)."""
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = ["deepgrad", *path.relative_to(pkg).with_suffix("").parts]
    if pkg_parts[-1] == "__init__":
        pkg_parts = pkg_parts[:-1]
    else:
        pkg_parts = pkg_parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if node.module is None or mod == "deepgrad":
                found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, mod))
    return [(ln, m) for ln, m in found if m == "deepgrad" or m.startswith("deepgrad.")]


def test_every_module_group_is_known():
    groups = {_group(p) for p in PKG.rglob("*.py")} - TOP
    unknown = groups - set(ALLOWED)
    assert not unknown, f"add these to the layering table (and STYLE.md): {sorted(unknown)}"


def _violations(pkg: Path) -> list[str]:
    bad = []
    for path in sorted(pkg.rglob("*.py")):
        group = _group(path, pkg)
        if group in TOP:
            continue
        for line, mod in _imports(path, pkg):
            parts = mod.split(".")
            if len(parts) < 2:
                bad.append(f"{path.relative_to(pkg)}:{line} imports the top-level package")
                continue
            target = parts[1]
            if target == group and group != "course":
                continue
            if group == "course" and target == "course":
                continue
            if target not in ALLOWED.get(group, set()):
                bad.append(f"{path.relative_to(pkg)}:{line} ({group}) imports {mod}")
    return bad


def test_imports_follow_the_dependency_direction():
    bad = _violations(PKG)
    assert not bad, "imports against the dependency direction:\n" + "\n".join(bad)


def test_the_checker_catches_a_violation(tmp_path):
    fake = tmp_path / "deepgrad"
    (fake / "autograd").mkdir(parents=True)
    (fake / "course").mkdir()
    (fake / "autograd" / "x.py").write_text(
        "from ..nn import Module\nimport deepgrad.train\nfrom .. import backend\n"
    )
    (fake / "course" / "y.py").write_text("def f():\n    from ..backend import sum_to\n")
    mods = [m for _, m in _imports(fake / "autograd" / "x.py", fake)]
    assert mods == ["deepgrad.nn", "deepgrad.train", "deepgrad.backend"]
    bad = _violations(fake)
    assert len(bad) == 3 and "imports deepgrad.nn" in bad[0] and "(course)" in bad[2]

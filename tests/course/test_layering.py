"""deepgrad.course imports nothing from the rest of deepgrad; h5py only inside a function."""

import ast
from pathlib import Path

import deepgrad.course

COURSE = Path(deepgrad.course.__file__).parent
ALLOWED_TOP_LEVEL = {"__future__", "copy", "os", "pathlib", "numpy"}


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node, ("." * node.level) + (node.module or "")


def test_course_imports_only_numpy_stdlib_and_itself():
    for path in sorted(COURSE.glob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = set(tree.body)
        for node, name in _imports(tree):
            if name.startswith("."):
                assert not name.startswith(".."), f"{path.name} imports {name}"
                continue
            assert not name.startswith("deepgrad"), f"{path.name} imports {name}"
            if name == "h5py":
                assert node not in top_level, f"{path.name} imports h5py at module level"
                continue
            assert name.split(".")[0] in ALLOWED_TOP_LEVEL, f"{path.name} imports {name}"

"""`import deepgrad` imports NumPy and the standard library only, with no side effects."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import sys, json
before = set(sys.modules)
import deepgrad
new = sorted(set(sys.modules) - before)
print(json.dumps(new))
"""


def test_import_pulls_only_numpy_and_stdlib():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stderr == ""
    new = json.loads(out.stdout)
    stdlib = sys.stdlib_module_names
    third_party = {
        m.split(".")[0] for m in new
        if m.split(".")[0] not in stdlib and not m.startswith(("deepgrad", "numpy", "_"))
        and m != "cython_runtime"  # created by numpy.random's compiled modules
    }
    assert third_party == set(), f"import deepgrad pulled in {sorted(third_party)}"
    for optional in ("cupy", "matplotlib", "h5py", "torch", "tqdm", "yaml", "scipy"):
        assert optional not in new


def test_public_ops_have_docstrings():
    import deepgrad as dg

    names = [
        "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "log1p", "sqrt",
        "abs", "maximum", "minimum", "clip", "where", "tanh", "sigmoid", "relu", "leaky_relu",
        "softmax", "log_softmax", "sum", "mean", "max", "min", "var", "reshape", "transpose",
        "swapaxes", "permute", "flatten", "getitem", "concatenate", "stack", "pad",
        "broadcast_to", "gradcheck", "gradcheck_directional", "tensor", "no_grad",
    ]
    missing = [n for n in names if not (getattr(dg, n).__doc__ or "").strip()]
    assert not missing

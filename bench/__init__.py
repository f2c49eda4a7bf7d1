"""Benchmarks of deepgrad against PyTorch and scikit-learn (``python -m bench``).

Not part of the package and not run by the test suite; see ``bench/README.md``.
"""

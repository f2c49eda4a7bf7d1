"""The ``deepgrad`` command line: train from a YAML/JSON config, evaluate, predict, summary,
datasets and gradcheck. Entry point: :func:`deepgrad.cli.main.main` (``python -m deepgrad``).

Nothing in the package imports this one (it sits at the top of the layering).
"""

from __future__ import annotations

from .errors import CLIError, ConfigError

__all__ = ["CLIError", "ConfigError", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    from .main import main as _main

    return _main(argv)

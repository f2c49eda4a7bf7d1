"""The errors the command line reports as one line on stderr with exit code 2."""

from __future__ import annotations

__all__ = ["CLIError", "ConfigError"]


class CLIError(Exception):
    """A user-facing error: a missing file, bad data, a model file that can't be read.

    ``str(e)`` is the one-line message printed after ``deepgrad: error:``.
    """


class ConfigError(CLIError):
    """A configuration problem at ``path`` (a key path such as ``model[2].dense.units``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

"""``python -m deepgrad``: the command line (see ``deepgrad --help``)."""

from __future__ import annotations

import sys

from deepgrad.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

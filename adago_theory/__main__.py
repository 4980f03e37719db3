"""``python -m adago_theory …`` runs the command-line interface (the same as ``adago-theory …``)."""

import sys

from .app.cli import main

if __name__ == "__main__":
    sys.exit(main())

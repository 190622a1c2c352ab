"""``python -m cnfutures.cli``: the ``cnfutures`` command."""

from __future__ import annotations

import sys

from cnfutures.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

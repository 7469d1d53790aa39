"""``python -m gatewayops``: the `gatewayops` command line, for when the console script is
not on ``PATH`` (the same `gatewayops.cli.main`, the same output and exit codes).

Must not know: anything but where `main` is.
"""

from __future__ import annotations

import sys

from gatewayops.cli import main

if __name__ == "__main__":
    sys.exit(main())

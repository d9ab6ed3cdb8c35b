"""The `gatehouse` command, one module per noun; each registers its commands on `main`."""

from __future__ import annotations

from core.cli import admin, audit, evidence, gates, models, setup, trail, users  # noqa: F401  (registers the commands)

# isort: off
from core.cli import findings  # noqa: F401
from core.cli import policy  # noqa: F401
from core.cli import report  # noqa: F401
from core.cli import risk  # noqa: F401
from core.cli import monitor  # noqa: F401

# isort: on
from core.cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()

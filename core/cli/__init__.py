"""The `gatehouse` command, one module per noun; each registers its commands on `main`."""

from __future__ import annotations

from core.cli import audit, evidence, models, setup, users  # noqa: F401  (registers the commands)
from core.cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()

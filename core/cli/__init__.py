"""The `gatehouse` command, one module per noun; each registers its commands on `main` when
``core.cli.base.COMMAND_MODULES`` imports it, the first time one of its commands runs."""

from __future__ import annotations

from core.cli.base import main

__all__ = ["main"]

if __name__ == "__main__":
    main()

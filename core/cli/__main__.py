"""`python -m core.cli` runs the `gatehouse` command."""

from core.cli import main

main()

"""Shared display pieces for pages: actions, text for where it lands, pickers, evidence display.

Pages import the piece they need (``from app.ui import attempt``, ``from app.ui import evidence``);
the plotly figures live in ``app.charts``.
"""

from __future__ import annotations

from app.ui.actions import attempt, show_problems
from app.ui.text import (
    DASH,
    escape_html,
    escape_label,
    escape_markdown,
    plain_text,
)

__all__ = [
    "DASH",
    "attempt",
    "escape_html",
    "escape_label",
    "escape_markdown",
    "plain_text",
    "show_problems",
]

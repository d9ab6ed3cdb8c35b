"""Former home of the evidence display, kept so older imports (app/server.py's preload) work.

New code imports ``app.ui`` (text, pickers, evidence, tables, fairness) and ``app.charts``.
"""

from __future__ import annotations

from app.charts.evidence import *  # noqa: F403
from app.ui.evidence import *  # noqa: F403
from app.ui.fairness import *  # noqa: F403
from app.ui.pickers import *  # noqa: F403
from app.ui.tables import *  # noqa: F403
from app.ui.text import *  # noqa: F403

"""Former home of the explanation display, kept so older imports (app/server.py's preload) work.

New code imports ``app.ui.explanations`` and ``app.charts.explanations``.
"""

from __future__ import annotations

from app.charts.explanations import *  # noqa: F403
from app.ui.explanations import *  # noqa: F403

"""ASGI entry: Streamlit plus the session-cookie and health routes. Run by `gatehouse serve`.

The process's background worker starts with the server and stops with it: on SIGTERM the
server stops (uvicorn), and the lifespan's exit stops the worker, whose job finishes or goes back
to the queue within ``SHUTDOWN_GRACE`` seconds.
"""

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from app.cookie_routes import ROUTES
from core.files.sandbox import stop_server
from core.logging_setup import configure_logging
from core.services.background_worker import shutdown_background_worker, start_background_worker

configure_logging()
log = logging.getLogger("app.server")

# The evidence pages need scikit-learn, SHAP and plotly (several seconds to import): load them
# while the server starts, not during the first person's page view.
for module in ("app.evidence_view", "app.explanation_view"):
    importlib.import_module(module)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Run this process's job worker while the server runs; stop it gracefully on shutdown."""
    start_background_worker()  # also runs jobs left queued by a previous process
    log.info("Gatehouse server started")
    try:
        yield
    finally:
        log.info("Gatehouse server stopping")
        await asyncio.to_thread(shutdown_background_worker)
        stop_server()  # the model sandbox's fork server goes with the process
        log.info("Gatehouse server stopped")


app = st.App(Path(__file__).resolve().with_name("main.py"), routes=ROUTES, lifespan=lifespan)

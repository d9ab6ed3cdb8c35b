"""ASGI entry: Streamlit plus the session-cookie routes. Run by `gatehouse serve`."""

import importlib
from pathlib import Path

import streamlit as st

from app.cookie_routes import ROUTES

# The evidence pages need scikit-learn, SHAP and plotly (several seconds to import): load them
# while the server starts, not during the first person's page view.
for module in ("app.evidence_view", "app.explanation_view"):
    importlib.import_module(module)

app = st.App(Path(__file__).resolve().with_name("main.py"), routes=ROUTES)

"""ASGI entry: Streamlit plus the session-cookie routes. Run by `gatehouse serve`."""

from pathlib import Path

import streamlit as st

from app.cookie_routes import ROUTES

app = st.App(Path(__file__).resolve().with_name("main.py"), routes=ROUTES)

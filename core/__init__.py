"""Gatehouse core: the domain, database, services and metrics. Never imports Streamlit."""

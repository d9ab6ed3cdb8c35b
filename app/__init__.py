"""The Streamlit shell: entrypoint, session state, navigation and shared UI pieces."""

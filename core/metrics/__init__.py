"""Pure metric computations: arrays or DataFrames in, frozen result dataclasses out.

Each module keeps its own small public API (see its ``__all__``): ``performance`` for
model performance, ``fairness`` for group fairness, ``counts`` for the shared group
encoding and confusion counts, ``bootstrap`` for confidence intervals. Nothing here
touches a database, a file or Streamlit.
"""

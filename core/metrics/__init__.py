"""Pure measurement: arrays or DataFrames in, frozen result dataclasses out; no judgement.

Each module keeps its own small public API (see its ``__all__``): ``performance`` for model
performance (with ``performance_results``, ``performance_summary`` and ``cell_statistics``
behind it), ``fairness`` (a package) for group fairness, ``inputs`` for checking and encoding
inputs, ``counts`` for per-group confusion counts, ``bootstrap`` for confidence intervals,
``options`` for the options every metric takes, ``plain`` for plain JSON. Whether a figure
passes a threshold is ``core.rules``'s decision. Nothing here touches a database, a file or
Streamlit.
"""

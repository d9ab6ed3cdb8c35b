"""Opening a model from a table, in the same browser tab.

``st.column_config.LinkColumn`` always opens its links in a new browser tab, which leaves a
trail of tabs behind and starts the whole app again in each. So tables show an "Open" cell instead: the table
reacts to a selected cell, and selecting the Open cell (or the model's name) switches to the
Model page in this tab, with ``?model=`` in the URL so the address can still be shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import streamlit as st

from app.navigation import page_path

__all__ = ["OPEN", "OPEN_SELECTION", "open_column", "open_selected_model"]

OPEN = "Open"
#: ``st.dataframe(..., **OPEN_SELECTION)``: one cell at a time, rerun on selection.
OPEN_SELECTION: dict[str, Any] = {"on_select": "rerun", "selection_mode": "single-cell"}


def open_column() -> Any:
    """The column config of the Open cells: narrow, unlabelled, plain text."""
    return st.column_config.TextColumn("", width="small", help="Open the model in this tab")


def open_selected_model(event: Any, model_ids: Sequence[int], *, columns: Iterable[str]) -> None:
    """Switch to the Model page of the selected row when a cell of ``columns`` was selected."""
    cells = getattr(getattr(event, "selection", None), "cells", None) or []
    wanted = set(columns)
    for row, column in cells:
        if column in wanted and 0 <= int(row) < len(model_ids):
            st.switch_page(page_path("model.py"), query_params={"model": str(model_ids[int(row)])})

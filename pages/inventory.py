"""Inventory: every model, filtered, sorted and paged in the database, now or as of a date."""

from datetime import UTC, date, datetime, time

import pandas as pd
import streamlit as st

from app import session as user_session
from app.risk_view import tier_label
from app.ui import attempt, plain_text
from app.ui.actions import read_outside_the_run
from app.ui.dates import typed_day_input
from app.ui.links import OPEN, OPEN_SELECTION, open_column, open_selected_model
from core.services.inventory import (
    InventoryFacets,
    InventoryFilter,
    export_inventory_csv,
    inventory_facets,
    query_inventory,
)
from core.services.risk import risk_columns

#: The inventory's optional columns, in the order they are shown, with their headers.
COLUMNS = {
    "stage": "Stage",
    "risk_tier": "Risk tier",
    "version": "Version",
    "next_review": "Next review",
    "open_findings": "Open findings",
    "gate_status": "Gates",
    "overdue": "Overdue",
    "needs_review": "Needs review",
    "business_unit": "Business unit",
    "owner": "Owner",
    "purpose": "Purpose",
}

user = user_session.signed_in_user()
st.title("Inventory")

facets = attempt(lambda s: inventory_facets(session=s)) or InventoryFacets((), (), (), ())
with st.container(border=True):
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
    text = c1.text_input("Search name, purpose, tags", key="inv_text")
    stages = c2.multiselect("Stage", facets.stages, key="inv_stages")
    tiers = c3.multiselect("Risk tier", facets.tiers, key="inv_tiers")
    units = c4.multiselect("Business unit", facets.business_units, key="inv_units")
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
    owners = c1.multiselect("Owner", facets.owners, key="inv_owners")
    sort = c2.selectbox(
        "Sort by",
        ["name", "stage", "risk_tier", "business_unit", "next_review", "open_findings"],
        key="inv_sort",
    )
    descending = c3.toggle("Descending", key="inv_desc")
    overdue = c4.toggle("Overdue reviews only", key="inv_overdue")
    # Typed or picked; a typed date applies on Enter (Streamlit's date field waits for a blur).
    as_of_day = typed_day_input(
        "As of (end of day, UTC); empty for now", key="inv_as_of", latest=date.today()
    )

as_of = datetime.combine(as_of_day, time.max, tzinfo=UTC) if as_of_day else None
filters = InventoryFilter(
    text=text, tiers=tiers, stages=stages, owners=owners, business_units=units, overdue=overdue
)
page_size = 50
# A new filter starts again at the first page.
if st.session_state.get("inv_filters") != (filters, sort, descending, as_of):
    st.session_state["inv_filters"] = (filters, sort, descending, as_of)
    st.session_state["inv_page"] = 1
page_number = int(st.session_state.get("inv_page", 1))
result = attempt(
    lambda s: query_inventory(
        session=s,
        actor=user_session.actor(s),
        filters=filters,
        sort=sort,
        descending=descending,
        page=page_number,
        page_size=page_size,
        as_of=as_of,
    )
)
if result is None:
    st.session_state["inv_page"] = 1
    st.stop()

if as_of is not None:
    st.info(f"The inventory as it stood at the end of {as_of_day:%d %B %Y} (UTC).")
noun = "model matches" if result.total == 1 else "models match"
st.caption(f"{result.total:,} {noun} · page {result.page} of {result.pages}")
frame = pd.DataFrame(result.rows)
if frame.empty:
    st.write("No model matches these filters.")
else:
    frame["open"] = OPEN
    risk = attempt(lambda s: risk_columns(s, [int(i) for i in frame["id"]])) or {}
    none: dict[str, object] = {}
    frame["risk_tier"] = [
        tier_label(risk.get(i, none).get("tier"), risk.get(i, none).get("computed_tier"))
        for i in frame["id"]
    ]
    frame["overdue"] = [bool(risk.get(i, none).get("overdue")) for i in frame["id"]]
    frame["needs_review"] = [bool(risk.get(i, none).get("needs_review")) for i in frame["id"]]
    # A dash for nothing: no "None" in a cell a business reader sees.
    for column in ("purpose", "owner", "business_unit", "stage", "gate_status"):
        frame[column] = frame[column].map(plain_text)
    frame["next_review"] = frame["next_review"].map(plain_text)
    # What a reviewer asks first comes first, so it is in view at 1400 px; long text last.
    # Every column can be shown or hidden, and the choice is said above the table.
    with st.expander("Columns"):
        shown = st.multiselect(
            "Columns shown",
            list(COLUMNS),
            default=list(COLUMNS),
            format_func=COLUMNS.__getitem__,
            key="inv_columns",
        )
    hidden = [COLUMNS[c] for c in COLUMNS if c not in shown]
    if hidden:
        st.caption("Hidden columns: " + ", ".join(hidden) + ".")
    table = st.dataframe(
        frame[["open", "name", *[c for c in COLUMNS if c in shown]]],
        hide_index=True,
        width="stretch",
        key="inv_table",
        **OPEN_SELECTION,
        column_config={
            "open": open_column(),
            "name": "Model",
            "purpose": st.column_config.TextColumn("Purpose", width="large"),
            "gate_status": st.column_config.TextColumn("Gates", width="medium"),
            "owner": "Owner",
            "business_unit": "Business unit",
            "risk_tier": "Risk tier",
            "stage": "Stage",
            "version": st.column_config.NumberColumn("Version", format="v%d", width="small"),
            "next_review": st.column_config.TextColumn("Next review"),
            "overdue": st.column_config.CheckboxColumn("Overdue"),
            "needs_review": st.column_config.CheckboxColumn("Needs review"),
            "open_findings": st.column_config.NumberColumn("Open findings", width="small"),
        },
    )
    open_selected_model(table, [int(i) for i in frame["id"]], columns=("open", "name"))

c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
if c1.button("Previous", disabled=result.page <= 1, key="inv_prev"):
    st.session_state["inv_page"] = result.page - 1
    st.rerun()
if c2.button("Next", disabled=result.page >= result.pages, key="inv_next"):
    st.session_state["inv_page"] = result.page + 1
    st.rerun()

stamp = (as_of or datetime.now(UTC)).strftime("%Y-%m-%d")


def _export(excel: bool) -> bytes:
    # Runs only when the button is clicked, so the page itself never reads every row; it runs
    # outside the script run, without session state, so it uses the user read above.
    return read_outside_the_run(
        lambda s: export_inventory_csv(
            session=s, actor=user_session.actor(s, user), filters=filters, as_of=as_of, excel=excel
        )
    )


for column, excel, label in ((c3, False, "Download CSV"), (c4, True, "Download for Excel")):
    column.download_button(
        label,
        data=lambda excel=excel: _export(excel),
        file_name=f"gatehouse-inventory-{stamp}{'-excel' if excel else ''}.csv",
        mime="text/csv",
        key=f"inv_download_{excel}",
        on_click="ignore",
    )

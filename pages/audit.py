"""Audit: every event, filtered and searched, in words, with its sequence and hash; CSV export
and the chain's verification. Paged by keyset, so a million events page as fast as a hundred."""

from datetime import UTC, datetime, time

import pandas as pd
import streamlit as st

from app import session as user_session
from app.ui import attempt, escape_markdown
from app.ui.actions import read_outside_the_run
from core.services.audit import verify_chain
from core.services.audit_log import AuditFilter, audit_actions, export_events_csv, query_events
from core.services.inventory import model_choices

PAGE_SIZE = 50
CURSORS = "audit.cursors"  # the "before" sequence of each page shown so far

user = user_session.signed_in_user()
st.title("Audit trail")

actions = attempt(lambda s: audit_actions(session=s)) or []
models = [name for _, name in attempt(lambda s: model_choices(session=s)) or []]
with st.container(border=True):
    c1, c2, c3 = st.columns([3, 2, 2])
    text = c1.text_input("Search", key="audit_text", placeholder="words that must all appear")
    model = c2.selectbox("Model", models, index=None, key="audit_model", placeholder="any model")
    username = c3.text_input("User", key="audit_user", placeholder="any user, e.g. victor")
    c1, c2, c3 = st.columns([3, 2, 2])
    chosen = c1.multiselect("Action", actions, key="audit_actions", placeholder="any action")
    since = c2.date_input("From (UTC)", value=None, key="audit_since", format="YYYY-MM-DD")
    until = c3.date_input(
        "To (UTC, end of day)", value=None, key="audit_until", format="YYYY-MM-DD"
    )

filters = AuditFilter(
    model=model,
    user=username.strip() or None,
    actions=chosen,
    since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
    until=datetime.combine(until, time.max, tzinfo=UTC) if until else None,
    text=text,
)
if st.session_state.get("audit.filters") != filters:
    st.session_state["audit.filters"] = filters
    st.session_state[CURSORS] = [None]
cursors: list[int | None] = st.session_state.setdefault(CURSORS, [None])
page = attempt(
    lambda s: query_events(
        session=s, actor=user_session.actor(s), filters=filters, before=cursors[-1], limit=PAGE_SIZE
    )
)
if page is None:
    st.stop()

about = f" about {escape_markdown(model)}" if model else ""
st.caption(f"Page {len(cursors)} · {len(page.rows)} events{about}, newest first")
if not page.rows:
    st.info("No event matches these filters.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Sequence": r.sequence,
                    "When (UTC)": f"{r.occurred_at:%Y-%m-%d %H:%M:%S}",
                    "What happened": r.description,
                    "User": r.user,
                    "Action": r.action,
                    "Hash": r.hash,
                }
                for r in page.rows
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Sequence": st.column_config.NumberColumn(format="%d", width="small"),
            "What happened": st.column_config.TextColumn(width="large"),
            "Hash": st.column_config.TextColumn(
                width="medium", help="SHA-256 of the event and the one before it."
            ),
        },
    )

c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
if c1.button("Newer", disabled=len(cursors) <= 1, key="audit_newer"):
    cursors.pop()
    st.rerun()
if c2.button("Older", disabled=page.next_cursor is None, key="audit_older"):
    cursors.append(page.next_cursor)
    st.rerun()


def _export() -> bytes:
    # Runs outside the script run (no session state): it uses the user read above.
    return read_outside_the_run(
        lambda s: export_events_csv(session=s, actor=user_session.actor(s, user), filters=filters)
    )


c3.download_button(
    "Download CSV",
    data=_export,
    file_name=f"gatehouse-audit-{datetime.now(UTC):%Y-%m-%d}.csv",
    mime="text/csv",
    key="audit_download",
    on_click="ignore",
)
if c4.button(
    "Verify the chain", key="audit_verify", help="Recomputes every event's hash in order."
):
    chain = attempt(lambda s: verify_chain(session=s))
    if chain is not None and chain.intact:
        st.success(
            f"The audit chain is intact: {chain.events:,} events verified.",
            icon=":material/verified:",
        )
    elif chain is not None:
        st.error(
            escape_markdown(chain.problem or "The audit chain does not verify."),
            icon=":material/error:",
        )

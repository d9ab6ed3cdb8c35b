"""My reviews: every gate waiting for something I do, oldest first; and my inbox."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.navigation import page_path
from app.ui import attempt
from core.services.notifications import inbox, mark_read
from core.services.reviews import my_reviews

me = user_session.signed_in_user()
st.title("My reviews")

items = attempt(lambda s: my_reviews(session=s, user=user_session.actor(s)))
if items is None:
    st.stop()
if not items:
    st.success("Nothing waits for you.", icon=":material/task_alt:")
else:
    st.caption(
        f"{len(items)} {'gate waits' if len(items) == 1 else 'gates wait'} for you, oldest first."
    )
    table = pd.DataFrame(
        [
            {
                "Model": i.model,
                "Version": i.version,
                "Gate": i.gate_title,
                "State": i.state,
                "Your part": f"{i.todo} (as {i.role.replace('_', ' ')})",
                "Waiting since": i.waiting_since.strftime("%Y-%m-%d"),
                "Due": i.due_at.strftime("%Y-%m-%d") if i.due_at else "—",
                "Overdue": "overdue" if i.overdue else "",
            }
            for i in items
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    for i in items[:20]:
        st.page_link(
            page_path("gate.py"),
            label=f"Open the {i.gate_title.lower()} gate of {i.model} v{i.version}",
            icon=":material/approval:",
            query_params={"version": str(i.version_id), "gate": i.gate_id},
        )

st.subheader("Inbox")
notes = attempt(lambda s: inbox(session=s, user=user_session.actor(s)))
if notes:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "": "" if n.read else "new",
                    "When": n.created_at.strftime("%Y-%m-%d %H:%M"),
                    "Subject": n.subject,
                    "Message": n.body,
                }
                for n in notes
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    unread = [n.id for n in notes if not n.read]
    if unread and st.button("Mark all read", icon=":material/done_all:"):
        attempt(lambda s: mark_read(session=s, user=user_session.actor(s), notification_ids=unread))
        st.rerun()
else:
    st.caption("No notifications.")

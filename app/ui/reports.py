"""The audit report panel the model and gate pages share: generate, download, download again."""

from __future__ import annotations

import streamlit as st

from app import session as user_session
from app.ui.actions import attempt, read_outside_the_run
from app.ui.text import escape_label
from core.reports import generate_report, list_reports, report_pdf
from core.services.inventory import get_version

__all__ = ["report_panel"]

#: Session-state key prefix of the report this tab just generated (file name and bytes).
MADE = "report_made_"
#: Earlier reports listed for download.
SHOWN = 10


def report_panel(*, version_id: int, key: str) -> None:
    """A button that generates the version's sealed audit PDF, and its model's earlier reports."""
    user = user_session.signed_in_user()
    st.subheader("Audit report")
    st.caption(
        "A complete PDF of this version for auditors: every section, its signatures, and a signed "
        "manifest that `gatehouse report verify` checks. Each report is archived."
    )
    if st.button("Generate audit report", key=f"{key}_generate", icon=":material/picture_as_pdf:"):
        made = attempt(
            lambda s: generate_report(session=s, actor=user_session.actor(s), version_id=version_id)
        )
        if made is not None:
            st.session_state[MADE + key] = (made.filename, made.pdf)
            st.success(f"Report generated: {made.pages} pages, SHA-256 {made.sha256[:16]}…")
    made_now = st.session_state.get(MADE + key)
    if made_now:
        st.download_button(
            "Download the report PDF",
            data=made_now[1],
            file_name=made_now[0],
            mime="application/pdf",
            key=f"{key}_download",
            on_click="ignore",
        )
    earlier = attempt(
        lambda s: list_reports(
            session=s,
            actor=user_session.actor(s),
            model_id=get_version(session=s, version_id=version_id).model_id,
        )
    )
    if not earlier:
        return
    with st.expander(f"Earlier reports of this model ({len(earlier)})"):
        for entry in earlier[:SHOWN]:
            st.download_button(
                escape_label(
                    f"{entry.generated_at:%Y-%m-%d %H:%M} UTC by {entry.generated_by}, "
                    f"{entry.pages} pages ({entry.sha256[:12]})"
                ),
                data=lambda report_id=entry.report_id: read_outside_the_run(
                    lambda s: report_pdf(
                        session=s, actor=user_session.actor(s, user), report_id=report_id
                    )
                ),
                file_name=entry.filename,
                mime="application/pdf",
                key=f"{key}_earlier_{entry.report_id}",
                on_click="ignore",
            )

"""The findings register on screen: the filters (kept in the URL), the table with its Open
cells, one finding's detail and history, and the Findings tab of the Model page.

Filters read ``?model=&status=&severity=&type=&open=1&overdue=1``, so another page can link
to, say, the open critical findings (``findings?severity=critical&open=1``); the finding shown
is ``?finding=``, the link a notification carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app import session as user_session
from app.finding_forms import LAST_CHANGE, raise_form
from app.navigation import page_path
from app.ui import DASH, attempt, escape_markdown, plain_text
from app.ui.links import OPEN, OPEN_SELECTION, open_column
from core.domain import FindingSeverity, FindingStatus, FindingType
from core.services.finding_views import (
    FindingChangeView,
    FindingView,
    finding_history,
    list_findings,
    owner_names,
    status_label,
)

__all__ = [
    "FINDINGS_PAGE",
    "FindingFilters",
    "finding_detail",
    "finding_filters",
    "findings_table",
    "model_findings_tab",
    "show_last_change",
    "type_label",
]

FINDINGS_PAGE = "findings.py"
SHORT = 90
SEVERITY_BADGES = {
    "critical": ":red-badge[critical]",
    "high": ":orange-badge[high]",
    "medium": ":blue-badge[medium]",
    "low": ":gray-badge[low]",
}
FIELD_NAMES = {
    "owner_id": "owner",
    "due": "due date",
    "remediation_plan": "remediation plan",
    "evidence_links": "evidence",
}
# A link a person may follow: http(s), nothing Markdown or KaTeX could read as syntax.
_URL = re.compile(r"^https?://[^\s<>()\[\]`$\\]+$")


def type_label(kind: str) -> str:
    """A finding type as people read it ("policy exception")."""
    return kind.replace("_", " ")


def _all(label: str) -> Callable[[Any], str]:
    return lambda v: label if v is None else status_label(str(v))


@dataclass(frozen=True)
class FindingFilters:
    """What the register is filtered by; None or False shows everything."""

    model_id: int | None = None
    status: str | None = None
    severity: str | None = None
    type: str | None = None
    open_only: bool = False
    overdue_only: bool = False


def _from_url(param: str, choices: Sequence[Any]) -> Any:
    value = st.query_params.get(param)
    for choice in choices:
        if choice is not None and str(choice) == value:
            return choice
    return None


def _to_url(key: str, param: str) -> None:
    value = st.session_state.get(key)
    st.query_params.pop("finding", None)  # a new filter shows the list, not an old finding
    if value is None or value is False:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = "1" if value is True else str(value)


def _select(where: Any, label: str, param: str, choices: Sequence[Any], shown: Any) -> Any:
    key = f"findings_filter_{param}"
    # The URL is where the choice lives (shared links, other pages' links); the widget shows it.
    st.session_state[key] = _from_url(param, choices)
    return where.selectbox(
        label, choices, key=key, format_func=shown, on_change=_to_url, args=(key, param)
    )


def _toggle(where: Any, label: str, param: str) -> bool:
    key = f"findings_filter_{param}"
    st.session_state[key] = st.query_params.get(param) == "1"
    return bool(where.toggle(label, key=key, on_change=_to_url, args=(key, param)))


def finding_filters(models: Sequence[tuple[int, str]]) -> FindingFilters:
    """The filter controls, preselected from the URL; every change is written back to it."""
    names = dict(models)
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns(4)
        model_id = _select(
            c1, "Model", "model", [None, *names], lambda i: "All models" if i is None else names[i]
        )
        status = _select(
            c2, "Status", "status", [None, *(s.value for s in FindingStatus)], _all("Any status")
        )
        severity = _select(
            c3,
            "Severity",
            "severity",
            [None, *(s.value for s in reversed(FindingSeverity))],
            _all("Any severity"),
        )
        kind = _select(
            c4,
            "Type",
            "type",
            [None, *(t.value for t in FindingType)],
            lambda t: "Any type" if t is None else type_label(t),
        )
        t1, t2 = st.columns(2)
        open_only = _toggle(t1, "Open only (open or in remediation)", "open")
        overdue_only = _toggle(t2, "Overdue only", "overdue")
    return FindingFilters(model_id, status, severity, kind, open_only, overdue_only)


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SHORT else line[: SHORT - 1].rstrip() + "…"


def findings_frame(views: Sequence[FindingView]) -> pd.DataFrame:
    """One row per finding, in the order given, as the table shows it (cells are plain text)."""
    return pd.DataFrame(
        [
            {
                "Open": OPEN,
                "Id": v.id,
                "Model": v.model,
                "Version": f"v{v.version}",
                "Type": type_label(v.type),
                "Severity": v.severity,
                "Status": status_label(v.status),
                "Owner": plain_text(v.owner),
                "Due": plain_text(v.due),
                "Overdue": "overdue" if v.overdue else "",
                "Description": _short(v.description),
            }
            for v in views
        ],
        columns=[
            "Open",
            "Id",
            "Model",
            "Version",
            "Type",
            "Severity",
            "Status",
            "Owner",
            "Due",
            "Overdue",
            "Description",
        ],
    )


def _flag(value: object) -> str:
    return "color: #b2182b; font-weight: 600" if value == "overdue" else ""


def findings_table(views: Sequence[FindingView], *, key: str) -> int | None:
    """The findings table; the id of a finding whose Open (or Id) cell was just selected.

    Only a new selection counts: the table keeps its selection across runs, and a row number
    from before a filter changed would name another finding.
    """
    frame = findings_frame(views)
    event = st.dataframe(
        frame.style.map(_flag, subset=["Overdue"]),
        hide_index=True,
        width="stretch",
        key=key,
        **OPEN_SELECTION,
        column_config={
            "Open": open_column(),
            "Id": st.column_config.NumberColumn("Id", width="small", format="%d"),
            "Description": st.column_config.TextColumn("Description", width="large"),
        },
    )
    cells = getattr(getattr(event, "selection", None), "cells", None) or []
    ids = tuple(v.id for v in views)
    picked = (tuple(tuple(c) for c in cells), ids)
    if st.session_state.get(f"{key}_seen") == picked:
        return None
    st.session_state[f"{key}_seen"] = picked
    for row, column in cells:
        if column in ("Open", "Id") and 0 <= int(row) < len(ids):
            return ids[int(row)]
    return None


def _lines(text: str) -> str:
    """User text as Markdown lines, each escaped, so nothing in it is read as syntax."""
    return "  \n".join(escape_markdown(line) for line in text.splitlines() if line.strip())


def _evidence_line(link: str) -> str:
    if _URL.match(link):
        return f"- [{escape_markdown(link)}](<{link}>)"
    return f"- {escape_markdown(link)}"


def _value(field: str, value: Any, names: dict[int, str]) -> str:
    if field == "owner_id" and isinstance(value, int):
        return names.get(value, f"user {value}")
    if field == "status" and isinstance(value, str):
        return status_label(value)
    if field == "description" and isinstance(value, str):
        return _short(value)
    return plain_text(value)


def _changed(change: FindingChangeView, names: dict[int, str]) -> str:
    parts = []
    for field, (old, new) in sorted(change.changes.items()):
        name = FIELD_NAMES.get(field, field)
        new_text = _value(field, new, names)
        parts.append(
            f"{name}: {new_text}"
            if old is None
            else f"{name}: {_value(field, old, names)} → {new_text}"
        )
    return "; ".join(parts) or DASH


def history_frame(history: Sequence[FindingChangeView], names: dict[int, str]) -> pd.DataFrame:
    """Every change to a finding, newest first: who, when, what changed and any signature."""
    return pd.DataFrame(
        [
            {
                "Revision": h.revision,
                "When (UTC)": f"{h.changed_at:%Y-%m-%d %H:%M:%S}",
                "Who": h.actor,
                "Act": h.action,
                "What changed": _changed(h, names),
                "Status after": status_label(h.status_after),
                "Comment": plain_text(h.comment),
                "Meaning signed": plain_text(h.meaning),
                "Signature SHA-256": plain_text(h.manifest_sha256),
            }
            for h in reversed(history)
        ]
    )


def finding_detail(view: FindingView) -> None:
    """One finding in full: description, evidence, plan, and the history of every change."""
    st.subheader(
        escape_markdown(
            f"Finding {view.id}: {type_label(view.type)} on {view.model} v{view.version}"
        )
    )
    badges = [SEVERITY_BADGES.get(view.severity, view.severity), f"**{status_label(view.status)}**"]
    if view.overdue:
        badges.append(":red-badge[:material/schedule: overdue]")
    if view.blocks_gates:
        badges.append(":red-badge[:material/block: blocks gate approvals]")
    st.markdown(" ".join(badges))
    due = f"due {view.due:%Y-%m-%d}" if view.due else "no due date"
    st.caption(
        escape_markdown(
            f"Raised by {view.raised_by} on {view.raised_at:%Y-%m-%d}; owner "
            f"{view.owner or 'none'}; {due}; revision {view.revision}."
        )
    )
    st.markdown("**Description**")
    st.markdown(_lines(view.description) or DASH)
    st.markdown("**Evidence**")
    if view.evidence_links:
        st.markdown("\n".join(_evidence_line(link) for link in view.evidence_links))
    else:
        st.caption("No evidence linked.")
    st.markdown("**Remediation plan**")
    st.markdown(_lines(view.remediation_plan) or "No plan yet.")

    def load(s: Any) -> tuple[list[FindingChangeView], dict[int, str]]:
        actor = user_session.actor(s)
        return (
            finding_history(session=s, actor=actor, finding_id=view.id),
            owner_names(session=s, actor=actor, finding_id=view.id),
        )

    loaded = attempt(load)
    if loaded is not None:
        st.markdown("**History**")
        st.dataframe(
            history_frame(*loaded),
            hide_index=True,
            width="stretch",
            key=f"finding_history_{view.id}",
            column_config={"What changed": st.column_config.TextColumn(width="large")},
        )


def show_last_change() -> None:
    """The confirmation of the change just made, once (a toast may not survive the rerun)."""
    if note := st.session_state.pop(LAST_CHANGE, None):
        st.success(note, icon=":material/flag:")


def model_findings_tab(model_id: int) -> None:
    """The Model page's Findings tab: the model's findings, a link to them on the Findings
    page, and the raise form."""
    show_last_change()
    views = attempt(
        lambda s: list_findings(session=s, actor=user_session.actor(s), model_id=model_id)
    )
    if views is None:
        return
    open_count = sum(v.is_open for v in views)
    st.caption(f"{len(views)} findings, {open_count} open; open ones first, most severe first.")
    if views:
        picked = findings_table(views, key="model_findings_table")
        if picked is not None:
            st.switch_page(
                page_path(FINDINGS_PAGE),
                query_params={"model": str(model_id), "finding": str(picked)},
            )
    st.page_link(
        page_path(FINDINGS_PAGE),
        label="This model's findings on the Findings page",
        icon=":material/flag:",
        query_params={"model": str(model_id)},
    )
    with st.expander("Raise a finding", icon=":material/add:"):
        raise_form(model_id, key="model_raise")

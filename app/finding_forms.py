"""The forms of the findings register: raising a finding on a version, and changing one.

Both are offered only to people with a role on the model (the core's rule; others read why).
Whether a change is a signing act is the core's rule too (``needs_signature``): then the form
shows the meaning to confirm and asks for the password, as a gate signature does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st
from sqlmodel import Session

from app import session as user_session
from app.ui import attempt, escape_markdown
from core.domain import FindingSeverity, FindingStatus, FindingType
from core.rules.findings import needs_signature, transition_allowed
from core.services.finding_views import FindingView, status_label
from core.services.findings import FindingUpdate, raise_finding, suggested_meaning, update_finding
from core.services.inventory import model_overview, version_summaries
from core.services.model_roles import PersonOnModel, people_on_model, role_on_model_problem

__all__ = ["CONFIRM_FIRST", "LAST_CHANGE", "evidence_lines", "raise_form", "update_form"]

#: Session key of the sentence confirming the last change, shown once in the next run.
LAST_CHANGE = "gatehouse.last_finding_change"
CONFIRM_FIRST = (
    "Tick “I confirm the meaning above” to sign; a signature needs its meaning confirmed."
)
SEVERITIES = [s.value for s in FindingSeverity]


def evidence_lines(text: str) -> list[str]:
    """The evidence links typed one a line; blank lines are nothing, not empty links."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def _people(s: Session, model_id: int, action: str) -> tuple[str | None, list[PersonOnModel]]:
    """Why the signed-in person may not ``action`` on the model, else who may own a finding."""
    actor = user_session.actor(s)
    problem = role_on_model_problem(session=s, actor=actor, model_id=model_id, action=action)
    if problem is not None:
        return problem, []
    return None, people_on_model(session=s, actor=actor, model_id=model_id)


def _done(note: str, keys: dict[str, str]) -> None:
    st.toast(note)
    st.session_state[LAST_CHANGE] = note
    for field_key in keys.values():
        st.session_state.pop(field_key, None)
    st.rerun()


def raise_form(model_id: int, *, key: str, show_raised: bool = False) -> None:
    """The raise form for a version of the model; ``show_raised`` opens the new finding
    (``?finding=``) on the Findings page."""

    def load(s: Session) -> tuple[str | None, list[PersonOnModel], list[Any], int | None]:
        problem, people = _people(s, model_id, "raise a finding")
        if problem is not None:
            return problem, [], [], None
        versions = version_summaries(session=s, model_id=model_id)
        return None, people, versions, model_overview(session=s, model_id=model_id).owner_id

    loaded = attempt(load)
    if loaded is None:
        return
    problem, people, versions, owner_id = loaded
    if problem is not None:
        st.caption(escape_markdown(problem))
        return
    if not versions:
        st.caption("This model has no version to raise a finding on.")
        return
    labels = {p.user_id: p.label for p in people}
    owners = list(labels)
    numbers = {v.version_id: f"v{v.version} · {v.stage}" for v in versions}
    form_key = f"{key}_{model_id}"
    parts = ("version", "type", "severity", "description", "evidence", "owner", "due")
    fields = {part: f"{form_key}_{part}" for part in parts}
    with st.form(form_key):
        c1, c2, c3 = st.columns(3)
        version_id = c1.selectbox(
            "Version", list(numbers), format_func=numbers.__getitem__, key=fields["version"]
        )
        kind = c2.selectbox(
            "Type", [t.value for t in FindingType], format_func=_label, key=fields["type"]
        )
        severity = c3.selectbox(
            "Severity", SEVERITIES, index=SEVERITIES.index("medium"), key=fields["severity"]
        )
        description = st.text_area(
            "Description: what was seen, and where", key=fields["description"]
        )
        evidence = st.text_area(
            "Evidence, one a line: a monitoring batch, a record id, an explanation or a URL",
            key=fields["evidence"],
        )
        c1, c2 = st.columns(2)
        owner = c1.selectbox(
            "Owner (who remediates)",
            owners,
            index=owners.index(owner_id) if owner_id in owners else 0,
            format_func=labels.__getitem__,
            key=fields["owner"],
        )
        due = c2.date_input(
            "Due date (empty: set by severity)", value=None, key=fields["due"], format="YYYY-MM-DD"
        )
        submitted = st.form_submit_button("Raise finding", type="primary", icon=":material/flag:")
    if not submitted:
        return
    raised = attempt(
        lambda s: raise_finding(
            session=s,
            actor=user_session.actor(s),
            version_id=int(version_id),
            type=str(kind),
            severity=str(severity),
            description=description,
            evidence_links=evidence_lines(evidence),
            owner_id=owner,
            due=due if isinstance(due, date) else None,
        )
    )
    if raised is not None:
        if show_raised:
            st.query_params["finding"] = str(raised.id)
        _done(
            escape_markdown(
                f"Raised finding {raised.id} ({raised.severity}) on {raised.model} "
                f"v{raised.version}, owned by {raised.owner or 'nobody'}, due {raised.due}."
            ),
            fields,
        )


def update_form(view: FindingView) -> None:
    """The change form of one finding: status and severity first (they decide whether the
    change is signed), then owner, due date, plan, comment, and the signature when needed."""
    loaded = attempt(lambda s: _people(s, view.model_id, "change a finding"))
    if loaded is None:
        return
    problem, people = loaded
    if problem is not None:
        st.caption(escape_markdown(problem))
        return
    labels = {p.user_id: p.label for p in people}
    if view.owner_id is not None and view.owner_id not in labels:
        labels = {view.owner_id: view.owner or f"user {view.owner_id}"} | labels
    owners = list(labels)
    # Keys carry the revision: a saved change shows fresh fields for the next one.
    prefix = f"finding_{view.id}_r{view.revision}"
    statuses = [view.status] + [
        s.value for s in FindingStatus if transition_allowed(view.status, s.value)
    ]
    c1, c2 = st.columns(2)
    status = c1.selectbox(
        "Status",
        statuses,
        format_func=lambda s: status_label(s) + (" (now)" if s == view.status else ""),
        key=f"{prefix}_status",
    )
    severity = c2.selectbox(
        "Severity", SEVERITIES, index=SEVERITIES.index(view.severity), key=f"{prefix}_severity"
    )
    signing = needs_signature(
        status=view.status, severity=view.severity, new_status=status, new_severity=severity
    )
    meaning = suggested_meaning(view, status=status, severity=severity) if signing else ""
    fields = {part: f"{prefix}_{part}" for part in ("owner", "due", "plan", "comment")}
    with st.form(prefix):
        c1, c2 = st.columns(2)
        owner = c1.selectbox(
            "Owner",
            owners,
            index=owners.index(view.owner_id) if view.owner_id in owners else 0,
            format_func=labels.__getitem__,
            key=fields["owner"],
        )
        due = c2.date_input("Due date", value=view.due, key=fields["due"], format="YYYY-MM-DD")
        plan = st.text_area("Remediation plan", value=view.remediation_plan, key=fields["plan"])
        comment = st.text_area("Comment (why; kept in the history)", key=fields["comment"])
        confirmed, password = True, None
        if signing:
            st.markdown("**Meaning of your signature**")
            st.text(meaning)
            st.caption(
                "Closing a high or critical finding, or lowering its severity, is a risk "
                "manager's signed act."
            )
            confirmed = st.checkbox("I confirm the meaning above", key=f"{prefix}_confirmed")
            password = st.text_input(
                "Re-enter your password to sign", type="password", key=f"{prefix}_password"
            )
        submitted = st.form_submit_button(
            "Sign and save" if signing else "Save change",
            type="primary",
            icon=":material/draw:" if signing else ":material/save:",
        )
    if not submitted:
        return
    if not confirmed:
        st.error(CONFIRM_FIRST, icon=":material/error:")
        return
    changed = attempt(
        lambda s: update_finding(
            session=s,
            actor=user_session.actor(s),
            finding_id=view.id,
            change=FindingUpdate(
                status=status,
                severity=severity,
                owner_id=owner,
                due=due if isinstance(due, date) else None,
                remediation_plan=plan,
                comment=comment,
                expected_revision=view.revision,
            ),
            password=password,
            meaning=meaning,
        )
    )
    if changed is not None:
        note = f"Saved finding {changed.id}: {status_label(changed.status)}, {changed.severity}."
        if signing:
            note += f" Signed: {meaning}"
        _done(escape_markdown(note), fields)

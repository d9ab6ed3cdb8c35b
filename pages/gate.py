"""A gate: its evidence and checks, the RACI and who has acted, signatures, and the sign form."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.gates_panel import gates_frame
from app.ui import attempt, text
from app.ui.reports import report_panel
from app.waiver_form import waiver_form
from core.rules.gates import GATE_TITLES, Act
from core.rules.segregation import roles_for_act
from core.services.gate_status import gate_status, gate_summaries
from core.services.gates import sign_gate, suggested_meaning

ACT_LABELS = {
    Act.submit: "Submit for approval",
    Act.opinion: "Give my opinion",
    Act.approve: "Approve",
    Act.reject: "Reject",
}
STATE_ICONS = {
    "approved": ":material/check_circle:",
    "submitted": ":material/pending:",
    "rejected": ":material/cancel:",
    "stale": ":material/history:",
    "in progress": ":material/edit:",
    "not started": ":material/radio_button_unchecked:",
}

me = user_session.signed_in_user()
st.title("Gate sign-off")
# The confirmation of the signature just taken: shown in the run after it, which the toast
# alone may not survive, and which is the only sign an opinion (that moves no gate) was taken.
if signed_note := st.session_state.pop(user_session.LAST_SIGNATURE, None):
    st.success(signed_note, icon=":material/draw:")

summaries = attempt(lambda s: gate_summaries(session=s))
if summaries is None:
    st.stop()
if not summaries:
    st.info("No version has gates yet: a model's gates open once its risk is assessed.")
    st.stop()

ids = [s.version_id for s in summaries]
wanted = st.query_params.get("version")
start = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in ids else 0
choice = st.selectbox(
    "Model version",
    summaries,
    index=start,
    format_func=lambda s: f"{s.model} v{s.version} ({s.stage}) — gates: {s.status}",
)
st.query_params["version"] = str(choice.version_id)

status = attempt(lambda s: gate_status(session=s, version_id=choice.version_id))
if status is None:
    st.stop()

st.dataframe(gates_frame(status), hide_index=True, width="stretch")

with st.expander("Audit report of this version", icon=":material/picture_as_pdf:"):
    report_panel(version_id=choice.version_id, key="gate_report")

gate_ids = [g.gate_id for g in status.gates]
wanted_gate = st.query_params.get("gate")
current = next(
    (g for g in status.gates if g.state not in ("approved", "not started")), status.gates[0]
)
index = gate_ids.index(wanted_gate) if wanted_gate in gate_ids else gate_ids.index(current.gate_id)
gate_id = st.radio(
    "Gate",
    gate_ids,
    index=index,
    horizontal=True,
    format_func=lambda g: GATE_TITLES.get(g, g),
)
st.query_params["gate"] = gate_id
view = next(g for g in status.gates if g.gate_id == gate_id)

st.subheader(f"{view.title}: {view.state}")
st.caption(text.escape_markdown(f"{status.model}, version {status.version}, stage {status.stage}."))
if view.state == "stale":
    st.warning(
        "What this gate signed has changed since sign-off; it must be signed again.",
        icon=":material/history:",
    )
if view.changes:
    st.markdown("**Changes since sign-off**")
    st.dataframe(pd.DataFrame({"Change": view.changes}), hide_index=True, width="stretch")

tab_evidence, tab_raci, tab_signatures = st.tabs(["Evidence", "RACI", "Signatures and history"])
with tab_evidence:
    if not view.requirements:
        st.caption(
            "The policy asks for no stored evidence at this gate; the signatures are the record."
        )
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Requirement": r["kind"].replace("_", " "),
                        "Status": r["status"],
                        "Finding": r["sentence"],
                        "Evidence": f"#{r['evidence_id']}" if r["evidence_id"] else "—",
                    }
                    for r in view.requirements
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    for w in view.waivers:
        st.info(
            text.escape_markdown(
                f"Waiver in force for {w['check']} until {w['expires_at'][:10]}: "
                f"{w['justification']} (controls: {w['controls']})"
            ),
            icon=":material/gpp_maybe:",
        )
    if view.state not in ("approved", "not started"):
        waiver_form(
            me=me,
            version_id=choice.version_id,
            gate_id=gate_id,
            requirements=view.requirements,
        )
with tab_raci:
    roles = sorted(
        {*view.spec.responsible, view.spec.accountable, *view.spec.consulted, *view.spec.informed}
    )
    acted = {s.role for s in view.signatures if s.round == view.round}
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Role": r.replace("_", " "),
                    "Responsible": "R" if r in view.spec.responsible else "",
                    "Accountable": "A" if r == view.spec.accountable else "",
                    "Consulted": "C" if r in view.spec.consulted else "",
                    "Informed": "I" if r in view.spec.informed else "",
                    "Has acted this round": "yes" if r in acted else "",
                }
                for r in roles
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    seg = view.spec.segregation
    st.caption(
        f"Approvers needed: {view.spec.approvers} different people. At least "
        f"{seg.min_distinct_people_per_gate} different people across the gate. "
        + (
            "An objection by a Consulted person blocks approval. "
            if view.spec.objection_blocks
            else ""
        )
        + (
            "The registrant or developer may not approve validation."
            if seg.registrant_may_not_approve_validation
            else ""
        )
    )
with tab_signatures:
    if not view.signatures:
        st.caption("Nobody has acted on this gate yet.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Signed (UTC)": s.signed_at.strftime("%Y-%m-%d %H:%M:%S"),
                        "Name": s.printed_name,
                        "Role": s.role.replace("_", " ") or "—",
                        "Act": s.act + (f" ({s.opinion})" if s.opinion else ""),
                        "Meaning": s.meaning,
                        "Comment": s.comment or "—",
                        "Manifest SHA-256": s.manifest_sha256 or "—",
                    }
                    for s in reversed(view.signatures)
                ]
            ),
            hide_index=True,
            width="stretch",
        )

st.subheader("Sign")
possible = [
    a
    for a in ACT_LABELS
    if me.has(*roles_for_act(view.spec, a))
    and (
        (a is Act.submit and view.state in ("in progress", "rejected", "stale"))
        or (a is not Act.submit and view.state == "submitted")
    )
]
if not possible:
    st.caption(
        "Nothing for you to sign here now: your roles "
        f"({', '.join(sorted(me.roles)).replace('_', ' ') or 'none'}) have no part at this gate in its current state."
    )
    st.stop()
act = st.radio("What you do", possible, format_func=lambda a: ACT_LABELS[a], horizontal=True)
meaning = attempt(lambda s: suggested_meaning(s, choice.version_id, gate_id, act)) or ""
form_key = f"sign_{gate_id}_{act.value}"
# Named fields, so that a signature taken clears them: the next one asks again for the
# password, the confirmation and the signer's own words (an error keeps what was typed).
fields = {part: f"{form_key}_{part}" for part in ("opinion", "comment", "confirmed", "password")}
with st.form(form_key):
    st.markdown("**Meaning of your signature**")
    st.text(meaning)
    opinion = (
        st.radio(
            "Your opinion",
            ["concur", "concern", "object"],
            horizontal=True,
            key=fields["opinion"],
        )
        if act is Act.opinion
        else None
    )
    comment = st.text_area("Comment (reasons, links to evidence)", key=fields["comment"])
    confirmed = st.checkbox("I confirm the meaning above", key=fields["confirmed"])
    password = st.text_input(
        "Re-enter your password to sign", type="password", key=fields["password"]
    )
    submitted = st.form_submit_button("Sign", type="primary", icon=":material/draw:")
if submitted:
    if not confirmed:
        st.error(
            "Tick “I confirm the meaning above” to sign; a signature needs its meaning confirmed."
        )
    else:
        signed = attempt(
            lambda s: sign_gate(
                session=s,
                actor=user_session.actor(s),
                version_id=choice.version_id,
                gate_id=gate_id,
                act=act,
                password=password,
                meaning=meaning,
                comment=comment,
                opinion=opinion,
            )
        )
        if signed is not None:
            note = text.escape_markdown(
                f"Signed: {signed.meaning} The gate is now {signed.state_after}."
            )
            st.toast(note)
            st.session_state[user_session.LAST_SIGNATURE] = note
            for key in fields.values():
                st.session_state.pop(key, None)
            st.rerun()

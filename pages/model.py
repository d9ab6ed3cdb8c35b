"""One model: its card, versions, comparison of two versions, and everything that happened to it."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.card_editor import as_text, card_changes, card_inputs
from app.compare_view import render_compare_tab
from app.findings_view import model_findings_tab
from app.gates_panel import render_gates_tab
from app.navigation import PAGES_DIR, page_path
from app.risk_view import render_risk_tab
from app.ui import DASH, attempt, escape_markdown, pickers, plain_text
from app.ui.reports import report_panel
from core.services.audit_log import model_history
from core.services.evidence import evidence_for_version
from core.services.inventory import (
    CARD_FIELDS,
    card_history,
    current_card,
    edit_card,
    model_overview,
    stage_history,
    version_summaries,
)
from core.services.people import card_people
from core.services.permissions import CARD_ROLES, PEOPLE_ROLES
from core.services.vocabulary import VOCABULARY_FIELD

user = user_session.signed_in_user()
model_id = pickers.pick_model("model_pick")


def _load(s):  # type: ignore[no-untyped-def]
    versions = version_summaries(session=s, model_id=model_id)
    overview = model_overview(session=s, model_id=model_id)
    return {
        "model": overview,
        "card": current_card(session=s, model_id=model_id),
        "versions": versions,
        "evidence": [
            {"version": v.version, "version_id": v.version_id, **row}
            for v in versions
            for row in evidence_for_version(session=s, version_id=v.version_id)
        ],
        "card_history": card_history(session=s, model_id=model_id),
        "stages": stage_history(session=s, model_id=model_id),
        "activity": model_history(session=s, model=overview.name),
    }


data = attempt(_load)
if data is None:
    st.stop()
model = data["model"]
st.title(escape_markdown(model.name))
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Stage", model.stage)
c2.metric("Risk tier", model.risk_tier or "not assessed")
c3.metric("Versions", len(data["versions"]))
c4.metric("Gates", model.gate_status)
c5.metric("Open findings", model.open_findings)

tabs = st.tabs(
    [
        "Model card",
        "Versions",
        "Evidence",
        "Compare versions",
        "History",
        "Risk",
        "Gates",
        "Findings",
        "Audit report",
    ]
)
card_tab, versions_tab, evidence_tab, compare_tab, history_tab, risk_tab = tabs[:6]
gates_tab, findings_tab, report_tab = tabs[6:]


with card_tab:
    card = data["card"]
    text_fields = {k: v for k, v in CARD_FIELDS.items() if k != VOCABULARY_FIELD}
    # The card reads as text: each field a short heading and its words, nothing cut off.
    st.markdown(
        "\n\n".join(
            f"**{label}**  \n{escape_markdown(as_text(card.get(key)) or DASH)}"
            for key, label in text_fields.items()
        )
    )
    vocabulary = card.get(VOCABULARY_FIELD) or {}
    features = vocabulary.get("features") or {}
    st.markdown(f"**{CARD_FIELDS[VOCABULARY_FIELD]}**")
    target = vocabulary.get("target") or {}
    outcomes = vocabulary.get("outcomes") or {}
    st.markdown(
        f"Target: **{escape_markdown(target.get('name') or DASH)}**"
        + (f" ({escape_markdown(target['description'])})" if target.get("description") else "")
        + "  \nOutcomes: "
        + (escape_markdown(", ".join(f"{k} = {v}" for k, v in outcomes.items())) or DASH)
    )
    names = pd.DataFrame(
        [
            {
                "Display name": (e or {}).get("name", "") if isinstance(e, dict) else str(e),
                "Description": (e or {}).get("description", "") if isinstance(e, dict) else "",
                "Technical name": name,
            }
            for name, e in features.items()
        ],
        columns=["Display name", "Description", "Technical name"],
    )
    st.dataframe(names.map(plain_text), hide_index=True, width="stretch")
    if user.has(*CARD_ROLES, *PEOPLE_ROLES):
        people = attempt(lambda s: card_people(session=s, actor=user_session.actor(s))) or []
        with st.expander("Edit the card"), st.form(f"card_{model_id}"):
            edits = card_inputs(model_id, card, text_fields, people)
            c1, c2 = st.columns(2)
            target_name = c1.text_input(
                "Target display name", target.get("name", ""), key=f"card_{model_id}_target"
            )
            outcome_text = c2.text_input(
                "Outcome labels (value = label, comma-separated)",
                ", ".join(f"{k} = {v}" for k, v in outcomes.items()),
                key=f"card_{model_id}_outcomes",
            )
            edited = st.data_editor(
                names,
                key=f"card_{model_id}_features",
                num_rows="dynamic",
                hide_index=True,
                width="stretch",
                column_config={"Technical name": st.column_config.TextColumn(required=True)},
            )
            if st.form_submit_button("Save card", type="primary"):
                new_vocabulary = {
                    **vocabulary,
                    "target": {**target, "name": target_name} if target_name else target,
                    "outcomes": dict(
                        (p.split("=", 1)[0].strip(), p.split("=", 1)[1].strip())
                        for p in outcome_text.split(",")
                        if "=" in p
                    ),
                    "features": {
                        str(r["Technical name"]): {
                            "name": str(r["Display name"] or ""),
                            "description": str(r["Description"] or ""),
                        }
                        for r in edited.to_dict("records")
                        if r.get("Technical name")
                    },
                }
                changes = card_changes(edits, card)
                if new_vocabulary != vocabulary:
                    changes[VOCABULARY_FIELD] = new_vocabulary
                changed = attempt(
                    lambda s: edit_card(
                        session=s,
                        actor=user_session.actor(s),
                        model_id=model_id,
                        # Only what the person changed; untouched list fields stay lists.
                        changes=changes,
                    )
                )
                if changed is not None:
                    st.toast(f"Saved {len(changed)} changed field(s).")
                    st.rerun()

with versions_tab:
    versions = data["versions"]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Version": f"v{v.version}",
                    "Stage": v.stage,
                    "Estimator": v.estimator_class.rsplit(".", 1)[-1],
                    "Registered": v.registered_at,
                    "By": v.registered_by,
                    "Artifact SHA-256": v.artifact_sha256[:16],
                    "Evaluation rows": v.eval_dataset.rows if v.eval_dataset else None,
                }
                for v in versions
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    pick = st.selectbox(
        "Details of version",
        [v.version for v in versions],
        key="version_detail",
        format_func=lambda n: f"v{n}",
    )
    chosen = next(v for v in versions if v.version == pick)
    with st.expander("Technical details", icon=":material/code:"):
        st.json(chosen.to_dict(), expanded=False)

with evidence_tab:
    evidence = data["evidence"]
    if not evidence:
        st.info(
            "No evidence computed yet; compute it on the Performance, Fairness or Explanations page."
        )
    else:
        st.caption(
            "Every row is immutable and named by the SHA-256 of its inputs, settings and results."
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Version": f"v{e['version']}",
                        "Kind": e["kind"],
                        "Status": e["status"] or "—",
                        "Computed": e["computed_at"],
                        "SHA-256": e["sha256"][:16],
                        "Evidence id": e["evidence_id"],
                    }
                    for e in evidence
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    latest_version = versions[0].version_id if versions else None
    links = st.columns(3)
    for column, (file, label) in zip(
        links,
        (
            ("performance.py", "Performance"),
            ("fairness.py", "Fairness"),
            ("explanations.py", "Explanations"),
        ),
        strict=True,
    ):
        if (PAGES_DIR / file).exists():
            column.page_link(
                page_path(file),
                label=label,
                query_params={"model": str(model_id), "version": str(latest_version)},
            )

with compare_tab:
    render_compare_tab(versions)

with history_tab:
    st.subheader("Stages")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Version": f"v{c.version}",
                    "Stage": c.stage,
                    "When (UTC)": plain_text(c.changed_at),
                    "By": c.changed_by,
                    "Reason": plain_text(c.reason),
                }
                for c in data["stages"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Card edits")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Revision": h.revision,
                    "When": plain_text(h.edited_at),
                    "By": h.edited_by,
                    "Field": field,
                    "Old": plain_text(change["old"]),
                    "New": plain_text(change["new"]),
                }
                for h in data["card_history"]
                for field, change in h.changes.items()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.subheader("Everything that happened")
    st.caption("Every audit event about the model, its versions and their evidence, newest first.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Sequence": a.sequence,
                    "When (UTC)": f"{a.occurred_at:%Y-%m-%d %H:%M:%S}",
                    "What happened": a.description,
                    "Hash": a.hash[:16],
                }
                for a in data["activity"]
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"What happened": st.column_config.TextColumn(width="large")},
    )

with risk_tab:
    render_risk_tab(model_id, model.owner_id, user)

with gates_tab:
    render_gates_tab(model_id, model.current_version_id)

with findings_tab:
    model_findings_tab(model_id)

with report_tab:
    if model.current_version_id is None:
        st.info("This model has no version to report on yet.")
    else:
        report_panel(version_id=model.current_version_id, key="model_report")

"""The Risk tab of the model page: the questionnaire (editable by the owner or a risk manager),
the tier in force beside the computed one, the flags, the override form and the history."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app import session as user_session
from app.session import CurrentUser
from app.ui import attempt
from core.rules.risk import TIERS
from core.services.permissions import Role
from core.services.risk import assess_model, current_risk, override_tier, questionnaire

__all__ = ["render_risk_tab", "tier_label"]


def tier_label(tier: str | None, computed: str | None) -> str:
    """The tier in force, with the computed tier beside it when an override set it aside."""
    if tier is None:
        return "not assessed"
    return tier if computed in (None, tier) else f"{tier} (override; computed {computed})"


def _result(risk: dict[str, Any]) -> None:
    current = risk["current"]
    if current is None:
        st.info("Not assessed yet: the policy's tier for unassessed models applies.")
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Tier", tier_label(current["tier"], current["computed_tier"]))
    c2.metric("Materiality", f"{current['scores']['materiality']:g}")
    c3.metric("Complexity", f"{current['scores']['complexity']:g}")
    c4.metric("Next review", current["next_review"][:10])
    st.caption(
        f"Assessed by {current['assessed_by']} on {current['assessed_at'][:10]} under policy "
        f"version {current['policy_version']} (method {current['method_version']})."
    )
    if risk.get("overdue"):
        st.error(f"The periodic review was due on {current['next_review'][:10]}: overdue.")
    if risk.get("needs_review"):
        st.warning(
            "Needs review: the current version differs from the assessed one in "
            + ", ".join(risk["changed"]).replace("_", " ")
            + "."
        )
    for o in current["overrides"]:
        st.markdown(
            f"**Override to {o['tier']}** by {o['by']} on {o['at'][:10]}: {o['justification']}"
        )


def _questionnaire_form(
    model_id: int, questions: list[dict[str, Any]], previous: dict[str, str]
) -> None:
    with st.form(f"risk_form_{model_id}"):
        answers = {}
        for q in questions:
            values = [c["value"] for c in q["choices"]]
            labels = {c["value"]: c["label"] for c in q["choices"]}
            answers[q["id"]] = st.selectbox(
                q["text"],
                values,
                index=values.index(previous[q["id"]]) if previous.get(q["id"]) in values else None,
                format_func=lambda v, labels=labels: labels[v],
                help=q["help"] or None,
                key=f"risk_{model_id}_{q['id']}",
            )
        if st.form_submit_button("Assess", type="primary"):
            result = attempt(
                lambda s: assess_model(
                    session=s,
                    actor=user_session.actor(s),
                    model_id=model_id,
                    answers={k: v for k, v in answers.items() if v is not None},
                )
            )
            if result is not None:
                st.toast(f"Assessed: tier {result.tier}.")
                st.rerun()


def _override_form(model_id: int) -> None:
    with st.expander("Override the tier"), st.form(f"risk_override_{model_id}"):
        tier = st.selectbox("Tier", TIERS, key=f"risk_override_tier_{model_id}")
        why = st.text_area("Justification", key=f"risk_override_why_{model_id}")
        if st.form_submit_button("Override"):
            result = attempt(
                lambda s: override_tier(
                    session=s,
                    actor=user_session.actor(s),
                    model_id=model_id,
                    tier=tier,
                    justification=why,
                )
            )
            if result is not None:
                st.toast(f"Tier set to {result.tier}.")
                st.rerun()


def render_risk_tab(model_id: int, owner_id: int | None, user: CurrentUser) -> None:
    """Everything the Risk tab shows and lets this user do for one model."""
    data = attempt(
        lambda s: {
            "questions": questionnaire(s, model_id),
            "risk": current_risk(s, model_id),
        }
    )
    if data is None:
        return
    risk = data["risk"]
    _result(risk)
    current = risk["current"]
    previous = current["answers"] if current else {}
    if user.id == owner_id or user.has(Role.risk_manager):
        st.subheader("Questionnaire")
        _questionnaire_form(model_id, data["questions"], previous)
    elif current:
        st.subheader("Answers")
        labels = {q["id"]: q["text"] for q in data["questions"]}
        st.dataframe(
            pd.DataFrame(
                [{"Question": labels.get(k, k), "Answer": v} for k, v in previous.items()]
            ),
            hide_index=True,
            width="stretch",
        )
    if user.has(Role.risk_manager) and current:
        _override_form(model_id)
    history = ([current] if current else []) + risk["history"]
    if history:
        st.subheader("Assessment history")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Assessed": h["assessed_at"][:16],
                        "By": h["assessed_by"],
                        "Computed tier": h["computed_tier"],
                        "Tier": h["tier"],
                        "Materiality": h["scores"]["materiality"],
                        "Complexity": h["scores"]["complexity"],
                        "Policy version": h["policy_version"],
                        "Overrides": "; ".join(
                            f"{o['tier']} by {o['by']}: {o['justification']}"
                            for o in h["overrides"]
                        ),
                    }
                    for h in history
                ]
            ),
            hide_index=True,
            width="stretch",
        )

"""Policy: per tier what each governance consideration requires, the RACI of every gate, the
gates' evidence and thresholds, the risk method, and the version history with diffs. Admins
publish a new version by uploading (or pasting) a pack."""

import pandas as pd
import streamlit as st

from app import session as user_session
from app.ui import attempt
from core.rules.policy_pack import CONSIDERATIONS, GATES
from core.rules.risk import TIERS
from core.services.permissions import POLICY_ROLES
from core.services.policy import (
    get_policy_version,
    pack_of,
    policy_history,
    policy_summary,
    publish_pack,
)

user = user_session.signed_in_user()
st.title("Policy")

history = attempt(lambda s: policy_history(s)) or []
if not history:
    st.info("No policy is published yet; run `gatehouse init` to load the shipped pack.")
    st.stop()

numbers = [h["version"] for h in history]
number = st.selectbox(
    "Policy version", numbers, key="policy_version", format_func=lambda n: f"Version {n}"
)


def _load(s):  # type: ignore[no-untyped-def]
    row = get_policy_version(s, number)
    return policy_summary(row), pack_of(row)


loaded = attempt(_load)
if loaded is None:
    st.stop()
summary, pack = loaded
tiers = [t for t in TIERS if t in summary["pack"]["tiers"]]  # stored JSON sorts keys
st.caption(
    f"{summary['name']} · published {summary['published_at'][:16]} · method "
    f"{summary['method_version']} · SHA-256 {summary['sha256'][:16]}"
)
matrix_tab, raci_tab, gates_tab, method_tab, history_tab = st.tabs(
    ["Tiers × considerations", "RACI", "Gates and evidence", "Risk method", "History"]
)

with matrix_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {"Consideration": label}
                | {t: summary["pack"]["tiers"][t]["considerations"].get(key, "") for t in tiers}
                for key, label in CONSIDERATIONS.items()
            ]
            + [
                {"Consideration": "Periodic review"}
                | {
                    t: f"every {summary['pack']['tiers'][t]['review_every_days']} days"
                    for t in tiers
                }
            ]
        ),
        hide_index=True,
        width="stretch",
    )

with raci_tab:
    tier = st.selectbox("Tier", tiers, key="policy_raci_tier")
    grid = pack.raci_grid(tier)
    gate_ids = [g["id"] for g in summary["pack"]["tiers"][tier]["gates"]]
    st.caption("R responsible · A accountable · C consulted · I informed")
    st.dataframe(
        pd.DataFrame(
            [{"Role": role} | {g: grid[role].get(g, "") for g in gate_ids} for role in sorted(grid)]
        ),
        hide_index=True,
        width="stretch",
    )
    segregation = summary["pack"]["tiers"][tier]["segregation"]
    st.markdown(
        "**Segregation of duties:** "
        + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in segregation.items())
    )

with gates_tab:
    tier = st.selectbox("Tier", tiers, key="policy_gates_tier")
    rows = []
    for gate in summary["pack"]["tiers"][tier]["gates"]:
        for req in gate["evidence"] or [{"kind": "—", "thresholds": {}, "stale_after_days": None}]:
            rows.append(
                {
                    "Gate": gate["id"],
                    "Approvers": gate["approvers"],
                    "Objection blocks": gate["consulted_objection_blocks"],
                    "Unlocks stage": gate["unlocks_stage"] or "",
                    "Evidence": req["kind"],
                    "Requires": ", ".join(
                        req.get("metrics", req.get("checks", req.get("fields", [])))
                    ),
                    "Thresholds": "; ".join(
                        f"{k} {v['value']}" if isinstance(v, dict) else f"{k} {v}"
                        for k, v in req.get("thresholds", {}).items()
                    ),
                    "Stale after (days)": req.get("stale_after_days"),
                }
            )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    contexts = {
        k: v for k, v in summary["pack"].get("deployment_contexts", {}).items() if k != "question"
    }
    for context, adjust in contexts.items():
        st.markdown(f"**Deployment context {context}:** {adjust}")
    st.caption(f"Lifecycle order: {', '.join(GATES)}")

with method_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Question": q.text,
                    "Axis": q.axis,
                    "Weight": q.weight,
                    "Choices (least risk first)": " · ".join(c.label for c in q.choices),
                }
                for q in pack.method.questions
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.markdown("**Tier matrix** (rows: materiality level; columns: complexity level)")
    st.dataframe(pd.DataFrame(pack.method.matrix).T, width="stretch")

with history_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Version": h["version"],
                    "Name": h["name"],
                    "Published": h["published_at"],
                    "By": h["published_by"],
                    "Source": h["source"],
                    "Changes": len(h["changes"]),
                }
                for h in history
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for h in history:
        if h["changes"]:
            with st.expander(f"What version {h['version']} changed"):
                st.dataframe(
                    pd.DataFrame(
                        [{**c, "old": str(c["old"]), "new": str(c["new"])} for c in h["changes"]]
                    ),
                    hide_index=True,
                    width="stretch",
                )

if user.has(*POLICY_ROLES):
    st.subheader("Publish a new version")
    with st.form("policy_publish"):
        upload = st.file_uploader("Policy pack (YAML)", type=["yaml", "yml"], key="policy_upload")
        pasted = st.text_area("…or paste the pack's YAML", key="policy_paste", height=150)
        note = st.text_input("Why this version", key="policy_note")
        if st.form_submit_button("Publish", type="primary"):
            text = upload.getvalue().decode("utf-8") if upload is not None else pasted
            name = upload.name if upload is not None else "pasted pack"
            published = attempt(
                lambda s: publish_pack(
                    session=s, actor=user_session.actor(s), text=text, source_name=name, note=note
                )
            )
            if published is not None:
                row, created = published
                if created:
                    st.success(f"Published policy version {row.version}.")
                else:
                    st.info(f"Identical to version {row.version}; nothing published.")

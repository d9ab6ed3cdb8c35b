"""The waiver form on the Gate page: a risk manager lets one failed check pass, until a date.

A waiver is a signing act like the others (password, confirmed meaning); the core decides who
may sign it and refuses a blank justification, missing controls or a past expiry date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from app import session as user_session
from app.session import CurrentUser
from app.ui import attempt, text
from core.rules.gates import Act
from core.services.gate_records import WaiverRequest
from core.services.gates import sign_gate, waiver_meaning
from core.services.permissions import WAIVER_ROLES

__all__ = ["DEFAULT_WAIVER_DAYS", "failed_checks", "waiver_form"]

#: How long a waiver lasts unless the risk manager chooses otherwise.
DEFAULT_WAIVER_DAYS = 90


def failed_checks(requirements: list[dict[str, Any]]) -> list[str]:
    """The failed checks of a gate's evidence that no waiver covers yet, by the name a waiver
    takes (a failing "selection_rate_ratio (age_band)" is waived as "selection_rate_ratio")."""
    return sorted(
        {c.split(" (")[0] for r in requirements if r["status"] == "failing" for c in r["failing"]}
    )


def waiver_form(
    *,
    me: CurrentUser,
    version_id: int,
    gate_id: str,
    requirements: list[dict[str, Any]],
) -> None:
    """Offer a risk manager the waiver of a failed check; nothing for anyone else."""
    checks = failed_checks(requirements)
    if not checks or not me.has(*WAIVER_ROLES):
        return
    key = f"waive_{version_id}_{gate_id}"
    fields = {
        part: f"{key}_{part}"
        for part in ("check", "justification", "controls", "expires", "confirmed", "password")
    }
    with st.expander("Waive a failed check", icon=":material/gpp_maybe:"):
        st.caption(
            "A waiver lets one failed check pass approval until its expiry date, under the "
            "compensating controls you state; when it expires the check blocks again."
        )
        check = st.selectbox("Failed check", checks, key=fields["check"])
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        until = st.date_input(
            "Expires on",
            value=tomorrow + timedelta(days=DEFAULT_WAIVER_DAYS - 1),
            min_value=tomorrow,
            key=fields["expires"],
        )
        assert isinstance(until, date)
        meaning = attempt(lambda s: waiver_meaning(s, version_id, gate_id, check, until))
        if meaning is None:
            return
        with st.form(key):
            justification = st.text_area(
                "Justification (why the check may fail for now)", key=fields["justification"]
            )
            controls = st.text_area(
                "Compensating controls (what stands in for the check)", key=fields["controls"]
            )
            st.markdown("**Meaning of your signature**")
            st.text(meaning)
            confirmed = st.checkbox("I confirm the meaning above", key=fields["confirmed"])
            password = st.text_input(
                "Re-enter your password to sign", type="password", key=fields["password"]
            )
            submitted = st.form_submit_button("Sign the waiver", icon=":material/draw:")
    if not submitted:
        return
    if not confirmed:
        st.error(
            "Tick “I confirm the meaning above” to sign; a signature needs its meaning confirmed."
        )
        return
    request = WaiverRequest(
        check=check,
        justification=justification,
        controls=controls,
        # The waiver lasts through its last day, in UTC like every time Gatehouse keeps.
        expires_at=datetime.combine(until, time.max, tzinfo=UTC),
    )
    signed = attempt(
        lambda s: sign_gate(
            session=s,
            actor=user_session.actor(s),
            version_id=version_id,
            gate_id=gate_id,
            act=Act.waive,
            password=password,
            meaning=meaning,
            comment=justification,
            waiver=request,
        )
    )
    if signed is not None:
        st.session_state[user_session.LAST_SIGNATURE] = text.escape_markdown(
            f"Signed: {signed.meaning}"
        )
        for name in fields.values():
            st.session_state.pop(name, None)
        st.rerun()

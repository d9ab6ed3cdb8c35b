"""The dashboard greets the signed-in user and reports the audit chain."""

from __future__ import annotations

import pytest

from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only  # pages on SQLite; the services below them run on both


def test_dashboard_after_sign_in(signed_in) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("risk_manager")
    assert not at.exception
    assert "Welcome, **Rita Risk**." in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Audit chain"] == "intact"
    # 9 users added + 1 sign-in, all recorded.
    assert metrics["Audit events"] == "10"

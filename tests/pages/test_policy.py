"""The Policy page: tier × consideration matrix, RACI grid, history; admins publish by paste."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from core.services.policy import ensure_shipped_pack, latest_policy_version, shipped_pack_text
from tests.pages.conftest import texts

pytestmark = pytest.mark.sqlite_only

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "policy.py")


@pytest.fixture
def published(session: Session, demo_users) -> None:  # type: ignore[no-untyped-def]
    ensure_shipped_pack(session)
    session.commit()


def test_everyone_reads_the_shipped_pack(signed_in, published) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Policy"]
    matrix = at.dataframe[0].value
    assert list(matrix.columns) == ["Consideration", "low", "medium", "high", "critical"]
    assert len(matrix) == 10  # nine considerations and the review cadence
    row = matrix.loc[matrix["Consideration"] == "Human sign-off"]
    assert row["critical"].item() == "Two approvers at validation and deployment; objections block."
    cadence = matrix.loc[matrix["Consideration"] == "Periodic review"]
    assert cadence["high"].item() == "every 180 days"

    at.selectbox(key="policy_raci_tier").select("high").run()
    grid = at.dataframe[1].value.set_index("Role")
    assert list(grid.columns)[:2] == ["business_scoping", "ideation"]
    assert grid.loc["validator", "validation"] == "R"
    assert grid.loc["risk_manager", "validation"] == "A"
    assert grid.loc["risk_manager", "deployment"] == "A"
    assert grid.loc["compliance", "validation"] == "C"
    assert "Publish a new version" not in [s.value for s in at.subheader]


def test_admin_publishes_by_paste_and_a_bad_pack_is_refused(
    signed_in, published, session: Session
) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("admin")
    at.switch_page(PAGE).run()
    bad = shipped_pack_text().replace("accountable: validator", "accountable: [validator, sme]", 1)
    at.text_area(key="policy_paste").input(bad)
    at.button(key="FormSubmitter:policy_publish-Publish").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    line = next(i + 1 for i, t in enumerate(bad.splitlines()) if "[validator, sme]" in t)
    assert errors == [
        f"pasted pack, line {line}, tiers.high.gates[4].accountable: gate preproduction has 2 "
        "Accountable roles (validator, sme); name exactly one."
    ]
    assert latest_policy_version(session).version == 1
    session.rollback()  # end the read, so the page's write does not wait on it

    good = shipped_pack_text().replace("review_every_days: 730", "review_every_days: 540")
    at.text_area(key="policy_paste").input(good)
    at.button(key="FormSubmitter:policy_publish-Publish").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Published policy version 2."]
    session.expire_all()
    assert latest_policy_version(session).version == 2
    session.rollback()
    at.run()
    history = next(d.value for d in at.dataframe if "Changes" in d.value.columns)
    assert list(history["Version"]) == [2, 1]
    assert list(history["Changes"]) == [1, 0]
    assert "Gatehouse default policy" in texts(at)

"""User text with Markdown, HTML and LaTeX in it lands literally on every page (issue 9):
display names of the target, outcomes and features, and the signed-in person's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session

from app.ui import escape_markdown
from core.services.evidence import evaluate_version
from core.services.inventory import edit_card
from core.services.permissions import OPERATOR
from core.tables import ModelVersion, User

pytestmark = pytest.mark.sqlite_only

PAGES = Path(__file__).resolve().parents[2] / "pages"
HOSTILE = "**bold** <b>tag</b> $x^2$ [link](http://example.invalid) :red[red] # head"
#: What the hostile text would look like if a page passed it to Markdown unescaped.
# Each piece of syntax counts only when not backslash-escaped.
LIVE = re.compile(r"(?<!\\)\*\*bold|(?<!\\)<b>|(?<!\\)\$x|(?<!\\)\[link|(?<!\\)\[red|(?<!\\)# head")


def test_the_scan_sees_unescaped_syntax() -> None:
    assert LIVE.search(HOSTILE) and not LIVE.search(escape_markdown(HOSTILE))


def _marked_up(at) -> list[str]:  # type: ignore[no-untyped-def]
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title"):
        texts += [str(e.value) for e in getattr(at, kind)]
    texts += [str(t.label) for t in at.tabs] + [str(m.label) for m in at.metric]
    texts += [str(w.label) for w in [*at.selectbox, *at.number_input, *at.text_input]]
    return [t for t in texts if LIVE.search(t)]


@pytest.fixture
def hostile(session: Session, demo_models: dict[str, int], demo_users: dict[str, str]) -> None:
    version = session.get(ModelVersion, demo_models["credit-gbm"])
    assert version is not None
    features = [
        "income",
        "debt_ratio",
        "age",
        "years_employed",
        "employment",
        "region",
        "sex",
        "age_band",
    ]
    edit_card(
        session=session,
        actor=OPERATOR,
        model_id=version.model_id,
        changes={
            "vocabulary": {
                "target": {"name": HOSTILE},
                "outcomes": {"1": HOSTILE, "0": HOSTILE + " no"},
                "features": {f: {"name": f"{HOSTILE} {f}"} for f in features},
            }
        },
    )
    sme = session.exec(User.__table__.select().where(User.username == demo_users["sme"])).first()  # type: ignore[attr-defined]
    assert sme is not None
    row = session.get(User, sme.id)
    assert row is not None
    row.display_name = HOSTILE
    evaluate_version(session=session, actor=OPERATOR, version_id=version.id or 0, n_boot=0)
    session.commit()


@pytest.mark.parametrize(
    "page", ["dashboard.py", "model.py", "performance.py", "fairness.py", "explanations.py"]
)
def test_hostile_names_are_shown_literally(signed_in, hostile, page: str) -> None:  # type: ignore[no-untyped-def]
    at = signed_in("sme")
    at.switch_page(str(PAGES / page)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _marked_up(at) == []

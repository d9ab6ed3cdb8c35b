"""The demo's risk assessments: models in at least three tiers, one overdue review, one override."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.demo.risk import seed_risk
from core.demo.seed import DEMO_MODELS
from core.services.inventory import register_version
from core.services.permissions import OPERATOR
from core.services.policy import ensure_shipped_pack
from core.services.risk import risk_columns
from tests.demo_people import add_demo_users

pytestmark = pytest.mark.sqlite_only  # the demo's content; the services run on both elsewhere


def test_demo_tiers_overdue_and_override(session: Session, demo_files: DemoFiles) -> None:
    add_demo_users(session)
    ensure_shipped_pack(session)
    ids = {}
    for name in demo_files.model_names:
        ids[name] = register_version(
            session=session, actor=OPERATOR, name=name, artifact=demo_files.model_paths[name],
            eval_data=demo_files.eval_csv, train_data=demo_files.train_csv, target=TARGET,
            sensitive=SENSITIVE, card={"owner": DEMO_MODELS[name]["card"]["owner"]},
        ).model_id  # fmt: skip
    seed_risk(session)
    session.commit()
    flags = risk_columns(session, ids.values())
    by_name = {name: flags[i] for name, i in ids.items()}
    assert len({f["tier"] for f in by_name.values()}) >= 3
    assert [n for n, f in by_name.items() if f["overdue"]] == ["credit-logit"]
    assert [
        (n, f["computed_tier"], f["tier"]) for n, f in by_name.items() if f["override_tier"]
    ] == [("credit-gbm", "high", "critical")]

"""The demo's findings raised by people: an SME whose reading of production does not match the
business, and a validator's recorded limitation. Monitoring raises its own (core/demo/monitoring).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from core.services.findings import raise_finding
from core.tables import ModelEntry, MonitoringBatch, User

__all__ = ["SME_FINDING", "seed_findings"]

SME_FINDING = (
    "Applicants with years of steady employment are scored far below what underwriters expect "
    "since the November batch: record {record} (12 years employed, no arrears) sits in the "
    "bottom decile. Either incomes were captured wrongly or the model leans on income alone."
)
LIMITATION = (
    "The model was never tested on applicants without a credit bureau file; until it is, "
    "those applications go to an underwriter."
)


def seed_findings(session: Session) -> list[dict[str, Any]]:
    """Sam's finding on the production model's last batch; Victor's limitation on the challenger."""
    users = {u.username: u for u in session.exec(select(User)).all()}
    out = []
    gbm = session.exec(select(ModelEntry).where(ModelEntry.name == "credit-gbm")).first()
    if gbm is not None and gbm.production_version_id is not None:
        batch = session.exec(
            select(MonitoringBatch)
            .where(MonitoringBatch.version_id == gbm.production_version_id)
            .order_by(col(MonitoringBatch.id).desc())
        ).first()
        if batch is not None:
            # The demo's record ids: model, month scored, row (core/demo/monitoring.py).
            record = f"credit-gbm-{batch.scored_at:%Y-%m}-00042"
            found = raise_finding(
                session=session,
                actor=users["sam"],
                version_id=gbm.production_version_id,
                type="business",
                severity="medium",
                description=SME_FINDING.format(record=record),
                evidence_links=(f"monitoring batch {batch.id}", f"record {record}"),
            )
            out.append({"model": "credit-gbm", "finding_id": found.id})
    logit = session.exec(select(ModelEntry).where(ModelEntry.name == "credit-logit")).first()
    if logit is not None and logit.current_version_id is not None:
        found = raise_finding(
            session=session,
            actor=users["victor"],
            version_id=logit.current_version_id,
            type="limitation",
            severity="low",
            description=LIMITATION,
        )
        out.append({"model": "credit-logit", "finding_id": found.id})
    session.commit()
    return out

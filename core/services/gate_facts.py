"""What a gate reads about its version: the card, the datasets, the evidence in force.

Gate acts, gate status and staleness all read through ``version_facts`` so that the manifest a
signer signs and the "changes since sign-off" a reviewer sees are computed from the same data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import NotFound
from core.rules.gate_evidence import EvidenceFacts
from core.tables import Dataset, Evidence, ModelCardRevision, ModelEntry, ModelVersion

__all__ = ["VersionFacts", "evidence_in_force", "stored_checks", "version_facts"]

NO_VERSION = "There is no version with id {version_id}; `gatehouse model list` shows the versions."


@dataclass(frozen=True)
class VersionFacts:
    """A version with its model, current card, datasets and newest evidence of each kind."""

    version: ModelVersion
    model: ModelEntry
    card: dict[str, Any]
    datasets: dict[str, str]
    datasets_without_provenance: list[str]
    evidence: dict[str, EvidenceFacts]

    def evidence_manifest(self, kinds: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The evidence in force of these kinds, as a manifest lists it: id and hash per kind."""
        wanted = set(kinds)
        return {
            kind: {"evidence_id": e.id, "sha256": e.sha256, "status": e.status}
            for kind, e in sorted(self.evidence.items())
            if kind in wanted
        }

    def card_fields(self, fields: Iterable[str]) -> dict[str, str]:
        """The card fields a gate requires, as signed (text, empty when missing)."""
        return {f: str(self.card.get(f) or "") for f in sorted(set(fields))}


def stored_checks(results_json: str) -> tuple[dict[str, Any], ...]:
    """The checks of stored evidence results, whether kept whole or per feature."""
    results = json.loads(results_json)
    checks = results.get("checks") or [
        c for f in results.get("features", []) if isinstance(f, dict) for c in f.get("checks", [])
    ]
    return tuple(checks)


def evidence_in_force(session: Session, version_id: int) -> dict[str, EvidenceFacts]:
    """The newest evidence of each kind for the version (one query)."""
    newest = (
        sa.select(sa.func.max(Evidence.id))
        .where(col(Evidence.version_id) == version_id)
        .group_by(Evidence.kind)
    )
    rows = session.exec(select(Evidence).where(col(Evidence.id).in_(newest))).all()
    return {
        row.kind: EvidenceFacts(
            id=row.id or 0,
            kind=row.kind,
            sha256=row.sha256,
            status=row.status,
            computed_at=row.computed_at,
            checks=stored_checks(row.results_json),
        )
        for row in rows
    }


def version_facts(session: Session, version_id: int) -> VersionFacts:
    """Everything a gate needs to know about the version, read once."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(NO_VERSION.format(version_id=version_id))
    model = session.get(ModelEntry, version.model_id)
    assert model is not None
    card_row = session.exec(
        select(ModelCardRevision)
        .where(ModelCardRevision.model_id == model.id)
        .order_by(col(ModelCardRevision.revision).desc())
        .limit(1)
    ).first()
    card: dict[str, Any] = json.loads(card_row.card_json) if card_row else {}
    card.setdefault("purpose", model.purpose)
    datasets: dict[str, str] = {}
    no_provenance: list[str] = []
    for role, dataset_id in (
        ("training", version.train_dataset_id),
        ("evaluation", version.eval_dataset_id),
    ):
        if dataset_id is None:
            continue
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            continue
        datasets[role] = dataset.sha256
        if not dataset.provenance.strip():
            no_provenance.append(f"{role} data {dataset.name!r}")
    return VersionFacts(
        version=version,
        model=model,
        card=card,
        datasets=datasets,
        datasets_without_provenance=no_provenance,
        evidence=evidence_in_force(session, version_id),
    )

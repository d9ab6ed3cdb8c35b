"""The report manifest: hashes of everything the report prints, with proofs of its events.

``content`` holds the version, datasets, evidence and signatures with their hashes, and every
audit event of the model whole (so its hash can be recomputed) with an RFC 6962 inclusion proof
against a signed checkpoint that is itself in the manifest. The same stored state gives the same
content (the checkpoint is reused while it covers every event printed); ``generated`` says when
and by whom. The installation key signs the manifest with the document hash (core.reports.seal).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from core.reports.gather import ReportData
from core.rules.merkle import inclusion_proofs
from core.services.audit import canonical_json, event_records
from core.services.checkpoints import Checkpoint, chain_hashes, latest_checkpoint, system_checkpoint
from core.services.signing import fingerprint, installation_key, public_key_pem, sign

__all__ = [
    "MANIFEST_KIND",
    "SIGNING_ACTS",
    "Manifest",
    "build_manifest",
    "make_seal",
    "seal_example",
    "signed_text",
]

MANIFEST_KIND = "gatehouse.report-manifest/1"
#: Acts whose signature names a manifest of what was signed, and so has an audit event to prove.
SIGNING_ACTS = ("submit", "opinion", "approve", "reject", "waive")


@dataclass(frozen=True)
class Manifest:
    """The manifest and the checkpoint its proofs are against."""

    data: dict[str, Any]
    checkpoint: Checkpoint

    @property
    def content_sha256(self) -> str:
        """SHA-256 of the content: the same for the same stored state."""
        return hashlib.sha256(canonical_json(self.data["content"]).encode()).hexdigest()


def _evidence(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for role, stored in (
        ("performance", data.performance),
        ("fairness", data.fairness),
        ("explanation", data.explanation),
        ("parent_performance", data.parent_performance),
        ("production_performance", data.production_performance),
    ):
        if stored is not None:
            rows.append(
                {
                    "role": role,
                    "evidence_id": stored.id,
                    "version_id": stored.version_id,
                    "kind": stored.kind,
                    "sha256": stored.sha256,
                    "status": stored.status,
                }
            )
    return rows


def _signatures(data: ReportData) -> list[dict[str, Any]]:
    return [
        {
            "gate": g.gate_id,
            "act": s.act,
            "printed_name": s.printed_name,
            "username": s.username,
            "role": s.role,
            "meaning": s.meaning,
            "signed_at": s.signed_at,
            "manifest_sha256": s.manifest_sha256,
            "round": s.round,
        }
        for g in data.gates.gates
        for s in g.signatures
    ]


def _anchor(session: Session, needed: int) -> Checkpoint:
    """The newest checkpoint if it covers the first ``needed`` events, else a fresh one."""
    newest = latest_checkpoint(session)
    if newest is not None and int(newest.statement["event_count"]) >= needed:
        return newest
    return system_checkpoint(session, "report")


def build_manifest(session: Session, data: ReportData) -> Manifest:
    """The manifest of a gathered report, anchored to a checkpoint covering its events."""
    hashes = chain_hashes(session)
    position = {h: i for i, h in enumerate(hashes)}
    records = event_records(session=session, sequences=[e.sequence for e in data.events])
    indexes = [position[r["hash"]] for r in records]
    checkpoint = _anchor(session, max(indexes, default=-1) + 1)
    count = int(checkpoint.statement["event_count"])
    leaves = [bytes.fromhex(h) for h in hashes[:count]]
    proofs = inclusion_proofs(leaves, indexes)
    version = data.version
    content = {
        "model": {"id": data.model.id, "name": data.model.name},
        "version": {
            "id": version.version_id,
            "number": version.version,
            "stage": version.stage,
            "artifact_sha256": version.artifact_sha256,
            "parent_version_id": version.parent_version_id,
        },
        "datasets": [
            {"role": role, "name": d.name, "sha256": d.sha256, "rows": d.rows}
            for role, d in (
                ("training", version.train_dataset),
                ("evaluation", version.eval_dataset),
            )
            if d is not None
        ],
        "evidence": _evidence(data),
        "gates": [
            {"gate": g.gate_id, "state": g.state, "round": g.round} for g in data.gates.gates
        ],
        "signatures": _signatures(data),
        "events": [
            {**record, "index": index, "proof": [p.hex() for p in proofs[index]]}
            for record, index in zip(records, indexes, strict=True)
        ],
        "checkpoint": checkpoint.to_dict(),
    }
    return Manifest(
        {
            "kind": MANIFEST_KIND,
            "content": content,
            "generated": {"at": data.generated_at, "by": data.generated_by},
        },
        checkpoint,
    )


def signed_text(manifest: dict[str, Any], document_sha256: str, pages: int) -> bytes:
    """The bytes the installation key signs: manifest, document hash and page count."""
    return canonical_json(
        {"manifest": manifest, "document_sha256": document_sha256, "pages": pages}
    ).encode()


def make_seal(manifest: dict[str, Any], document_sha256: str, pages: int) -> dict[str, Any]:
    """The seal written into the report: what was signed, the signature and the key."""
    public = installation_key().public_key()
    return {
        "manifest": manifest,
        "document_sha256": document_sha256,
        "pages": pages,
        "signature": sign(signed_text(manifest, document_sha256, pages)),
        "key_fingerprint": fingerprint(public),
        "public_key": public_key_pem(),
    }


def seal_example(manifest: dict[str, Any], pages: int) -> dict[str, Any]:
    """A seal of the same size as the real one, to reserve its room before the hash exists."""
    return make_seal(manifest, "0" * 64, pages)

"""Verifying a report PDF with nothing but the file and the installation's public key.

Checks, in order: the seal is intact and signed by the given key; the file's bytes (with the
seal set aside) are the bytes that were signed, so one changed byte or a removed page fails; the
checkpoint in the manifest is signed by the same key; every event's hash follows from its
content, and its inclusion proof leads to the checkpoint's Merkle root; every signature the
report prints has its audit event among those proven events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from core.reports.manifest import MANIFEST_KIND, SIGNING_ACTS, signed_text
from core.reports.seal import open_seal
from core.rules.merkle import verify_inclusion
from core.services.audit import canonical_json, event_hash
from core.services.signing import fingerprint, load_public_key, verify_signature

__all__ = ["ReportVerification", "verify_offline"]

OTHER_KEY = (
    "The report was sealed by key {found}, not by the key given ({expected}); check which "
    "installation made it."
)
BAD_SIGNATURE = "The seal's signature does not match its manifest: the manifest was altered."
BYTES_CHANGED = (
    "The file's bytes are not the ones that were sealed: a page, its text, an image or the "
    "document structure was changed or removed after the report was made."
)
NOT_A_MANIFEST = "The seal holds no Gatehouse report manifest."
CHECKPOINT_SIGNATURE = "The checkpoint in the manifest is not signed by the given key."
EVENT_CHANGED = "Event {sequence} in the manifest does not hash to {hash}: its content was altered."
EVENT_NOT_PROVEN = (
    "Event {sequence} is not in the checkpointed audit trail: its inclusion proof does not "
    "lead to the checkpoint's Merkle root."
)
SIGNATURE_NOT_PROVEN = (
    "The {act} of the {gate} gate by {who} on {when} has no proven audit event in the manifest."
)


@dataclass(frozen=True)
class ReportVerification:
    """What verification found: valid or not, every problem, and what the report states."""

    valid: bool
    problems: list[str]
    model: str | None = None
    version: int | None = None
    version_id: int | None = None
    generated_at: str | None = None
    generated_by: str | None = None
    pages: int | None = None
    document_sha256: str | None = None
    content_sha256: str | None = None
    checkpoint_events: int | None = None
    events_proven: int = 0
    signatures_proven: int = 0
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    since: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "manifest"}


def _events(content: dict[str, Any], root: bytes, count: int) -> tuple[list[str], set[str]]:
    problems: list[str] = []
    proven: set[str] = set()
    for event in content.get("events", []):
        sequence, digest = event.get("sequence"), str(event.get("hash", ""))
        try:
            recomputed = event_hash(event["prev_hash"], event["body"])
            leaf = bytes.fromhex(digest)
            proof = [bytes.fromhex(p) for p in event["proof"]]
            index = int(event["index"])
        except (KeyError, TypeError, ValueError):
            problems.append(EVENT_CHANGED.format(sequence=sequence, hash=digest[:16]))
            continue
        if recomputed != digest:
            problems.append(EVENT_CHANGED.format(sequence=sequence, hash=digest[:16]))
        elif not verify_inclusion(leaf, index, count, proof, root):
            problems.append(EVENT_NOT_PROVEN.format(sequence=sequence))
        else:
            proven.add(digest)
    return problems, proven


def _signatures(content: dict[str, Any], proven: set[str]) -> tuple[list[str], int]:
    acts = {}
    for event in content.get("events", []):
        if event.get("hash") in proven:
            body = event["body"]
            details = body.get("details", {})
            acts[(body.get("action"), details.get("gate"), details.get("manifest_sha256"))] = True
    problems, count = [], 0
    for s in content.get("signatures", []):
        if s.get("act") not in SIGNING_ACTS or not s.get("manifest_sha256"):
            continue
        if (f"gate_{s['act']}", s.get("gate"), s.get("manifest_sha256")) in acts:
            count += 1
        else:
            problems.append(
                SIGNATURE_NOT_PROVEN.format(
                    act=s["act"],
                    gate=s.get("gate"),
                    who=s.get("printed_name"),
                    when=s.get("signed_at"),
                )
            )
    return problems, count


def verify_offline(pdf: bytes, public_key_pem: str) -> ReportVerification:
    """Check a report PDF against the installation's public key alone (no database)."""
    opened = open_seal(pdf)
    if opened.seal is None:
        return ReportVerification(False, list(opened.problems))
    seal = opened.seal
    public = load_public_key(public_key_pem)
    if seal.get("key_fingerprint") != fingerprint(public):
        found = str(seal.get("key_fingerprint", ""))[:16]
        return ReportVerification(
            False, [OTHER_KEY.format(found=found, expected=fingerprint(public)[:16])]
        )
    manifest = seal.get("manifest") or {}
    problems: list[str] = []
    text = signed_text(manifest, str(seal.get("document_sha256")), int(seal.get("pages") or 0))
    if not verify_signature(public, text, str(seal.get("signature", ""))):
        problems.append(BAD_SIGNATURE)
    if opened.document_sha256 != seal.get("document_sha256"):
        problems.append(BYTES_CHANGED)
    if manifest.get("kind") != MANIFEST_KIND:
        return ReportVerification(False, [*problems, NOT_A_MANIFEST])
    content = manifest["content"]
    checkpoint = content.get("checkpoint", {})
    statement = checkpoint.get("statement", {})
    if not verify_signature(
        public, canonical_json(statement).encode(), str(checkpoint.get("signature", ""))
    ):
        problems.append(CHECKPOINT_SIGNATURE)
    count = int(statement.get("event_count", 0))
    event_problems, proven = _events(
        content, bytes.fromhex(str(statement.get("merkle_root", ""))), count
    )
    signature_problems, signed = _signatures(content, proven)
    problems += event_problems + signature_problems
    return ReportVerification(
        valid=not problems,
        problems=problems,
        model=content.get("model", {}).get("name"),
        version=content.get("version", {}).get("number"),
        version_id=content.get("version", {}).get("id"),
        generated_at=manifest.get("generated", {}).get("at"),
        generated_by=manifest.get("generated", {}).get("by"),
        pages=seal.get("pages"),
        document_sha256=seal.get("document_sha256"),
        content_sha256=hashlib.sha256(canonical_json(content).encode()).hexdigest(),
        checkpoint_events=count,
        events_proven=len(proven),
        signatures_proven=signed,
        manifest=manifest,
    )

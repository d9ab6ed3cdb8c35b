"""Generating, archiving, listing, downloading and verifying audit reports: the reports service.

Every generated PDF is kept in the content store with a row in the append-only archive (its
SHA-256, who, when) and an audit event, in the caller's transaction; the edge commits. Any role
may generate, download and verify a report (``REPORT_ROLES``), checked on every call.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core.errors import InputProblems, NotFound
from core.files.store import sha256_file, store_file
from core.reports.gather import gather_report
from core.reports.manifest import build_manifest
from core.reports.render import render_report
from core.reports.verify import ReportVerification, verify_offline
from core.services.audit import append_event, canonical_json
from core.services.audit_log import model_history
from core.services.checkpoints import Checkpoint, trail_extends
from core.services.evidence import latest_evidence
from core.services.gate_status import gate_status
from core.services.inventory import get_model, get_version
from core.services.permissions import REPORT_ROLES, Actor, Operator, require_role
from core.services.signing import public_key_pem
from core.tables import ReportArchive, utcnow

__all__ = [
    "GeneratedReport",
    "ReportEntry",
    "generate_report",
    "list_reports",
    "report_pdf",
    "verify_report",
]

UNKNOWN_REPORT = "No archived report with id {ref}; the model page lists its reports."
DAMAGED = (
    "The archived file of report {ref} no longer has the SHA-256 recorded when it was made; "
    "restore the data folder from a backup."
)
NOT_A_PDF = "The file is not a PDF; pass the report PDF Gatehouse generated."


@dataclass(frozen=True)
class GeneratedReport:
    """A generated, archived report: its id, file name, bytes, hashes and step timings."""

    report_id: int
    version_id: int
    filename: str
    pdf: bytes = field(repr=False)
    sha256: str
    content_sha256: str
    pages: int
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "pdf"}


@dataclass(frozen=True)
class ReportEntry:
    """One archived report, as the model page lists it."""

    report_id: int
    version_id: int
    filename: str
    sha256: str
    pages: int
    generated_by: str
    generated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "generated_at": self.generated_at.isoformat()}


def _generator(actor: Actor) -> str:
    if isinstance(actor, Operator):
        return "operator"
    return f"{actor.display_name} ({actor.username})" if actor.display_name else actor.username


def _filename(model: str, version: int, sha256: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)[:80] or "model"
    return f"audit-report-{safe}-v{version}-{sha256[:12]}.pdf"


def _store(pdf: bytes, sha256: str) -> Path:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        return store_file(source, kind="reports", sha256=sha256, suffix=".pdf")


def generate_report(
    *, session: Session, actor: Actor, version_id: int, charts: bool = True
) -> GeneratedReport:
    """Gather, render and seal a version's audit report, archive it and record the event."""
    require_role(session, actor, "generate audit reports", *REPORT_ROLES)
    start = time.perf_counter()
    data = gather_report(
        session=session,
        version_id=version_id,
        generated_by=_generator(actor),
        generated_at=utcnow(),
    )
    manifest = build_manifest(session, data)
    gathering = time.perf_counter() - start
    rendered = render_report(data, manifest, charts=charts)
    sha256 = hashlib.sha256(rendered.pdf).hexdigest()
    path = _store(rendered.pdf, sha256)
    row = ReportArchive(
        model_id=data.model.id,
        version_id=version_id,
        sha256=sha256,
        content_sha256=manifest.content_sha256,
        size=len(rendered.pdf),
        pages=rendered.pages,
        path=str(path),
        checkpoint_events=int(manifest.checkpoint.statement["event_count"]),
        generated_by=actor.id,
        generated_by_name=actor.username,
        generated_at=data.generated_at,
    )
    session.add(row)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="report_generated",
        subject_type="report",
        subject_id=str(row.id),
        details={
            "model": data.model.name,
            "version": data.version.version,
            "version_id": version_id,
            "sha256": sha256,
            "content_sha256": manifest.content_sha256,
            "pages": rendered.pages,
            "checkpoint_events": row.checkpoint_events,
        },
    )
    return GeneratedReport(
        report_id=row.id or 0,
        version_id=version_id,
        filename=_filename(data.model.name, data.version.version, sha256),
        pdf=rendered.pdf,
        sha256=sha256,
        content_sha256=manifest.content_sha256,
        pages=rendered.pages,
        timings={"gathering": gathering, **rendered.timings},
    )


def list_reports(*, session: Session, actor: Actor, model_id: int) -> list[ReportEntry]:
    """Every archived report of a model, newest first."""
    require_role(session, actor, "read audit reports", *REPORT_ROLES)
    rows = session.exec(
        select(ReportArchive)
        .where(ReportArchive.model_id == model_id)
        .order_by(col(ReportArchive.id).desc())
    ).all()
    out = []
    for row in rows:
        version = get_version(session=session, version_id=row.version_id)
        name = get_model(session=session, model_id=row.model_id).name
        out.append(
            ReportEntry(
                report_id=row.id or 0,
                version_id=row.version_id,
                filename=_filename(name, version.version, row.sha256),
                sha256=row.sha256,
                pages=row.pages,
                generated_by=row.generated_by_name,
                generated_at=row.generated_at,
            )
        )
    return out


def report_pdf(*, session: Session, actor: Actor, report_id: int) -> bytes:
    """An archived report's bytes, checked against the SHA-256 recorded when it was made."""
    require_role(session, actor, "read audit reports", *REPORT_ROLES)
    row = session.get(ReportArchive, report_id)
    if row is None:
        raise NotFound([UNKNOWN_REPORT.format(ref=report_id)])
    path = Path(row.path)
    if not path.is_file() or sha256_file(path) != row.sha256:
        raise InputProblems([DAMAGED.format(ref=report_id)])
    return path.read_bytes()


def _since(session: Session, manifest: dict[str, Any]) -> dict[str, Any]:
    """What happened to the version after the report was made, from the database."""
    content = manifest["content"]
    version_id = int(content["version"]["id"])
    then = {
        (s["gate"], s["act"], s["manifest_sha256"], s["signed_at"]) for s in content["signatures"]
    }
    signatures = []
    states = []
    before = {g["gate"]: g["state"] for g in content.get("gates", [])}
    for gate in gate_status(session=session, version_id=version_id).gates:
        if before.get(gate.gate_id) not in (None, gate.state):
            states.append({"gate": gate.gate_id, "was": before[gate.gate_id], "now": gate.state})
        for s in gate.signatures:
            if (gate.gate_id, s.act, s.manifest_sha256, _utc_text(s.signed_at)) not in then:
                signatures.append({"gate": gate.gate_id, **s.to_dict()})
    evidence = []
    for entry in content["evidence"]:
        if entry["role"] in ("performance", "fairness", "explanation"):
            now = latest_evidence(session=session, version_id=version_id, kind=entry["kind"])
            if now is not None and now.id != entry["evidence_id"]:
                evidence.append({"kind": entry["kind"], "was": entry["evidence_id"], "now": now.id})
    last = max((e["sequence"] for e in content["events"]), default=0)
    events = [
        {
            "sequence": e.sequence,
            "occurred_at": e.occurred_at.isoformat(),
            "description": e.description,
        }
        for e in reversed(
            model_history(session=session, model=content["model"]["name"], limit=1000)
        )
        if e.sequence > last
    ]
    archived = session.exec(
        select(ReportArchive.id).where(ReportArchive.content_sha256 == _content_hash(content))
    ).first()
    return {
        "new_signatures": signatures,
        "gate_changes": states,
        "new_evidence": evidence,
        "new_events": events,
        "archived_report_id": archived,
    }


def _utc_text(when: datetime) -> str:
    """A time as the manifest writes it (canonical JSON)."""
    return str(canonical_json(when)).strip('"')


def _content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def verify_report(
    *, session: Session, actor: Actor, pdf: bytes, public_key: str | None = None
) -> ReportVerification:
    """Verify a report as ``verify_offline`` does, then against the database: that today's
    trail extends the report's checkpoint, and what changed since (later signatures, gate
    states, evidence, events)."""
    require_role(session, actor, "verify audit reports", *REPORT_ROLES)
    if not pdf.startswith(b"%PDF-"):
        raise InputProblems([NOT_A_PDF])
    result = verify_offline(pdf, public_key or public_key_pem())
    if not result.manifest:
        return result
    checkpoint = Checkpoint.from_dict(result.manifest["content"]["checkpoint"])
    problems = [
        *result.problems,
        *trail_extends(session, checkpoint, public_key or public_key_pem()),
    ]
    return replace(
        result, valid=not problems, problems=problems, since=_since(session, result.manifest)
    )

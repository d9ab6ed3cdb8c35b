"""SQLModel tables, one module per area. The word "model" means an ML model here, so row classes
are "tables". Importing this package registers every table on ``SQLModel.metadata``."""

from __future__ import annotations

from sqlmodel import SQLModel

# Stable constraint names, so Alembic batch migrations on SQLite can find them again. Set before
# any table module is imported, since constraints are named when their table is defined.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

from core.db.types import OPEN_END, UTCDateTime, utcnow  # noqa: E402
from core.tables.accounts import User, UserRole, UserSession  # noqa: E402
from core.tables.audit import AuditEvent  # noqa: E402
from core.tables.checkpoints import AuditCheckpoint  # noqa: E402
from core.tables.evidence import EVIDENCE_KINDS, JOB_STATES, Evidence, Job  # noqa: E402
from core.tables.findings import FINDINGS_APPEND_ONLY, Finding, FindingChange  # noqa: E402
from core.tables.gates import Gate, GateAct, Waiver  # noqa: E402
from core.tables.governance import (  # noqa: E402
    GOVERNANCE_APPEND_ONLY,
    ModelPolicy,
    PolicyVersion,
    RiskAssessment,
    RiskOverride,
)
from core.tables.inventory import (  # noqa: E402
    STAGES,
    Dataset,
    ModelCardRevision,
    ModelEntry,
    ModelSnapshot,
    ModelVersion,
    StageChange,
)
from core.tables.monitoring import MonitoringBatch  # noqa: E402
from core.tables.notifications import Notification, OutboxMessage  # noqa: E402
from core.tables.reports import ReportArchive  # noqa: E402
from core.tables.trusted_types import TrustedType  # noqa: E402

__all__ = [
    "EVIDENCE_KINDS",
    "FINDINGS_APPEND_ONLY",
    "GOVERNANCE_APPEND_ONLY",
    "JOB_STATES",
    "OPEN_END",
    "STAGES",
    "AuditCheckpoint",
    "AuditEvent",
    "Dataset",
    "Evidence",
    "Finding",
    "FindingChange",
    "Gate",
    "GateAct",
    "Job",
    "ModelCardRevision",
    "ModelEntry",
    "ModelPolicy",
    "ModelSnapshot",
    "ModelVersion",
    "MonitoringBatch",
    "Notification",
    "OutboxMessage",
    "PolicyVersion",
    "ReportArchive",
    "RiskAssessment",
    "RiskOverride",
    "StageChange",
    "TrustedType",
    "UTCDateTime",
    "User",
    "UserRole",
    "UserSession",
    "Waiver",
    "utcnow",
]

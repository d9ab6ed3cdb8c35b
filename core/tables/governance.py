"""Governance: published policy versions, risk assessments and overrides, and which policy
version governs each model. Every table here is append-only (the database refuses UPDATE and
DELETE); the current state is the newest row."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db.types import UTCDateTime, utcnow

#: Tables the database keeps append-only (triggers of migration 0006).
GOVERNANCE_APPEND_ONLY = ("policy_version", "risk_assessment", "risk_override", "model_policy")


class PolicyVersion(SQLModel, table=True):
    """One published version of the governance policy pack: its YAML exactly as loaded, the
    normalised pack as canonical JSON, and the SHA-256 of that JSON. Never changed."""

    __tablename__ = "policy_version"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    source_name: str = Field(default="", max_length=500)
    source_yaml: str = Field(sa_type=sa.Text)
    pack_json: str = Field(sa_type=sa.Text)
    sha256: str = Field(max_length=64)
    method_version: str = Field(max_length=64)
    published_by: int | None = Field(default=None, foreign_key="user.id")
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = Field(default="", sa_type=sa.Text)


class RiskAssessment(SQLModel, table=True):
    """One answered questionnaire for a model: every answer, the method version and policy
    version that scored it, both scores, the computed tier, and the version it was made on
    (``basis_json``: features, target, training data and model class) so a material change
    later marks it "needs review"."""

    __tablename__ = "risk_assessment"
    __table_args__ = (sa.Index("ix_risk_assessment_model_id", "model_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    version_id: int | None = Field(default=None, foreign_key="model_version.id")
    policy_version_id: int = Field(foreign_key="policy_version.id")
    method_version: str = Field(max_length=64)
    answers_json: str = Field(sa_type=sa.Text)
    materiality: float
    complexity: float
    materiality_level: str = Field(max_length=32)
    complexity_level: str = Field(max_length=32)
    computed_tier: str = Field(max_length=16)
    basis_json: str = Field(default="{}", sa_type=sa.Text)
    next_review_date: datetime = Field(sa_type=UTCDateTime)
    assessed_by: int | None = Field(default=None, foreign_key="user.id")
    assessed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RiskOverride(SQLModel, table=True):
    """A risk manager's override of an assessment's computed tier, with the written reason."""

    __tablename__ = "risk_override"
    __table_args__ = (sa.Index("ix_risk_override_assessment_id", "assessment_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="risk_assessment.id")
    tier: str = Field(max_length=16)
    justification: str = Field(sa_type=sa.Text)
    next_review_date: datetime = Field(sa_type=UTCDateTime)
    overridden_by: int | None = Field(default=None, foreign_key="user.id")
    overridden_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelPolicy(SQLModel, table=True):
    """A model came under a policy version (explicitly, or when first assessed); the newest row
    per model is the version that governs it."""

    __tablename__ = "model_policy"
    __table_args__ = (sa.Index("ix_model_policy_model_id", "model_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    policy_version_id: int = Field(foreign_key="policy_version.id")
    reason: str = Field(default="", sa_type=sa.Text)
    adopted_by: int | None = Field(default=None, foreign_key="user.id")
    adopted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

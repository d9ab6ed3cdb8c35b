"""Governance policy: publishing pack versions, which version governs each model, and the
lookup every gate and check makes (tier, gates, thresholds) for a model.

Published versions are immutable (the database refuses changes); loading a pack publishes the
next version and leaves models where they are: moving models to a new version is an explicit,
audited act (``adopt_policy``). A model not yet bound to a version follows the newest one until
its first risk assessment binds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlmodel import Session, col, select

from core.errors import InputProblems, NotFound
from core.rules.card_fields import CARD_FIELDS
from core.rules.policy_pack import PolicyPack, Vocabulary, diff_packs, parse_pack
from core.rules.thresholds import FairnessPolicy, PerformancePolicy
from core.services.audit import append_event, canonical_json
from core.services.permissions import OPERATOR, ROLES, Actor, Role, require_role
from core.tables import (
    STAGES,
    ModelEntry,
    ModelPolicy,
    ModelVersion,
    PolicyVersion,
    RiskAssessment,
    User,
)

__all__ = [
    "PolicyLookup",
    "adopt_policy",
    "bind_model",
    "bound_version",
    "diff_versions",
    "ensure_shipped_pack",
    "get_policy_version",
    "governing_version",
    "latest_policy_version",
    "pack_of",
    "policy_for_model",
    "policy_history",
    "policy_summary",
    "publish_pack",
    "shipped_pack",
    "shipped_pack_text",
    "thresholds_for_version",
    "validate_pack",
]

VOCABULARY = Vocabulary(roles=ROLES, stages=STAGES, card_fields=tuple(CARD_FIELDS))
PUBLISH_ROLES = (Role.admin,)
ADOPT_ROLES = (Role.admin, Role.risk_manager)

NO_POLICY = "No policy is published yet; run `gatehouse init` or `gatehouse policy load FILE`."
UNKNOWN_POLICY = "No policy version {version}; the published versions are {versions}."
NO_REASON = "Say why the models move to policy version {version}; give --reason TEXT."
NO_MODELS = "Name the models to move to policy version {version}, or give --all."
UNKNOWN_MODELS = "No models named {names}; list them with `gatehouse model list`."


@dataclass(frozen=True)
class PolicyLookup:
    """What governs one model: the policy version, the pack, the tier in force and its gates."""

    model_id: int
    policy_version: int | None
    pack: PolicyPack
    tier: str
    assessed: bool
    context: str | None

    def gates(self) -> list[dict[str, Any]]:
        return self.pack.gates(self.tier, self.context)

    def thresholds(self) -> Any:
        return self.pack.thresholds(self.tier)

    def gate(self, gate_id: str) -> dict[str, Any] | None:
        """One gate's policy (RACI, approvers, evidence with staleness), or None if it does not
        apply to this model."""
        return next((g for g in self.gates() if g["id"] == gate_id), None)

    def segregation(self) -> Any:
        """The tier's segregation-of-duties rules."""
        return self.pack.tier(self.tier)["segregation"]

    def gates_for_stage(self, stage: str) -> list[dict[str, Any]]:
        """The gates that must be approved before a version enters ``stage``: every gate in
        order up to the last one that unlocks it (none if no gate does)."""
        gates = self.gates()
        last = max((i for i, g in enumerate(gates) if g["unlocks_stage"] == stage), default=-1)
        return gates[: last + 1]


# Packs are immutable once published, so a parsed pack is cached by the hash of its JSON (and
# the policies built from a cached pack's tier by that pack's identity).
_PACKS: dict[str, PolicyPack] = {}
_THRESHOLDS: dict[tuple[int, str], tuple[FairnessPolicy, PerformancePolicy]] = {}


def validate_pack(text: str, *, filename: str) -> PolicyPack:
    """Parse and check a pack file's text; InputProblems lists every problem (file, line, key)."""
    return parse_pack(text, filename=filename, vocabulary=VOCABULARY)


def shipped_pack_text() -> str:
    """The YAML of the pack Gatehouse ships (core/rules/packs/default.yaml)."""
    return resources.files("core.rules").joinpath("packs/default.yaml").read_text("utf-8")


def shipped_pack() -> PolicyPack:
    """The shipped pack, parsed (used where no version is published yet)."""
    text = shipped_pack_text()
    key = "shipped:" + hashlib.sha256(text.encode()).hexdigest()
    if key not in _PACKS:
        _PACKS[key] = validate_pack(text, filename="default.yaml")
    return _PACKS[key]


def pack_of(row: PolicyVersion) -> PolicyPack:
    """The parsed pack of a published version (cached: versions never change)."""
    if row.sha256 not in _PACKS:
        _PACKS[row.sha256] = validate_pack(row.pack_json, filename=f"policy v{row.version}")
    return _PACKS[row.sha256]


def latest_policy_version(session: Session) -> PolicyVersion | None:
    """The newest published version, or None before the first is published."""
    return session.exec(
        select(PolicyVersion).order_by(col(PolicyVersion.version).desc()).limit(1)
    ).first()


def get_policy_version(session: Session, version: int | None = None) -> PolicyVersion:
    """A published version by number (the newest when ``version`` is None), or NotFound."""
    row = (
        latest_policy_version(session)
        if version is None
        else session.exec(select(PolicyVersion).where(PolicyVersion.version == version)).first()
    )
    if row is None:
        if version is None:
            raise NotFound([NO_POLICY])
        numbers = session.exec(
            select(PolicyVersion.version).order_by(col(PolicyVersion.version))
        ).all()
        listed = ", ".join(map(str, numbers)) or "none"
        raise NotFound([UNKNOWN_POLICY.format(version=version, versions=listed)])
    return row


def publish_pack(
    *, session: Session, actor: Actor, text: str, source_name: str, note: str = ""
) -> tuple[PolicyVersion, bool]:
    """Check a pack and publish it as the next version; returns (version, created).

    A pack identical to the newest version publishes nothing (created False). A pack with
    problems publishes nothing and the version in force stays. ``actor`` None is the operator
    at `gatehouse init`; people need the admin role.
    """
    require_role(session, actor, "publish a policy pack", *PUBLISH_ROLES)
    pack = validate_pack(text, filename=source_name)
    pack_json = canonical_json(pack.data)
    sha = hashlib.sha256(pack_json.encode()).hexdigest()
    latest = latest_policy_version(session)
    if latest is not None and latest.sha256 == sha:
        return latest, False
    row = PolicyVersion(
        version=(latest.version + 1) if latest else 1,
        name=pack.name,
        source_name=source_name,
        source_yaml=text,
        pack_json=pack_json,
        sha256=sha,
        method_version=pack.method.version,
        published_by=actor.id if actor else None,
        note=note,
    )
    session.add(row)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="policy_published",
        subject_type="policy_version",
        subject_id=str(row.version),
        details={
            "name": pack.name,
            "sha256": sha,
            "source": source_name,
            "method": row.method_version,
        },
    )
    return row, True


def ensure_shipped_pack(session: Session) -> PolicyVersion | None:
    """Publish the shipped pack as version 1 if nothing is published yet (at `gatehouse init`)."""
    if latest_policy_version(session) is not None:
        return None
    row, _ = publish_pack(
        session=session, actor=OPERATOR, text=shipped_pack_text(), source_name="default.yaml"
    )
    return row


def bound_version(session: Session, model_id: int) -> PolicyVersion | None:
    bound = session.exec(
        select(ModelPolicy.policy_version_id)
        .where(ModelPolicy.model_id == model_id)
        .order_by(col(ModelPolicy.id).desc())
        .limit(1)
    ).first()
    return session.get(PolicyVersion, bound) if bound is not None else None


def governing_version(session: Session, model_id: int) -> PolicyVersion | None:
    """The version bound to the model, or (not yet bound) the newest published one."""
    return bound_version(session, model_id) or latest_policy_version(session)


def bind_model(
    *, session: Session, actor: Actor, model_id: int, row: PolicyVersion, reason: str
) -> None:
    """Record that ``row`` governs the model from now on, with its audit event."""
    session.add(
        ModelPolicy(
            model_id=model_id,
            policy_version_id=row.id,  # type: ignore[arg-type]
            reason=reason,
            adopted_by=actor.id if actor else None,
        )
    )
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="policy_adopted",
        subject_type="model",
        subject_id=str(model_id),
        details={"policy_version": row.version, "reason": reason},
    )


def adopt_policy(
    *,
    session: Session,
    actor: Actor,
    version: int,
    model_names: list[str] | None,
    reason: str,
) -> list[str]:
    """Move the named models (None: every model) to a policy version; returns the names moved.

    Explicit and audited: one event per model. Admins and risk managers may do it.
    """
    require_role(session, actor, "move models to a policy version", *ADOPT_ROLES)
    problems = []
    if not reason.strip():
        problems.append(NO_REASON.format(version=version))
    if model_names is not None and not model_names:
        problems.append(NO_MODELS.format(version=version))
    if problems:
        raise InputProblems(problems)
    row = get_policy_version(session, version)
    query = select(ModelEntry.id, ModelEntry.name).order_by(ModelEntry.name)
    if model_names is not None:
        query = query.where(col(ModelEntry.name).in_(model_names))
    models = session.exec(query).all()
    if model_names is not None and (missing := sorted(set(model_names) - {n for _, n in models})):
        raise NotFound([UNKNOWN_MODELS.format(names=", ".join(missing))])
    for model_id, _ in models:
        bind_model(session=session, actor=actor, model_id=model_id, row=row, reason=reason.strip())  # type: ignore[arg-type]
    return [name for _, name in models]


def _context(session: Session, model_id: int, pack: PolicyPack) -> str | None:
    if not pack.data.get("deployment_contexts"):
        return None
    answers = session.exec(
        select(RiskAssessment.answers_json)
        .where(RiskAssessment.model_id == model_id)
        .order_by(col(RiskAssessment.id).desc())
        .limit(1)
    ).first()
    return pack.context_of(json.loads(answers)) if answers else None


def policy_for_model(session: Session, model_id: int, *, with_context: bool = True) -> PolicyLookup:
    """What governs a model now: its policy version, tier (the pack's ``unassessed_tier`` until
    assessed), deployment context and so its gates and thresholds. A few indexed reads;
    ``with_context`` False skips reading the context (thresholds do not depend on it)."""
    model = session.get(ModelEntry, model_id)
    if model is None:
        raise NotFound([f"No model with id {model_id}; list them with `gatehouse model list`."])
    row = governing_version(session, model_id)
    pack = pack_of(row) if row else shipped_pack()
    tier = model.risk_tier or pack.unassessed_tier
    return PolicyLookup(
        model_id=model_id,
        policy_version=row.version if row else None,
        pack=pack,
        tier=tier,
        assessed=model.risk_tier is not None,
        context=_context(session, model_id, pack) if with_context else None,
    )


def _policies(thresholds: Any) -> tuple[FairnessPolicy, PerformancePolicy]:
    def kwargs(block: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, entry in block.items():
            if isinstance(entry, dict):
                out[name] = entry["value"]
                out[f"{name}_basis"] = entry["basis"]
        return out

    return (
        FairnessPolicy(**kwargs(thresholds["fairness"])),
        PerformancePolicy(**kwargs(thresholds["performance"])),
    )


def thresholds_for_version(
    session: Session, version: ModelVersion
) -> tuple[FairnessPolicy, PerformancePolicy, int | None]:
    """The fairness and performance thresholds that judge a version's evidence, from the policy
    version governing its model at its tier, and that policy version's number (None when no
    pack is published yet: the shipped pack's values then apply)."""
    lookup = policy_for_model(session, version.model_id, with_context=False)
    key = (id(lookup.pack), lookup.tier)
    if key not in _THRESHOLDS:
        _THRESHOLDS[key] = _policies(lookup.thresholds())
    fairness, performance = _THRESHOLDS[key]
    return fairness, performance, lookup.policy_version


def policy_summary(row: PolicyVersion) -> dict[str, Any]:
    """A published version as data: identity and the whole pack (what `policy show` prints)."""
    return {
        "version": row.version,
        "name": row.name,
        "sha256": row.sha256,
        "method_version": row.method_version,
        "source": row.source_name,
        "published_at": row.published_at.isoformat(),
        "pack": pack_of(row).to_dict(),
    }


def diff_versions(session: Session, old: int, new: int) -> list[dict[str, Any]]:
    """What changed from policy version ``old`` to ``new``: one row per changed key."""
    a, b = get_policy_version(session, old), get_policy_version(session, new)
    return diff_packs(json.loads(a.pack_json), json.loads(b.pack_json))


def policy_history(session: Session) -> list[dict[str, Any]]:
    """Every published version, newest first, with who published it and what it changed."""
    rows = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.version).desc())).all()
    names = {u.id: u.username for u in session.exec(select(User)).all()}
    out = []
    for i, row in enumerate(rows):
        before = rows[i + 1] if i + 1 < len(rows) else None
        changes = (
            diff_packs(json.loads(before.pack_json), json.loads(row.pack_json)) if before else []
        )
        out.append(
            {
                "version": row.version,
                "name": row.name,
                "published_at": row.published_at,
                "published_by": names.get(row.published_by) if row.published_by else "system",
                "source": row.source_name,
                "sha256": row.sha256,
                "method_version": row.method_version,
                "changes": changes,
            }
        )
    return out

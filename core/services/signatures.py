"""Electronic signatures (the 21 CFR Part 11 pattern): re-authentication at the moment of
signing, a stated meaning, and a canonical manifest of exactly what was signed.

Every signing act (submit, opinion, approve, reject, waive, tier override) calls
``confirm_signer`` first: a password user re-enters their password (a wrong one counts towards
lockout and is itself an audit event); a single sign-on user must have signed in with the
identity provider within the last five minutes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.errors import AuthenticationFailed, InputProblems
from core.services.audit import append_event, canonical_json
from core.services.auth import authenticate, verify_password
from core.tables import User, UserSession, utcnow

__all__ = [
    "NEEDS_MEANING",
    "SSO_TOO_OLD",
    "WRONG_SIGNING_PASSWORD",
    "confirm_signer",
    "manifest_hash",
    "signing_manifest",
]

SSO_WINDOW = timedelta(minutes=5)
WRONG_SIGNING_PASSWORD = (
    "The password is wrong, so nothing was signed; re-enter your own password to sign."  # noqa: S105
)
SIGNING_LOCKED = (
    "Your account is locked after repeated wrong passwords, so nothing was signed; wait for the "
    "lock to end or ask an admin to unlock it."
)
SSO_TOO_OLD = (
    "Signing needs a sign-in with your identity provider from the last five minutes; "
    "sign out and in again, then sign."
)
NEEDS_MEANING = (
    "A signature needs the meaning you confirm (for example {example!r}); "
    "state it with the signature."
)


def confirm_signer(*, session: Session, user: User, password: str | None, act: str) -> None:
    """Re-authenticate ``user`` for a signing act, or raise with one sentence.

    A refused signature is recorded (and committed: the one place a refusal outlives the
    rolled-back action), so repeated guesses lock the account as failed sign-ins do.
    """
    if user.password_hash is None:
        newest = session.exec(
            select(UserSession.created_at)
            .where(UserSession.user_id == user.id, UserSession.method == "sso")
            .order_by(col(UserSession.created_at).desc())
            .limit(1)
        ).first()
        if newest is None or utcnow() - newest > SSO_WINDOW:
            _refuse(session, user, act, "sso sign-in older than five minutes")
            raise AuthenticationFailed(SSO_TOO_OLD)
        return
    # Verifying a password is slow on purpose. It runs outside any transaction (named exception
    # to the one-transaction rule: on SQLite a transaction holds the write lock, and many signers
    # at once must not queue behind each other's password checks).
    row = session.exec(
        select(User.password_hash, User.locked_until).where(User.id == user.id)
    ).one()
    session.rollback()
    if row[1] is not None and row[1] > utcnow():
        _refuse(session, user, act, "account locked")
        raise AuthenticationFailed(SIGNING_LOCKED)
    if verify_password(password or "", row[0] or "")[0]:
        return
    try:  # count the failure exactly as a failed sign-in does (it may lock the account)
        authenticate(session=session, username=user.username, password=password or "")
    except AuthenticationFailed as err:
        _refuse(session, user, act, "wrong password")
        raise AuthenticationFailed(WRONG_SIGNING_PASSWORD) from err
    # Reaching here, the password matched on the second look (it changed meanwhile): accepted.


def _refuse(session: Session, user: User, act: str, reason: str) -> None:
    append_event(
        session=session,
        actor=user,
        action="signature_refused",
        subject_type="user",
        subject_id=str(user.id),
        details={"act": act, "reason": reason},
    )
    session.commit()


def require_meaning(meaning: str, example: str) -> str:
    """The stated meaning, stripped; a signature without one is refused."""
    meaning = (meaning or "").strip()
    if not meaning:
        raise InputProblems([NEEDS_MEANING.format(example=example)])
    return meaning


def signing_manifest(
    *,
    gate: Mapping[str, Any],
    model: str,
    version: int,
    version_id: int,
    artifact_sha256: str,
    dataset_sha256: Mapping[str, str],
    evidence: Mapping[str, Mapping[str, Any]],
    policy_version: int | None,
    tier: str | None,
    signer: str,
    printed_name: str,
    role: str,
    act: str,
    meaning: str,
    comment: str,
    signed_at: datetime,
) -> dict[str, Any]:
    """What a signature binds to, as plain data (hashed as canonical JSON)."""
    return {
        "kind": "gatehouse.signature-manifest/1",
        "gate": dict(gate),
        "model": model,
        "version": version,
        "version_id": version_id,
        "artifact_sha256": artifact_sha256,
        "datasets": dict(dataset_sha256),
        "evidence": {k: dict(v) for k, v in sorted(evidence.items())},
        "policy_version": policy_version,
        "tier": tier,
        "signer": signer,
        "printed_name": printed_name,
        "role": role,
        "act": act,
        "meaning": meaning,
        "comment": comment,
        "signed_at": signed_at,
    }


def manifest_hash(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """(canonical JSON, its SHA-256): the text stored and the hash printed with the signature."""
    text = canonical_json(dict(manifest))
    return text, hashlib.sha256(text.encode()).hexdigest()

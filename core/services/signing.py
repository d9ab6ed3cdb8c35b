"""The installation's Ed25519 key: it signs audit checkpoints and report manifests.

The key comes from ``GATEHOUSE_SIGNING_KEY`` (a PEM private key, for several app processes that
must sign alike) or is created once in the data folder. Creation is atomic: the key is written to
a temporary file and linked into place, so processes starting together all read the same key.
Anyone holding the public key (``gatehouse audit key``) can check a signature offline.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.config import get_settings
from core.errors import InputProblems

__all__ = [
    "fingerprint",
    "installation_key",
    "load_public_key",
    "public_key_pem",
    "sign",
    "verify_signature",
]

KEY_FILE = "signing_key.pem"
BAD_KEY = (
    "GATEHOUSE_SIGNING_KEY is not an Ed25519 private key in PEM form; create one with "
    "`openssl genpkey -algorithm ed25519` or unset it to use the key in the data folder."
)
BAD_PUBLIC_KEY = (
    "{source} is not an Ed25519 public key in PEM form; use the output of `gatehouse audit key`."
)


def _create_once(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        # Fails if another process linked its key first: theirs wins, and everyone reads it.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


@cache
def _key_for(source: str) -> Ed25519PrivateKey:
    if source.startswith("env:"):
        data = os.environ["GATEHOUSE_SIGNING_KEY"].encode()
    else:
        path = Path(source)
        if not path.exists():
            _create_once(path)
        data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise InputProblems([BAD_KEY]) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise InputProblems([BAD_KEY])
    return key


def installation_key() -> Ed25519PrivateKey:
    """The private key this installation signs with."""
    if os.environ.get("GATEHOUSE_SIGNING_KEY"):
        return _key_for(
            "env:" + hashlib.sha256(os.environ["GATEHOUSE_SIGNING_KEY"].encode()).hexdigest()
        )
    return _key_for(str(get_settings().data_dir / KEY_FILE))


def public_key_pem() -> str:
    """The installation's public key, PEM text, for anyone who verifies offline."""
    return (
        installation_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public_key(pem: str, *, source: str = "The public key") -> Ed25519PublicKey:
    """Parse a PEM public key, refusing anything but Ed25519 in one sentence."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as err:
        raise InputProblems([BAD_PUBLIC_KEY.format(source=source)]) from err
    if not isinstance(key, Ed25519PublicKey):
        raise InputProblems([BAD_PUBLIC_KEY.format(source=source)])
    return key


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: a short name for a key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign(data: bytes) -> str:
    """The installation's Ed25519 signature of ``data``, base64."""
    return base64.b64encode(installation_key().sign(data)).decode()


def verify_signature(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is ``public``'s signature of ``data``."""
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True

"""API keys: made from 256 random bits, shown once, stored only as a SHA-256.

A key reads ``bw_<key id>_<secret>``: the key id (8 hex characters) is public and is
how a key is found, listed, revoked and named in the audit log; the secret is 32
random bytes in URL-safe base64 (43 characters, which may contain ``_`` and ``-``).
The store keeps SHA-256 of the whole key string; a presented key is checked by
comparing digests in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "bw_"
KEY_ID_LENGTH = 8
SECRET_BYTES = 32
_SECRET_LENGTH = 43  # base64url of 32 bytes, unpadded
_HEX = frozenset("0123456789abcdef")
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Compared against when a key id is unknown, so both paths do the same work.
_DUMMY_DIGEST = "0" * 64


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str  # the whole key string, to show once and forget
    sha256: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"NewKey(key_id={self.key_id!r}, secret=<hidden>)"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> NewKey:
    key_id = secrets.token_hex(KEY_ID_LENGTH // 2)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    key = f"{PREFIX}{key_id}_{secret}"
    return NewKey(key_id, key, digest(key))


def key_id_of(presented: str) -> str | None:
    """The key id of a well-formed key; None for anything else (never an exception)."""
    if len(presented) != len(PREFIX) + KEY_ID_LENGTH + 1 + _SECRET_LENGTH:
        return None
    if not presented.startswith(PREFIX):
        return None
    key_id = presented[len(PREFIX) : len(PREFIX) + KEY_ID_LENGTH]
    separator = presented[len(PREFIX) + KEY_ID_LENGTH]
    secret = presented[len(PREFIX) + KEY_ID_LENGTH + 1 :]
    if separator != "_" or not set(key_id) <= _HEX or not set(secret) <= _B64URL:
        return None
    return key_id


def matches(stored_sha256: str | None, presented: str) -> bool:
    """Whether ``presented`` is the key whose digest is stored (constant time)."""
    expected = stored_sha256 if stored_sha256 is not None else _DUMMY_DIGEST
    ok = hmac.compare_digest(expected.encode("ascii"), digest(presented).encode("ascii"))
    return ok and stored_sha256 is not None


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from ``Authorization: Bearer KEY`` or ``x-api-key: KEY``."""
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None

"""Secrets that are shown once and stored hashed: publish keys, moderator links, invite codes.

They carry 192 random bits, so a fast hash is safe (passwords use argon2 instead), and they are
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 24
MAX_KEY_LENGTH = 256


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    if not key or len(key) > MAX_KEY_LENGTH:
        return False
    return hmac.compare_digest(hash_key(key), stored_hash)

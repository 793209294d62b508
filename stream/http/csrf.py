"""CSRF tokens: one per login (synchroniser pattern); before login, an HMAC of a cookie nonce.

Every state-changing form carries the token in a hidden field (``csrf_token``) and every
state-changing API call in the ``X-CSRF-Token`` header; cookies are SameSite=Lax on top.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CSRF_TOKEN_BYTES = 32
SECRET_BYTES = 32
MAX_CSRF_LENGTH = 128


def new_nonce() -> str:
    return secrets.token_urlsafe(CSRF_TOKEN_BYTES)


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def anonymous_token(secret: bytes, nonce: str) -> str:
    """The login form's token: bound to the nonce cookie, unforgeable without the secret."""
    return hmac.new(secret, b"login-form:" + nonce.encode(), hashlib.sha256).hexdigest()


def tokens_match(expected: str | None, submitted: str | None) -> bool:
    if not expected or not submitted or len(submitted) > MAX_CSRF_LENGTH:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())

"""Who is chatting: anonymous viewers pick a display name and get a signed token back.

The token (``v1.<payload>.<mac>``) carries a random user id and the display name; it is
HMAC-signed with a secret shared by every node through Redis, so any node accepts it. Roles are
not in the token: they come from the role hook (``roles``) on every connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal

from stream.store import Redis

MAX_NAME_LENGTH = 40
MAX_TOKEN_LENGTH = 512
SECRET_KEY = "chat:secret"  # noqa: S105 - the Redis key that holds it
SECRET_BYTES = 32
USER_ID_BYTES = 12
FORMAT_VERSION = "v1"

Role = Literal["viewer", "registered", "moderator"]


@dataclass(frozen=True, slots=True)
class Identity:
    uid: str
    name: str = ""
    role: Role = "viewer"
    # Where the socket comes from, as a keyed hash (moderators ban by it; no address is stored).
    address_tag: str = ""

    @property
    def moderator(self) -> bool:
        return self.role == "moderator"

    @property
    def registered(self) -> bool:
        return self.role in ("registered", "moderator")


def new_user_id() -> str:
    return secrets.token_urlsafe(USER_ID_BYTES)


def _is_invisible(char: str) -> bool:
    # Cc: control characters; Cf: format characters (bidi overrides, zero-width joiners).
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def clean_name(raw: str) -> str:
    """A display name: NFC, no control or format characters, single spaces, 1-40 characters."""
    text = unicodedata.normalize("NFC", raw)
    text = "".join(" " if char.isspace() else char for char in text if not _is_invisible(char))
    text = " ".join(text.split())
    if not text:
        raise ValueError("name is empty")
    if len(text) > MAX_NAME_LENGTH:
        raise ValueError(f"name is longer than {MAX_NAME_LENGTH} characters")
    return text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks identity tokens with one HMAC-SHA256 secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, f"{FORMAT_VERSION}.{payload}".encode(), hashlib.sha256)
        return _b64(digest.digest())

    def account_uid(self, username: str) -> str:
        """A logged-in account's chat id: stable, the same on every node, not its username."""
        digest = hmac.new(self._secret, f"account:{username}".encode(), hashlib.sha256)
        return "a" + _b64(digest.digest())[: USER_ID_BYTES + 4]

    def issue(self, uid: str, name: str) -> str:
        payload = _b64(json.dumps({"u": uid, "n": name}, separators=(",", ":")).encode())
        return f"{FORMAT_VERSION}.{payload}.{self._mac(payload)}"

    def verify(self, token: str) -> tuple[str, str] | None:
        """``(uid, name)`` of a token this secret signed, else None (never raises)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != FORMAT_VERSION:
            return None
        if not hmac.compare_digest(self._mac(parts[1]), parts[2]):
            return None
        try:
            data = json.loads(_unb64(parts[1]))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(data, dict):
            return None
        uid, name = data.get("u"), data.get("n")
        if not isinstance(uid, str) or not isinstance(name, str) or not uid:
            return None
        return uid, name

    def address_tag(self, address: str) -> str:
        """A stable keyed hash of a client address: bannable, but not the address itself."""
        digest = hmac.new(self._secret, f"addr:{address}".encode(), hashlib.sha256)
        return digest.hexdigest()[:16]


async def shared_secret(redis: Redis) -> bytes:
    """The signing secret every node shares: created once in Redis, then read."""
    await redis.set(SECRET_KEY, secrets.token_bytes(SECRET_BYTES), nx=True)
    secret = await redis.get(SECRET_KEY)
    if not isinstance(secret, bytes):
        raise RuntimeError("chat secret missing from Redis")
    return secret

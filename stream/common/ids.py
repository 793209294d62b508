"""Identifiers in paths and keys: sessions, events, studios, arrangers share one shape."""

from __future__ import annotations

import re

from stream.common.errors import BadRequest

SESSION_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def validate_session_id(session_id: str) -> str:
    """The id, if it has the shape of a session id (400 otherwise: never a Redis lookup)."""
    if not SESSION_ID_PATTERN.fullmatch(session_id):
        raise BadRequest("session id must be 1-64 lowercase letters, digits or '-'")
    return session_id

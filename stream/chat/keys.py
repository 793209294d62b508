"""Redis key names of a session's chat, all in one hash slot (``{session}`` is a hash tag).

Session ids, user ids and client message ids are validated to ``[A-Za-z0-9_-]`` before they
reach these functions, so they cannot break out of their key.
"""

from __future__ import annotations


def stream_key(session_id: str) -> str:
    """The session's durable log: every message and moderation action, in order."""
    return f"chat:{{{session_id}}}"


def archive_key(session_id: str) -> str:
    """Sorted set of every entry ever logged (the Stream itself is capped)."""
    return f"chat:{{{session_id}}}:archive"


def state_key(session_id: str) -> str:
    """Hash of the current modes: enabled, slow, hold, registered_only, words, pinned."""
    return f"chat:{{{session_id}}}:state"


def bans_key(session_id: str) -> str:
    return f"chat:{{{session_id}}}:bans"


def address_bans_key(session_id: str) -> str:
    return f"chat:{{{session_id}}}:bans:addr"


def timeout_key(session_id: str, uid: str) -> str:
    return f"chat:{{{session_id}}}:timeout:{uid}"


def slow_key(session_id: str, uid: str) -> str:
    return f"chat:{{{session_id}}}:slow:{uid}"


def dedup_key(session_id: str, uid: str, cid: str) -> str:
    """Remembers the stored id of a client message id, so a retry is not stored twice."""
    return f"chat:{{{session_id}}}:cid:{uid}:{cid}"


def review_key(session_id: str, entry_id: str) -> str:
    """Set once a held message is approved or rejected: a second decision is refused."""
    return f"chat:{{{session_id}}}:review:{entry_id}"


def deleted_key(session_id: str) -> str:
    """Set of the ids of messages a moderator deleted: their text never reaches viewers again."""
    return f"chat:{{{session_id}}}:deleted"


def names_key(session_id: str) -> str:
    """Hash of guests' display names (folded) → the user id that holds each in the session."""
    return f"chat:{{{session_id}}}:names"

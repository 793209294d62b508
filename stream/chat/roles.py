"""The role hook: who may moderate a session's chat.

Staff who log in and may moderate the session are moderators without a token (see
``stream.chat.ws.staff_moderator``). Besides that, a moderator link's token proves the role
(the grant model's links, :mod:`stream.auth.links`, installed by the composition root); its
label is what the moderation log shows. Anything implementing :class:`RoleHook` can replace this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stream.chat.identity import Role
from stream.common.grants import Identity as GrantedIdentity
from stream.common.grants import Permission


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    # Who holds the credential, as the one who granted it named them.
    label: str = ""
    # A logged-in account's stable chat id (the same on every device; bans follow it).
    uid: str = ""


VIEWER = Grant("viewer")


class RoleHook(Protocol):
    async def grant(self, session_id: str, credential: str | None) -> Grant: ...


class LinkResolver(Protocol):
    async def resolve(self, session_id: str, token: str | None) -> GrantedIdentity | None: ...


class TokenRoles:
    """Moderator by a moderator link's token, resolved by the grant model's store."""

    def __init__(self, links: LinkResolver) -> None:
        self.links = links

    async def grant(self, session_id: str, credential: str | None) -> Grant:
        identity = await self.links.resolve(session_id, credential)
        if identity is None or not identity.may(Permission.MODERATE, session_id, ""):
            return VIEWER
        return Grant("moderator", identity.display_name)

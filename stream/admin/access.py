"""Who may open which admin page: thin wrappers over :mod:`stream.http.identity`."""

from __future__ import annotations

from aiohttp import web

from stream.common.errors import Forbidden
from stream.common.grants import Identity, Permission, Role
from stream.http import identity as guard
from stream.program.sessions import Session


async def require_admin(request: web.Request) -> Identity:
    return await guard.require_role(request, Role.ADMIN)


async def require_organiser(request: web.Request) -> Identity:
    """Admins and arranger staff: the people who build the programme."""
    return await guard.require_role(request, Role.ARRANGER)


def require_manage(identity: Identity, session: Session) -> None:
    if not identity.may(Permission.MANAGE, session.id, session.arranger_id):
        raise Forbidden("this session belongs to another arranger")

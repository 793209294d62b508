"""The guards the route table names: who may call each route.

Every guard asks :mod:`stream.http.identity` (the login cookie or a moderator link, the same
grant model for both) or, for invite-only sessions, :func:`stream.auth.invites.require_attendance`.
A guard on a session's route reads the session id from the path (``{session}``).
"""

from __future__ import annotations

from aiohttp import web

from stream.auth.invites import require_attendance
from stream.common.errors import Unauthorized
from stream.common.grants import Permission, Role
from stream.common.ids import validate_session_id
from stream.http import identity
from stream.http.keys import NODE_SECRET
from stream.http.nodes import is_node_request
from stream.http.routing import Guard


def _session_id(request: web.Request) -> str:
    return validate_session_id(request.match_info["session"])


async def _anyone(request: web.Request) -> None:
    return None


async def _attendee(request: web.Request) -> None:
    await require_attendance(request, _session_id(request))


def _on_session(permission: Permission) -> Guard:
    async def check(request: web.Request) -> None:
        await identity.require_session_permission(request, _session_id(request), permission)

    return Guard(f"{permission.value} the session", check)


async def _organiser(request: web.Request) -> None:
    await identity.require_role(request, Role.ARRANGER)


async def _admin(request: web.Request) -> None:
    await identity.require_role(request, Role.ADMIN)


async def _node(request: web.Request) -> None:
    if not is_node_request(request, request.app[NODE_SECRET]):
        raise Unauthorized("node routes need the deployment's node secret")


PUBLIC = Guard("anyone", _anyone)
# The unguessable URL of a WHIP/WHEP resource is its own credential (RFC 9725 §4.3).
RESOURCE_HOLDER = Guard("holder of the resource URL", _anyone)
# Public sessions: anyone; invite-only ones: the invited and the session's staff (else 404).
ATTENDEE = Guard("attendee of the session", _attendee)
MODERATOR = _on_session(Permission.MODERATE)
PRESENTER = _on_session(Permission.PRESENT)
ARRANGER = _on_session(Permission.MANAGE)
STAFF = Guard("staff", identity.require_staff)
ORGANISER = Guard("organiser (arranger staff or admin)", _organiser)
ADMIN = Guard("admin", _admin)
# Another node of the deployment (the relay link an edge pulls a room over).
NODE = Guard("node of the deployment", _node)

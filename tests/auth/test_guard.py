"""The request-side API other parts use (chat moderation, the stage view): who is asking,
and may they moderate or present this session?"""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.common.grants import Permission, Role
from stream.config import Settings
from stream.http import identity as guard
from stream.http.keys import REDIS
from stream.program.sessions import Session, SessionStore
from tests.auth.staff import Staff, make_arranger, make_user


async def moderate(request: web.Request) -> web.Response:
    session_id = request.match_info["session"]
    identity = await guard.require_session_permission(request, session_id, Permission.MODERATE)
    return web.json_response({"moderator": identity.username})


async def whoami(request: web.Request) -> web.Response:
    identity = await guard.current_identity(request)
    return web.json_response({"user": identity.username if identity else None})


async def change(request: web.Request) -> web.Response:
    await guard.require_role(request, Role.ARRANGER)
    await guard.check_csrf(request)
    return web.json_response({"changed": True})


async def test_guard_answers_for_each_role(settings: Settings) -> None:
    app = create_app(settings)
    app.router.add_get("/test/moderate/{session}", moderate)
    app.router.add_get("/test/whoami", whoami)
    app.router.add_post("/test/change", change)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    staff: list[Staff] = []
    try:
        await make_arranger(server, "skog", "Skogstekniska klustret")
        await make_arranger(server, "noden", "Kunskapsnoden")
        sessions = SessionStore(app[REDIS])
        await sessions.save(Session(id="own", title="Eget", arranger_id="skog"))
        await sessions.save(Session(id="other", title="Annat", arranger_id="noden"))
        await make_user(server, "anna", Role.ARRANGER, arranger="skog")
        await make_user(server, "mo", Role.MODERATOR, arranger="skog", sessions=("own",))
        await make_user(server, "sp", Role.SPEAKER, arranger="skog", sessions=("own",))

        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(f"{server.make_url('/test/whoami')}") as response:
                assert await response.json() == {"user": None}
            async with anonymous.get(f"{server.make_url('/test/moderate/own')}") as response:
                assert response.status == 401

        expected = {
            ("anna", "own"): 200,
            ("anna", "other"): 403,
            ("anna", "missing"): 403,
            ("mo", "own"): 200,
            ("mo", "other"): 403,
            ("sp", "own"): 403,
        }
        clients = {}
        for username in ("anna", "mo", "sp"):
            client = Staff(server)
            staff.append(client)
            assert await client.login(username) == 303
            clients[username] = client
        for (username, session_id), status in expected.items():
            got, _ = await clients[username].get(f"/test/moderate/{session_id}")
            assert got == status, (username, session_id)

        anna = clients["anna"]
        async with anna.http.post(anna.base + "/test/change") as response:
            assert response.status == 403, "no CSRF header"
        async with anna.http.post(
            anna.base + "/test/change", headers={guard.CSRF_HEADER: anna.csrf}
        ) as response:
            assert response.status == 200
        mo = clients["mo"]
        async with mo.http.post(
            mo.base + "/test/change", headers={guard.CSRF_HEADER: mo.csrf}
        ) as response:
            assert response.status == 403, "a moderator is not arranger staff"
    finally:
        for client in staff:
            await client.close()
        await server.close()

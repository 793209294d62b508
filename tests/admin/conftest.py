"""An admin test world: two arrangers, a studio, an event, and one account per role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from stream.program.events import Event, EventStore
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.auth.staff import Staff, cheap_passwords, make_arranger, make_user, redis_of
from tests.program.conftest import at

DAY = date(2031, 1, 21)


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def world(server: TestServer) -> TestServer:
    redis = redis_of(server)
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_arranger(server, "noden", "Kunskapsnoden")
    await StudioStore(redis).save(Studio("studio-1", "Studio 1", "Campus Umeå"))
    await EventStore(redis).save(Event("vecka", "Digital vecka", DAY, DAY))
    sessions = SessionStore(redis)
    await sessions.save(
        Session(
            id="skogens-dag",
            title="Skogens dag",
            arranger_id="skog",
            event="vecka",
            studio="studio-1",
            start=at("10:00"),
            end=at("11:30"),
        )
    )
    await sessions.save(
        Session(
            id="crispr",
            title="CRISPR-Cas9",
            arranger_id="noden",
            event="vecka",
            start=at("13:00"),
            end=at("14:00"),
        )
    )
    await make_user(server, "admin", Role.ADMIN)
    await make_user(server, "anna", Role.ARRANGER, arranger="skog")
    await make_user(server, "mo", Role.MODERATOR, arranger="skog", sessions=("skogens-dag",))
    await make_user(server, "sp", Role.SPEAKER, arranger="skog", sessions=("skogens-dag",))
    return server


@pytest.fixture
async def login(world: TestServer) -> AsyncIterator[object]:
    """``await login("anna")`` → a logged-in :class:`Staff` client (closed afterwards)."""
    clients: list[Staff] = []

    async def log_in(username: str) -> Staff:
        client = Staff(world)
        clients.append(client)
        assert await client.login(username) == 303
        return client

    yield log_in
    for client in clients:
        await client.close()

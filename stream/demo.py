"""``stream serve --demo``: the digital week's demo sessions, one already live with a test pattern.

``demo`` is published by an in-process test-pattern publisher through the real WHIP endpoint;
``studio`` waits for an arranger (OBS or the browser studio) with the printed key. Around them,
the week's programme (:mod:`stream.program.demo_programme`) and two staff accounts.

The studio's publish key and the staff password are generated once per data directory, kept in
``demo-secrets.json`` there (mode 0600) and printed at every start, so they stay the same
across restarts (``STREAM_DEMO_KEY`` and ``STREAM_DEMO_ADMIN_PASSWORD`` win when set). They
are printed on standard output only, never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiortc import RTCPeerConnection

from stream.auth.users import User, UserStore
from stream.common import times
from stream.common.grants import Role
from stream.http.keys import REDIS, SETTINGS
from stream.http.urls import base_url
from stream.ingest.testpattern import TestPatternAudioTrack, TestPatternVideoTrack
from stream.ingest.whip_client import WhipClient
from stream.program import demo_programme
from stream.program.sessions import Session, SessionStore
from stream.store import Redis

logger = logging.getLogger(__name__)

DEMO_SESSION = "demo"
STUDIO_SESSION = "studio"
REPUBLISH_DELAY = 3.0
ADMIN_USER = "admin"
ARRANGER_USER = "arrangor"
ADMIN_PASSWORD_BYTES = 12
STUDIO_KEY_BYTES = 24
SECRETS_FILE = "demo-secrets.json"

DEMO_SESSIONS = (
    Session(
        id=DEMO_SESSION,
        title="Digital vecka: testbild från campusstudion",
        arranger="Region Västerbotten",
        arranger_id="region-vasterbotten",
        event=demo_programme.WEEK_EVENT,
        description=(
            "Ett direktsänt testmönster med klocka och ton, så att du kan prova uppspelning, "
            "chatt och frågor innan veckans seminarier börjar."
        ),
    ),
    Session(
        id=STUDIO_SESSION,
        title="Skogstekniska klustret: seminarium från campus i Umeå",
        arranger="Skogstekniska klustret",
        arranger_id="skogstekniska-klustret",
        event=demo_programme.WEEK_EVENT,
        description="Studion väntar på arrangören: publicera från OBS eller webbläsarstudion.",
    ),
)


@dataclass(frozen=True, slots=True)
class DemoSecrets:
    studio_key: str
    admin_password: str

    def __repr__(self) -> str:
        return "DemoSecrets(...)"


def demo_secrets(data_dir: Path) -> DemoSecrets:
    """The demo's key and password stored in ``data_dir`` (mode 0600), made on first use."""
    path = data_dir / SECRETS_FILE
    try:
        stored = json.loads(path.read_text("utf-8"))
        return DemoSecrets(str(stored["studio_key"]), str(stored["admin_password"]))
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError):
        logger.warning("%s is unreadable; making new demo secrets", path)
        path.unlink()
    made = DemoSecrets(
        secrets.token_urlsafe(STUDIO_KEY_BYTES), secrets.token_urlsafe(ADMIN_PASSWORD_BYTES)
    )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump({"studio_key": made.studio_key, "admin_password": made.admin_password}, file)
    return made


async def _keep_publishing(endpoint: str, key: str, ice_servers: tuple[str, ...]) -> None:
    """Publish the test pattern; publish again whenever the session drops."""
    while True:
        client = WhipClient(
            endpoint, key, [TestPatternVideoTrack(), TestPatternAudioTrack()], ice_servers
        )
        try:
            ended = asyncio.Event()

            def on_state(pc: RTCPeerConnection = client.pc, ended: asyncio.Event = ended) -> None:
                if pc.connectionState in ("failed", "closed"):
                    ended.set()

            client.pc.on("connectionstatechange", on_state)
            await client.publish()
            await ended.wait()
            logger.warning("demo publisher %s; publishing again", client.pc.connectionState)
        except asyncio.CancelledError:
            await client.close(delete=False)  # shutting down: the server is going away too
            raise
        except Exception as exc:
            logger.warning("demo publisher could not publish: %s", exc)
        await client.close()
        await asyncio.sleep(REPUBLISH_DELAY)


async def demo_accounts(redis: Redis, password: str | None) -> str:
    """The demo's ``admin`` (and ``arrangor``, staff of Skogstekniska klustret) accounts, with
    ``password`` or a new one (returned, to be printed)."""
    password = password or secrets.token_urlsafe(ADMIN_PASSWORD_BYTES)
    users = UserStore(redis)
    accounts = (
        User(ADMIN_USER, "Demo admin", Role.ADMIN),
        User(ARRANGER_USER, "Demo arrangör", Role.ARRANGER, arranger="skogstekniska-klustret"),
    )
    for user in accounts:
        if await users.find(user.username) is None:
            await users.create(user, password)
        else:
            await users.set_password(user.username, password)
    return password


async def demo_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    redis = app[REDIS]
    store = SessionStore(redis)
    first_day = times.local_day(times.now())
    await demo_programme.seed_catalogue(redis, first_day)
    for session in DEMO_SESSIONS:
        await store.save(session)
    await demo_programme.seed_sessions(redis, first_day)
    await demo_programme.seed_open_house(redis, times.now())
    stored = await asyncio.to_thread(demo_secrets, settings.data_dir)
    admin_password = await demo_accounts(
        redis, settings.demo_admin_password or stored.admin_password
    )
    demo_key = await store.rotate_key(DEMO_SESSION)  # the in-process publisher's alone
    studio_key = await store.rotate_key(STUDIO_SESSION, settings.demo_key or stored.studio_key)
    base = base_url(settings)
    rtmp_line = ""
    if settings.rtmp_port:
        host = urlsplit(base).hostname or "127.0.0.1"
        rtmp_line = (
            f"    or RTMP: Server rtmp://{host}:{settings.rtmp_port}/live, Stream Key = the key\n"
        )
    print(
        f"\nstream demo is up:\n"
        f"  watch the live test pattern   {base}/s/{DEMO_SESSION}\n"
        f"  programme                     {base}/\n"
        f"  publish into 'studio'         {base}/studio/{STUDIO_SESSION}\n"
        f"    OBS: Service WHIP, Server {base}/whip/{STUDIO_SESSION}\n"
        f"    Bearer token (publish key)  {studio_key}\n"
        f"{rtmp_line}"
        f"  questions from a phone        {base}/q/{DEMO_SESSION}"
        f" (stage screen {base}/stage/{DEMO_SESSION})\n"
        f"  admin                         {base}/login\n"
        f"    users '{ADMIN_USER}' (admin) and '{ARRANGER_USER}' (arranger), password "
        f"{'from STREAM_DEMO_ADMIN_PASSWORD' if settings.demo_admin_password else admin_password}"
        "\n",
        flush=True,
    )
    task = asyncio.create_task(
        _keep_publishing(f"{base}/whip/{DEMO_SESSION}", demo_key, settings.ice_servers)
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

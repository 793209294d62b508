"""``stream serve --demo``: the digital week's demo sessions, one already live with a test pattern.

``demo`` is published by an in-process test-pattern publisher through the real WHIP endpoint;
``studio`` waits for an arranger (OBS or the browser studio) with the printed key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiortc import RTCPeerConnection

from stream.http.keys import REDIS, SETTINGS
from stream.ingest.testpattern import TestPatternAudioTrack, TestPatternVideoTrack
from stream.ingest.whip_client import WhipClient
from stream.program.sessions import Session, SessionStore

logger = logging.getLogger(__name__)

DEMO_SESSION = "demo"
STUDIO_SESSION = "studio"
REPUBLISH_DELAY = 3.0

DEMO_SESSIONS = (
    Session(
        id=DEMO_SESSION,
        title="Digital vecka: testbild från campusstudion",
        arranger="Region Västerbotten",
        description=(
            "Ett direktsänt testmönster med klocka och ton, så att du kan prova uppspelning, "
            "chatt och frågor innan veckans seminarier börjar."
        ),
    ),
    Session(
        id=STUDIO_SESSION,
        title="Skogstekniska klustret: seminarium från campus i Umeå",
        arranger="Skogstekniska klustret",
        description="Studion väntar på arrangören: publicera från OBS eller webbläsarstudion.",
    ),
)


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


async def demo_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = SessionStore(app[REDIS])
    for session in DEMO_SESSIONS:
        await store.save(session)
    demo_key = await store.rotate_key(DEMO_SESSION)
    studio_key = await store.rotate_key(STUDIO_SESSION, settings.demo_key)
    base = settings.base_url
    print(
        f"\nstream demo is up:\n"
        f"  watch the live test pattern   {base}/s/{DEMO_SESSION}\n"
        f"  programme                     {base}/\n"
        f"  publish into 'studio'         {base}/studio/{STUDIO_SESSION}\n"
        f"    OBS: Service WHIP, Server {base}/whip/{STUDIO_SESSION}\n"
        f"    Bearer token (publish key)  {studio_key}\n",
        flush=True,
    )
    task = asyncio.create_task(
        _keep_publishing(f"{base}/whip/{DEMO_SESSION}", demo_key, settings.ice_servers)
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(demo_context)

"""FFmpeg's WHIP output (PyAV's ``whip`` muxer) against the real server, and the publisher
keepalive that makes it last: FFmpeg never answers ICE consent checks.

The server's consent checks to publishers are shortened by a setting (0.3 s instead of 5 s),
so six unanswered checks (what aioice allows before closing) pass in under 3 s; the tests run
well past that and check the publisher is still live and a late viewer gets video.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import PEERS, ROOMS
from stream.ingest.whip import WhipPublisher
from stream.rtc import internals
from tests.conftest import MakeServer, base_url, create_session
from tests.ingest.ffmpeg_whip import write_p256_certificate
from tests.media import publish_loop, wait_for, watch

CONSENT_INTERVAL = 0.3  # aioice would close an unanswering publisher after 6 of these
PUBLISHER_TIMEOUT = 3.0
UNANSWERED_BEFORE_AIOICE_CLOSES = 6
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.with_(consent_interval=CONSENT_INTERVAL, publisher_timeout=PUBLISHER_TIMEOUT)


def live_publisher(server: TestServer, session: str) -> WhipPublisher | None:
    room = server.app[ROOMS].get(session)
    publisher = room.publisher if room is not None else None
    return publisher if isinstance(publisher, WhipPublisher) else None


@contextlib.asynccontextmanager
async def ffmpeg_publisher(
    url: str, key: str, directory: Path, seconds: float, flags: str = ""
) -> AsyncIterator[asyncio.subprocess.Process]:
    cert, key_file = directory / "whip.crt", directory / "whip.key"
    write_p256_certificate(cert, key_file)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.ingest.ffmpeg_whip",
        url, key, str(cert), str(key_file), str(seconds), flags,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.wait(), 10)


@pytest.mark.parametrize("flags", ["", "dtls_active"])
async def test_ffmpeg_publisher_stays_live_past_consent_expiry_and_a_late_viewer_gets_video(
    make_server: MakeServer, fast_settings: Settings, tmp_path: Path, flags: str
) -> None:
    server = await make_server(fast_settings)
    base = base_url(server)
    key = await create_session(server, "ff")
    async with ffmpeg_publisher(
        f"{base}/whip/ff", key, tmp_path, seconds=60, flags=flags
    ) as process:
        await wait_for(lambda: live_publisher(server, "ff") is not None, 15, "a WHIP publisher")
        publisher = live_publisher(server, "ff")
        assert publisher is not None
        await asyncio.wait_for(publisher.peer.wait_connected(), 15)
        freshness = publisher.freshness
        assert freshness is not None
        # Well past the point where aioice would have closed it for unanswered consent.
        await wait_for(
            lambda: freshness.consent_unanswered >= 3 * UNANSWERED_BEFORE_AIOICE_CLOSES,
            20,
            "unanswered consent checks",
        )
        assert freshness.consent_answered == 0  # FFmpeg answers none
        assert not publisher.peer.closed
        assert process.returncode is None
        viewer, received = await watch(base, "ff")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 30, 15, "video at the viewer")
        finally:
            await viewer.close()
        assert live_publisher(server, "ff") is publisher
        # FFmpeg dies without a word (no DELETE, no DTLS close): silence ends the publisher.
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.wait_for(publisher.peer.wait_closed(), PUBLISHER_TIMEOUT + 5)
        assert time.monotonic() - killed >= PUBLISHER_TIMEOUT - 0.5
    assert server.app[PEERS].count("whip") == 0


async def test_aiortc_publisher_not_answering_consent_stays_while_media_flows(
    make_server: MakeServer, fast_settings: Settings
) -> None:
    server = await make_server(fast_settings)
    base = base_url(server)
    key = await create_session(server, "quiet")
    client, _ = await publish_loop(base, "quiet", key)
    try:
        assert internals.drop_consent_requests(client.pc) >= 1
        await wait_for(lambda: live_publisher(server, "quiet") is not None, 10, "publisher")
        publisher = live_publisher(server, "quiet")
        assert publisher is not None
        assert publisher.freshness is not None
        freshness = publisher.freshness
        await wait_for(
            lambda: freshness.consent_unanswered >= 2 * UNANSWERED_BEFORE_AIOICE_CLOSES,
            15,
            "unanswered consent checks",
        )
        assert freshness.consent_answered == 0
        assert not publisher.peer.closed
        viewer, received = await watch(base, "quiet")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 10, 10, "video")
        finally:
            await viewer.close()
    finally:
        await client.close()

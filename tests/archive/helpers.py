"""Shared steps of the archive tests: publish for a while, end the session, read the files."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import av
from aiohttp.test_utils import TestServer

from stream.archive.index import RecordingIndex, read_index
from stream.archive.state import RecordingState, load_state
from stream.chat.archive import ChatArchive
from stream.chat.identity import Identity as ChatIdentity
from stream.chat.log import Entry
from stream.http.keys import ARCHIVE, REDIS, ROOMS
from stream.qa.keys import question_key
from stream.qa.protocol import Ask
from stream.qa.questions import Questions
from tests.conftest import base_url
from tests.media import publish_loop, wait_for


async def publish_for(server: TestServer, session_id: str, key: str, seconds: float) -> float:
    """Publish the test pattern over WHIP for ``seconds`` of live media; returns how long the
    room was live."""
    client, _ = await publish_loop(base_url(server), session_id, key)
    room = server.app[ROOMS].get(session_id)
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        started = time.monotonic()
        await asyncio.sleep(seconds)
        return time.monotonic() - started
    finally:
        await client.close()


async def end_session(server: TestServer, session_id: str) -> None:
    """The publisher is gone: close the room now instead of after its grace period."""
    room = server.app[ROOMS].get(session_id)
    if room is not None:
        await wait_for(lambda: room.publisher is None, what="publisher gone")
        await room.close("session ended")
    archive = server.app[ARCHIVE]
    await wait_for(lambda: session_id not in archive.sinks, what="archive writer closed")
    await archive.close()


async def recording_state(server: TestServer, session_id: str) -> RecordingState:
    return await load_state(server.app[REDIS], session_id)


def recording(server: TestServer, session_id: str) -> tuple[Path, RecordingIndex]:
    directory: Path = server.app[ARCHIVE].recordings / session_id
    index = read_index(directory)
    assert index is not None, "no recording index"
    return directory, index


def probe(path: Path) -> dict[str, Any]:
    """What the file holds, read by demuxing only (packets counted, nothing decoded)."""
    with av.open(str(path)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        video_packets = sum(1 for p in container.demux(video=0) if p.size > 0)
        duration = (container.duration or 0) / 1_000_000
    return {"kinds": kinds, "video_packets": video_packets, "duration": duration}


async def add_chat(server: TestServer, session_id: str, wall_ms: int, name: str, text: str) -> None:
    """A chat message in the session's archive, as the chat's reader stores it."""
    entry_id = f"{wall_ms}-0".encode()
    public = json.dumps(  # as the chat encodes it: the type first, compact
        {"type": "msg", "id": entry_id.decode(), "uid": "u-" + name, "name": name,
         "role": "viewer", "text": text, "ts": wall_ms},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    await ChatArchive(server.app[REDIS]).add(session_id, [Entry(entry_id, public, public)])


async def ask_question(
    server: TestServer, session_id: str, text: str, pos_ms: int, *, answered: bool = False
) -> str:
    """A question asked through the Q&A store, stamped with its stream position."""
    redis = server.app[REDIS]
    who = ChatIdentity(uid="u-asker", name="Anna", role="moderator")
    asked = await Questions(redis).ask(session_id, who, Ask(text=text), f"c-{text}", pos_ms)
    if answered:
        await redis.hset(question_key(session_id, asked.qid), "state", "answered")
    return asked.qid

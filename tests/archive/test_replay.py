"""The replay over HTTP: the page chosen once the session has ended, its data with the chat and
the questions at their moments, the chapters track, range requests, and the attendee guard."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
from aiohttp.test_utils import TestServer

from stream.archive.index import RecordingIndex, Segment, position, question_position
from stream.archive.replay import chapters_vtt
from stream.http.keys import REDIS
from stream.program.sessions import SessionStore
from tests.archive.helpers import add_chat, ask_question, end_session, publish_for, recording
from tests.conftest import base_url, create_session


def test_positions_on_a_timeline_of_two_segments() -> None:
    index = RecordingIndex(
        "s", [Segment("segment-000.mp4", 1000.0, 10.0), Segment("segment-001.mp4", 1100.0, 5.0)]
    )
    assert index.offsets() == [0.0, 10.0]
    assert position(index, 999.0) == 0.0
    assert position(index, 1004.5) == 4.5
    assert position(index, 1050.0) == 10.0  # between segments: the end of the first
    assert position(index, 1102.0) == 12.0
    assert position(index, 2000.0) == 15.0
    # A question's position is within the segment that was live when it was asked.
    assert question_position(index, 1_103_000, 2500) == 12.5
    assert question_position(index, 1_005_000, 4000) == 4.0
    assert question_position(index, 1_005_000, None) == 5.0
    # The segment's file starts at its first keyframe, 0.4 s after the room went live.
    leading = RecordingIndex(
        "s", [index.segments[0], Segment("segment-001.mp4", 1100.0, 5.0, True, lead=0.4)]
    )
    assert question_position(leading, 1_103_000, 2900) == 12.5
    # A position measured from segment 1's live start (the live record not yet refreshed)
    # cannot lie after the moment of asking: cut back to it.
    assert question_position(leading, 1_103_000, 95_000) == 13.0


def test_chapters_vtt() -> None:
    vtt = chapters_vtt(
        [{"at": 1.5, "text": "Why <b>now</b> --> later?"}, {"at": 62.25, "text": "And  then"}],
        70.0,
    )
    assert vtt == (
        "WEBVTT\n\n"
        "1\n00:00:01.500 --> 00:01:02.250\nWhy &lt;b&gt;now&lt;/b&gt; --&gt; later?\n\n"
        "2\n00:01:02.250 --> 00:01:10.000\nAnd then\n"
    )


async def test_ended_session_replays_with_chat_questions_and_chapters(
    server: TestServer,
) -> None:
    base = base_url(server)
    key = await create_session(server, "rp", title="Efteråt")
    async with aiohttp.ClientSession() as http:
        live = await publish_for(server, "rp", key, 3.0)
        await ask_question(server, "rp", "Hur långt är det kvar?", 2000, answered=True)
        await ask_question(server, "rp", "Kommer bilderna?", 1000)
        directory, index = recording(server, "rp")
        started_ms = int(index.segments[0].started * 1000)
        await add_chat(server, "rp", started_ms + 500, "Bo", "Hej från Umeå")
        await end_session(server, "rp")
        _, index = recording(server, "rp")
        assert abs(index.duration - live) < 1.0

        async with http.get(f"{base}/s/rp") as response:
            assert response.status == 200
            page = await response.text()
        assert 'id="replay-video"' in page
        assert "/static/js/replay.js" in page
        assert 'src="/s/rp/chapters.vtt"' in page

        async with http.get(f"{base}/s/rp/replay.json") as response:
            assert response.status == 200
            data = await response.json()
        assert data["segments"] == [
            {"url": "/s/rp/recording/segment-000.mp4", "type": "video/mp4", "offset": 0.0,
             "duration": index.segments[0].duration}
        ]  # fmt: skip
        assert [(q["text"], q["at"], q["answered"]) for q in data["questions"]] == [
            ("Kommer bilderna?", 1.0, False),
            ("Hur långt är det kvar?", 2.0, True),
        ]
        assert [(m["name"], m["text"], m["at"]) for m in data["chat"]] == [
            ("Bo", "Hej från Umeå", 0.5)
        ]

        async with http.get(f"{base}/s/rp/chapters.vtt") as response:
            assert response.status == 200
            assert response.content_type == "text/vtt"
            vtt = await response.text()
        assert "00:00:01.000 --> 00:00:02.000\nKommer bilderna?" in vtt

        url = f"{base}/s/rp/recording/segment-000.mp4"
        size = (directory / "segment-000.mp4").stat().st_size
        async with http.get(url, headers={"Range": "bytes=100-199"}) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{size}"
            assert len(await response.read()) == 100
        async with http.get(f"{base}/s/rp/recording/index.json") as response:
            assert response.status == 404
        async with http.get(f"{base}/s/rp/recording/segment-009.mp4") as response:
            assert response.status == 404


async def test_invite_only_replay_needs_the_invite(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "hemlig")
    await publish_for(server, "hemlig", key, 1.5)
    await end_session(server, "hemlig")
    store = SessionStore(server.app[REDIS])
    await store.save(replace(await store.get("hemlig"), visibility="invite"))
    async with aiohttp.ClientSession() as http:
        for path in ("", "/replay.json", "/chapters.vtt", "/recording/segment-000.mp4"):
            async with http.get(f"{base}/s/hemlig{path}") as response:
                assert response.status == 404, path


async def test_live_session_keeps_its_watch_page(server: TestServer) -> None:
    """While the room is live (or before anything was recorded) /s/{id} is the live page."""
    base = base_url(server)
    await create_session(server, "nyss")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/s/nyss") as response:
            assert response.status == 200
            assert 'id="replay-video"' not in await response.text()
        async with http.get(f"{base}/s/nyss/replay.json") as response:
            assert response.status == 404
        async with http.get(f"{base}/hls/nyss/index.m3u8") as response:
            assert response.status == 404

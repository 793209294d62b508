"""HTTP for the archive: the replay page (``/s/{id}`` once a session has ended and was
recorded), its data, chapters and files; the live HLS (``/hls/{id}/…``); the recordings'
state for the back office. Mounted by :mod:`stream.app`, which names each route's guard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from stream.archive.disk import directory_bytes, disk_usage
from stream.archive.index import SEGMENT_PATTERN, RecordingIndex, read_index
from stream.archive.mux import CONTAINERS
from stream.archive.outputs import HLS_PLAYLIST, HLS_SEGMENT_PATTERN
from stream.archive.recordings_page import may_manage
from stream.archive.replay import chapters_vtt, chat_items, question_items
from stream.archive.service import Archive
from stream.archive.state import load_state
from stream.auth.invites import remember_invite, require_attendance
from stream.common.errors import Conflict, Forbidden, NotFound
from stream.common.grants import Permission, Role
from stream.common.ids import validate_session_id
from stream.http import identity as guard
from stream.http.keys import ARCHIVE, CHAT, REDIS, ROOMS, SETTINGS, TEMPLATES
from stream.http.nodes import node_link
from stream.program.programme import load_programme
from stream.program.sessions import Session, SessionStore
from stream.qa.snapshot import load_questions
from stream.rooms.presence import read_presence

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SEGMENT_MAX_AGE = 86_400  # HLS segments never change once listed
PLAYLIST_MAX_AGE = 1
RECORDING_MAX_AGE = 3600
HLS_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
}
RECORDING_TYPES = {c.suffix: c.mime for c in CONTAINERS.values()}
_SEGMENT = re.compile(SEGMENT_PATTERN)
_HLS_FILE = re.compile(HLS_SEGMENT_PATTERN)


async def archive_context(app: web.Application) -> AsyncIterator[None]:
    """The archive, observing every new room (after the rooms' own context)."""
    settings = app[SETTINGS]
    archive = Archive(
        app[REDIS],
        settings.data_dir,
        retention_days=settings.recording_retention_days,
        max_bytes=settings.recording_max_bytes,
    )
    app[ARCHIVE] = archive
    app[ROOMS].observers.append(archive.observe)
    # Once per server: the workers of ``stream serve --workers`` share the data directory.
    sweep = None
    if settings.runs_singletons:
        sweep = asyncio.create_task(archive.run_retention(), name="archive-retention")
    try:
        yield
    finally:
        if sweep is not None:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
        with contextlib.suppress(ValueError):  # ``stream bench record`` detaches it
            app[ROOMS].observers.remove(archive.observe)
        await app[ROOMS].close_all("server shutting down")
        await archive.close()


def _directory(request: web.Request, session_id: str) -> Path:
    return request.app[ARCHIVE].recordings / session_id


async def _live(request: web.Request, session_id: str) -> bool:
    room = request.app[ROOMS].get(session_id)
    if room is not None and not room.closed:
        return True
    elsewhere = await read_presence(request.app[REDIS], session_id)
    # This node's own record may outlive its room by a refresh: only another node counts.
    return elsewhere is not None and elsewhere.node != node_link(request.app[SETTINGS])


async def ended_recording(request: web.Request, session: Session) -> RecordingIndex | None:
    """The recording to replay: the session is not live anywhere and was recorded."""
    if await _live(request, session.id):
        return None
    state = await load_state(request.app[REDIS], session.id)
    if state.state == "recording":
        return None
    index = await asyncio.to_thread(read_index, _directory(request, session.id))
    if index is None or index.duration <= 0:
        return None
    return index


def watch_or_replay(live_page: Handler) -> Handler:
    """``/s/{id}``: the replay page once the session has ended and a recording exists, the
    live watch page otherwise."""

    async def handler(request: web.Request) -> web.StreamResponse:
        session = await require_attendance(
            request, validate_session_id(request.match_info["session"])
        )
        if await ended_recording(request, session) is None:
            return await live_page(request)
        response = request.app[TEMPLATES].render(request, "replay.html", {"session": session})
        response.headers["Vary"] = "Cookie, Accept-Language"
        response.headers["Cache-Control"] = "no-cache"
        remember_invite(request, response, session.id)
        return response

    return handler


async def _replay_parts(
    request: web.Request,
) -> tuple[Session, RecordingIndex, list[dict[str, object]]]:
    session = await require_attendance(request, validate_session_id(request.match_info["session"]))
    index = await ended_recording(request, session)
    if index is None:
        raise NotFound("no recording of this session")
    questions = question_items(index, await load_questions(request.app[REDIS], session.id))
    return session, index, questions


async def replay_data(request: web.Request) -> web.Response:
    """The recording's segments, the chat and the questions, each at its moment (seconds)."""
    session, index, questions = await _replay_parts(request)
    transcript = await request.app[CHAT].whole_transcript(session.id) if session.chat else []
    offsets = index.offsets()
    body = {
        "session": session.id,
        "duration": round(index.duration, 3),
        "segments": [
            {
                "url": f"/s/{session.id}/recording/{segment.file}",
                "type": RECORDING_TYPES[Path(segment.file).suffix],
                "offset": round(offset, 3),
                "duration": segment.duration,
            }
            for offset, segment in zip(offsets, index.segments, strict=True)
            if segment.duration > 0
        ],
        "chat": chat_items(index, transcript),
        "questions": questions,
        "chapters": f"/s/{session.id}/chapters.vtt",
    }
    return web.json_response(body, headers={"Cache-Control": "no-cache"})


async def chapters(request: web.Request) -> web.Response:
    """The questions as a WebVTT chapters track."""
    _, index, questions = await _replay_parts(request)
    return web.Response(
        text=chapters_vtt(questions, index.duration),
        content_type="text/vtt",
        headers={"Cache-Control": "no-cache"},
    )


async def recording_file(request: web.Request) -> web.StreamResponse:
    """One segment of the recording (range requests: seeking)."""
    session = await require_attendance(request, validate_session_id(request.match_info["session"]))
    name = request.match_info["file"]
    index = await ended_recording(request, session)
    if (
        index is None
        or not _SEGMENT.fullmatch(name)
        or name not in {s.file for s in index.segments}
    ):
        raise NotFound("no such recording file")
    path = _directory(request, session.id) / name
    privacy = "public" if session.public else "private"
    return web.FileResponse(
        path,
        headers={
            "Cache-Control": f"{privacy}, max-age={RECORDING_MAX_AGE}",
            "Content-Type": RECORDING_TYPES[path.suffix],
        },
    )


async def hls_file(request: web.Request) -> web.StreamResponse:
    """The live HLS playlist (short-lived) and its segments (immutable)."""
    session = await require_attendance(request, validate_session_id(request.match_info["session"]))
    name = request.match_info.get("file", HLS_PLAYLIST)
    if name != HLS_PLAYLIST and not _HLS_FILE.fullmatch(name):
        raise NotFound("no such HLS file")
    path = request.app[ARCHIVE].hls / session.id / name
    if not await asyncio.to_thread(path.is_file):
        raise NotFound("not live as HLS")
    privacy = "public" if session.public else "private"
    if name == HLS_PLAYLIST:
        cache = f"{privacy}, max-age={PLAYLIST_MAX_AGE}"
    else:
        cache = f"{privacy}, max-age={SEGMENT_MAX_AGE}, immutable"
    return web.FileResponse(
        path,
        headers={"Cache-Control": cache, "Content-Type": HLS_TYPES[Path(name).suffix]},
    )


async def _status(archive: Archive, request: web.Request, session_id: str) -> dict[str, object]:
    directory = archive.recordings / session_id
    index = await asyncio.to_thread(read_index, directory)
    state = await load_state(request.app[REDIS], session_id)
    return {
        "session": session_id,
        **state.as_json(),
        "live": session_id in archive.sinks,
        "segments": len(index.segments) if index else 0,
        "duration": round(index.duration, 3) if index else 0.0,
        "bytes": await asyncio.to_thread(directory_bytes, directory),
    }


async def recording_status(request: web.Request) -> web.Response:
    """One session's recording: state (recording, done, failed with its reason, off), length,
    disk usage. Only for whoever may manage the session (as on ``/admin/recordings``); to
    anyone else it does not exist."""
    identity = await guard.require_staff(request)
    session_id = validate_session_id(request.match_info["session"])
    programme = await load_programme(request.app[REDIS])
    session = next((s for s in programme.sessions if s.id == session_id), None)
    if not may_manage(identity, session_id, session):
        raise NotFound("no recording of this session")
    archive = request.app[ARCHIVE]
    return web.json_response(
        await _status(archive, request, session_id), headers={"Cache-Control": "no-store"}
    )


async def recordings_status(request: web.Request) -> web.Response:
    """Every recording on this node's disk the caller may manage (as on ``/admin/recordings``),
    and, for an organiser or admin, the total disk usage."""
    identity = await guard.require_staff(request)
    archive = request.app[ARCHIVE]
    programme = await load_programme(request.app[REDIS])
    sessions = {s.id: s for s in programme.sessions}

    def names() -> list[str]:
        if not archive.recordings.is_dir():
            return []
        return sorted(p.name for p in archive.recordings.iterdir() if p.is_dir())

    items = [
        await _status(archive, request, name)
        for name in await asyncio.to_thread(names)
        if may_manage(identity, name, sessions.get(name))
    ]
    body: dict[str, object] = {
        "recordings": items,
        "bytes": sum(int(str(item["bytes"])) for item in items),
    }
    if identity.is_admin or identity.role is Role.ARRANGER:  # the page's audience
        usage = await asyncio.to_thread(
            disk_usage, archive.recordings, archive.hls, archive.data_dir
        )
        body.update(usage.as_json())
        body["retention_days"] = request.app[SETTINGS].recording_retention_days or None
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def delete_recording(request: web.Request) -> web.Response:
    """Delete a session's recording (its arranger's staff or an admin; not while it is live)."""
    identity = await guard.require_role(request, Role.ARRANGER)
    await guard.check_csrf(request)
    session_id = validate_session_id(request.match_info["session"])
    session = await SessionStore(request.app[REDIS]).get(session_id)
    if not identity.may(Permission.MANAGE, session.id, session.arranger_id):
        raise Forbidden("this session belongs to another arranger")
    outcome = await request.app[ARCHIVE].delete_recording(session_id)
    if outcome == "live":
        raise Conflict("the session is being recorded: delete it after it has ended")
    if outcome == "gone":
        raise NotFound("no recording of this session")
    if outcome == "failed":
        raise Conflict("the recording could not be deleted: try again")
    logger.info("[%s] recording deleted by %s", session_id, identity.username)
    return web.Response(status=204)

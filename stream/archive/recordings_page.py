"""``/admin/recordings``: every recording an organiser may manage, with its state (recording,
done, failed with the reason, off), size and length; the disk the archive uses and what is
free; the retention; a delete button per recording (its arranger's staff or an admin)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from stream.archive.disk import clock, directory_bytes, disk_usage, human_bytes
from stream.archive.index import read_index
from stream.archive.service import Archive
from stream.archive.state import RecordingState, load_states
from stream.common.errors import NotFound
from stream.common.grants import Identity, Permission, Role
from stream.common.ids import validate_session_id
from stream.http import identity as guard
from stream.http.keys import ARCHIVE, REDIS, SETTINGS
from stream.http.render import read_form, render, see_other
from stream.program.programme import load_programme
from stream.program.record_switch import records
from stream.program.sessions import Session

logger = logging.getLogger(__name__)

NOTICES = ("deleted", "live", "gone", "failed")


@dataclass(frozen=True, slots=True)
class Row:
    session_id: str
    session: Session | None  # None: the session was deleted, its recording was not
    state: RecordingState
    recorded: bool  # the switches allow recording
    live: bool
    bytes: int
    duration: float
    may_delete: bool

    @property
    def shown_state(self) -> str:
        """``recording``, ``done``, ``failed``, ``off``; ``none``: nothing recorded yet."""
        return self.state.state or ("off" if not self.recorded else "none")

    @property
    def size(self) -> str:
        return human_bytes(self.bytes)

    @property
    def length(self) -> str:
        return clock(self.duration)


def may_manage(identity: Identity, session_id: str, session: Session | None) -> bool:
    """May this identity see and delete the session's recording? ``session`` None: the session
    was deleted and its recording was not, which only an admin manages."""
    if identity.is_admin:
        return True
    return session is not None and identity.may(Permission.MANAGE, session_id, session.arranger_id)


async def _rows(request: web.Request, identity: Identity) -> list[Row]:
    archive: Archive = request.app[ARCHIVE]
    redis = request.app[REDIS]
    programme = await load_programme(redis)
    sessions = {s.id: s for s in programme.sessions}

    def on_disk() -> list[str]:
        if not archive.recordings.is_dir():
            return []
        return sorted(p.name for p in archive.recordings.iterdir() if p.is_dir())

    ids = [
        session_id
        for session_id in sorted(set(await asyncio.to_thread(on_disk)) | set(sessions))
        if may_manage(identity, session_id, sessions.get(session_id))
    ]
    states = await load_states(redis, ids)
    rows = []
    for session_id in ids:
        session = sessions.get(session_id)
        state = states[session_id]
        directory = archive.recordings / session_id
        index = await asyncio.to_thread(read_index, directory)
        if session is not None and not state.state and index is None:
            continue  # never live, nothing on disk: not a recording (yet)
        event = programme.events.get(session.event) if session else None
        rows.append(
            Row(
                session_id=session_id,
                session=session,
                state=state,
                recorded=records(session, event) if session else True,
                live=session_id in archive.sinks,
                bytes=await asyncio.to_thread(directory_bytes, directory),
                duration=index.duration if index else 0.0,
                may_delete=index is not None or directory.is_dir(),
            )
        )
    return rows


async def recordings_page(request: web.Request) -> web.StreamResponse:
    identity = await guard.require_role(request, Role.ARRANGER)
    archive: Archive = request.app[ARCHIVE]
    rows = await _rows(request, identity)
    usage = await asyncio.to_thread(disk_usage, archive.recordings, archive.hls, archive.data_dir)
    context: dict[str, Any] = {
        "rows": rows,
        "shown_bytes": human_bytes(sum(r.bytes for r in rows)),
        "recordings_bytes": human_bytes(usage.recordings),
        "hls_bytes": human_bytes(usage.hls),
        "free_bytes": human_bytes(usage.free) if usage.free >= 0 else "",
        "retention_days": request.app[SETTINGS].recording_retention_days,
        "max_bytes": human_bytes(archive.max_bytes) if archive.max_bytes else "",
        "notice": request.query.get("notice", ""),
        "notices": NOTICES,
    }
    return await render(request, "admin/recordings.html", context)


async def recording_delete(request: web.Request) -> web.StreamResponse:
    """The page's delete button: the same checks as the API's DELETE, then back to the page."""
    identity = await guard.require_role(request, Role.ARRANGER)
    await read_form(request)  # the CSRF token
    session_id = validate_session_id(request.match_info["session"])
    programme = await load_programme(request.app[REDIS])
    session = next((s for s in programme.sessions if s.id == session_id), None)
    if not may_manage(identity, session_id, session):
        raise NotFound("no recording of this session")  # another arranger's: not shown
    archive: Archive = request.app[ARCHIVE]
    outcome = await archive.delete_recording(session_id)
    if outcome != "deleted":
        raise see_other(f"/admin/recordings?notice={outcome}")
    logger.info("[%s] recording deleted by %s", session_id, identity.username)
    raise see_other("/admin/recordings?notice=deleted")

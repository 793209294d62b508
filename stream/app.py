"""The composition root: ``create_app(settings)`` builds every resource (``cleanup_ctx``, closed
in reverse order) and mounts the one route table, in which each route names its guard.

Layers, bottom to top: :mod:`stream.common` → :mod:`stream.http` → the capabilities
(``program``, ``auth``, ``rtc``, ``rooms``, ``chat``, ``ingest``, ``qa``, ``analytics``,
``admin``, ``pages``) → this module. Capabilities never import each other's handlers or keys;
import-linter holds these contracts (``pyproject.toml``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from stream import demo, ops
from stream.admin import (
    catalogue_pages,
    exports,
    followup,
    followup_zip,
    import_pages,
    link_pages,
    session_pages,
    staff_pages,
)
from stream.admin import routes as dashboard
from stream.analytics import viewers
from stream.archive import recordings_page
from stream.archive import routes as archive
from stream.auth import register
from stream.auth import routes as login
from stream.auth.authenticator import auth_context
from stream.auth.guards import (
    ADMIN,
    ARRANGER,
    ATTENDEE,
    MODERATOR,
    NODE,
    ORGANISER,
    PUBLIC,
    RESOURCE_HOLDER,
    STAFF,
)
from stream.chat import routes as chat
from stream.common.limits import Limiter
from stream.config import Settings
from stream.http import webhooks
from stream.http.keys import (
    EMBEDDED_REDIS,
    LIMITER,
    METRICS,
    NODE_SECRET,
    REDIS,
    REDIS_SUPERVISOR,
    SETTINGS,
    TEMPLATES,
)
from stream.http.middleware import error_middleware, security_headers
from stream.http.nodes import shared_node_secret
from stream.http.proxy import forwarded_headers
from stream.http.routing import Guard, Route, mount
from stream.http.templates import make_templates
from stream.ingest import routes as whip
from stream.ingest.rtmp.service import rtmp_context
from stream.pages import routes as pages
from stream.program import routes as programme
from stream.program import session_routes as session_api
from stream.qa import routes as qa
from stream.qa.transparency import read_counts
from stream.rooms import routes as whep
from stream.rooms.presence import read_presence
from stream.rtc import resource as rtc
from stream.rtc.resource import add_cors_headers, peers_context
from stream.rtc.resource_nodes import resource_nodes_context
from stream.store import EmbeddedRedis, RedisSupervisor, connect, wait_ready

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024 * 1024

# Publishing needs the session's key, within its rehearsal-to-grace window.
PUBLISHER = Guard("publisher (the session's key, in its window)", whip.authorise_publisher)

_KINDS = catalogue_pages.KINDS_PATTERN

ROUTES: tuple[Route, ...] = (
    # Ingest (WHIP, RFC 9725) and playback (WHEP): the resource URL is the holder's credential.
    Route("POST", "/whip/{session}", whip.whip_post, PUBLISHER),
    Route("OPTIONS", "/whip/{session}", whip.whip_options, PUBLIC),
    Route("PATCH", "/whip/{session}/{resource}", whip.whip_patch, RESOURCE_HOLDER),
    Route("DELETE", "/whip/{session}/{resource}", whip.whip_delete, RESOURCE_HOLDER),
    Route("OPTIONS", "/whip/{session}/{resource}", whip.whip_resource_options, PUBLIC),
    Route("POST", "/whep/{session}", viewers.count_whep(whep.whep_post), ATTENDEE),
    Route("OPTIONS", "/whep/{session}", whep.whep_options, PUBLIC),
    Route("PATCH", "/whep/{session}/{resource}", whep.whep_patch, RESOURCE_HOLDER),
    Route("DELETE", "/whep/{session}/{resource}", whep.whep_delete, RESOURCE_HOLDER),
    Route("OPTIONS", "/whep/{session}/{resource}", whep.whep_resource_options, PUBLIC),
    Route("GET", "/api/sessions/{session}/status", whep.session_status, ATTENDEE),
    Route("GET", "/relay/{session}", whep.relay_link, NODE),
    # A resource request another node took for a peer of this node (stream.rtc.resource_nodes).
    Route("PATCH", "/node/{role:whip|whep}/{session}/{resource}", rtc.node_patch, NODE),
    Route("DELETE", "/node/{role:whip|whep}/{session}/{resource}", rtc.node_delete, NODE),
    # The programme: public JSON and calendars (before /s/{session}: /s/x.ics is a calendar).
    # One session's routes answer 404 for invite-only sessions, as for unknown ids.
    Route("GET", "/api/program", programme.api_program, PUBLIC),
    Route("GET", "/api/sessions/{session}", programme.api_session, ATTENDEE),
    Route("GET", "/program.ics", programme.programme_ics, PUBLIC),
    Route("GET", "/s/{session}.ics", programme.session_ics, ATTENDEE),
    # The sessions' write API (handlers check that the session is the organiser's own).
    Route("POST", "/api/sessions", session_api.create_session, ORGANISER),
    Route("PUT", "/api/sessions/{session}", session_api.update_session, ORGANISER),
    Route("DELETE", "/api/sessions/{session}", session_api.delete_session, ORGANISER),
    Route("POST", "/api/sessions/{session}/key", session_api.rotate_key, ORGANISER),
    Route("DELETE", "/api/sessions/{session}/recording", archive.delete_recording, ORGANISER),
    # Accounts.
    Route("GET", "/login", login.login_page, PUBLIC),
    Route("POST", "/login", login.login_submit, PUBLIC),
    Route("POST", "/logout", login.logout, PUBLIC),
    Route("GET", "/register", register.register_page, PUBLIC),
    Route("POST", "/register", register.register_submit, PUBLIC),
    # The back office (handlers narrow further: a session of one's own arranger, …).
    Route("GET", "/admin", dashboard.dashboard, STAFF, page="staff"),
    Route("GET", "/admin/", dashboard.dashboard, STAFF, page="staff"),
    Route("GET", "/admin/api/overview", dashboard.overview_json, STAFF),
    Route("GET", "/admin/api/recordings", archive.recordings_status, STAFF),
    Route("GET", "/admin/api/recordings/{session}", archive.recording_status, STAFF),
    Route("GET", "/admin/recordings", recordings_page.recordings_page, ORGANISER, page="staff"),
    Route(
        "POST",
        "/admin/recordings/{session}/delete",
        recordings_page.recording_delete,
        ORGANISER,
        page="staff",
    ),
    Route("GET", "/admin/sessions", session_pages.session_list, ORGANISER, page="staff"),
    Route("GET", "/admin/sessions/new", session_pages.session_new, ORGANISER, page="staff"),
    Route("POST", "/admin/sessions/new", session_pages.session_create, ORGANISER, page="staff"),
    Route("GET", "/admin/sessions/{session}", session_pages.session_edit, ORGANISER, page="staff"),
    Route(
        "POST", "/admin/sessions/{session}", session_pages.session_update, ORGANISER, page="staff"
    ),
    Route(
        "POST",
        "/admin/sessions/{session}/key",
        session_pages.session_rotate_key,
        ORGANISER,
        page="staff",
    ),
    Route(
        "POST",
        "/admin/sessions/{session}/delete",
        session_pages.session_delete,
        ORGANISER,
        page="staff",
    ),
    # Moderator links (the URL shown once) and the chat transcript as a file.
    Route(
        "POST", "/admin/sessions/{session}/links", link_pages.link_create, ARRANGER, page="staff"
    ),
    Route(
        "POST",
        "/admin/sessions/{session}/links/revoke-all",
        link_pages.link_revoke_all,
        ARRANGER,
        page="staff",
    ),
    Route(
        "POST",
        r"/admin/sessions/{session}/links/{link:[0-9a-f]+}/revoke",
        link_pages.link_revoke,
        ARRANGER,
        page="staff",
    ),
    Route(
        "GET",
        r"/admin/sessions/{session}/{what:chat\.json|chat\.csv}",
        exports.transcript_download,
        MODERATOR,
        page="staff",
    ),
    # The arranger's follow-up: one page and one download after the session.
    Route(
        "GET", "/admin/sessions/{session}/followup", followup.followup_page, ARRANGER, page="staff"
    ),
    Route(
        "GET",
        "/admin/sessions/{session}/followup.zip",
        followup_zip.followup_zip,
        ARRANGER,
        page="staff",
    ),
    Route("GET", "/admin/staff", staff_pages.staff_list, ORGANISER, page="staff"),
    Route("GET", "/admin/staff/new", staff_pages.staff_new, ORGANISER, page="staff"),
    Route("POST", "/admin/staff/new", staff_pages.staff_create, ORGANISER, page="staff"),
    Route("GET", "/admin/staff/{username}", staff_pages.staff_edit, ORGANISER, page="staff"),
    Route("POST", "/admin/staff/{username}", staff_pages.staff_update, ORGANISER, page="staff"),
    Route(
        "POST",
        "/admin/staff/{username}/password",
        staff_pages.staff_password,
        ORGANISER,
        page="staff",
    ),
    Route(
        "POST", "/admin/staff/{username}/delete", staff_pages.staff_delete, ORGANISER, page="staff"
    ),
    Route("GET", "/admin/account", staff_pages.account_page, STAFF, page="staff"),
    Route("POST", "/admin/account", staff_pages.account_password, STAFF, page="staff"),
    Route("GET", "/admin/import", import_pages.import_page, ADMIN, page="staff"),
    Route("POST", "/admin/import", import_pages.import_submit, ADMIN, page="staff"),
    Route("GET", f"/admin/{_KINDS}", catalogue_pages.catalogue_list, ORGANISER, page="staff"),
    Route("GET", f"/admin/{_KINDS}/new", catalogue_pages.catalogue_new, ADMIN, page="staff"),
    Route("POST", f"/admin/{_KINDS}/new", catalogue_pages.catalogue_create, ADMIN, page="staff"),
    Route(
        "GET", f"/admin/{_KINDS}/{{id}}", catalogue_pages.catalogue_edit, ORGANISER, page="staff"
    ),
    Route("POST", f"/admin/{_KINDS}/{{id}}", catalogue_pages.catalogue_update, ADMIN, page="staff"),
    Route(
        "POST",
        f"/admin/{_KINDS}/{{id}}/delete",
        catalogue_pages.catalogue_delete,
        ADMIN,
        page="staff",
    ),
    # Visitors' pages.
    Route("GET", "/", pages.programme, PUBLIC),
    # An ended, recorded session's page is its replay; a live or coming one's is the watch page.
    Route("GET", "/s/{session}", archive.watch_or_replay(pages.watch), ATTENDEE, page="visitor"),
    Route("GET", "/s/{session}/replay.json", archive.replay_data, ATTENDEE),
    Route("GET", "/s/{session}/chapters.vtt", archive.chapters, ATTENDEE),
    Route("GET", "/s/{session}/recording/{file}", archive.recording_file, ATTENDEE),
    # Live HLS for players without WebRTC and for caches (CDN, nginx) in front of this node.
    Route("GET", "/hls/{session}/index.m3u8", viewers.count_hls(archive.hls_file), ATTENDEE),
    Route("GET", "/hls/{session}/{file}", archive.hls_file, ATTENDEE),
    Route("GET", "/embed/{session}", pages.embed, ATTENDEE, page="visitor"),
    # The studio page asks for the publish key itself; publishing is guarded at /whip.
    Route("GET", "/studio/{session}", pages.studio, ATTENDEE, page="visitor"),
    # Live interaction: one socket per page; moderation rights are checked per frame.
    Route("GET", "/ws/{session}", viewers.count_sockets(chat.chat_socket), ATTENDEE),
    Route("GET", "/moderate/{session}", chat.moderate_page, ATTENDEE, page="visitor"),
    Route("GET", "/api/chat/stats", chat.chat_stats, PUBLIC),
    Route("GET", "/api/chat/{session}/transcript", chat.transcript, ATTENDEE),
    Route("GET", "/q/{session}", qa.phone_page, ATTENDEE, page="visitor"),
    Route("GET", "/q/{session}/qr.svg", qa.qr_image, ATTENDEE),
    Route("GET", "/stage/{session}", qa.stage_page, ATTENDEE, page="visitor"),
    Route(
        "GET",
        r"/api/qa/{session}/{what:export\.json|questions\.csv|polls\.csv}",
        qa.export_data,
        MODERATOR,
    ),
    # Operations.
    Route("GET", "/healthz", ops.healthz, PUBLIC),
    Route("GET", "/metrics", ops.metrics, PUBLIC),
    Route("GET", "/api/rooms", ops.room_stats, PUBLIC),
)


def redis_context(
    on_failure: Callable[[], None] | None = None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Redis for the app: ``--redis-url``, or the embedded server, supervised (restarted when
    it dies; ``on_failure`` is called if it cannot come back)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        embedded: EmbeddedRedis | None = None
        url = settings.redis_url
        if url is None:
            embedded = EmbeddedRedis(settings.data_dir)
            # Started from the loop's own thread, not a worker: the child is bound to the
            # thread that started it (it gets SIGTERM when that thread ends; see EmbeddedRedis).
            embedded.start()
            app[EMBEDDED_REDIS] = embedded
            url = embedded.url
        client = connect(url)
        try:
            if embedded is not None:
                await embedded.wait_serving()
            await wait_ready(client)
        except Exception:
            await client.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        app[REDIS] = client
        app[LIMITER] = Limiter(client)
        app[NODE_SECRET] = await shared_node_secret(client)
        watch: asyncio.Task[None] | None = None
        if embedded is not None:
            supervisor = RedisSupervisor(
                embedded, client, on_failure or (lambda: None), settings.redis_restart_within
            )
            app[REDIS_SUPERVISOR] = supervisor
            watch = asyncio.create_task(supervisor.run(), name="redis-supervisor")
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch
            await client.aclose()
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    return context


def create_app(
    settings: Settings, on_redis_failure: Callable[[], None] | None = None
) -> web.Application:
    """The application; ``on_redis_failure`` is called if the embedded Redis dies and cannot
    be restarted (``stream serve`` stops with a non-zero exit code)."""
    app = web.Application(
        middlewares=[
            forwarded_headers,
            ops.count_requests,
            error_middleware,
            security_headers,
        ],
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[SETTINGS] = settings
    app[METRICS] = ops.Metrics()
    app[TEMPLATES] = make_templates(settings.web_dir)
    # Resources, in the order they are needed (closed in reverse).
    app.cleanup_ctx.append(redis_context(on_redis_failure))
    app.cleanup_ctx.append(auth_context)
    app.cleanup_ctx.append(resource_nodes_context)  # withdrawn after the peers are closed
    app.cleanup_ctx.append(peers_context)
    app.cleanup_ctx.append(whep.rooms_context)
    app.cleanup_ctx.append(archive.archive_context)  # records and writes HLS of every room
    app.cleanup_ctx.append(webhooks.webhooks_context)  # reads the rooms: after them
    app.cleanup_ctx.append(viewers.viewers_context)  # samples the rooms and the sockets
    app.cleanup_ctx.append(rtmp_context)
    app.cleanup_ctx.append(chat.chat_context(read_presence, read_counts))
    app.cleanup_ctx.append(qa.qa_context)  # its frames ride the chat's sockets
    if settings.demo:
        app.cleanup_ctx.append(demo.demo_context)
    app.on_shutdown.append(chat.close_sockets)  # GOING_AWAY (1001) before handlers are awaited
    app.on_shutdown.append(whep.close_relays)  # relay links too
    app.on_response_prepare.append(add_cors_headers)
    mount(app, ROUTES)
    app.router.add_static("/static", settings.web_dir / "static", append_version=True)
    return app

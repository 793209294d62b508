"""The session WebSocket ``/ws/{session}``: one per page, for the chat, the Q&A and polls
(frames other packages register) and the audience; checks before the upgrade, then one loop per
socket.

Before upgrading: the session exists, the Origin is this site's (cross-site hijacking is
refused with 403), the address has a free connection slot (429). After: ``compress=False``
(per-message deflate costs more than the whole fan-out), frames above ``MAX_FRAME_BYTES`` or
nested deeper than ``MAX_JSON_DEPTH`` get an ``error`` frame (above ``MAX_WIRE_BYTES`` the
socket is closed with 1009), the first frame must be ``hello``, and every failure is an
``error`` frame, never an unhandled exception.

A socket joins with ``hello`` (carrying ``last_id``, the one cursor of the session's log when
it resumes), gets ``welcome`` and its history or the replay of what it missed, then live
events and ``presence`` frames when the audience changes.

Fan-out frames are written straight to the connection's transport as complete WebSocket frames
(built once per event for all sockets); the socket is dropped when its unsent output passes
``max_behind_bytes`` and the client reconnects with its last id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from redis.exceptions import RedisError

from stream.auth.invites import require_attendance
from stream.chat.audience import AudienceWatch
from stream.chat.chat import ChatService, Participant
from stream.chat.fanout import Channel, ChannelClosed
from stream.chat.identity import TokenSigner
from stream.chat.protocol import (
    MAX_WIRE_BYTES,
    Command,
    Extension,
    Hello,
    Moderate,
    ProtocolError,
    Send,
    SetName,
    error_frame,
    history_frame,
    parse_command,
)
from stream.chat.roles import Grant
from stream.chat.wire import close_frame, encode_text_frame, socket_transport
from stream.common.errors import Forbidden, RateLimited, StreamError
from stream.common.grants import Permission
from stream.common.ids import validate_session_id
from stream.http.client import client_address
from stream.http.identity import current_identity, require_session_permission

logger = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
HEARTBEAT_SECONDS = 30.0
JOIN_TIMEOUT = 15.0
CLOSE_TIMEOUT = 1.0
# Frames refused as malformed before the socket is closed (a client that only sends garbage).
MAX_REFUSED_FRAMES = 50
# A socket dropped for falling behind is told why, then closed; one that does not read even
# that is cut off after this long.
SLOW_CLOSE_GRACE_SECONDS = 5.0
SLOW_CLOSE_REASON = b"too far behind: reconnect with your last id"


class AddressSlots:
    """Open sockets per client address in this process."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def take(self, address: str, limit: int) -> bool:
        if self._open[address] >= limit:
            return False
        self._open[address] += 1
        return True

    def give_back(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


class SocketSubscriber:
    """A socket as the fan-out sees it: frames written to its transport, never awaited."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        moderator: bool,
        max_behind: int,
        on_drop: Callable[[], None],
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.moderator = moderator
        self.max_behind = max_behind
        self._on_drop = on_drop

    def deliver(self, frame: bytes) -> None:
        transport = self.transport
        if transport.is_closing() or self.ws.closed:
            return
        if transport.get_write_buffer_size() > self.max_behind:
            self._drop(transport)
            return
        transport.write(frame)

    def _drop(self, transport: asyncio.Transport) -> None:
        """Tell the client why (an error frame, then a close frame with the reason, after what
        it has not read yet), close once that is sent, and cut it off if it never is."""
        self._on_drop()
        transport.write(encode_text_frame(error_frame("too_slow", SLOW_CLOSE_REASON.decode())))
        transport.write(close_frame(WSCloseCode.TRY_AGAIN_LATER, SLOW_CLOSE_REASON))
        transport.close()
        asyncio.get_running_loop().call_later(SLOW_CLOSE_GRACE_SECONDS, transport.abort)


def socket_response() -> web.WebSocketResponse:
    """A session socket before ``prepare``: no per-message deflate (the fan-out writes the same
    frame bytes to every socket, see ``stream.chat.wire``); ``timeout`` is how long a close
    waits for the client's answer (a client that never reads cannot hold a socket, or the
    shutdown, open)."""
    return web.WebSocketResponse(
        compress=False,
        max_msg_size=MAX_WIRE_BYTES,
        heartbeat=HEARTBEAT_SECONDS,
        timeout=CLOSE_TIMEOUT,
    )


# Answers an extension frame (session id, who sent it, the frame) with a frame to send back.
ExtensionHandler = Callable[[str, Participant, Extension], Awaitable[bytes]]


class ChatSockets:
    """Every chat socket of this process (closed with GOING_AWAY on shutdown)."""

    def __init__(self, service: ChatService, audience: AudienceWatch | None = None) -> None:
        self.service = service
        # Pushes the viewer count on the sockets (None: sockets get no presence frames).
        self.audience = audience
        self.slots = AddressSlots()
        self.open: set[web.WebSocketResponse] = set()
        self.extensions: dict[str, ExtensionHandler] = {}
        # Set when shutdown begins: a socket that opens after that is closed at once.
        self.closing = False

    def register(self, kind: str, handler: ExtensionHandler) -> None:
        """Let another package (Q&A, polls) answer frames of type ``kind`` on these sockets."""
        if kind in ("hello", "name", "send", "mod") or kind in self.extensions:
            raise ValueError(f"frame type {kind!r} is taken")
        self.extensions[kind] = handler

    async def close_all(self) -> None:
        """GOING_AWAY (1001) to every socket, and to any that opens from now on."""
        self.closing = True
        if self.audience is not None:
            await self.audience.close()
        sockets = list(self.open)
        closing = [
            asyncio.wait_for(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown"), CLOSE_TIMEOUT
            )
            for ws in sockets
        ]
        await asyncio.gather(*closing, return_exceptions=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        session_id = validate_session_id(request.match_info["session"])
        check_origin(request)
        await require_attendance(request, session_id)  # 404 for none, or not invited
        address = client_address(request)
        if not self.slots.take(address, self.service.limits.max_connections_per_address):
            raise RateLimited("too many chat connections from your address")
        try:
            ws = socket_response()
            await ws.prepare(request)
            self.open.add(ws)
            try:
                if self.closing:  # opened while shutdown began: close_all may have missed it
                    await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                    return ws
                await self._serve(request, ws, session_id, address)
            except ConnectionResetError:
                pass  # the client went away while we were writing to it
            except ChannelClosed:
                with contextlib.suppress(Exception):
                    await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
            except Exception:
                logger.exception("[%s] chat socket failed", session_id)
                with contextlib.suppress(Exception):
                    await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"internal error")
            finally:
                self.open.discard(ws)
        finally:
            self.slots.give_back(address)
        return ws

    async def _serve(
        self, request: web.Request, ws: web.WebSocketResponse, session_id: str, address: str
    ) -> None:
        hello = await _receive_hello(ws)
        if hello is None:
            return
        service = self.service
        async with service.fanout.channel(session_id) as channel:
            try:
                async with asyncio.timeout(JOIN_TIMEOUT):
                    account = await account_grant(request, session_id, service.signer)
                    participant = await service.join(session_id, hello, address, account=account)
                    await _send(ws, await service.welcome(session_id, participant))
                    await channel.ready()
                    subscriber = SocketSubscriber(
                        ws,
                        socket_transport(request, ws),
                        participant.moderator,
                        service.limits.max_behind_bytes,
                        self._count_drop,
                    )
                    await self._join(ws, channel, subscriber, session_id, hello.last_id)
            except ChannelClosed:
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                return
            except (TimeoutError, RedisError) as exc:
                logger.warning("[%s] chat join failed: %s", session_id, type(exc).__name__)
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"try again")
                return
            try:
                with self._watch_audience(session_id, subscriber):
                    await self._loop(ws, session_id, participant)
            finally:
                channel.detach(subscriber)

    def _watch_audience(
        self, session_id: str, subscriber: SocketSubscriber
    ) -> contextlib.AbstractContextManager[None]:
        if self.audience is None:
            return contextlib.nullcontext()
        return self.audience.watch(session_id, subscriber)

    def _count_drop(self) -> None:
        self.service.fanout.stats.dropped_slow += 1

    async def _join(
        self,
        ws: web.WebSocketResponse,
        channel: Channel,
        subscriber: SocketSubscriber,
        session_id: str,
        last_id: str | None,
    ) -> None:
        """History (or the replay after ``last_id``), then live, with no gap and no repeat."""
        service = self.service
        backlog = await service.backlog(session_id, subscriber.moderator, last_id)
        await _send(ws, history_frame(backlog.events, reset=backlog.reset, at=backlog.up_to))
        up_to = backlog.up_to
        while not channel.attach(subscriber, up_to):
            more = await service.catch_up(session_id, subscriber.moderator, up_to)
            if more.events:
                await _send(ws, history_frame(more.events, reset=False, at=more.up_to))
            up_to = more.up_to

    async def _loop(
        self, ws: web.WebSocketResponse, session_id: str, participant: Participant
    ) -> None:
        refused = 0
        async for message in ws:
            try:
                if message.type is not WSMsgType.TEXT:
                    raise ProtocolError("text frames only")
                command = parse_command(message.data, self.extensions)
            except ProtocolError as exc:
                refused += 1
                if refused > MAX_REFUSED_FRAMES:
                    await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too many errors")
                    return
                await _send(ws, error_frame(exc.code, str(exc), cid=exc.cid))
                continue
            await _send(ws, await self._answer(session_id, participant, command))

    async def _answer(self, session_id: str, participant: Participant, command: Command) -> bytes:
        service = self.service
        cid = command.cid if isinstance(command, Send | Moderate | Extension | SetName) else None
        try:
            if isinstance(command, Extension):
                return await self.extensions[command.kind](session_id, participant, command)
            if isinstance(command, Send):
                return await service.send(session_id, participant, command)
            if isinstance(command, Moderate):
                return await service.moderate(session_id, participant, command)
            if isinstance(command, SetName):
                return await service.rename(session_id, participant, command.name, command.cid)
            return error_frame("bad_request", "hello was already received")
        except Exception as exc:
            # Redis unreachable past the client's retries, most likely: the sender retries
            # with the same cid, which the log de-duplicates.
            logger.warning("[%s] chat request failed: %s", session_id, type(exc).__name__)
            return error_frame("unavailable", "try again shortly", cid=cid, retry_after=1.0)


async def _send(ws: web.WebSocketResponse, frame: bytes) -> None:
    await ws.send_str(frame.decode("utf-8"))


async def account_grant(request: web.Request, session_id: str, signer: TokenSigner) -> Grant | None:
    """What a logged-in account is in this session's chat: staff who may moderate the session
    moderate it (and its Q&A); any other account (a registered viewer, other staff) is a
    registered participant under its own name. None without a login.

    The socket's Origin was checked on upgrade, so the login cookie cannot be used by another
    site to act in someone's name.
    """
    identity = await current_identity(request)
    if identity is None:
        return None
    name = identity.display_name or identity.username
    uid = signer.account_uid(identity.username)
    try:
        await require_session_permission(request, session_id, Permission.MODERATE)
    except StreamError:
        return Grant("registered", name, uid)
    return Grant("moderator", name, uid)


async def _receive_hello(ws: web.WebSocketResponse) -> Hello | None:
    try:
        message = await ws.receive(timeout=HELLO_TIMEOUT)
    except TimeoutError:
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no hello")
        return None
    if message.type is not WSMsgType.TEXT:
        return None
    try:
        command = parse_command(message.data)
    except ProtocolError as exc:
        command = None
        detail = str(exc)
    else:
        detail = "the first frame must be hello"
    if not isinstance(command, Hello):
        await _send(ws, error_frame("bad_request", detail))
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no hello")
        return None
    return command


def check_origin(request: web.Request) -> None:
    """Refuse a browser page from another site opening a chat socket with our cookies."""
    origin = request.headers.get("Origin")
    if origin is None:
        return  # not a browser: nothing ambient to hijack
    netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
    if not netloc or netloc != request.host.lower():
        raise Forbidden("cross-site chat connection refused")

"""One RTMP client: handshake, the publish command exchange, then media into the room.

The exchange OBS and FFmpeg run: ``connect`` (app ``live``) → ``releaseStream`` → ``FCPublish``
→ ``createStream`` → ``publish <key>`` → ``@setDataFrame onMetaData`` and media → ``FCUnpublish``
→ ``deleteStream``. The key is checked on ``publish``: a key that matches no session, or a
session that already has a publisher, gets ``NetStream.Publish.BadName`` and the connection is
closed. Any malformed, oversized or unexpected input closes this connection only, with one log
line. Stream keys (the publish name, ``releaseStream``/``FCPublish`` arguments) are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from stream.common import times
from stream.common.errors import Conflict
from stream.ingest.rtmp import amf, messages
from stream.ingest.rtmp.amf import AmfValue
from stream.ingest.rtmp.chunks import (
    ABORT,
    ACKNOWLEDGEMENT,
    AGGREGATE,
    AUDIO,
    COMMAND_AMF0,
    COMMAND_AMF3,
    DATA_AMF0,
    DATA_AMF3,
    SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH,
    USER_CONTROL,
    VIDEO,
    WINDOW_ACK_SIZE,
    ChunkReader,
    ChunkWriter,
    Message,
    parse_u32,
)
from stream.ingest.rtmp.errors import RtmpError
from stream.ingest.rtmp.flv import split_aggregate
from stream.ingest.rtmp.handshake import server_handshake
from stream.ingest.rtmp.publisher import RtmpPublisher
from stream.rooms.room import Room

logger = logging.getLogger(__name__)

APP_NAME = "live"
HANDSHAKE_TIMEOUT = 5.0  # seconds from accept to a completed handshake
IDLE_TIMEOUT = 30.0  # seconds without a byte from the client
PUBLISH_TIMEOUT = 15.0  # seconds from accept to ``publish`` (encoders take well under one)
# Bytes held for a client that has not published yet: its commands are small (each at most
# ``chunks.MAX_COMMAND_SIZE``), and media before ``publish`` is refused anyway.
MAX_PREPUBLISH_BYTES = 128 * 1024
READ_SIZE = 64 * 1024
SERVER_CHUNK_SIZE = 4096
WINDOW_ACK_SIZE_BYTES = 2_500_000
MIN_PEER_WINDOW = 4096  # acknowledge no more often than this, whatever the peer asks
MAX_STREAMS = 4  # createStream calls per connection (encoders make one)
MAX_STREAM_KEY_LENGTH = 256
FMS_VERSION = "FMS/3,0,1,123"
CAPABILITIES = 31

# Commands a publishing client may send that need no answer.
IGNORED_COMMANDS = frozenset({"_checkbw"})
UNPUBLISH_COMMANDS = frozenset({"FCUnpublish", "deleteStream", "closeStream"})


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What a valid stream key allows: publishing to ``session_id`` until ``until`` (the end of
    the key's window; ``None`` for a session without a schedule)."""

    session_id: str
    until: datetime | None = None


Authorise = Callable[[str], Awaitable[KeyGrant | None]]  # stream key → its grant, or None
RoomFor = Callable[[str], Room]  # session id → its room (created if need be)


@dataclass(frozen=True, slots=True)
class Limits:
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    publish_timeout: float = PUBLISH_TIMEOUT


class State(Enum):
    HANDSHAKE = "handshake"
    NEW = "new"  # handshake done, waiting for connect
    CONNECTED = "connected"
    PUBLISHING = "publishing"
    UNPUBLISHED = "unpublished"


class RtmpConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        authorise: Authorise,
        room_for: RoomFor,
        limits: Limits,
        name: str,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.authorise = authorise
        self.room_for = room_for
        self.limits = limits
        self.log_prefix = f"[rtmp {name}]"
        self.state = State.HANDSHAKE
        self.publisher: RtmpPublisher | None = None
        self._chunks = ChunkReader()
        self._out = ChunkWriter()
        self._streams: set[int] = set()
        self._peer_window = 0
        self._acked = 0
        self._closing = False
        self._window: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        """Serve the client until it leaves or misbehaves; never raises (except cancel)."""
        loop = asyncio.get_running_loop()
        publish_deadline = loop.time() + self.limits.publish_timeout
        try:
            async with asyncio.timeout(self.limits.handshake_timeout):
                await server_handshake(self.reader, self.writer)
            self.state = State.NEW
            await self._serve(publish_deadline)
        except RtmpError as exc:
            logger.info("%s closed: %s", self.log_prefix, exc)
        except TimeoutError:
            logger.info("%s closed: timed out (%s)", self.log_prefix, self.state.value)
        except (asyncio.IncompleteReadError, ConnectionError):
            logger.info("%s disconnected (%s)", self.log_prefix, self.state.value)
        except Exception:
            logger.exception("%s closed after an unexpected error", self.log_prefix)
        finally:
            self._unpublish("disconnected")
            await self._close_transport()

    async def _serve(self, publish_deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while not self._closing:
            timeout = self.limits.idle_timeout
            if self.state in (State.NEW, State.CONNECTED):
                remaining = publish_deadline - loop.time()
                if remaining <= 0:
                    raise RtmpError("not publishing within the publish timeout")
                timeout = min(timeout, remaining)
            async with asyncio.timeout(timeout):
                data = await self.reader.read(READ_SIZE)
            if not data:
                logger.info("%s disconnected (%s)", self.log_prefix, self.state.value)
                return
            for message in self._chunks.feed(data):
                await self._handle(message)
                if self._closing:
                    return
            if self.publisher is None and self._chunks.buffered > MAX_PREPUBLISH_BYTES:
                raise RtmpError(f"more than {MAX_PREPUBLISH_BYTES} bytes buffered before publish")
            await self._acknowledge()

    # -- dispatch -------------------------------------------------------------------------

    async def _handle(self, message: Message) -> None:
        kind = message.type_id
        if kind in (VIDEO, AUDIO):
            await self._media(kind, message.payload, message.timestamp)
        elif kind == AGGREGATE:
            for part in split_aggregate(message.payload, message.timestamp):
                if part.type_id in (VIDEO, AUDIO):
                    await self._media(part.type_id, part.body, part.timestamp)
        elif kind in (COMMAND_AMF0, COMMAND_AMF3):
            await self._command(_amf0_body(message), message.stream_id)
        elif kind in (DATA_AMF0, DATA_AMF3):
            self._data_message(_amf0_body(message))
        elif kind == WINDOW_ACK_SIZE:
            self._peer_window = max(MIN_PEER_WINDOW, parse_u32(message.payload, "Window Ack"))
        elif kind in (SET_CHUNK_SIZE, ABORT, ACKNOWLEDGEMENT, USER_CONTROL, SET_PEER_BANDWIDTH):
            pass  # chunk size and abort are applied by the reader; the rest needs no answer
        else:
            raise RtmpError(f"unsupported message type {kind}")

    async def _media(self, kind: int, payload: bytes, timestamp: int) -> None:
        if self.publisher is None:
            if self.state is State.UNPUBLISHED:
                return  # a tail of media after FCUnpublish
            raise RtmpError("media before publish")
        if kind == VIDEO:
            self.publisher.video(payload, timestamp)
        else:
            await self.publisher.audio(payload, timestamp)

    def _data_message(self, body: bytes) -> None:
        values = amf.decode_all(body)
        if values and values[0] == "@setDataFrame":
            values = values[1:]
        if len(values) >= 2 and values[0] == "onMetaData" and isinstance(values[1], dict):
            meta = values[1]
            logger.debug(
                "%s metadata: %sx%s, video %s, audio %s",
                self.log_prefix,
                meta.get("width"),
                meta.get("height"),
                meta.get("videocodecid"),
                meta.get("audiocodecid"),
            )

    async def _command(self, body: bytes, stream_id: int) -> None:
        values = amf.decode_all(body)
        if len(values) < 2 or not isinstance(values[0], str):
            raise RtmpError("command without a name and transaction id")
        name, transaction, args = values[0], values[1], values[2:]
        if not isinstance(transaction, float):
            raise RtmpError(f"command {name[:32]!r}: transaction id is not a number")
        if name == "connect":
            await self._connect(transaction, args)
            return
        if self.state is State.NEW:
            raise RtmpError(f"command {name[:32]!r} before connect")
        if name in ("releaseStream", "FCPublish"):
            await self._send(messages.command("_result", transaction, None, None))
        elif name == "createStream":
            await self._create_stream(transaction)
        elif name == "publish":
            await self._publish(args, stream_id)
        elif name in UNPUBLISH_COMMANDS:
            self._unpublish(name)
        elif name in IGNORED_COMMANDS:
            pass
        elif name in ("play", "play2"):
            await self._send(
                messages.on_status(
                    stream_id, "error", "NetStream.Play.Failed", "this server only ingests"
                )
            )
            raise RtmpError("playback requested: this server only ingests (watch over WHEP)")
        else:
            raise RtmpError(f"unknown command {name[:32]!r}")

    # -- commands -------------------------------------------------------------------------

    async def _connect(self, transaction: float, args: list[AmfValue]) -> None:
        if self.state is not State.NEW:
            raise RtmpError("connect sent twice")
        properties = args[0] if args and isinstance(args[0], dict) else {}
        app = properties.get("app")
        if not isinstance(app, str) or app.strip("/") != APP_NAME:
            await self._send(
                messages.command(
                    "_error",
                    transaction,
                    None,
                    messages.status(
                        "error", "NetConnection.Connect.Rejected", f"use the app /{APP_NAME}"
                    ),
                )
            )
            raise RtmpError(f"connect to an app other than {APP_NAME!r}")
        self.state = State.CONNECTED
        await self._send(messages.window_ack_size(WINDOW_ACK_SIZE_BYTES), flush=False)
        await self._send(messages.set_peer_bandwidth(WINDOW_ACK_SIZE_BYTES), flush=False)
        await self._send(messages.set_chunk_size(SERVER_CHUNK_SIZE), flush=False)
        self._out.chunk_size = SERVER_CHUNK_SIZE
        result: dict[str, AmfValue] = {
            **messages.status("status", "NetConnection.Connect.Success", "Connection succeeded."),
            "objectEncoding": 0.0,
        }
        await self._send(
            messages.command(
                "_result",
                transaction,
                {"fmsVer": FMS_VERSION, "capabilities": float(CAPABILITIES)},
                result,
            )
        )

    async def _create_stream(self, transaction: float) -> None:
        if len(self._streams) >= MAX_STREAMS:
            raise RtmpError(f"more than {MAX_STREAMS} createStream calls")
        stream_id = len(self._streams) + 1
        self._streams.add(stream_id)
        await self._send(messages.command("_result", transaction, None, float(stream_id)))

    async def _publish(self, args: list[AmfValue], stream_id: int) -> None:
        if stream_id not in self._streams:
            raise RtmpError(f"publish on stream {stream_id}, which was not created")
        if self.publisher is not None or self.state is not State.CONNECTED:
            raise RtmpError(f"publish while {self.state.value}")
        name = args[1] if len(args) > 1 else None
        if not isinstance(name, str):
            raise RtmpError("publish without a stream name")
        key = name.split("?", 1)[0].strip()
        grant = None
        if 0 < len(key) <= MAX_STREAM_KEY_LENGTH:
            try:
                grant = await self.authorise(key)
            except Exception as exc:  # Redis down or slow: refuse; the encoder retries
                logger.warning("%s session lookup failed: %r", self.log_prefix, exc)
                await self._refuse(stream_id, "the session lookup failed; try again")
                return
        if grant is None:
            await self._refuse(stream_id, "the stream key matches no session")
            return
        session_id = grant.session_id
        room = self.room_for(session_id)
        publisher = RtmpPublisher(room, f"[rtmp {session_id}]", on_stop=self.stop)
        try:
            room.attach(publisher)
        except Conflict:
            await self._refuse(stream_id, f"session {session_id} already has a live publisher")
            return
        self.publisher = publisher
        self.state = State.PUBLISHING
        if grant.until is not None:  # the key stops at the end of its window, and so does this
            left = (grant.until - times.now()).total_seconds()
            self._window = asyncio.get_running_loop().call_later(
                max(0.0, left), self.stop, "publishing window closed"
            )
        logger.info("%s publishing to session %s", self.log_prefix, session_id)
        self.log_prefix = publisher.log_prefix
        await self._send(messages.stream_begin(stream_id), flush=False)
        await self._send(
            messages.on_status(
                stream_id, "status", "NetStream.Publish.Start", "Publishing started."
            )
        )

    async def _refuse(self, stream_id: int, reason: str) -> None:
        logger.info("%s publish refused: %s", self.log_prefix, reason)
        await self._send(
            messages.on_status(stream_id, "error", "NetStream.Publish.BadName", reason)
        )
        self._closing = True

    def stop(self, reason: str) -> None:
        """End the connection now (the key was rotated, its window closed): unpublish, close."""
        if self._closing and self.publisher is None:
            return
        logger.info("%s stopped: %s", self.log_prefix, reason)
        self._unpublish(reason)
        self._closing = True
        self.writer.transport.abort()  # the read loop sees the end of the stream

    def _unpublish(self, reason: str) -> None:
        if self._window is not None:
            self._window.cancel()
            self._window = None
        publisher, self.publisher = self.publisher, None
        if publisher is None:
            return
        self.state = State.UNPUBLISHED
        publisher.room.detach(publisher)
        logger.info(
            "%s unpublished (%s): %d video, %d audio frames",
            self.log_prefix,
            reason,
            publisher.video_frames,
            publisher.audio_frames,
        )

    # -- output ---------------------------------------------------------------------------

    async def _send(self, message: Message, *, flush: bool = True) -> None:
        if message.type_id <= SET_PEER_BANDWIDTH:
            csid = messages.CONTROL_CHUNK_STREAM
        elif message.stream_id:
            csid = messages.STATUS_CHUNK_STREAM
        else:
            csid = messages.COMMAND_CHUNK_STREAM
        self.writer.write(self._out.write(csid, message))
        if flush:
            async with asyncio.timeout(self.limits.idle_timeout):
                await self.writer.drain()

    async def _acknowledge(self) -> None:
        received = self._chunks.bytes_received
        if self._peer_window and received - self._acked >= self._peer_window:
            self._acked = received
            await self._send(messages.acknowledgement(received))

    async def _close_transport(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.writer.wait_closed()


def _amf0_body(message: Message) -> bytes:
    """AMF3 command/data messages (types 17, 15) are AMF0 after a leading format byte."""
    if message.type_id in (COMMAND_AMF3, DATA_AMF3):
        if not message.payload or message.payload[0] != 0:
            raise RtmpError("AMF3-encoded commands are not supported")
        return message.payload[1:]
    return message.payload

"""Server → client WebSocket frames as bytes, and the one place the fan-out relies on aiohttp.

The fan-out builds a frame once (RFC 6455 §5.2: a server's frames are unmasked, so the same bytes
are valid on every socket) and writes it to each socket's transport with one ``write``. That is
sound because of three things about the upgraded aiohttp socket, checked here and in
``tests/chat/test_wire.py``:

- ``request.transport`` is the connection's transport, and aiohttp's ``WebSocketWriter`` writes
  an uncompressed frame to it in one synchronous step (header and payload, no await between),
  so its own frames (``send_str``, pings, close) and ours never interleave mid-frame;
- per-message deflate is off (``compress=False`` on the response, so it is never negotiated):
  with it on, aiohttp may compress in an executor and our frames would not carry the RSV1 bit
  the client expects. :func:`socket_transport` refuses such a socket loudly;
- closing is aiohttp's: the fan-out skips a socket whose transport is closing or whose
  WebSocket is closed, and only closes the transport itself for a socket too far behind (after
  writing an error frame and a close frame of its own).

No private aiohttp attribute is used; if that ever changes, it belongs in this module.
"""

from __future__ import annotations

import asyncio
import struct

from aiohttp import web

TEXT_OPCODE = 0x81  # FIN + text
CLOSE_OPCODE = 0x88  # FIN + close
MAX_CONTROL_PAYLOAD = 125  # RFC 6455 §5.5


class WireContractBroken(RuntimeError):
    """The upgraded socket is not what the byte-level fan-out relies on."""


def encode_text_frame(payload: bytes) -> bytes:
    """An unmasked server → client text frame (RFC 6455 §5.2) carrying ``payload``."""
    length = len(payload)
    if length < 126:
        return struct.pack("!BB", TEXT_OPCODE, length) + payload
    if length < 65536:
        return struct.pack("!BBH", TEXT_OPCODE, 126, length) + payload
    return struct.pack("!BBQ", TEXT_OPCODE, 127, length) + payload


def close_frame(code: int, reason: bytes) -> bytes:
    """An unmasked server → client close frame (RFC 6455 §5.5.1); ``reason`` under 124 bytes."""
    body = struct.pack("!H", code) + reason
    if len(body) > MAX_CONTROL_PAYLOAD:
        raise ValueError("a close frame's reason is at most 123 bytes")
    return struct.pack("!BB", CLOSE_OPCODE, len(body)) + body


def socket_transport(request: web.Request, ws: web.WebSocketResponse) -> asyncio.Transport:
    """The transport the fan-out writes ``ws``'s frames to (after ``prepare``)."""
    if ws.compress:
        raise WireContractBroken("per-message deflate is on: frames cannot be shared bytes")
    transport = request.transport
    if transport is None:
        raise WireContractBroken("the upgraded request has no transport (already closed?)")
    return transport

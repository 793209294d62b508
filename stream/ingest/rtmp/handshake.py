"""The simple RTMP handshake (spec section 5.2): C0 C1 → S0 S1 S2 → C2.

FFmpeg and librtmp (OBS) publish after a simple handshake: their C1 may carry a Flash Player
digest, but when S1's version field is zero they fall back and check nothing. RTMPE (C0 = 6,
encrypted) is refused.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time

from stream.ingest.rtmp.errors import RtmpError

RTMP_VERSION = 3
HANDSHAKE_SIZE = 1536  # C1, C2, S1, S2

_TIME_ZERO = struct.Struct(">II")


def check_c0(c0: bytes) -> None:
    if len(c0) != 1:
        raise RtmpError("handshake C0 must be one byte")
    if c0[0] != RTMP_VERSION:
        raise RtmpError(f"handshake version {c0[0]} is not RTMP {RTMP_VERSION}")


def server_hello(c1: bytes, uptime_ms: int) -> bytes:
    """S0 + S1 + S2 answering ``c1``: S1 with a zero version (simple handshake), S2 = C1."""
    if len(c1) != HANDSHAKE_SIZE:
        raise RtmpError(f"handshake C1 must be {HANDSHAKE_SIZE} bytes")
    s1 = _TIME_ZERO.pack(uptime_ms & 0xFFFFFFFF, 0) + os.urandom(HANDSHAKE_SIZE - 8)
    return bytes([RTMP_VERSION]) + s1 + c1


async def server_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Run the server side; raises :class:`RtmpError`, or ``IncompleteReadError`` at EOF."""
    check_c0(await reader.readexactly(1))
    c1 = await reader.readexactly(HANDSHAKE_SIZE)
    writer.write(server_hello(c1, int(time.monotonic() * 1000)))
    await writer.drain()
    await reader.readexactly(HANDSHAKE_SIZE)  # C2: echoes S1 (or, from some clients, not)


async def client_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The client side (for tests and tools)."""
    c1 = _TIME_ZERO.pack(0, 0) + os.urandom(HANDSHAKE_SIZE - 8)
    writer.write(bytes([RTMP_VERSION]) + c1)
    await writer.drain()
    check_c0(await reader.readexactly(1))
    s1 = await reader.readexactly(HANDSHAKE_SIZE)
    s2 = await reader.readexactly(HANDSHAKE_SIZE)
    if s2 != c1:
        raise RtmpError("handshake S2 does not echo C1")
    writer.write(s1)
    await writer.drain()

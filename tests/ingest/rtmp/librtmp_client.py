"""librtmp (the library OBS's RTMP output descends from) as a publisher, through ctypes.

Debian's ``librtmp1`` is built with crypto, so it offers the Flash Player 9 handshake and must
fall back to the simple one against our server. ctypes releases the GIL during each call, so
this runs in a thread beside the asyncio server under test.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from dataclasses import dataclass, field

from tests.ingest.rtmp.flvfile import FlvTag

LIBRARY = ctypes.util.find_library("rtmp")


def load() -> ctypes.CDLL | None:
    if LIBRARY is None:
        return None
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError:
        return None
    lib.RTMP_Alloc.restype = ctypes.c_void_p
    lib.RTMP_Init.argtypes = [ctypes.c_void_p]
    lib.RTMP_SetupURL.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.RTMP_EnableWrite.argtypes = [ctypes.c_void_p]
    lib.RTMP_Connect.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.RTMP_ConnectStream.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.RTMP_Write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.RTMP_Close.argtypes = [ctypes.c_void_p]
    lib.RTMP_Free.argtypes = [ctypes.c_void_p]
    lib.RTMP_LogSetLevel.argtypes = [ctypes.c_int]
    lib.RTMP_LogSetLevel(0)  # critical only
    return lib


@dataclass
class LibrtmpPublisher:
    lib: ctypes.CDLL
    url: str
    tags: list[FlvTag]
    loops: int = 1
    stop: threading.Event = field(default_factory=threading.Event)
    result: str | None = None  # "published", "connect failed", "stream refused", "write failed"
    written: int = 0
    _thread: threading.Thread | None = None

    def start(self) -> LibrtmpPublisher:
        self._thread = threading.Thread(target=self._run, name="librtmp", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 20.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            assert not self._thread.is_alive(), "librtmp publisher did not stop"

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def _run(self) -> None:
        lib = self.lib
        rtmp = lib.RTMP_Alloc()
        url = ctypes.create_string_buffer(self.url.encode())  # librtmp keeps pointers into it
        try:
            lib.RTMP_Init(rtmp)
            if not lib.RTMP_SetupURL(rtmp, url):
                self.result = "bad url"
                return
            lib.RTMP_EnableWrite(rtmp)
            if not lib.RTMP_Connect(rtmp, None):
                self.result = "connect failed"
                return
            if not lib.RTMP_ConnectStream(rtmp, 0):
                self.result = "stream refused"
                return
            self.result = self._write(rtmp)
        finally:
            lib.RTMP_Close(rtmp)
            lib.RTMP_Free(rtmp)

    def _write(self, rtmp: int) -> str:
        start = time.monotonic()
        span = self.tags[-1].timestamp + 33
        for loop in range(self.loops):
            for tag in self.tags:
                if self.stop.is_set():
                    return "published"
                if loop and tag.type_id == 18:
                    continue
                raw = _retimed(tag, loop * span) if loop else tag.raw
                delay = start + (loop * span + tag.timestamp) / 1000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if self.lib.RTMP_Write(rtmp, raw, len(raw)) <= 0:
                    return "write failed"
                self.written += 1
        return "published"


def _retimed(tag: FlvTag, offset: int) -> bytes:
    timestamp = tag.timestamp + offset
    raw = bytearray(tag.raw)
    raw[4:7] = (timestamp & 0xFFFFFF).to_bytes(3, "big")
    raw[7] = (timestamp >> 24) & 0xFF
    return bytes(raw)

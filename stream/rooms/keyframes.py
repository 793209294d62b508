"""Keyframe requests toward the publisher, merged and throttled, never dropped.

Viewers ask for a keyframe when they join, when they fell behind, and through their own PLIs.
Requests are merged: at most one PLI goes upstream per ``interval``; a request that arrives
inside the interval is sent when it ends, unless a keyframe arrived meanwhile. A PLI can be
lost, so while a request is pending it is repeated every ``retry`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

KEYFRAME_REQUEST_INTERVAL = 0.5
KEYFRAME_REQUEST_RETRY = 1.0


class KeyframeRequester:
    def __init__(
        self,
        send: Callable[[], None],
        *,
        interval: float = KEYFRAME_REQUEST_INTERVAL,
        retry: float = KEYFRAME_REQUEST_RETRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._retry = retry
        self._clock = clock
        self._last_sent = -float("inf")
        self._pending = False
        self._timer: asyncio.TimerHandle | None = None
        self.sent = 0
        self.requested = 0

    @property
    def pending(self) -> bool:
        return self._pending

    def request(self) -> None:
        self.requested += 1
        self._pending = True
        if self._timer is not None:
            return  # merged into the request already scheduled
        wait = self._last_sent + self._interval - self._clock()
        if wait <= 0:
            self._fire()
        else:
            self._schedule(wait)

    def keyframe_arrived(self) -> None:
        self._pending = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self.keyframe_arrived()

    def _schedule(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._pending:
            self._fire()

    def _fire(self) -> None:
        self._last_sent = self._clock()
        self.sent += 1
        self._send()
        self._schedule(self._retry)

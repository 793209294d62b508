"""A publisher stays while its packets arrive, whether or not it answers ICE consent checks.

RFC 7675 consent protects a peer we *send* media to. A publisher only receives our RTCP, and
FFmpeg's WHIP output never answers consent checks (it sends its own every ~5 s): aioice would
close it after six unanswered checks (~30 s). For a publisher the server keeps sending consent
checks but counts unanswered ones only for the record; what ends the publisher is silence:
no datagram (media, RTCP or its own STUN requests) from its nominated address for
``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from stream.config import CONSENT_INTERVAL, PUBLISHER_TIMEOUT
from stream.rtc import internals
from stream.rtc.peer import Peer

logger = logging.getLogger(__name__)

# Seconds without any packet from a publisher before it is closed (STREAM_PUBLISHER_TIMEOUT),
# and between the consent checks sent to it (RFC 7675: 5 s, randomised ±20 %).
PUBLISHER_MEDIA_TIMEOUT = PUBLISHER_TIMEOUT


class MediaFreshness:
    """Watches one publisher's packets; closes its peer after ``timeout`` seconds of silence."""

    def __init__(
        self,
        peer: Peer,
        *,
        timeout: float = PUBLISHER_MEDIA_TIMEOUT,
        interval: float = CONSENT_INTERVAL,
    ) -> None:
        self.peer = peer
        self.timeout = timeout
        self.interval = interval
        self.last_packet = time.monotonic()
        self.consent_unanswered = 0
        self.consent_answered = 0
        self._remote: tuple[str, int] | None = None

    def install(self) -> None:
        """After ``setLocalDescription``, before the answer goes out."""
        internals.wrap_ice_datagrams(self.peer.pc, self._wrap)
        internals.replace_consent_checks(self.peer.pc, self._run)

    def _wrap(self, original: internals.DatagramHandler) -> internals.DatagramHandler:
        def received(data: bytes, addr: tuple[Any, ...]) -> None:
            remote = self._remote
            if remote is None or (addr[0], addr[1]) == remote:
                self.last_packet = time.monotonic()
            original(data, addr)

        return received

    def silent_for(self) -> float:
        return time.monotonic() - self.last_packet

    async def _run(self, check: internals.ConsentCheck) -> None:
        # Started by aioice once ICE has completed; cancelled when the connection closes.
        self._remote = internals.nominated_address(self.peer.pc)
        self.last_packet = time.monotonic()
        period = min(self.interval, self.timeout / 3)
        while not self.peer.closed:
            await asyncio.sleep(period * (0.8 + 0.4 * random.random()))  # noqa: S311 - jitter
            self._remote = internals.nominated_address(self.peer.pc) or self._remote
            if await check():
                self.consent_answered += 1
            else:
                self.consent_unanswered += 1
                if self.consent_unanswered == 1:
                    logger.info(
                        "%s publisher does not answer ICE consent checks; "
                        "kept while its packets arrive",
                        self.peer.log_prefix,
                    )
            silent = self.silent_for()
            if silent > self.timeout:
                self.peer.close_soon(f"no packets for {silent:.0f} s")
                return

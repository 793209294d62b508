"""How many peers this process takes on: per client address, and in all (from the fd limit).

A peer lives in one process and holds file descriptors (its ICE sockets, at least one per host
address), so the concurrent counts are kept here, in process: an offer takes a :class:`Slot`
before its peer exists and gives it back when the peer closes (or the offer fails). Offer
*rates* are shared by every node and counted in Redis (:mod:`stream.common.limits`).

A flood is refused many times a second; :class:`RefusalLog` says so once per burst.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import OrderedDict

from stream.common.errors import RateLimited, Unavailable

logger = logging.getLogger(__name__)

# Each peer costs a few fds: an ICE socket per host address and candidate, and the transient
# sockets of its STUN/TURN exchanges. Counted high so the process never runs out.
FDS_PER_PEER = 4
FD_RESERVE = 256  # fds kept for HTTP clients, Redis, the RTMP listener, logs and files
MIN_PEER_CAPACITY = 8
UNLIMITED_FDS = 1 << 20  # what RLIM_INFINITY counts as
PEERS_FULL_RETRY_AFTER = 30  # seconds
PEER_SLOT_RETRY_AFTER = 10  # seconds: about one handshake timeout

REFUSAL_BURST_QUIET = 10.0  # seconds without a refusal end a burst
MAX_REFUSAL_BURSTS = 1024  # addresses remembered for logging


def peer_capacity(fd_limit: int | None = None) -> int:
    """The most peers this process may hold: what its fd limit leaves after the reserve."""
    if fd_limit is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        fd_limit = UNLIMITED_FDS if soft == resource.RLIM_INFINITY else soft
    return max(MIN_PEER_CAPACITY, (fd_limit - FD_RESERVE) // FDS_PER_PEER)


class RefusalLog:
    """One log line per burst of refusals of one kind to one address (not one per request)."""

    def __init__(self, quiet: float = REFUSAL_BURST_QUIET) -> None:
        self.quiet = quiet
        self._bursts: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    def refused(self, what: str, address: str, detail: str) -> None:
        now = time.monotonic()
        key = (what, address)
        burst = self._bursts.pop(key, None)
        if burst is not None and now - burst[0] < self.quiet:
            burst[0] = now
            burst[1] += 1
        else:
            previous = f" (its last burst: {int(burst[1])})" if burst is not None else ""
            logger.warning(
                "refused %s from %s: %s; further refusals in this burst are not logged%s",
                what,
                address,
                detail,
                previous,
            )
            burst = [now, 1.0]
        self._bursts[key] = burst
        while len(self._bursts) > MAX_REFUSAL_BURSTS:
            self._bursts.popitem(last=False)


class Slot:
    """One admitted peer's place in the counts; :meth:`release` is idempotent."""

    def __init__(self, admission: PeerAdmission, address: str) -> None:
        self._admission = admission
        self.address = address
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._admission._release(self.address)


class PeerAdmission:
    """Counts this process's peers, in all and per client address."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = peer_capacity() if capacity is None else capacity
        self.total = 0
        self._by_address: dict[str, int] = {}
        self.log = RefusalLog()

    def held_by(self, address: str) -> int:
        return self._by_address.get(address, 0)

    def reserve(self, address: str, *, per_address: int | None, what: str) -> Slot:
        """A slot for one more peer from ``address``: 503 when the process is full, 429 when
        the address already holds ``per_address`` (``None``: no per-address limit)."""
        if self.total >= self.capacity:
            self.log.refused(what, address, f"the server holds its {self.capacity} peers")
            raise Unavailable(
                "the server is at its capacity; try again later",
                headers={"Retry-After": str(PEERS_FULL_RETRY_AFTER)},
            )
        held = self._by_address.get(address, 0)
        if per_address is not None and held >= per_address:
            self.log.refused(what, address, f"{held} peers open from this address")
            raise RateLimited(
                f"too many connections from your address (at most {per_address})",
                headers={"Retry-After": str(PEER_SLOT_RETRY_AFTER)},
            )
        self.total += 1
        self._by_address[address] = held + 1
        return Slot(self, address)

    def _release(self, address: str) -> None:
        self.total -= 1
        held = self._by_address.get(address, 0) - 1
        if held > 0:
            self._by_address[address] = held
        else:
            self._by_address.pop(address, None)

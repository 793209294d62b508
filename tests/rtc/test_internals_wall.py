"""aiortc's and aioice's private names appear in ``stream/rtc/internals.py`` and nowhere else.

A plain text search over the package for the private attributes the relay is known to need
(and a few neighbours): cheap, and enough to keep new reaches behind the one wall.
"""

from __future__ import annotations

import re
from pathlib import Path

import stream

PACKAGE = Path(stream.__file__).parent
WALL = PACKAGE / "rtc" / "internals.py"
PRIVATE_NAMES = (
    "_ssrc",
    "_rtx_ssrc",
    "_packetize",
    "_split_bitstream",
    "_origin",
    "_packets",
    "_connection",
    "_protocols",
    "_nominated",
    "_tx_srtp",
    "_rx_srtp",
    "_headerExtensions",
    "_codecs",
    "_transport",
    "_data",
    "_send_rtcp_pli",
    "_send_keyframe",
    "_retransmit",
    "_local_candidates",
    "_jitter_buffer",
    "_decoder_queue",
)
# ``obj._name`` or ``"_name"`` (getattr/setattr), and name-mangled or module-level reaches.
NAMES = "|".join(PRIVATE_NAMES)
PATTERN = re.compile(
    rf"""(?:\.|["'])(?:{NAMES})\b|_RTCRtp\w+__|_RTCPeerConnection__|\bget_host_addresses\b"""
)


def reaches_outside_the_wall() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == WALL:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if PATTERN.search(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    return found


def test_private_aiortc_names_only_in_internals() -> None:
    assert reaches_outside_the_wall() == []


def test_the_search_finds_what_it_looks_for() -> None:
    assert PATTERN.search("ssrc=sender._ssrc,")
    assert PATTERN.search('getattr(dtls, "_tx_srtp", None)')
    assert PATTERN.search("aioice.ice.get_host_addresses")
    assert PATTERN.search('"_RTCRtpReceiver__jitter_buffer"')
    assert not PATTERN.search("self._ssrc_count = 0")
    assert PATTERN.search(WALL.read_text())

"""Reading SDP offers from HTTP bodies, with the limits and checks WHIP and WHEP share."""

from __future__ import annotations

import re

from aiohttp import web

from stream.common.errors import BadOffer, TooLarge, UnsupportedMediaType

MAX_SDP_BYTES = 64 * 1024
SDP_CONTENT_TYPE = "application/sdp"
TRICKLE_CONTENT_TYPE = "application/trickle-ice-sdpfrag"
MAX_MEDIA_SECTIONS = 8

MEDIA_KINDS = ("audio", "video", "application")
_DIRECTION = re.compile(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", re.MULTILINE)
# RFC 8122: the hash of the peer's DTLS certificate. Without it nothing authenticates the DTLS
# handshake (aiortc would accept any certificate), so an offer must carry one.
_MID = re.compile(r"^a=mid:(\S+)\s*$", re.MULTILINE)
_BUNDLE = re.compile(r"^a=group:BUNDLE(.*)$", re.MULTILINE)
_FINGERPRINT = re.compile(
    r"^a=fingerprint:(sha-1|sha-224|sha-256|sha-384|sha-512) [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+\s*$",
    re.MULTILINE | re.IGNORECASE,
)


async def read_body(request: web.Request, content_type: str) -> str:
    """The request body as text: 415 for another type, 413 (unread) past ``MAX_SDP_BYTES``."""
    if request.content_type != content_type:
        raise UnsupportedMediaType(f"expected Content-Type {content_type}")
    if request.content_length is not None and request.content_length > MAX_SDP_BYTES:
        raise TooLarge(f"body is larger than {MAX_SDP_BYTES} bytes")
    data = await request.content.read(MAX_SDP_BYTES + 1)
    if len(data) > MAX_SDP_BYTES:
        raise TooLarge(f"body is larger than {MAX_SDP_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadOffer("body is not UTF-8 text") from None


def check_offer(sdp: str, *, want: str) -> list[str]:
    """Cheap structural checks before aiortc parses it; returns the media kinds offered.

    ``want`` is ``"send"`` for a publisher's offer (WHIP) and ``"recv"`` for a viewer's (WHEP).
    """
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("SDP must start with v=0")
    sections = sdp.split("\nm=")[1:]
    if not sections:
        raise BadOffer("offer has no media section")
    if len(sections) > MAX_MEDIA_SECTIONS:
        raise BadOffer(f"offer has more than {MAX_MEDIA_SECTIONS} media sections")
    kinds = [section.split(" ", 1)[0] for section in sections]
    if any(kind not in MEDIA_KINDS for kind in kinds):
        # aiortc skips a section it does not know, and the BUNDLE tags then name nothing.
        raise BadOffer("a media section is not audio, video or application")
    session_part = sdp.split("\nm=")[0]
    _check_bundle(session_part, sections)
    session_direction = _direction(session_part) or "sendrecv"
    session_fingerprint = _FINGERPRINT.search(session_part) is not None
    usable = []
    for kind, section in zip(kinds, sections, strict=False):
        if kind == "application":
            continue
        if not session_fingerprint and _FINGERPRINT.search(section) is None:
            raise BadOffer(f"offer's {kind} section has no DTLS fingerprint (a=fingerprint)")
        direction = _direction(section) or session_direction
        if want == "send" and direction in ("sendrecv", "sendonly"):
            usable.append(kind)
        elif want == "recv" and direction in ("sendrecv", "recvonly"):
            usable.append(kind)
    for kind in ("audio", "video"):
        if usable.count(kind) > 1:
            raise BadOffer(f"offer has more than one {kind} track (one media stream, RFC 9725)")
    if not usable:
        raise BadOffer(
            "offer sends no audio or video" if want == "send" else "offer receives no media"
        )
    return usable


def _check_bundle(session_part: str, sections: list[str]) -> None:
    """Every media section names its mid, once (RFC 8843); a BUNDLE group names only those,
    each once. aiortc leaves a section without a transport when its BUNDLE tag is unknown, and
    then fails in the background and on close."""
    mids = []
    for section in sections:
        found = _MID.findall(section)
        if len(found) != 1:
            raise BadOffer("every media section needs exactly one a=mid")
        mids.append(found[0])
    if len(set(mids)) != len(mids):
        raise BadOffer("two media sections have the same mid")
    for group in _BUNDLE.findall(session_part):
        tags = group.split()
        if len(set(tags)) != len(tags) or not set(tags) <= set(mids):
            raise BadOffer("a=group:BUNDLE must name each media section's mid at most once")


def _direction(text: str) -> str | None:
    match = _DIRECTION.search(text)
    return match.group(1) if match else None


def trickle_candidates(fragment: str) -> tuple[str | None, list[tuple[str | None, str]]]:
    """Parse an ``application/trickle-ice-sdpfrag`` body (RFC 8840).

    Returns the ice-ufrag it names (if any) and ``(mid, candidate-line)`` pairs; an
    ``a=end-of-candidates`` line is kept as the candidate ``""``.
    """
    ufrag: str | None = None
    mid: str | None = None
    candidates: list[tuple[str | None, str]] = []
    for raw in fragment.splitlines():
        line = raw.strip()
        if line.startswith("a=ice-ufrag:"):
            ufrag = line.split(":", 1)[1]
        elif line.startswith("a=mid:"):
            mid = line.split(":", 1)[1]
        elif line.startswith("a=candidate:"):
            candidates.append((mid, line[2:]))
        elif line == "a=end-of-candidates":
            candidates.append((mid, ""))
    return ufrag, candidates

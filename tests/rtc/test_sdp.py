"""SDP body checks: exact messages for bad offers, and no other exception for any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.common.errors import BadOffer
from stream.rtc.sdp import check_offer, trickle_candidates

FINGERPRINT = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
OFFER = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" + FINGERPRINT + "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n"
)


def test_kinds_and_directions() -> None:
    assert check_offer(OFFER, want="send") == ["audio", "video"]
    with pytest.raises(BadOffer, match="receives no media"):
        check_offer(OFFER, want="recv")
    recv = OFFER.replace("sendonly", "recvonly")
    assert check_offer(recv, want="recv") == ["audio", "video"]


@pytest.mark.parametrize(
    ("sdp", "message"),
    [
        ("hello", "must start with v=0"),
        ("v=0\r\n", "no media section"),
        (
            OFFER + "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:2\r\na=sendonly\r\n",
            "more than one video",
        ),
        (OFFER.replace("a=mid:0\r\n", ""), "exactly one a=mid"),
        (OFFER.replace("m=audio", "m=nan"), "not audio, video or application"),
        (OFFER.replace("a=mid:1", "a=mid:0"), "same mid"),
        (OFFER.replace("BUNDLE 0 1", "BUNDLE 7 0 1"), "BUNDLE must name"),
        (OFFER.replace("BUNDLE 0 1", "BUNDLE 0 0 1"), "BUNDLE must name"),
    ],
)
def test_bad_offers(sdp: str, message: str) -> None:
    with pytest.raises(BadOffer, match=message):
        check_offer(sdp, want="send")


def test_a_dtls_fingerprint_is_required_for_every_media_section() -> None:
    bare = OFFER.replace(FINGERPRINT, "")
    with pytest.raises(BadOffer, match="audio section has no DTLS fingerprint"):
        check_offer(bare, want="send")
    per_section = bare.replace("a=sendonly\r\n", "a=sendonly\r\n" + FINGERPRINT)
    assert check_offer(per_section, want="send") == ["audio", "video"]
    one_missing = bare.replace("a=sendonly\r\n", "a=sendonly\r\n" + FINGERPRINT, 1)
    with pytest.raises(BadOffer, match="video section has no DTLS fingerprint"):
        check_offer(one_missing, want="send")
    with pytest.raises(BadOffer, match="no DTLS fingerprint"):
        check_offer(OFFER.replace("sha-256 AB:", "sha-256 not-hex"), want="send")


def test_trickle_fragment() -> None:
    ufrag, candidates = trickle_candidates(
        "a=ice-ufrag:EsAw\r\na=ice-pwd:xx\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
    )
    assert ufrag == "EsAw"
    assert candidates == [("0", "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"), ("0", "")]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["send", "recv"]))
def test_check_offer_raises_only_bad_offer(text: str, want: str) -> None:
    try:
        check_offer(text, want=want)
    except BadOffer:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_trickle_parser_never_raises(text: str) -> None:
    _ufrag, candidates = trickle_candidates(text)
    assert all(isinstance(line, str) for _, line in candidates)

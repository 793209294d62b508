"""Mutated real offers against WHIP and WHEP on a real server: every case is answered 400 (or
201 for an offer that is still valid, or 409 for a publisher slot being handed over), never a
500, and no peer outlives its case. Reproducers of what aiortc raised are replayed from
``tests/corpus/sdp/``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.config import Settings
from stream.http.keys import PEERS, ROOMS
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for
from tests.rtc.offers import real_offer

EXAMPLES = 150
CASE_TIMEOUT = 20.0
CORPUS = Path(__file__).parent.parent / "corpus" / "sdp"
ANSWERED = {201, 400, 409}

# Values that break parsers: empty, huge, negative, non-numeric, other kinds, stray separators.
NASTY_VALUES = (
    "",
    "0",
    "-1",
    "65536",
    "4294967296",
    "99999999999999999999",
    "x" * 300,
    "nan",
    "video",
    "application",
    "UDP/TLS/RTP/SAVPF",
    "UDP/DTLS/SCTP webrtc-datachannel",
    "sha-256",
    ":",
    " ",
    "/",
    "actpass",
    "active",
    "passive",
    "holdconn",
    "\u00e5\u00e4\u00f6",
)
EXTRA_LINES = (
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=rtpmap:96 H264/90000",
    "a=rtpmap:96 VP8",
    "a=rtpmap:111 opus/48000/2",
    "a=fmtp:96 profile-level-id=zz",
    "a=rtcp-fb:96 nack",
    "a=ssrc-group:FID 1",
    "a=ssrc:1 cname:x",
    "a=mid:0",
    "a=group:BUNDLE 0 0 0",
    "a=setup:active",
    "a=setup:holdconn",
    "a=ice-ufrag:",
    "a=ice-pwd:short",
    "a=candidate:1 1 udp 1 127.0.0.1 0 typ host",
    "a=candidate:x",
    "a=fingerprint:sha-256 00:00",
    "a=extmap:1 urn:x",
    "a=extmap:99999 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=rtcp:0 IN IP4 0.0.0.0",
    "a=msid:- -",
    "c=IN IP6 ::",
    "c=IN IP4 999.1.1.1",
    "a=sctp-port:-5",
    "a=max-message-size:x",
    "a=inactive",
    "a=sendrecv",
)


@dataclass(frozen=True)
class Mutation:
    op: str
    where: float  # a position in the offer, 0..1
    text: str

    def apply(self, lines: list[str]) -> list[str]:
        if not lines:
            return [self.text]
        i = min(int(self.where * len(lines)), len(lines) - 1)
        out = list(lines)
        if self.op == "drop":
            del out[i]
        elif self.op == "duplicate":
            out.insert(i, out[i])
        elif self.op == "swap" and i + 1 < len(out):
            out[i], out[i + 1] = out[i + 1], out[i]
        elif self.op == "insert":
            out.insert(i, self.text)
        elif self.op == "replace":
            out[i] = self.text
        elif self.op == "value":  # keep the field name, change its value
            line = out[i]
            cut = max(line.find(":"), line.find("=")) + 1 if ("=" in line) else 0
            words = line[cut:].split(" ")
            words[int(self.where * 7919) % len(words)] = self.text
            out[i] = line[:cut] + " ".join(words)
        elif self.op == "truncate":
            out[i] = out[i][: int(len(out[i]) * self.where * 3) % max(1, len(out[i]))]
        elif self.op == "cut":
            out = out[: max(1, i)]
        return out


mutations = st.builds(
    Mutation,
    op=st.sampled_from(
        ["drop", "duplicate", "swap", "insert", "replace", "value", "truncate", "cut"]
    ),
    where=st.floats(0.0, 1.0, allow_nan=False),
    text=st.one_of(
        st.sampled_from(NASTY_VALUES),
        st.sampled_from(EXTRA_LINES),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40),
    ),
)


def mutate(offer: str, steps: list[Mutation], line_end: str) -> str:
    lines = offer.splitlines()
    for step in steps:
        lines = step.apply(lines)
    return line_end.join(lines) + line_end


@dataclass
class Target:
    """Where one case is posted: WHIP (with the key) or WHEP (from its own address)."""

    base: str
    whip_key: str
    cases: int = 0

    def request(self, kind: str) -> tuple[str, dict[str, str]]:
        self.cases += 1
        headers = {"Content-Type": "application/sdp"}
        if kind == "whip":
            return f"{self.base}/whip/fuzz-in", {
                **headers,
                "Authorization": f"Bearer {self.whip_key}",
            }
        # A fresh address per case: the per-address limits are not what is fuzzed here.
        address = f"10.{self.cases // 65536 % 256}.{self.cases // 256 % 256}.{self.cases % 256}"
        return f"{self.base}/whep/fuzz-out", {**headers, "X-Forwarded-For": address}


async def post_case(
    http: aiohttp.ClientSession, target: Target, kind: str, body: str
) -> tuple[int, str]:
    """Post one offer; a created resource is deleted at once. Returns (status, detail)."""
    url, headers = target.request(kind)
    async with http.post(url, data=body.encode("utf-8", "surrogatepass"), headers=headers) as r:
        text = await r.text()
        status = r.status
        location = r.headers.get("Location")
    if status == 201:
        assert location is not None
        async with http.delete(target.base + location) as deleted:
            assert deleted.status == 200, await deleted.text()
    return status, text


@pytest.fixture
async def fuzz_server(make_server: MakeServer, settings: Settings) -> TestServer:
    return await make_server(settings.with_(trusted_proxies=("127.0.0.1",), handshake_timeout=5.0))


@pytest.fixture
async def fuzz_target(fuzz_server: TestServer) -> asyncio.AsyncGenerator[Target, None]:
    """A live session to watch (``fuzz-out``) and a free one to publish to (``fuzz-in``)."""
    base = base_url(fuzz_server)
    out_key = await create_session(fuzz_server, "fuzz-out")
    in_key = await create_session(fuzz_server, "fuzz-in")
    publisher, _ = await publish_loop(base, "fuzz-out", out_key, audio=True)
    room = fuzz_server.app[ROOMS].get("fuzz-out")
    assert room is not None
    await wait_for(lambda: room.live and len(room.codecs()) == 2, 10, "the publisher live")
    try:
        yield Target(base, in_key)
    finally:
        await publisher.close()


async def settled(server: TestServer) -> None:
    """No peer is left but the one publisher, and no viewer is left in its room."""
    peers = server.app[PEERS]
    room = server.app[ROOMS].get("fuzz-out")
    assert room is not None
    await wait_for(
        lambda: len(peers) == 1 and peers.count("whip") == 1 and not room.subscribers,
        10,
        "every fuzzed peer closed",
    )
    assert peers.admission.total == 1


def no_unhandled_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:5]]


async def test_mutated_offers_are_answered_and_leave_no_peer(
    fuzz_server: TestServer, fuzz_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    send_offer = await real_offer(("audio", "video"), direction="sendonly")
    recv_offer = await real_offer(("audio", "video"), direction="recvonly")
    seen: dict[int, int] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CASE_TIMEOUT)) as http:

        def run(coro_factory: Callable[[], object]) -> tuple[int, str]:
            future = asyncio.run_coroutine_threadsafe(coro_factory(), loop)  # type: ignore[arg-type]
            result: tuple[int, str] = future.result(CASE_TIMEOUT)
            return result

        @settings(
            max_examples=EXAMPLES,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            kind=st.sampled_from(["whip", "whep"]),
            steps=st.lists(mutations, min_size=1, max_size=4),
            line_end=st.sampled_from(["\r\n", "\n"]),
        )
        def property(kind: str, steps: list[Mutation], line_end: str) -> None:
            body = mutate(send_offer if kind == "whip" else recv_offer, steps, line_end)
            status, detail = run(lambda: post_case(http, fuzz_target, kind, body))
            seen[status] = seen.get(status, 0) + 1
            assert status in ANSWERED, (status, detail, body)

        with caplog.at_level(logging.ERROR):
            await asyncio.to_thread(property)
    print(f"{sum(seen.values())} mutated offers: {dict(sorted(seen.items()))}")
    await settled(fuzz_server)
    no_unhandled_errors(caplog)


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.sdp"))


async def test_corpus_offers_are_400_and_leave_no_peer(
    fuzz_server: TestServer, fuzz_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    cases = corpus()
    assert cases, f"no reproducers in {CORPUS}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CASE_TIMEOUT)) as http:
        with caplog.at_level(logging.ERROR):
            for path in cases:
                kind = path.name.split("-", 1)[0]
                status, detail = await post_case(http, fuzz_target, kind, path.read_text())
                assert status == 400, (path.name, status, detail)
    await settled(fuzz_server)
    no_unhandled_errors(caplog)

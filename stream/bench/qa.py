"""Q&A upvotes: concurrent voters on two servers sharing Redis; votes/s, latency, exact counts.

``stream bench qa [--voters 1000] [--questions 50] [--votes 5] [--processes 2] [--probes 20]
[--rate 0] [--strategies per-vote,coalesced] [--tick-ms 10]`` runs once per strategy (the first
is the baseline: ``per-vote``, every vote's script appends its new count; ``coalesced``: the counts
of a session are published once per tick, ``STREAM_QA_VOTE_TICK_MS``). Each run starts an
embedded Redis, seeds ``--questions`` approved questions and starts ``--processes``
``stream serve`` subprocesses sharing it. ``--voters`` WebSocket clients (each
its own person), spread evenly over the servers, all vote at once: each upvotes ``--votes``
distinct questions one after another (waiting for each reply), then repeats its first vote
(which must count nothing); ``--rate`` spreads the votes evenly at that many per second
instead (latency at a load the servers sustain, not the queue of a burst). Every socket
receives every count change through the fan-out.

Measured:
- votes/s: vote requests answered per second, first send to last reply (duplicates included);
- vote → visible-to-all latency: from the voter's ack (and from sending the vote) to the moment
  every probe socket (``--probes``, joined last on each server, so the fan-out writes to them
  after every voter) shows the count the vote produced or a later one, p50/p95/p99; and on the
  servers, the log entry's time → written to the last socket of that node
  (``/api/chat/stats``);
- exactness: each question's final count in Redis equals its voter set's size and the number
  of distinct voters whose vote was accepted, and every probe's last seen count equals it;
- server, Redis and generator CPU (a generator near 100 % of a core makes latency VOID).

The last line is one JSON object: the core count, each run, and the ratios of each strategy's
figures to the baseline's. The run fails unless every count is exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from stream.bench.chat_servers import latency_diff, raise_open_files, server_stats, servers
from stream.bench.options import add_strategy_arguments
from stream.bench.qa_clients import Pace, Probe, Voter, latency
from stream.bench.qa_report import Result, print_result, print_summary
from stream.bench.relay_server import ServerProcess, cpu_seconds, runqueue_wait_seconds
from stream.chat.identity import Identity
from stream.chat.keys import stream_key
from stream.chat.stats import percentile_from_counts
from stream.program.sessions import Session, SessionStore
from stream.qa.keys import question_key, settings_key, voters_key
from stream.qa.protocol import Ask
from stream.qa.questions import Questions
from stream.qa.tally import VOTE_TICK_MS
from stream.store import EmbeddedRedis, Redis, connect, wait_ready

SESSION_ID = "bench-qa"
DEFAULT_VOTERS = 1000
DEFAULT_QUESTIONS = 50
DEFAULT_VOTES = 5
DEFAULT_PROCESSES = 2
DEFAULT_PROBES = 20
CONNECT_CONCURRENCY = 100
SEED = 5

# -- limits: every wait is bounded ----------------------------------------------------------------
MAX_VOTERS = 10_000
MAX_QUESTIONS = 1000
MAX_PROCESSES = 8
CONNECT_TIMEOUT = 60.0
REPLY_TIMEOUT = 30.0
VOTING_TIMEOUT = 300.0
SETTLE_TIMEOUT = 30.0
FD_MARGIN = 256
# The fan-out drops a socket this far behind; the generator reads ~1 000 sockets at once.
BENCH_MAX_BEHIND_BYTES = 64 * 1024 * 1024
GENERATOR_SATURATED = 90.0
VOTES_PREFIX = b'{"type":"qa","action":"votes"'
STREAM_PAGE = 1000
MAX_STREAM_PAGES = 100
BASELINE = "per-vote"
COALESCED = "coalesced"
STRATEGIES = (BASELINE, COALESCED)
DEFAULT_TICK_MS = VOTE_TICK_MS  # the servers' default


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voters", type=int, default=DEFAULT_VOTERS, help="voters (1000)")
    parser.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS, help="questions (50)")
    parser.add_argument(
        "--votes", type=int, default=DEFAULT_VOTES, help="distinct questions each votes on (5)"
    )
    parser.add_argument(
        "--processes", type=int, default=DEFAULT_PROCESSES, help="server processes (2)"
    )
    parser.add_argument(
        "--probes", type=int, default=DEFAULT_PROBES, help="sockets timing every count (20)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="votes per second over all voters, evenly spread (default 0: all at once)",
    )
    add_strategy_arguments(
        parser, STRATEGIES, what="vote publishing", tick_ms=DEFAULT_TICK_MS, tick_of="coalesced"
    )


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.voters <= MAX_VOTERS or not 1 <= args.questions <= MAX_QUESTIONS:
        print(f"stream bench qa: 1-{MAX_VOTERS} voters and 1-{MAX_QUESTIONS} questions")
        return 2
    if not 1 <= args.votes <= args.questions or not 1 <= args.processes <= MAX_PROCESSES:
        print("stream bench qa: --votes must be 1..--questions, --processes 1..8")
        return 2
    if args.rate < 0:
        print("stream bench qa: --rate must be 0 (all at once) or positive")
        return 2
    if args.probes < 1:
        print("stream bench qa: --probes must be at least 1")
        return 2
    raise_open_files(args.voters + args.probes + FD_MARGIN)
    results = [asyncio.run(_run(args, strategy)) for strategy in args.strategies]
    for result in results:
        print_result(result, args)
    print_summary(results, args)
    return 0 if all(result.exact for result in results) else 1


async def _seed(url: str, count: int) -> list[str]:
    """The session and ``count`` approved questions (asked by moderators: no review)."""
    redis = connect(url)
    try:
        await wait_ready(redis)
        await SessionStore(redis).save(Session(id=SESSION_ID, title="Q&A benchmark"))
        await redis.hset(settings_key(SESSION_ID), "premod", "0")
        questions = Questions(redis)
        qids = []
        for n in range(count):
            who = Identity(f"seed{n}", f"Frågeställare {n}", "moderator")
            asked = await questions.ask(SESSION_ID, who, Ask(f"Fråga nummer {n}?"), f"s{n}", None)
            qids.append(asked.qid)
        return qids
    finally:
        await redis.aclose()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Any:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _address(index: int) -> str:
    """Each socket its own person on its own address (the servers trust the generator as a
    proxy), as an audience is: the per-address limits apply to a room, not to everyone."""
    return f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"


async def _hello(
    http: aiohttp.ClientSession, base_url: str, address: str
) -> aiohttp.ClientWebSocketResponse:
    url = base_url.replace("http://", "ws://") + f"/ws/{SESSION_ID}"
    headers = {"X-Forwarded-For": address}
    ws = await http.ws_connect(url, compress=0, max_msg_size=0, headers=headers)
    await ws.send_str('{"type":"hello"}')
    for _ in range(2):  # welcome, history
        message = await ws.receive(timeout=CONNECT_TIMEOUT)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise RuntimeError("socket closed while joining")
    return ws


async def _connect_all(
    http: aiohttp.ClientSession, urls: list[str], count: int, first: int = 0
) -> list[aiohttp.ClientWebSocketResponse]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> aiohttp.ClientWebSocketResponse:
        async with gate:
            return await _hello(http, urls[index % len(urls)], _address(first + index))

    return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), CONNECT_TIMEOUT)


async def _voter_reader(voter: Voter) -> None:
    """Replies settle their request; fan-out frames are read and dropped (probes time them)."""
    async for message in voter.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        data = message.data
        if data.startswith('{"type":"qa.'):
            frame = json.loads(data)
            future = voter.replies.pop(frame.get("cid", ""), None)
            if future is not None and not future.done():
                future.set_result(frame)


def _events(frame: dict[str, Any]) -> list[dict[str, Any]]:
    if frame.get("type") in ("batch", "history"):
        events: list[dict[str, Any]] = frame.get("events", [])
        return events
    return [frame]


async def _probe_reader(probe: Probe) -> None:
    async for message in probe.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            continue
        now = time.perf_counter()
        for event in _events(json.loads(message.data)):
            if event.get("type") == "qa" and event.get("action") == "votes":
                probe.saw(str(event["q"]), int(event["votes"]), now)


async def _vote(voter: Voter, qid: str, sent: dict[tuple[str, int], float], n: int) -> None:
    cid = f"v{n}"
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    voter.replies[cid] = future
    started = time.perf_counter()
    await voter.ws.send_str(json.dumps({"type": "qa.vote", "cid": cid, "q": qid}))
    reply = await asyncio.wait_for(future, REPLY_TIMEOUT)
    if reply.get("type") != "qa.ack":
        voter.errors += 1
        return
    voter.accepted.add(qid)
    voter.reply_ms.append((time.perf_counter() - started) * 1000)
    if reply.get("changed"):
        sent[(qid, int(reply["votes"]))] = started
        voter.acked[(qid, int(reply["votes"]))] = time.perf_counter()


async def _voting(
    voter: Voter, sent: dict[tuple[str, int], float], pace: Pace | None = None
) -> None:
    for n, qid in enumerate([*voter.plan, voter.plan[0]]):
        if pace is not None:  # this voter's n-th vote at its place in the paced sequence
            delay = pace.started + (n * pace.voters + voter.index) / pace.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            await _vote(voter, qid, sent, n)
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            voter.errors += 1


@contextlib.asynccontextmanager
async def _running(
    args: argparse.Namespace, root: Path, url: str, http: aiohttp.ClientSession, tick_ms: float
) -> AsyncIterator[list[ServerProcess]]:
    extra = {
        "STREAM_QA_VOTE_TICK_MS": f"{tick_ms:g}",
        "STREAM_CHAT_MAX_BEHIND_BYTES": str(BENCH_MAX_BEHIND_BYTES),
        "STREAM_TRUSTED_PROXIES": "127.0.0.1",  # X-Forwarded-For: one address per voter
    }
    with _environment(extra):
        async with servers(root, url, args.processes, args.voters + args.probes, http) as running:
            yield running


async def _run(args: argparse.Namespace, strategy: str) -> Result:
    tick_ms = 0.0 if strategy == BASELINE else args.tick_ms
    result = Result(args.processes, args.voters, args.questions, args.votes, strategy, tick_ms)
    with tempfile.TemporaryDirectory(prefix="stream-bench-qa-") as tmp:
        root = Path(tmp)
        redis_server = EmbeddedRedis(root / "redis")
        redis_server.start()
        try:
            qids = await _seed(redis_server.url, args.questions)
            connector = aiohttp.TCPConnector(limit=0)
            async with (
                aiohttp.ClientSession(connector=connector) as http,
                _running(args, root, redis_server.url, http, tick_ms) as running,
            ):
                await _measure(args, result, qids, running, redis_server, http)
        finally:
            await asyncio.to_thread(redis_server.stop)
    return result


async def _measure(
    args: argparse.Namespace,
    result: Result,
    qids: list[str],
    running: list[ServerProcess],
    redis_server: EmbeddedRedis,
    http: aiohttp.ClientSession,
) -> None:
    urls = [server.base_url for server in running]
    chooser = random.Random(SEED)  # noqa: S311 - a benchmark's plan, not a secret
    sockets = await _connect_all(http, urls, args.voters)
    voters = [Voter(ws, chooser.sample(qids, args.votes), index=i) for i, ws in enumerate(sockets)]
    probes = [Probe(ws) for ws in await _connect_all(http, urls, args.probes, args.voters)]
    tasks = [asyncio.create_task(_voter_reader(v)) for v in voters]
    tasks += [asyncio.create_task(_probe_reader(p)) for p in probes]
    sent: dict[tuple[str, int], float] = {}
    try:
        stats_before = [await server_stats(http, server) for server in running]
        server_cpu = sum(server.cpu_seconds() for server in running)
        redis_cpu = cpu_seconds(redis_server.pid) if redis_server.pid else 0.0
        own_cpu = _own_cpu()
        waited = _waits(running)
        started = time.perf_counter()
        pace = Pace(args.rate, len(voters), started) if args.rate else None
        voting = asyncio.gather(*(_voting(v, sent, pace) for v in voters))
        await asyncio.wait_for(voting, VOTING_TIMEOUT)
        result.seconds = time.perf_counter() - started
        await _settle(probes, sent)
        elapsed = time.perf_counter() - started
        result.server_cpu_percent = (
            100 * (sum(s.cpu_seconds() for s in running) - server_cpu) / elapsed
        )
        if redis_server.pid:
            result.redis_cpu_percent = 100 * (cpu_seconds(redis_server.pid) - redis_cpu) / elapsed
        result.generator_cpu_percent = 100 * (_own_cpu() - own_cpu) / elapsed
        waited_after = _waits(running)
        if waited is not None and waited_after is not None:
            result.server_wait_percent = 100 * (waited_after - waited) / elapsed
        result.load_average = os.getloadavg()[0]
        stats_after = [await server_stats(http, server) for server in running]
        counts = latency_diff(stats_before, stats_after)
        bounds = stats_after[0]["latency_bounds_ms"]
        result.server_p50_ms = percentile_from_counts(counts, bounds, 50)
        result.server_p99_ms = percentile_from_counts(counts, bounds, 99)
        await _check(result, voters, probes, qids, redis_server.url)
        latency(result, probes, sent, voters)
        _void(result)
        replies = sorted(ms for v in voters for ms in v.reply_ms)
        if replies:
            result.reply_p50_ms = replies[len(replies) // 2]
            result.reply_p99_ms = replies[min(len(replies) - 1, int(0.99 * len(replies)))]
    finally:
        for voter in voters:
            for future in voter.replies.values():
                future.cancel()
        for ws in [v.ws for v in voters] + [p.ws for p in probes]:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _waits(running: list[ServerProcess]) -> float | None:
    waits = [runqueue_wait_seconds(server.pid) for server in running]
    return None if any(w is None for w in waits) else sum(w for w in waits if w is not None)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _settle(probes: list[Probe], sent: dict[tuple[str, int], float]) -> None:
    """Wait (bounded) until every probe shows every question's highest accepted count."""
    highest: dict[str, int] = {}
    for qid, votes in sent:
        highest[qid] = max(votes, highest.get(qid, 0))
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if all(
            p.first_at_least(qid, votes) is not None
            for p in probes
            for qid, votes in highest.items()
        ):
            return
        await asyncio.sleep(0.05)


async def _check(
    result: Result, voters: list[Voter], probes: list[Probe], qids: list[str], url: str
) -> None:
    expected = dict.fromkeys(qids, 0)
    for voter in voters:
        for qid in voter.accepted:
            expected[qid] += 1
    result.requests = sum(len(v.plan) + 1 for v in voters)
    result.errors = sum(v.errors for v in voters)
    result.votes_per_s = result.requests / result.seconds if result.seconds else 0.0
    redis = connect(url)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for qid in qids:
                pipe.hget(question_key(SESSION_ID, qid), "votes")
                pipe.scard(voters_key(SESSION_ID, qid))
            rows = await pipe.execute()
        published = await _count_entries(redis, VOTES_PREFIX)
    finally:
        await redis.aclose()
    for index, qid in enumerate(qids):
        stored, members = int(rows[2 * index] or 0), int(rows[2 * index + 1])
        want = expected[qid]
        if stored != want or members != want:
            result.mismatches.append(f"{qid}: stored {stored}, voters {members}, want {want}")
        for n, probe in enumerate(probes):
            seen = probe.last.get(qid, 0)
            if seen != want:
                result.mismatches.append(f"{qid}: probe {n} saw {seen}, want {want}")
    result.accepted_changes = sum(expected.values())
    result.duplicates_ignored = result.requests - result.errors - result.accepted_changes
    # Exact: Redis and every probe hold each question's accepted voters. A request that timed
    # out (an error) may still have been counted, so the repeats are only checked without any.
    repeats_right = result.errors > 0 or result.duplicates_ignored == len(voters)
    result.exact = not result.mismatches and repeats_right
    if not repeats_right:
        result.mismatches.append(f"{result.duplicates_ignored} repeats ignored, {len(voters)} sent")
    result.mismatches = result.mismatches[:10]
    if result.accepted_changes:
        result.entries_per_vote = published / result.accepted_changes


async def _count_entries(redis: Redis, prefix: bytes) -> int:
    """Entries of the session's stream whose public payload starts with ``prefix``."""
    count, start = 0, "-"
    for _ in range(MAX_STREAM_PAGES):
        rows: Any = await redis.xrange(stream_key(SESSION_ID), min=start, count=STREAM_PAGE)
        count += sum(1 for _, fields in rows if fields.get(b"d", b"").startswith(prefix))
        if len(rows) < STREAM_PAGE:
            break
        start = "(" + rows[-1][0].decode()
    return count


def _void(result: Result) -> None:
    if result.generator_cpu_percent >= GENERATOR_SATURATED:
        result.void = "the load generator saturated a core: latency includes its queueing"

"""``stream bench record``: its baseline server records nothing and writes no HLS (and shuts
down cleanly); the summary compares medians and says whether the target is met."""

from __future__ import annotations

import argparse

from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.archive.state import load_state
from stream.bench import add_bench_arguments
from stream.bench.record import Run, Window, summarize
from stream.bench.record_server import without_archive
from stream.bench.relay_config import Config
from stream.config import Settings
from stream.http.keys import ARCHIVE, REDIS, ROOMS
from tests.archive.helpers import publish_for
from tests.conftest import create_session
from tests.media import wait_for


async def test_the_baseline_server_records_nothing(settings: Settings) -> None:
    app = create_app(settings)
    without_archive(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        key = await create_session(server, "utan")
        await publish_for(server, "utan", key, 1.5)
        room = server.app[ROOMS].get("utan")
        assert room is not None
        assert not server.app[ARCHIVE].sinks
        await wait_for(lambda: room.publisher is None, what="publisher gone")
        await room.close("done")
        assert not (settings.data_dir / "recordings" / "utan").exists()
        assert not (settings.data_dir / "hls" / "utan").exists()
        assert (await load_state(server.app[REDIS], "utan")).state == ""
    finally:
        await server.close()  # the archive's own clean-up copes with the detached observer


def test_summary_compares_medians() -> None:
    run = Run(
        [
            Window("no-archive", 10.0, 50.0),
            Window("forward", 13.0, 55.0, recorded_bytes=1000),
            Window("no-archive", 12.0, 50.0),
            Window("forward", 19.0, 60.0, recorded_bytes=2000),
        ]
    )
    summary = summarize(Config(seconds=5.0), run, 2)
    assert summary["server_cpu_without_archive_pct"] == 11.0
    assert summary["server_cpu_with_archive_pct"] == 16.0
    assert summary["recording_cpu_pct"] == 5.0
    assert summary["within_target"] is True
    assert summary["recorded"] is True


def test_the_command_is_registered() -> None:
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    args = parser.parse_args(["record", "--seconds", "3", "--rounds", "1"])
    assert (args.what, args.seconds, args.rounds) == ("record", 3.0, 1)

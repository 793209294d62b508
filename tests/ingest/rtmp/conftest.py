"""An app with RTMP ingest on a free port of 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import RTMP_SERVER
from tests.conftest import MakeServer, free_port


@pytest.fixture
async def rtmp_app(make_server: MakeServer, settings: Settings) -> TestServer:
    """The real app with RTMP on; retried if another process takes the chosen port first."""
    for attempt in range(3):
        try:
            return await make_server(settings.with_(rtmp_port=free_port()))
        except OSError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def rtmp_url(server: TestServer, key: str) -> str:
    return f"rtmp://127.0.0.1:{server.app[RTMP_SERVER].port}/live/{key}"

"""The RTMP-enabled app fixture, shared with the ingest tests."""

from tests.ingest.rtmp.conftest import rtmp_app  # noqa: F401

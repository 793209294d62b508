"""The one error the RTMP parsers raise: the peer sent something we will not read."""

from __future__ import annotations


class RtmpError(ValueError):
    """Malformed, oversized or unsupported RTMP input; the connection that sent it is closed."""

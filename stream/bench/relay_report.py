"""The relay benchmark's report: figures, targets and void reasons from a run, as JSON and text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from stream.bench.relay_results import QUANTILES, Results, Window, ms, percentile, slope
from stream.bench.relay_server import cpu_count

# When a run is void, and the targets.
GENERATOR_SATURATED = 90.0  # % of one core
MAX_LOSS_FRACTION = 0.001
MIN_PUBLISHER_FPS_FRACTION = 0.97
BUSY_MACHINE = 50.0  # other processes' CPU (% of one core) worth a warning
SERVER_SATURATED = 90.0  # the forwarding server is one event-loop thread
STARVED = 10.0  # % of a window an event loop was runnable but waited for a CPU
TARGET_RATIO = 50.0
TARGET_VIEWERS = 100
TARGET_FPS = 29.0
TARGET_TTFF_P95_MS = 500.0
TARGET_TTFF_POST_P95_MS = 100.0  # WHEP POST -> first keyframe, spread and burst joins


def _flag(
    out: list[str],
    windows: Sequence[Window],
    value: Callable[[Window], float | None],
    limit: float,
    message: str,
) -> None:
    """One line for the windows where ``value`` exceeds ``limit``: the worst, and where."""
    hits = [(v, w) for w in windows if (v := value(w)) is not None and v > limit]
    if not hits:
        return
    worst, window = max(hits, key=lambda hit: hit[0])
    where = f"worst {window.mode} at {window.viewers} viewers"
    if len(hits) > 1:
        where += f"; {len(hits)} of {len(windows)} windows"
    out.append(f"{message.format(v=worst, neg=-worst)} ({where})")


def server_cpu_per_loop(window: Window) -> float:
    """The busiest server process's CPU (each is one event loop): the sum with one process."""
    return max((node.server_cpu for node in window.nodes), default=window.server_cpu)


def point(window: Window) -> dict[str, Any]:
    """A window as JSON; ``nodes`` only where there were several server processes."""
    data = asdict(window)
    if not window.nodes:
        del data["nodes"]
    return data


def summarize(results: Results) -> dict[str, Any]:
    config = results.config
    forward = results.forward
    largest = max(forward, key=lambda w: w.viewers) if forward else None
    # CPU against the viewer streams actually delivered (viewers x fps / published fps): a
    # saturated point delivers fewer frames for its CPU and would bend a slope over N.
    forward_slope = slope([(w.delivered_streams, w.server_cpu) for w in forward])
    nominal_slope = slope([(w.viewers, w.server_cpu) for w in forward])
    reencode_per_viewer = None
    if len(results.reencode) >= 2 and results.reencode[-1].delivered_streams:
        base, loaded = results.reencode[0], results.reencode[-1]
        reencode_per_viewer = (loaded.server_cpu - base.server_cpu) / loaded.delivered_streams
    ratio = None
    if forward_slope and forward_slope > 0 and reencode_per_viewer is not None:
        ratio = reencode_per_viewer / forward_slope
    ttff = [j.ttff_connected for j in results.ttff_joins if j.ttff_connected is not None]
    ttff_post = [j.ttff_post for j in results.ttff_joins if j.ttff_post is not None]
    ramp_ttff = [j.ttff_connected for j in results.ramp_joins if j.ttff_connected is not None]
    offsets = [j.since_keyframe for j in results.ttff_joins if j.since_keyframe is not None]
    burst_post = [j.ttff_post for j in results.burst_joins if j.ttff_post is not None]
    burst_connected = [j.ttff_connected for j in results.burst_joins if j.ttff_connected]
    burst_answered = [j.answered for j in results.burst_joins if j.answered is not None]
    burst_handshake = [j.connected for j in results.burst_joins if j.connected is not None]
    spread_handshake = [j.connected for j in results.ttff_joins if j.connected is not None]
    # CPU and memory against what the windows carried: contention stretches wall time, not these
    us_per_packet = slope(
        [(w.packets / w.seconds, w.server_cpu / 100 * 1e6) for w in forward if w.seconds]
    )
    rss = [(w.viewers, w.server_rss_mb * 1000) for w in forward if w.server_rss_mb is not None]
    kb_per_viewer = slope(rss)
    windows = forward + results.reencode

    void: list[str] = []
    warnings: list[str] = []
    _flag(
        void,
        windows,
        lambda w: w.generator_cpu,
        GENERATOR_SATURATED,
        "load generator saturated: {v:.0f} % of a core",
    )
    _flag(
        void,
        windows,
        lambda w: w.loss_fraction * 100,
        MAX_LOSS_FRACTION * 100,
        "packets missing: {v:.2f} %",
    )
    _flag(
        void,
        windows,
        lambda w: -w.publisher_fps,
        -MIN_PUBLISHER_FPS_FRACTION * config.fps,
        "publisher sent only {neg:.1f} fps",
    )
    _flag(
        void,
        windows,
        lambda w: w.generator_drops,
        0,
        "the generator's sockets dropped {v:.0f} datagrams",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.server_drops,
        0,
        "the server's sockets dropped {v:.0f} datagrams (ingest fell behind)",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.other_cpu,
        BUSY_MACHINE,
        "other processes used {v:.0f} % of a core",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.server_wait,
        STARVED,
        "server starved: its event loop waited for a CPU {v:.0f} % of the time "
        "(its fps and latency are pessimistic)",
    )
    _flag(
        warnings,
        windows,
        lambda w: w.generator_wait,
        STARVED,
        "generator starved: waited for a CPU {v:.0f} % of the time "
        "(client-side latency includes it)",
    )
    _flag(
        warnings,
        forward,
        server_cpu_per_loop,
        SERVER_SATURATED,
        "forwarding server saturated: {v:.0f} % of a core",
    )
    for w in results.reencode[1:]:
        busy = w.server_cpu + w.generator_cpu + w.other_cpu
        if busy > SERVER_SATURATED * cpu_count():
            warnings.append(
                f"re-encoding saturated the machine ({busy:.0f} % of {cpu_count()} cores): "
                "its per-viewer CPU is a lower bound"
            )
    void += results.aborted
    if results.connect_failures:
        void.append(f"{results.connect_failures} viewer(s) failed to connect")
    failed_joins = [j.error for j in results.ttff_joins + results.burst_joins if j.error]
    if failed_joins:
        warnings.append(f"{len(failed_joins)} timed join(s) failed: {failed_joins[0]}")

    ttff_p95 = ms(percentile(ttff, 95))
    post_p95 = [ms(percentile(ttff_post, 95)), ms(percentile(burst_post, 95))]
    targets: dict[str, bool | None] = {
        "ratio_at_least_50": None if ratio is None else ratio >= TARGET_RATIO,
        "viewers_100_at_29_fps": None,
        "ttff_p95_at_most_500_ms": None if ttff_p95 is None else ttff_p95 <= TARGET_TTFF_P95_MS,
        "ttff_post_p95_at_most_100_ms": None
        if None in post_p95
        else all(p is not None and p <= TARGET_TTFF_POST_P95_MS for p in post_p95),
    }
    if largest is not None and largest.viewers >= TARGET_VIEWERS and largest.fps_min is not None:
        targets["viewers_100_at_29_fps"] = largest.fps_min >= TARGET_FPS

    def rounded(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    relay = largest.relay_ms if largest else {}
    e2e = largest.e2e_ms if largest else {}
    return {
        "viewers": largest.viewers if largest else 0,
        "cpu_unit": "percent of one core",
        "forward_cpu_per_viewer": rounded(forward_slope),
        "forward_cpu_per_viewer_nominal": rounded(nominal_slope),
        "reencode_cpu_per_viewer": rounded(reencode_per_viewer),
        "ratio": rounded(ratio, 1),
        "fps_delivered": largest.fps_mean if largest else None,
        "fps_delivered_min": largest.fps_min if largest else None,
        "relay_latency_source": "server: frame arrival -> hand-off to the viewer's sender",
        "relay_p50_ms": relay.get("p50"),
        "relay_p95_ms": relay.get("p95"),
        "relay_p99_ms": relay.get("p99"),
        "relay_steady": largest.relay_steady if largest else None,
        "e2e_latency_source": "client: publisher hand-off -> viewer socket (marker packet)",
        "e2e_p50_ms": e2e.get("p50"),
        "e2e_p95_ms": e2e.get("p95"),
        "e2e_p99_ms": e2e.get("p99"),
        "ttff_source": "viewer connected (ICE+DTLS) -> first video packet",
        "ttff_p50_ms": ms(percentile(ttff, 50)),
        "ttff_p95_ms": ttff_p95,
        "ttff_post_p50_ms": ms(percentile(ttff_post, 50)),
        "ttff_post_p95_ms": ms(percentile(ttff_post, 95)),
        "ttff_joins": len(ttff),
        "ttff_watching": results.ttff_watching,
        "ttff_join_offset_s": [rounded(min(offsets), 2), rounded(max(offsets), 2)]
        if offsets
        else None,
        "burst_joins": len(burst_post),
        "burst_ttff_post_p50_ms": ms(percentile(burst_post, 50)),
        "burst_ttff_post_p95_ms": ms(percentile(burst_post, 95)),
        "burst_ttff_p95_ms": ms(percentile(burst_connected, 95)),
        "burst_answer_p95_ms": ms(percentile(burst_answered, 95)),
        "burst_connected_p95_ms": ms(percentile(burst_handshake, 95)),
        "ttff_connected_after_post_p95_ms": ms(percentile(spread_handshake, 95)),
        "burst_server_cpu_ms_per_join": None
        if results.burst_cpu_per_join is None
        else round(results.burst_cpu_per_join * 1000, 1),
        "ramp_ttff_p50_ms": ms(percentile(ramp_ttff, 50)),
        "ramp_ttff_p95_ms": ms(percentile(ramp_ttff, 95)),
        "keyframe_requests_to_publisher": results.keyframe_requests,
        "viewer_kbps": largest.viewer_kbps if largest else None,
        "server_cpu_at_max": largest.server_cpu if largest else None,
        "forward_us_per_packet": rounded(us_per_packet, 2),
        "viewers_per_core": rounded(100 / forward_slope, 0) if forward_slope else None,
        "memory_source": "server RSS slope over the forward windows (viewers watching)",
        "memory_per_viewer_kb": rounded(kb_per_viewer, 0),
        "generator_cpu_max": max((w.generator_cpu for w in windows), default=None),
        "packets_received": sum(w.packets for w in forward),
        "packets_lost": sum(w.lost for w in windows),
        "void": bool(void),
        "void_reasons": void,
        "warnings": warnings,
        "targets": targets,
        "forward_points": [point(w) for w in forward],
        "reencode_points": [point(w) for w in results.reencode],
        "publisher": {
            "size": f"{config.width}x{config.height}",
            "fps": config.fps,
            "bitrate": config.bitrate,
            "gop_seconds": config.gop_seconds,
            "audio": config.audio,
            "answers_keyframe_requests": config.answer_pli,
        },
        "nice": config.nice,
        "window_seconds": config.seconds,
        "cpu_count": cpu_count(),
    }


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _triple(quantiles: dict[str, Any]) -> str:
    return "/".join(_fmt(quantiles.get(f"p{q}")) for q in QUANTILES)


def _points(summary: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(row label, window) for every window, with a ``mode:`` line before each mode's rows."""
    for mode in ("forward", "reencode"):
        for index, w in enumerate(summary[f"{mode}_points"]):
            count = str(w["viewers"])
            if w["viewers"] != w["target"]:
                count += f"/{w['target']}"
            yield (f"{mode}:" if index == 0 else ""), {"label": count, **w}


def _load_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "load (CPU in % of one core; wait = % of the time the event loop was runnable but had no "
        "CPU; drops = datagrams the kernel dropped on full socket buffers)",
        f"{'viewers':>9} {'server':>7} {'generator':>9} {'other':>6} {'wait srv/gen':>13}"
        f" {'drops srv/gen':>14} {'generator loop lag p99 ms':>26}",
    ]
    for heading, w in _points(summary):
        if heading:
            lines.append(heading)
        wait = f"{_fmt(w['server_wait'], digits=0)}/{_fmt(w['generator_wait'], digits=0)}"
        drops = f"{_fmt(w['server_drops'])}/{_fmt(w['generator_drops'])}"
        lines.append(
            f"{w['label']:>9} {w['server_cpu']:>7.1f} {w['generator_cpu']:>9.1f}"
            f" {w['other_cpu']:>6.0f} {wait:>13} {drops:>14} {_fmt(w['loop_lag_p99_ms']):>26}"
        )
    return lines


def _delivery_table(summary: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "delivery (fps in = video frames reaching the server's room; lost = sequence gaps seen "
        "by viewers; relay = server-side arrival -> hand-off; e2e = client-side publisher "
        "hand-off -> viewer socket)",
        f"{'viewers':>9} {'fps in':>7} {'fps mean/min':>13} {'kbit/s':>7} {'lost':>6}"
        f" {'relay p50/p95/p99 ms':>22} {'e2e p50/p95/p99 ms':>24}",
    ]
    for heading, w in _points(summary):
        if heading:
            lines.append(heading)
        relay = _triple(w["relay_ms"])
        if w["relay_steady"] is False and w["relay_ms"].get("p50") is not None:
            relay += "*"
        fps = f"{_fmt(w['fps_mean'])}/{_fmt(w['fps_min'])}"
        lines.append(
            f"{w['label']:>9} {_fmt(w['ingest_fps']):>7} {fps:>13}"
            f" {_fmt(w['viewer_kbps'], digits=0):>7} {w['lost']:>6}"
            f" {relay:>22} {_triple(w['e2e_ms']):>24}"
        )
    return lines


def render(summary: dict[str, Any]) -> str:
    pub = summary["publisher"]
    lines = [
        f"stream bench relay: {pub['size']} {pub['fps']} fps {pub['bitrate'] / 1e6:.2f} Mbit/s "
        f"H.264{' + Opus' if pub['audio'] else ''}, GOP {pub['gop_seconds']} s, "
        f"{summary['window_seconds']} s windows, {summary['cpu_count']} cores "
        f"(CPU in % of one core)",
    ]
    lines += _load_table(summary)
    lines += _delivery_table(summary)
    lines += [
        "",
        f"forwarding CPU per viewer (slope)   {_fmt(summary['forward_cpu_per_viewer'], ' %', 3)}"
        f" per delivered stream ({_fmt(summary['forward_cpu_per_viewer_nominal'], ' %', 3)}"
        " per connected viewer)",
        f"re-encoding CPU per viewer          {_fmt(summary['reencode_cpu_per_viewer'], ' %', 1)}",
        f"ratio re-encode / forward           {_fmt(summary['ratio'])}",
        f"fps delivered at {summary['viewers']} viewers        "
        f"{_fmt(summary['fps_delivered'], digits=2)} mean, "
        f"{_fmt(summary['fps_delivered_min'], digits=2)} worst viewer "
        f"({_fmt(summary['viewer_kbps'], ' kbit/s', 0)} each)",
        f"relay latency (server-side)         p50 {_fmt(summary['relay_p50_ms'], ' ms', 2)}  "
        f"p95 {_fmt(summary['relay_p95_ms'], ' ms', 2)}  "
        f"p99 {_fmt(summary['relay_p99_ms'], ' ms', 2)}"
        f"{'' if summary['relay_steady'] is not False else '  (* includes ramp-up)'}",
        f"end-to-end latency (client-side)    p50 {_fmt(summary['e2e_p50_ms'], ' ms', 2)}  "
        f"p95 {_fmt(summary['e2e_p95_ms'], ' ms', 2)}  "
        f"p99 {_fmt(summary['e2e_p99_ms'], ' ms', 2)}",
        f"time to first keyframe ({summary['ttff_joins']} joins, "
        f"{summary['ttff_watching']} watching)  from connected p50 "
        f"{_fmt(summary['ttff_p50_ms'], ' ms', 0)} p95 {_fmt(summary['ttff_p95_ms'], ' ms', 0)}"
        f"; from WHEP POST p50 {_fmt(summary['ttff_post_p50_ms'], ' ms', 0)} "
        f"p95 {_fmt(summary['ttff_post_p95_ms'], ' ms', 0)}",
        f"  {summary['burst_joins']} joins within one second: from WHEP POST p50 "
        f"{_fmt(summary['burst_ttff_post_p50_ms'], ' ms', 0)} "
        f"p95 {_fmt(summary['burst_ttff_post_p95_ms'], ' ms', 0)} (answer p95 "
        f"{_fmt(summary['burst_answer_p95_ms'], ' ms', 0)}, connected p95 "
        f"{_fmt(summary['burst_connected_p95_ms'], ' ms', 0)}, first video after connected p95 "
        f"{_fmt(summary['burst_ttff_p95_ms'], ' ms', 0)}); server CPU per join "
        f"{_fmt(summary['burst_server_cpu_ms_per_join'], ' ms', 1)}",
        f"server CPU per packet sent (slope) {_fmt(summary['forward_us_per_packet'], ' us', 2)};"
        f" viewers per core {_fmt(summary['viewers_per_core'], '', 0)};"
        f" memory per viewer {_fmt(summary['memory_per_viewer_kb'], ' kB', 0)}",
        f"  join offsets after a keyframe      {summary['ttff_join_offset_s'] or '-'} s; "
        f"ramp joins (batches) from connected p50 {_fmt(summary['ramp_ttff_p50_ms'], ' ms', 0)}"
        f" p95 {_fmt(summary['ramp_ttff_p95_ms'], ' ms', 0)}; "
        f"{summary['keyframe_requests_to_publisher']} PLIs reached the publisher",
        "",
        "targets:",
    ]
    names = {
        "ratio_at_least_50": "forwarding <= 1/50 of re-encoding per viewer",
        "viewers_100_at_29_fps": ">= 100 viewers at >= 29 fps (worst viewer)",
        "ttff_p95_at_most_500_ms": "time to first keyframe p95 <= 500 ms",
        "ttff_post_p95_at_most_100_ms": "WHEP POST -> keyframe p95 <= 100 ms (both)",
    }
    for key, name in names.items():
        met = summary["targets"][key]
        lines.append(f"  {name:<48} {'-' if met is None else 'met' if met else 'NOT met'}")
    for warning in summary["warnings"]:
        lines.append(f"warning: {warning}")
    if summary["void"]:
        lines.append("VOID: " + "; ".join(summary["void_reasons"]))
    else:
        lines.append(
            f"valid: generator at most {_fmt(summary['generator_cpu_max'], ' %')} of a core, "
            f"{summary['packets_lost']} packets lost"
        )
    return "\n".join(lines)

"""`stream bench relay`: its pieces on made-up packets, and a small run end to end.

Speed is measured, never asserted: the smoke run only checks that the machinery works (a server
subprocess, a publisher, light viewers that count packets) and that the JSON has its fields.
"""

from __future__ import annotations

import json
import struct

import pytest

from stream.bench.relay_config import Config
from stream.bench.relay_peers import (
    RtpCounter,
    TimedLoopTrack,
    frame_latencies,
    media_payload_types,
)
from stream.bench.relay_report import render, summarize
from stream.bench.relay_results import Join, Results, Window, percentile, slope
from stream.bench.relay_scaling import SCALED, scaling
from stream.cli import main
from stream.ingest.sources import EncodedFrame

VIDEO_PT = 102
AUDIO_PT = 111

REQUIRED_FIELDS = (
    "viewers",
    "forward_cpu_per_viewer",
    "reencode_cpu_per_viewer",
    "ratio",
    "fps_delivered",
    "relay_p50_ms",
    "relay_p95_ms",
    "relay_p99_ms",
    "ttff_p50_ms",
    "ttff_p95_ms",
    "generator_cpu_max",
    "burst_ttff_post_p95_ms",
    "forward_us_per_packet",
    "memory_per_viewer_kb",
    "cpu_count",
    "void",
)

ANSWER = """v=0
m=audio 9 UDP/TLS/RTP/SAVPF 111
a=rtpmap:111 opus/48000/2
m=video 9 UDP/TLS/RTP/SAVPF 102 103
a=rtpmap:102 H264/90000
a=rtpmap:103 rtx/90000
"""


def rtp(payload_type: int, sequence: int, timestamp: int, *, marker: bool = False) -> bytes:
    second = payload_type | (0x80 if marker else 0)
    return struct.pack("!BBHII", 0x80, second, sequence, timestamp, 1234) + b"\x00" * 100


def test_payload_types_from_answer() -> None:
    types = media_payload_types(ANSWER)
    assert types == {"audio": frozenset({111}), "video": frozenset({102})}


def test_counter_counts_frames_and_sequence_gaps() -> None:
    counter = RtpCounter()
    counter.video_types = frozenset({VIDEO_PT})
    counter.audio_types = frozenset({AUDIO_PT})
    counter.start_log(10)
    # two video frames across the sequence wrap, one packet (65535 + 2 = 1) missing
    for sequence, timestamp, marker in ((65534, 0, False), (65535, 0, True), (1, 3000, True)):
        counter.rtp(rtp(VIDEO_PT, sequence, timestamp, marker=marker))
    counter.rtp(rtp(AUDIO_PT, 7, 960))
    counter.rtp(rtp(103, 1, 0))  # RTX: neither kind
    assert counter.video_frames == 2
    assert counter.video.packets == 3
    assert counter.video.expected == 4
    assert counter.audio.packets == 1
    assert counter.other_packets == 1
    assert counter.first_video_timestamp == 0
    assert [timestamp for timestamp, _ in counter.stop_log()] == [0, 3000]


def test_frame_latencies_match_the_keyframe_the_viewer_started_at() -> None:
    frames = [EncodedFrame(b"k", True), EncodedFrame(b"p", False)]
    track = TimedLoopTrack(frames, 30)
    track.sent_at = [10.0 + i / 30 for i in range(12)]
    track.keyframes = [0, 4, 8]
    # the viewer's first packet (timestamp 500000 = publisher frame 4) came 5 ms after frame 4
    first_at = track.sent_at[4] + 0.005
    log = [(500_000 + k * 3000, track.sent_at[4 + k] + 0.005) for k in range(6)]
    latencies = frame_latencies(log, first_at, 500_000, track)
    assert latencies == pytest.approx([0.005] * 6)
    # a keyframe sent before the viewer's first packet that does not fit is skipped
    later_first = track.sent_at[8] + 0.001
    assert frame_latencies(log, later_first, 500_000, track) == pytest.approx([0.005] * 6)
    assert frame_latencies(log, None, 0, track) is None


def test_percentile_and_slope() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert slope([(0, 5.0), (10, 10.0), (20, 15.0)]) == pytest.approx(0.5)
    assert slope([(10, 1.0)]) is None


def window(mode: str, viewers: int, cpu: float, fps: float | None = 30.0, **extra: float) -> Window:
    return Window(
        mode=mode,
        viewers=viewers,
        target=viewers,
        seconds=8.0,
        server_cpu=cpu,
        generator_cpu=extra.get("generator_cpu", 10.0),
        other_cpu=0.0,
        publisher_fps=30.0,
        fps_mean=fps if viewers else None,
        fps_min=fps if viewers else None,
        packets=int(extra.get("packets", 0)),
        server_rss_mb=extra.get("rss"),
    )


def test_summary_slope_ratio_targets_and_void() -> None:
    results = Results(Config(viewers=(50, 100)))
    # 200 packets per viewer and second over 8 s windows; 40 MB + 0.5 MB per viewer
    results.forward = [
        window("forward", 0, 5.0, rss=40.0),
        window("forward", 50, 30.0, packets=50 * 200 * 8, rss=65.0),
    ]
    # 100 viewers getting half the frames are 50 delivered streams: the slope is per stream
    results.forward.append(window("forward", 100, 30.0, fps=15.0, packets=50 * 200 * 8, rss=90))
    results.burst_joins = [Join(ttff_connected=0.05, ttff_post=0.08 + 0.001 * i) for i in range(50)]
    results.reencode = [window("reencode", 0, 4.0), window("reencode", 1, 54.0)]
    results.ttff_joins = [Join(ttff_connected=0.01 * i, ttff_post=0.1) for i in range(1, 21)]
    summary = summarize(results)
    assert summary["forward_cpu_per_viewer"] == pytest.approx(0.5, abs=0.01)
    assert summary["forward_cpu_per_viewer_nominal"] < 0.5
    assert summary["reencode_cpu_per_viewer"] == pytest.approx(50.0)
    assert summary["ratio"] == pytest.approx(100, abs=2)
    assert summary["fps_delivered"] == 15.0
    assert summary["ttff_p95_ms"] == pytest.approx(190.0)
    assert summary["burst_ttff_post_p95_ms"] == pytest.approx(127.0)
    # 25 % of a core for 10 000 packets/s: 25 us each; a viewer adds 500 kB
    assert summary["forward_us_per_packet"] == pytest.approx(25.0, abs=0.5)
    assert summary["memory_per_viewer_kb"] == pytest.approx(500.0)
    assert summary["viewers_per_core"] == pytest.approx(200, abs=5)
    assert summary["targets"] == {
        "ratio_at_least_50": True,
        "viewers_100_at_29_fps": False,
        "ttff_p95_at_most_500_ms": True,
        "ttff_post_p95_at_most_100_ms": False,  # the burst's p95 is 127 ms
    }
    assert not summary["void"]
    assert "VOID" not in render(summary)

    results.forward[-1] = window("forward", 100, 30.0, fps=15.0, generator_cpu=95.0)
    summary = summarize(results)
    assert summary["void"]
    assert "load generator saturated" in summary["void_reasons"][0]
    assert "VOID" in render(summary)


def test_relay_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bench", "relay",
            "--viewers", "2",
            "--seconds", "2",
            "--settle", "0.5",
            "--reencode-viewers", "0",
            "--ttff-joins", "2",
            "--burst-joins", "3",
            "--gop-seconds", "1",
            "--size", "320x180",
            "--bitrate", "300000",
            "--seed", "1",
            "--json",
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name in REQUIRED_FIELDS:
        assert name in summary, name
    assert summary["viewers"] == 2
    assert summary["reencode_cpu_per_viewer"] is None  # skipped
    loaded = summary["forward_points"][-1]
    assert loaded["viewers"] == 2
    assert loaded["packets"] > 0
    assert loaded["fps_mean"] > 0
    assert summary["burst_joins"] == 3
    assert loaded["server_rss_mb"] > 0


def test_scaling_divides_by_the_first_process_count() -> None:
    base = {field: 2.0 for _, field in SCALED} | {"processes": 1}
    two = {field: 3.0 for _, field in SCALED} | {"processes": 2, "e2e_p99_ms": None}
    ratios = scaling([base, two])
    assert ratios["vs_processes"] == 1
    assert ratios["ratios"]["2"]["cpu_per_viewer"] == 1.5
    assert ratios["ratios"]["2"]["e2e_p99"] is None  # not measured: no ratio


@pytest.mark.timeout(120)
def test_relay_bench_over_processes(capsys: pytest.CaptureFixture[str]) -> None:
    """``--processes 1,2``: a phase on one process, then one on an origin and an edge, whose
    viewers get video from the edge's mirror (fed over one relay link), all in one JSON line."""
    code = main(
        [
            "bench", "relay",
            "--viewers", "2,4",
            "--processes", "1,2",
            "--seconds", "1.5",
            "--settle", "0.5",
            "--reencode-viewers", "0",
            "--ttff-joins", "2",
            "--burst-joins", "4",
            "--gop-seconds", "1",
            "--size", "320x180",
            "--bitrate", "300000",
            "--seed", "1",
        ]
    )  # fmt: skip
    assert code == 0
    output = capsys.readouterr().out
    summary = json.loads(output.strip().splitlines()[-1])
    assert "over processes" in output
    one, two = summary["processes"]
    assert one["processes"] == 1
    assert two["processes"] == 2
    assert summary["viewers"] == one["viewers"] == 4  # the top level is the first phase's
    assert "nodes" not in one["points"][-1]
    loaded = two["points"][-1]
    origin, edge = loaded["nodes"]
    assert (origin["role"], edge["role"]) == ("origin", "edge")
    # round-robin over both processes (2 each, unless a viewer failed and its retry went on)
    assert origin["viewers"] + edge["viewers"] == 4
    assert edge["viewers"] >= 1
    assert edge["fps_min"] > 0  # every edge viewer got video in the window
    assert edge["stalled"] == 0
    assert edge["ingest_fps"] > 0  # the mirror's room (its stats in the edge's /api/rooms)
    assert edge["links_opened"] == 1  # one link for all the edge's viewers
    assert edge["relay_ms"]["p50"] is not None
    assert edge["e2e_ms"]["p50"] is not None  # publisher -> edge viewer, matched
    # no CPU counted twice: the total is the sum of the processes
    assert loaded["server_cpu"] == pytest.approx(origin["server_cpu"] + edge["server_cpu"], 0.01)
    assert two["viewers_per_process_at_max"] == [origin["viewers"], edge["viewers"]]
    assert [join["role"] for join in two["first_joins"]] == ["origin", "edge"]
    assert two["first_joins"][1]["ttff_post_ms"] is not None
    assert two["burst_ttff_post_p95_ms"] is not None
    assert summary["scaling"]["vs_processes"] == 1
    assert set(summary["scaling"]["ratios"]) == {"2"}
    assert summary["scaling"]["ratios"]["2"]["fps_min"] is not None

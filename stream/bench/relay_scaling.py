"""The relay benchmark over several server processes (``--processes``): one summary per process
count, and how the figures scale against the first count measured in the same run.

With P processes the first is the origin (the publisher's) and the other P - 1 are edges that
mirror its room over one relay link each; the viewers are spread round-robin over all P, the
origin included (it has a core of its own too). CPU is summed over the P processes (each read
from the kernel for its own pid: nothing is counted twice); the relay-added latency is each
room's own (the origin's room, each edge's mirror), and the client-side publisher → viewer
latency, which includes the edge's extra hop, is the fair end-to-end figure.
"""

from __future__ import annotations

from typing import Any

from stream.bench.relay_report import TARGET_FPS, render, summarize
from stream.bench.relay_results import QUANTILES, Join, Results, Window, ms, slope

# The figures compared between process counts: (name in the scaling object, phase field).
SCALED = (
    ("cpu_per_viewer", "cpu_per_viewer"),
    ("cpu_per_viewer_watched", "cpu_per_viewer_watched"),
    ("viewers_per_core", "viewers_per_core"),
    ("server_cpu_at_max", "server_cpu_at_max"),
    ("fps_min", "fps_delivered_min"),
    ("relay_p99_origin", "relay_p99_ms"),
    ("relay_p99_worst_room", "relay_p99_ms_worst_room"),
    ("e2e_p50", "e2e_p50_ms"),
    ("e2e_p99", "e2e_p99_ms"),
    ("ttff_post_p95", "ttff_post_p95_ms"),
    ("burst_ttff_post_p95", "burst_ttff_post_p95_ms"),
)
VIEWERS_ON = "every process, round-robin, the origin included"


def _first_join(role: str, join: Join) -> dict[str, Any]:
    return {
        "role": role,
        "answer_ms": ms(join.answered),
        "connected_ms": ms(join.connected),
        "ttff_post_ms": ms(join.ttff_post),
        "error": join.error,
    }


def _roles(window: Window | None, processes: int) -> list[str]:
    if window is not None and window.nodes:
        return [node.role for node in window.nodes]
    return ["origin"] + ["edge"] * (processes - 1)


def phase_summary(results: Results, full: dict[str, Any]) -> dict[str, Any]:
    """One process count's figures, from its full :func:`summarize` and its windows."""
    forward = results.forward
    largest = max(forward, key=lambda w: w.viewers) if forward else None
    nodes = largest.nodes if largest else []
    roles = _roles(largest, results.processes)
    edge_p99 = [
        p99 for n in nodes if n.role == "edge" and (p99 := n.relay_ms.get("p99")) is not None
    ]
    rooms_p99 = [p99 for p99 in (full["relay_p99_ms"], *edge_p99) if p99 is not None]
    # An edge's link and mirror cost from its first viewer on: without the 0-viewer window the
    # slope is what one more viewer costs once every process has some.
    watched = slope([(w.delivered_streams, w.server_cpu) for w in forward if w.viewers])
    fluent = [w.viewers for w in forward if w.fps_min is not None and w.fps_min >= TARGET_FPS]
    void_reasons = list(full["void_reasons"])
    stalled = [w for w in forward if w.stalled]
    if stalled:
        worst = max(stalled, key=lambda w: w.stalled)
        void_reasons.append(f"{worst.stalled} viewer(s) got no video at {worst.viewers} viewers")
    return {
        "processes": results.processes,
        "viewers_on": VIEWERS_ON,
        "viewers": full["viewers"],
        "server_cpu_at_max": full["server_cpu_at_max"],
        "server_cpu_per_process_at_max": [n.server_cpu for n in nodes]
        or [full["server_cpu_at_max"]],
        "viewers_per_process_at_max": [n.viewers for n in nodes] or [full["viewers"]],
        "cpu_per_viewer": full["forward_cpu_per_viewer"],
        "cpu_per_viewer_nominal": full["forward_cpu_per_viewer_nominal"],
        "cpu_per_viewer_watched": None if watched is None else round(watched, 3),
        "viewers_per_core": full["viewers_per_core"],
        "forward_us_per_packet": full["forward_us_per_packet"],
        "memory_per_viewer_kb": full["memory_per_viewer_kb"],
        "fps_delivered": full["fps_delivered"],
        "fps_delivered_min": full["fps_delivered_min"],
        "max_viewers_at_29_fps": max(fluent, default=None),
        "relay_p50_ms": full["relay_p50_ms"],
        "relay_p95_ms": full["relay_p95_ms"],
        "relay_p99_ms": full["relay_p99_ms"],
        "edge_relay_ms": [n.relay_ms for n in nodes if n.role == "edge"],
        "edge_relay_p99_ms_max": max(edge_p99, default=None),
        "relay_p99_ms_worst_room": max(rooms_p99, default=None),
        "edge_ingest_fps": [n.ingest_fps for n in nodes if n.role == "edge"],
        "links_opened": [n.links_opened for n in nodes if n.role == "edge"],
        "e2e_p50_ms": full["e2e_p50_ms"],
        "e2e_p95_ms": full["e2e_p95_ms"],
        "e2e_p99_ms": full["e2e_p99_ms"],
        "e2e_by_process": [n.e2e_ms for n in nodes] or [largest.e2e_ms if largest else {}],
        "ttff_p95_ms": full["ttff_p95_ms"],
        "ttff_post_p50_ms": full["ttff_post_p50_ms"],
        "ttff_post_p95_ms": full["ttff_post_p95_ms"],
        "burst_ttff_post_p50_ms": full["burst_ttff_post_p50_ms"],
        "burst_ttff_post_p95_ms": full["burst_ttff_post_p95_ms"],
        "burst_answer_p95_ms": full["burst_answer_p95_ms"],
        "burst_connected_p95_ms": full["burst_connected_p95_ms"],
        "burst_server_cpu_ms_per_join": full["burst_server_cpu_ms_per_join"],
        "first_joins": [
            _first_join(role, join) for role, join in zip(roles, results.first_joins, strict=False)
        ],
        "generator_cpu_max": full["generator_cpu_max"],
        "packets_lost": full["packets_lost"],
        "void": bool(void_reasons),
        "void_reasons": void_reasons,
        "warnings": list(full["warnings"]),
        "points": full["forward_points"],
    }


def _ratio(value: Any, base: Any) -> float | None:
    if not isinstance(value, int | float) or not isinstance(base, int | float) or not base:
        return None
    return round(value / base, 3)


def scaling(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Each process count's figures divided by the first count's (same run, same machine)."""
    base = phases[0]
    return {
        "vs_processes": base["processes"],
        "ratios": {
            str(phase["processes"]): {
                name: _ratio(phase[field], base[field]) for name, field in SCALED
            }
            for phase in phases[1:]
        },
    }


def summarize_runs(runs: list[Results]) -> dict[str, Any]:
    """The run's JSON: the first process count's summary as with one process (the re-encode
    baseline with it), and with ``--processes`` a ``processes`` list and a ``scaling`` object;
    a run is void when any of its phases is."""
    summary = summarize(runs[0])
    if runs[0].config.processes == (1,):
        return summary
    phases = [phase_summary(runs[0], summary)]
    phases += [phase_summary(run, summarize(run)) for run in runs[1:]]
    summary["processes"] = phases
    summary["scaling"] = scaling(phases)
    warnings, void_reasons = list(summary["warnings"]), list(summary["void_reasons"])
    for phase in phases:
        label = f"{phase['processes']} process(es): "
        if phase is phases[0]:  # the top level is this phase: only what it adds
            fresh = [r for r in phase["void_reasons"] if r not in summary["void_reasons"]]
        else:
            warnings += [label + warning for warning in phase["warnings"]]
            fresh = phase["void_reasons"]
        void_reasons += [label + reason for reason in fresh]
    summary.update(warnings=warnings, void_reasons=void_reasons, void=bool(void_reasons))
    return summary


# -- text -----------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _triple(quantiles: dict[str, Any]) -> str:
    return "/".join(_fmt(quantiles.get(f"p{q}")) for q in QUANTILES)


def _node_rows(phase: dict[str, Any]) -> list[str]:
    lines = []
    for window in phase["points"]:
        nodes = window.get("nodes") or [{**window, "role": "origin"}]
        for index, node in enumerate(nodes):
            fps = f"{_fmt(node['fps_mean'])}/{_fmt(node['fps_min'])}"
            lines.append(
                f"{phase['processes'] if index == 0 else '':>3} {window['viewers']:>7}"
                f" {node['role'] + ('' if node['role'] == 'origin' else str(index)):>7}"
                f" {node['viewers']:>7} {node['server_cpu']:>6.1f}"
                f" {_fmt(node['server_wait'], 0):>5} {_fmt(node['ingest_fps']):>7} {fps:>11}"
                f" {_triple(node['relay_ms']):>19} {_triple(node['e2e_ms']):>19}"
            )
    return lines


def render_runs(summary: dict[str, Any]) -> str:
    """The text report: as with one process, then the phases over processes and the scaling."""
    text = render(summary)
    phases = summary.get("processes")
    if not phases:
        return text
    lines = [
        "",
        f"over processes (the table above is {phases[0]['processes']} process(es); viewers on "
        f"{VIEWERS_ON}; CPU in % of one core, per process; relay = that room's arrival -> "
        "hand-off, an edge's from the frame's arrival over the link; e2e = client-side)",
        f"{'P':>3} {'viewers':>7} {'node':>7} {'watch':>7} {'cpu':>6} {'wait':>5} {'fps in':>7}"
        f" {'fps mean/min':>11} {'relay p50/p95/p99':>19} {'e2e p50/p95/p99':>19}",
    ]
    for phase in phases:
        lines += _node_rows(phase)
    lines.append("")
    for phase in phases:
        first = "; ".join(
            f"{join['role']} answer {_fmt(join['answer_ms'], 0)} ms, video "
            f"{_fmt(join['ttff_post_ms'], 0)} ms"
            for join in phase["first_joins"]
        )
        lines.append(
            f"{phase['processes']} process(es): CPU per viewer {_fmt(phase['cpu_per_viewer'], 3)} %"
            f" ({_fmt(phase['viewers_per_core'], 0)} viewers per core; "
            f"{_fmt(phase['cpu_per_viewer_watched'], 3)} % without the 0-viewer window), "
            f"at {phase['viewers']}: "
            f"{_fmt(phase['server_cpu_at_max'])} % "
            f"({'+'.join(_fmt(c) for c in phase['server_cpu_per_process_at_max'])}), worst "
            f"viewer {_fmt(phase['fps_delivered_min'], 2)} fps, e2e p99 "
            f"{_fmt(phase['e2e_p99_ms'])} ms, POST -> keyframe p95 spread "
            f"{_fmt(phase['ttff_post_p95_ms'], 0)} / burst "
            f"{_fmt(phase['burst_ttff_post_p95_ms'], 0)} ms"
            + (f"; first viewers: {first}" if first else "")
        )
    for processes, ratios in summary["scaling"]["ratios"].items():
        shown = ", ".join(f"{name} x{_fmt(value, 2)}" for name, value in ratios.items())
        lines.append(f"{processes} vs {summary['scaling']['vs_processes']} process(es): {shown}")
    return text + "\n" + "\n".join(lines)

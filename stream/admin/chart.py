"""The viewer curve as a chart drawn on the server: geometry for an inline SVG (no script, no
library) and the same figures as a short table for screen readers and for reading exactly.

Only numbers and times leave this module; the template writes them (escaped) into the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from stream.analytics.curve import Curve, Point
from stream.common import times

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28  # margins for the axes' labels
MAX_CHART_POINTS = 720  # at most one point per horizontal unit: longer curves are grouped
MAX_TABLE_ROWS = 48
MAX_Y_TICKS = 5
SHORT_SPAN = 600  # seconds: a shorter curve labels its times with seconds


@dataclass(frozen=True, slots=True)
class Tick:
    position: float  # x or y in the viewBox
    label: str


@dataclass(frozen=True, slots=True)
class Row:
    start: datetime  # the page writes them as every time (``When.time``)
    end: datetime
    seconds: bool  # the whole curve is short: the times with seconds
    watching: int  # the most watching at once within the row's time
    pages: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    watching: tuple[str, ...]  # one SVG "points" list per unbroken stretch
    pages: tuple[str, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    rows: tuple[Row, ...]
    zone: str  # the axis's times are in the event's zone, named once (``CET``/``CEST``)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM


STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000)


def y_scale(highest: int) -> tuple[int, int]:
    """The top of the axis and its step: round numbers, at most ``MAX_Y_TICKS`` ticks."""
    highest = max(1, highest)
    for step in STEPS:
        if math.ceil(highest / step) <= MAX_Y_TICKS - 1:
            return math.ceil(highest / step) * step, step
    step = math.ceil(highest / (MAX_Y_TICKS - 1))
    return step * (MAX_Y_TICKS - 1), step


def group(points: tuple[Point, ...], size: int) -> list[Point]:
    """Consecutive points in groups of ``size``: each the first time and the highest counts."""
    out = []
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        out.append(Point(chunk[0].at, max(p.watching for p in chunk), max(p.pages for p in chunk)))
    return out


def _stretches(points: list[Point], gap: float) -> list[list[Point]]:
    """Split where samples are missing (the session was not live): no line across a gap."""
    stretches: list[list[Point]] = []
    for point in points:
        if stretches and point.at - stretches[-1][-1].at <= gap:
            stretches[-1].append(point)
        else:
            stretches.append([point])
    return stretches


def _clock(epoch: float, span: float) -> str:
    """``HH:MM`` in the event's zone (with seconds when the whole curve is shorter than
    10 min): the axis's labels; the chart names the zone once (:attr:`Chart.zone`)."""
    moment = times.local(times.from_epoch(epoch))
    return moment.strftime("%H:%M:%S" if span < SHORT_SPAN else "%H:%M")


def build_chart(curve: Curve) -> Chart | None:
    """The chart of ``curve`` (None without samples)."""
    if not curve.points:
        return None
    size = max(1, math.ceil(len(curve.points) / MAX_CHART_POINTS))
    points = group(curve.points, size)
    step = curve.interval * size
    start, end = points[0].at, points[-1].at + step
    top, tick = y_scale(max(max(p.watching for p in points), max(p.pages for p in points)))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x(at: float) -> float:
        return LEFT + (at - start) / (end - start) * plot_width

    def y(count: int) -> float:
        return TOP + plot_height - count / top * plot_height

    def line(stretch: list[Point], attr: str) -> str:
        coords = []
        for point in stretch:
            value = getattr(point, attr)
            # Each sample holds for its bucket: a step, so a lone sample is still a line.
            coords.append(f"{x(point.at):.1f},{y(value):.1f}")
            coords.append(f"{x(point.at + step):.1f},{y(value):.1f}")
        return " ".join(coords)

    stretches = _stretches(points, step * 1.5)
    y_ticks = tuple(Tick(y(v), str(v)) for v in range(0, top + 1, tick))
    span = end - start
    x_ticks = tuple(
        Tick(x(start + span * i / 4), _clock(start + span * i / 4, span)) for i in range(5)
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        watching=tuple(line(s, "watching") for s in stretches),
        pages=tuple(line(s, "pages") for s in stretches),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        rows=table_rows(curve, span),
        zone=times.local(times.from_epoch(start)).tzname() or times.TIMEZONE_NAME,
    )


def table_rows(curve: Curve, span: float) -> tuple[Row, ...]:
    """The curve in at most ``MAX_TABLE_ROWS`` rows (the highest counts of each stretch)."""
    if not curve.points:
        return ()
    size = max(1, math.ceil(len(curve.points) / MAX_TABLE_ROWS))
    rows = []
    for start in range(0, len(curve.points), size):
        chunk = curve.points[start : start + size]
        rows.append(
            Row(
                times.from_epoch(chunk[0].at),
                times.from_epoch(chunk[-1].at + curve.interval),
                span < SHORT_SPAN,
                max(p.watching for p in chunk),
                max(p.pages for p in chunk),
            )
        )
    return tuple(rows)

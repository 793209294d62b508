"""The viewer chart's geometry (pure): round axis steps, gaps where the session was not live,
peaks kept when a long curve is grouped, a table of bounded length."""

from __future__ import annotations

import pytest

from stream.admin.chart import (
    HEIGHT,
    MAX_CHART_POINTS,
    MAX_TABLE_ROWS,
    TOP,
    build_chart,
    y_scale,
)
from stream.analytics.curve import Curve, Point

T0 = 1_800_000_000.0


def curve(counts: list[int], gap_after: int | None = None) -> Curve:
    points = []
    for n, count in enumerate(counts):
        shift = 600 if gap_after is not None and n > gap_after else 0
        points.append(Point(T0 + 10 * n + shift, count, count + 1))
    return Curve(interval=10, points=tuple(points), peak=max(counts))


@pytest.mark.parametrize(
    ("highest", "scale"),
    [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (7, (8, 2)), (51, (60, 20)), (999, (1000, 250))],
)
def test_the_axis_has_round_steps(highest: int, scale: tuple[int, int]) -> None:
    assert y_scale(highest) == scale


def test_no_samples_no_chart() -> None:
    assert build_chart(Curve(interval=10)) is None


def test_a_gap_breaks_the_line() -> None:
    chart = build_chart(curve([1, 2, 3, 4], gap_after=1))
    assert chart is not None
    assert len(chart.watching) == 2
    assert len(chart.pages) == 2


def test_a_long_curve_is_grouped_and_keeps_its_peak() -> None:
    counts = [1] * (MAX_CHART_POINTS * 3)
    counts[1000] = 99
    chart = build_chart(curve(counts))
    assert chart is not None
    coords = [c.split(",") for c in chart.watching[0].split(" ")]
    assert len(coords) <= 2 * MAX_CHART_POINTS
    top_y = min(float(y) for _, y in coords)
    assert top_y == pytest.approx(TOP + (HEIGHT - TOP - 28) * (1 - 99 / 100), abs=0.1)
    assert len(chart.rows) <= MAX_TABLE_ROWS
    assert max(row.watching for row in chart.rows) == 99


def test_the_table_rows_are_moments_and_the_zone_is_named_once() -> None:
    long_chart = build_chart(curve([1] * 90))  # a quarter of an hour
    assert long_chart is not None
    assert long_chart.zone in {"CET", "CEST"}
    first = long_chart.rows[0]
    assert first.start.timestamp() == T0
    assert first.end > first.start
    assert not first.seconds
    short_chart = build_chart(curve([1, 2, 3]))  # half a minute: the times need seconds
    assert short_chart is not None
    assert all(row.seconds for row in short_chart.rows)
    assert short_chart.x_ticks[0].label.count(":") == 2

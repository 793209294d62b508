from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from stream.common import times


def test_days_are_written_the_swedish_way() -> None:
    assert times.format_day(date(2021, 1, 19), "sv") == "tisdag 19 januari 2021"
    assert times.format_day(date(2021, 1, 19), "en") == "Tuesday 19 January 2021"


def test_a_range_uses_the_24_hour_clock_and_an_en_dash() -> None:
    start = times.at_local(date(2021, 1, 19), time(10))
    text = times.format_range(start, start + timedelta(minutes=90), "sv")
    assert text == "tisdag 19 januari 2021 10:00\u201311:30"


def test_stockholm_time_follows_daylight_saving() -> None:
    winter = times.at_local(date(2021, 1, 19), time(10))
    summer = times.at_local(date(2021, 7, 1), time(10))
    assert winter.astimezone(UTC).hour == 9
    assert summer.astimezone(UTC).hour == 8
    assert times.iso_local(winter) == "2021-01-19T10:00:00+01:00"


@pytest.mark.parametrize("text", ["10:00", "10.00", " 10:00 "])
def test_clock_times_are_read_with_colon_or_dot(text: str) -> None:
    assert times.parse_clock(text) == time(10)


@pytest.mark.parametrize("text", ["", "25:00", "ten", "10:61"])
def test_bad_clock_times_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time like 10:00"):
        times.parse_clock(text)


def test_a_moment_without_offset_is_stockholm_time() -> None:
    assert times.parse_moment("2021-01-19 10:00") == datetime(2021, 1, 19, 9, tzinfo=UTC)
    assert times.parse_moment("2021-01-19T10:00:00+00:00") == datetime(2021, 1, 19, 10, tzinfo=UTC)


def test_epoch_round_trip_and_naive_times_are_refused() -> None:
    moment = times.at_local(date(2021, 1, 19), time(10))
    assert times.from_epoch(times.to_epoch(moment)) == moment
    with pytest.raises(ValueError, match="without a zone"):
        times.to_epoch(datetime(2021, 1, 19, 10))

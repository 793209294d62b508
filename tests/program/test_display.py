"""Times as pages show them: the 24-hour clock, the event's zone named (winter and summer)."""

from __future__ import annotations

from datetime import date, timedelta

from stream.common.display import When
from tests.program.conftest import at


def test_times_name_the_events_zone() -> None:
    when = When("sv")
    assert when.zone(at("10:00")) == "CET"
    assert when.zone(at("10:00", date(2031, 6, 17))) == "CEST"
    assert when.timezone == "Europe/Stockholm"
    assert When("en").range(at("10:00"), at("11:30")) == "Tuesday 21 January 2031 10:00\u201311:30"
    assert when.range(at("10:00"), at("11:30")) == "tisdag 21 januari 2031 10:00\u201311:30"


def test_one_markup_for_every_time_the_pages_show() -> None:
    when = When("sv")
    one = when.time(at("14:05"))
    assert one == (
        '<time datetime="2031-01-21T14:05:00+01:00" data-clock="2031-01-21T14:05:00+01:00">'
        '14:05</time> <abbr class="zone" title="Europe/Stockholm">CET</abbr>'
    )
    slot = when.time(at("10:00"), at("11:30"))
    assert ">10:00\u201311:30</time>" in slot
    assert 'data-clock-end="2031-01-21T11:30:00+01:00"' in slot
    summer = When("en").time(at("10:00", date(2031, 6, 17)), day=True)
    assert ">Tuesday 17 June 2031 10:00</time>" in summer
    assert 'data-clock-style="day"' in summer
    assert summer.endswith(">CEST</abbr>")
    assert when.time(None) == ""


def test_a_time_with_seconds_says_so_for_the_browser_too() -> None:
    short = When("sv").time(at("14:05"), at("14:05") + timedelta(seconds=10), seconds=True)
    assert ">14:05:00\u201314:05:10</time>" in short
    assert 'data-clock-style="seconds"' in short
    assert short.endswith(">CET</abbr>")

"""Times as pages show them: the 24-hour clock, the event's zone named (winter and summer)."""

from __future__ import annotations

from datetime import date

from stream.common.display import When
from tests.program.conftest import at


def test_times_name_the_events_zone() -> None:
    when = When("sv")
    assert when.zone(at("10:00")) == "CET"
    assert when.zone(at("10:00", date(2031, 6, 17))) == "CEST"
    assert when.timezone == "Europe/Stockholm"
    assert When("en").range(at("10:00"), at("11:30")) == "Tuesday 21 January 2031 10:00\u201311:30"
    assert when.range(at("10:00"), at("11:30")) == "tisdag 21 januari 2031 10:00\u201311:30"

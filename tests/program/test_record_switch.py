"""The record switch travels with a session through every way in: a CSV column, a pretalx/frab
``do_not_record``, the write API; an event's switch and the rule that combines them."""

from __future__ import annotations

from dataclasses import replace

from stream.program.events import Event, EventStore
from stream.program.importer import ImportOptions, import_drafts, read_file
from stream.program.record_switch import recording_allowed, records
from stream.program.sessions import Session, SessionStore
from stream.store import Redis
from tests.program.conftest import DAY
from tests.program.test_import import GOOD_TALK, frab

RECORD_CSV = """titel;arrangör;datum;start;slut;inspelning
Spelas in;skog;2031-01-21;10:00;11:00;ja
Spelas inte in;skog;2031-01-21;12:00;13:00;nej
Som förut;skog;2031-01-21;14:00;15:00;
""".encode()


def test_the_rule_session_switch_unless_the_event_forbids() -> None:
    on = Session(id="a", title="A")
    off = replace(on, record=False)
    event_on = Event("e", "E", DAY, DAY)
    event_off = replace(event_on, record=False)
    assert [records(s, e) for s in (on, off) for e in (None, event_on, event_off)] == [
        True, True, False, False, False, False,
    ]  # fmt: skip


async def test_a_csv_column_sets_the_switch_and_an_empty_cell_keeps_it(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    drafts, problems = read_file(RECORD_CSV, "program.csv")
    assert problems == []
    report = await import_drafts(catalogue, drafts, ImportOptions(event="vecka"))
    assert report.ok, report.text()
    assert [(await store.get(i)).record for i in report.created] == [True, False, True]
    await store.save(replace(await store.get("som-forut"), record=False))
    again = await import_drafts(catalogue, drafts, ImportOptions(event="vecka"))
    assert again.ok, again.text()
    assert (await store.get("som-forut")).record is False, "an empty cell keeps the switch"
    _, problems = read_file(RECORD_CSV.replace(b";nej", b";kanske"), "program.csv")
    assert [p.message for p in problems] == ["record is yes or no (ja or nej)"]


async def test_frab_do_not_record_turns_recording_off(catalogue: Redis) -> None:
    talk = {**GOOD_TALK, "do_not_record": True}
    other = {**GOOD_TALK, "guid": "x2", "slug": "annat", "date": "2031-01-21T12:00:00+01:00"}
    drafts, problems = read_file(frab([talk, other]), "s.json")
    assert problems == []
    report = await import_drafts(catalogue, drafts, ImportOptions())
    assert report.ok, report.text()
    store = SessionStore(catalogue)
    assert (await store.get("skogens-dag")).record is False
    assert (await store.get("annat")).record is True


async def test_the_event_switch_is_stored_and_applied(catalogue: Redis) -> None:
    store = SessionStore(catalogue)
    await store.save(Session(id="pass", title="Pass", arranger_id="skog", event="vecka"))
    assert await recording_allowed(catalogue, "pass")
    events = EventStore(catalogue)
    await events.save(replace(await events.get("vecka"), record=False))
    assert (await events.get("vecka")).record is False
    assert (await events.get("vecka")).as_json()["record"] is False
    assert not await recording_allowed(catalogue, "pass")
    assert await recording_allowed(catalogue, "no-such-session")

"""Importing a programme from CSV and pretalx/frab JSON: good rows saved, every bad row
reported with its reason, nothing saved in a dry run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from stream.cli import main
from stream.program.importer import ImportOptions, import_drafts, read_file
from stream.program.sessions import SessionStore
from stream.program.studios import StudioStore
from stream.store import Redis
from tests.program.conftest import at

GOOD_CSV = """\ufefftitel;arrangör;talare;studio;datum;start;slut;beskrivning;synlighet
Skogens dag;Skogstekniska klustret;Moderator|Forskare;Studio 1;2031-01-21;10:00;11:30;Om skogen;
CRISPR-Cas9;noden;;studio-2;2031-01-21;10.30;12.00;;offentlig
Arbetsgrupp;Kunskapsnoden;;;;2031-01-21 13:00;2031-01-21 15:00;;inbjudna
""".encode()

BROKEN_CSV = b"""title,arranger,studio,date,start,end
Utan arrangor,,Studio 1,2031-01-21,10:00,11:00
Okand,Ingen Sadan,Studio 1,2031-01-21,10:00,11:00
Baklanges,skog,Studio 1,2031-01-21,12:00,11:00
Fel tid,skog,Studio 1,2031-01-21,kl tio,11:00
Okand studio,skog,Studio 9,2031-01-21,10:00,11:00
Forst,skog,Studio 1,2031-01-21,10:00,11:00
Krockar,skog,Studio 1,2031-01-21,10:30,11:30
Forst,skog,Studio 2,2031-01-21,10:00,11:00
,skog,Studio 1,2031-01-21,14:00,15:00
"""


def frab(talks: list[object]) -> bytes:
    return json.dumps(
        {
            "schedule": {
                "version": "1.0",
                "conference": {
                    "title": "Digital vecka",
                    "days": [{"index": 1, "date": "2031-01-21", "rooms": {"Studio 1": talks}}],
                },
            }
        }
    ).encode()


GOOD_TALK = {
    "guid": "5d1c0c6e",
    "id": 7,
    "date": "2031-01-21T10:00:00+01:00",
    "duration": "01:30",
    "room": "Studio 1",
    "slug": "skogens-dag",
    "title": "Skogens dag",
    "track": "Skogstekniska klustret",
    "language": "sv",
    "abstract": "Om skogen.",
    "description": "Mer om skogen.",
    "persons": [{"public_name": "Moderator"}, {"name": "Forskare"}],
}


async def test_a_swedish_spreadsheet_export_imports(catalogue: Redis) -> None:
    drafts, problems = read_file(GOOD_CSV, "program.csv")
    assert problems == []
    report = await import_drafts(catalogue, drafts, ImportOptions(event="vecka"))
    assert report.ok, report.text()
    assert report.created == ["skogens-dag", "crispr-cas9", "arbetsgrupp"]
    store = SessionStore(catalogue)
    skog = await store.get("skogens-dag")
    assert (skog.arranger_id, skog.studio, skog.event) == ("skog", "studio-1", "vecka")
    assert skog.speakers == ("Moderator", "Forskare")
    assert (skog.start, skog.end) == (at("10:00"), at("11:30"))
    assert (await store.get("arbetsgrupp")).visibility == "invite"
    assert not await store.has_key("skogens-dag"), "imported sessions get no key"
    again = await import_drafts(catalogue, drafts, ImportOptions(event="vecka"))
    assert again.updated == report.created, "re-importing updates"
    assert again.created == []


async def test_broken_rows_are_reported_and_the_rest_imported(catalogue: Redis) -> None:
    drafts, problems = read_file(BROKEN_CSV, "program.csv")
    report = await import_drafts(catalogue, drafts, ImportOptions(), problems)
    reasons = {p.where: p.message for p in report.problems}
    assert reasons == {
        "row 2": "no arranger: name one in the file or choose a default",
        "row 3": "unknown arranger 'Ingen Sadan'",
        "row 4": "end: the session ends before it starts",
        "row 5": "start: 'kl tio' is not a time like 10:00",
        "row 6": "unknown studio 'Studio 9'",
        "row 8": "studio 'studio-1' is already booked then by 'Forst'",
        "row 9": "the id 'forst' appears twice in the file",
        "row 10": "the title is empty",
    }
    assert report.created == ["forst"]
    assert await SessionStore(catalogue).all_ids() == ["forst"]
    text = report.text()
    assert "rows that could not be imported: 8" in text
    assert "  row 3: unknown arranger 'Ingen Sadan'" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"name,when\nx,y\n", "the header row lacks the column(s): title, start, end"),
        (b"{not json", "not valid JSON"),
        (b'{"schedule": {}}', "not a pretalx/frab schedule: no schedule.conference.days"),
        (b"x" * (2 * 1024 * 1024 + 1), "the file is larger than 2048 KiB"),
    ],
)
def test_unreadable_files_say_why(data: bytes, message: str) -> None:
    drafts, problems = read_file(data, "")
    assert drafts == []
    assert [p.where for p in problems] == ["file"]
    assert problems[0].message.startswith(message)


async def test_a_pretalx_schedule_imports(catalogue: Redis) -> None:
    broken = {**GOOD_TALK, "guid": "bad1", "slug": "x", "duration": "lång"}
    untitled = {**GOOD_TALK, "guid": "bad2", "title": None}
    no_date = {k: v for k, v in GOOD_TALK.items() if k != "date"} | {"guid": "bad3"}
    drafts, problems = read_file(frab([GOOD_TALK, broken, untitled, no_date, "junk"]), "s.json")
    report = await import_drafts(catalogue, drafts, ImportOptions(), problems)
    assert report.created == ["skogens-dag"]
    assert {p.where: p.message for p in report.problems} == {
        "talk bad1": "duration 'lång' is not HH:MM",
        "talk bad2": "the title is empty",
        "talk bad3": "the talk has no 'date'",
        "talk 5 in Studio 1": "the talk is not an object with the expected fields",
    }
    session = await SessionStore(catalogue).get("skogens-dag")
    assert session.speakers == ("Moderator", "Forskare")
    assert session.description == "Om skogen.\n\nMer om skogen."
    assert (session.start, session.end) == (at("10:00"), at("11:30"))


async def test_missing_studios_and_arrangers_can_be_created(catalogue: Redis) -> None:
    talk = {**GOOD_TALK, "room": "Stora salen", "track": "Region Västerbotten"}
    drafts, _ = read_file(frab([talk]), "s.json")
    refused = await import_drafts(catalogue, drafts, ImportOptions())
    assert [p.message for p in refused.problems] == ["unknown arranger 'Region Västerbotten'"]
    dry = await import_drafts(catalogue, drafts, ImportOptions(create_missing=True, dry_run=True))
    assert dry.created == ["skogens-dag"]
    assert dry.dry_run
    assert dry.studios_created == ["Stora salen"]
    assert await SessionStore(catalogue).all_ids() == [], "a dry run saves nothing"
    assert await StudioStore(catalogue).find("Stora salen") is None
    done = await import_drafts(catalogue, drafts, ImportOptions(create_missing=True))
    assert done.ok
    assert done.arrangers_created == ["Region Västerbotten"]
    session = await SessionStore(catalogue).get("skogens-dag")
    assert (session.arranger_id, session.studio) == ("region-vasterbotten", "stora-salen")


async def test_an_unknown_event_stops_the_import(catalogue: Redis) -> None:
    drafts, _ = read_file(GOOD_CSV, "p.csv")
    report = await import_drafts(catalogue, drafts, ImportOptions(event="nope"))
    assert [p.message for p in report.problems] == ["no event 'nope'"]
    assert report.created == []


async def run(argv: list[str]) -> int:
    """The command line, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(main, argv)


async def test_the_import_command(
    catalogue: Redis, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "program.csv"
    good.write_bytes(GOOD_CSV)
    assert await run(["import", str(good), "--event", "vecka", "--redis-url", redis_url]) == 0
    out = capsys.readouterr().out
    assert "sessions created: 3" in out
    assert "every row could be read and imported" in out
    broken = tmp_path / "broken.csv"
    broken.write_bytes(BROKEN_CSV)
    assert await run(["import", str(broken), "--redis-url", redis_url, "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "(dry run)" in out
    assert "row 3: unknown arranger 'Ingen Sadan'" in out
    assert await run(["import", str(tmp_path / "missing.csv"), "--redis-url", redis_url]) == 2
    assert "cannot read" in capsys.readouterr().err

"""Property tests for what reads untrusted input: import files, API bodies, iCal folding."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.common.validation import Invalid
from stream.program.ical import MAX_LINE_OCTETS, fold
from stream.program.importer import read_file
from stream.program.session_json import session_from_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.text())
def test_folding_round_trips_and_respects_the_limit(line: str) -> None:
    line = line.replace("\r", "").replace("\n", "")
    pieces = fold(line).split("\r\n")
    assert all(len(piece.encode()) <= MAX_LINE_OCTETS for piece in pieces)
    assert pieces[0] + "".join(piece[1:] for piece in pieces[1:]) == line


@settings(max_examples=200)
@given(st.binary(max_size=2000), st.sampled_from(["p.csv", "p.json", ""]))
def test_any_file_gives_drafts_or_reasons_never_an_exception(data: bytes, name: str) -> None:
    drafts, problems = read_file(data, name)
    assert isinstance(drafts, list)
    assert all(p.message for p in problems)


@settings(max_examples=200)
@given(
    st.dictionaries(
        st.sampled_from(["title", "arranger", "start", "end", "speakers", "chat", "studio", "x"]),
        JSON_VALUES,
    )
    | JSON_VALUES
)
def test_any_json_body_is_a_session_or_named_errors(body: object) -> None:
    errors: tuple[object, ...] = ()
    try:
        session_from_json(json.loads(json.dumps(body)), session_id=None)
    except Invalid as exc:
        errors = exc.errors
        if not errors:
            raise
    assert all(getattr(e, "field", "") and getattr(e, "code", "") for e in errors)


@settings(max_examples=100)
@given(st.lists(st.lists(st.text(max_size=20), max_size=8), max_size=10))
def test_csv_rows_of_anything(rows: list[list[str]]) -> None:
    header = "title,arranger,studio,date,start,end\n"
    body = "\n".join(",".join(json.dumps(cell) for cell in row) for row in rows)
    drafts, problems = read_file((header + body).encode(), "p.csv")
    assert len(drafts) + len(problems) <= len(rows) + 1

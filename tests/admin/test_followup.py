"""The arranger's follow-up over real HTTP and a real Redis: the page with the recording link,
the viewer curve, the questions, polls and chat, safe with hostile stored text; its guard; the
ZIP with every file and the right counts (the chat read page by page)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from stream.admin.followup_zip import FILES
from stream.archive.index import RecordingIndex, Segment, write_index
from stream.chat.chat import TRANSCRIPT_PAGE
from stream.common.grants import Role
from stream.http.keys import ARCHIVE
from stream.qa.model import POLL_KINDS, SOURCES
from tests.admin.followup_data import (
    HOSTILE_CHAT,
    HOSTILE_NAME,
    HOSTILE_OPTION,
    HOSTILE_Q,
    SESSION,
    T0,
    fill_session,
)
from tests.admin.followup_data import relaxed_chat_limits as relaxed_chat_limits  # autouse
from tests.auth.staff import Staff, make_user
from tests.conftest import base_url

Login = Callable[[str], Awaitable[Staff]]


async def test_the_page_shows_everything_and_escapes_what_visitors_wrote(
    login: Login, world: TestServer
) -> None:
    ids = await fill_session(world)
    archive = world.app[ARCHIVE]
    index = RecordingIndex(SESSION, [Segment("segment-000.mp4", T0, 754.0, True)])
    (archive.recordings / SESSION).mkdir(parents=True)
    write_index(archive.recordings / SESSION, index)
    anna = await login("anna")
    status, html = await anna.get(f"/admin/sessions/{SESSION}/followup")
    assert status == 200
    # The recording's replay link, the figures and the chart.
    assert f'href="{base_url(world)}/s/{SESSION}"' in html
    assert 'data-figure="peak">5<' in html  # 3 + 2 in the second bucket
    assert 'data-figure="peak-pages">3<' in html
    assert 'data-figure="unique">6<' in html  # a0..a2, b0..b2
    assert html.count('data-line="watching"') == 1
    assert "<svg" in html
    assert "<desc" in html
    assert html.count('<tr><th scope="row">') == 3  # the table beside the chart
    # Times as on every page (When.time): <time data-clock> and the zone named.
    assert html.count('<tr><th scope="row"><time datetime="') == 3
    chat = html.split("data-chat>")[1].split("</ol>")[0]
    assert chat.count("data-clock=") == chat.count("<li>") > 0
    assert chat.count('<abbr class="zone"') == chat.count("<li>")
    # Questions in their groups, with votes; the merged one under the one it joined.
    answered = html.split('data-group="answered"')[1].split("</ol>")[0]
    unanswered = html.split('data-group="unanswered"')[1].split("</ol>")[0]
    assert f'data-question="{ids["second"]}"' in answered
    assert "Röster: 2" in answered
    assert f'data-question="{ids["first"]}"' in unanswered
    assert f'data-merged="{ids["third"]}"' in unanswered
    # Poll results, whatever the kind: each option (or word) with its count; a rating's mean.
    assert '<span class="followup-poll__count" data-count>2</span>' in html
    assert "medel 4.5" in html
    cloud = html.split("Ett ord?")[1].split("</ul>")[0]
    assert "&lt;i&gt;skog&lt;/i&gt;</span>" in cloud
    assert '<span class="followup-poll__count" data-count>2</span>' in cloud
    assert 'vatten</span> <span class="followup-poll__hidden" data-hidden>(dold)</span>' in cloud
    # Nothing a visitor wrote is markup.
    for hostile in (HOSTILE_Q, HOSTILE_NAME, HOSTILE_CHAT, HOSTILE_OPTION):
        assert hostile not in html
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in html
    assert "&lt;/li&gt;&lt;script&gt;alert(&#39;chat&#39;)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(2)&gt;Ja&lt;/b&gt;" in html
    assert "<script>alert" not in html
    # The session page and (once ended) the dashboard link here.
    _, session_page = await anna.get(f"/admin/sessions/{SESSION}")
    assert f'href="/admin/sessions/{SESSION}/followup" data-task="followup"' in session_page


async def test_an_empty_session_reads_plainly(login: Login) -> None:
    admin = await login("admin")
    status, html = await admin.get("/admin/sessions/crispr/followup")
    assert status == 200
    assert 'data-recording="none"' in html
    assert "data-no-curve" in html
    assert "Inga frågor ställdes." in html


async def test_only_who_manages_the_session_gets_it(login: Login, world: TestServer) -> None:
    await make_user(world, "nils", Role.ARRANGER, arranger="noden")
    for username in ("nils", "mo", "sp"):  # another arranger; the session's moderator, speaker
        staff = await login(username)
        for path in ("followup", "followup.zip"):
            status, _ = await staff.get(f"/admin/sessions/{SESSION}/{path}")
            assert status == 403, (username, path)
    async with aiohttp.ClientSession() as http:
        for path in ("followup", "followup.zip"):
            async with http.get(
                f"{base_url(world)}/admin/sessions/{SESSION}/{path}", allow_redirects=False
            ) as response:
                assert response.status == 303
                assert response.headers["Location"].startswith("/login?next=")
    admin = await login("admin")
    status, _ = await admin.get("/admin/sessions/nowhere/followup")
    assert status == 403  # as every session guard: no hint whether the session exists
    status, _ = await admin.get("/admin/sessions/BAD!/followup")
    assert status in (400, 404)


async def test_the_zip_holds_every_file_with_the_right_counts(
    login: Login, world: TestServer
) -> None:
    messages = TRANSCRIPT_PAGE + 30  # more than one transcript page
    ids = await fill_session(world, chat_messages=messages)
    anna = await login("anna")
    async with anna.http.get(f"{anna.base}/admin/sessions/{SESSION}/followup.zip") as response:
        assert response.status == 200
        assert response.content_type == "application/zip"
        assert "followup.zip" in response.headers["Content-Disposition"]
        body = await response.read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(FILES)

    def rows(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))

    viewers = rows("viewers.csv")
    assert [(r["watching"], r["on_page"]) for r in viewers] == [("3", "3"), ("5", "3"), ("2", "3")]
    questions = {r["id"]: r for r in rows("questions.csv")}
    assert set(questions) == set(ids.values())
    assert questions[ids["second"]]["state"] == "answered"
    assert questions[ids["second"]]["votes"] == "2"
    assert questions[ids["third"]]["merged_into"] == ids["first"]
    polls = rows("polls.csv")
    assert [(r["option"], r["count"]) for r in polls if r["question"] == "Bra?"] == [
        (HOSTILE_OPTION, "2"),
        ("Nej", "0"),
    ]
    assert [r["count"] for r in polls if r["question"] == "Betyg?"] == ["0", "0", "0", "1", "1"]
    assert [(r["option"], r["count"]) for r in polls if r["question"] == "Ett ord?"] == [
        ("<i>skog</i>", "2"),
        ("vatten", "1"),
    ]
    assert [r["hidden"] for r in polls if r["question"] == "Ett ord?"] == ["no", "yes"]
    chat = rows("chat.csv")
    assert len(chat) == messages
    assert chat[0]["text"] == HOSTILE_CHAT
    summary = json.loads(archive.read("summary.json"))
    assert summary["viewers"]["peak_watching"] == 5
    assert summary["viewers"]["unique_viewers"] == 6
    assert summary["viewers"]["samples"] == 3
    assert summary["questions"] == {
        "total": 3, "answered": 1, "unanswered": 1, "held_back": 0, "merged": 1,
    }  # fmt: skip
    assert summary["polls"] == 3
    assert summary["chat_messages"] == messages
    assert summary["recording"]["state"] == "none"
    readme = archive.read("README.txt").decode("utf-8")
    assert "Skogens dag" in readme
    assert "Det finns ingen inspelning" in readme


def test_every_followup_text_is_in_both_languages() -> None:
    web = Path(__file__).resolve().parents[2] / "web"
    template = (web / "templates" / "admin" / "followup.html").read_text("utf-8")
    found = set(re.findall(r"""\bt\(\s*["'](followup\.[a-z0-9_.]+)["']""", template))
    used = {key for key in found if not key.endswith(".")}  # prefixes: their keys are below
    used |= {f"followup.recording.{s}" for s in ("recording", "done", "failed", "off", "none")}
    used |= {f"followup.source.{s}" for s in SOURCES}
    used |= {f"followup.polls.kind.{kind}" for kind in POLL_KINDS} | {"followup.link"}
    used |= {f"followup.readme.{name}" for name in FILES[1:]} | {"followup.readme.intro"}
    for lang in ("sv", "en"):
        texts = json.loads((web / "i18n" / f"{lang}.json").read_text("utf-8"))
        assert used - texts.keys() == set(), lang

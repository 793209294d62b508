"""Export after the session: moderators only (a moderator link or a logged-in moderator); CSV
and JSON with votes, state, source, time, stream position and poll results; spreadsheet formulas
neutralised."""

from __future__ import annotations

import csv
import io

import aiohttp
from aiohttp.test_utils import TestServer

from stream.common.grants import Role
from stream.http.keys import REDIS
from stream.qa.limits import MAX_WORDS_PER_ANSWER, WORD_CLOUD_TOP
from stream.qa.protocol import PollAnswer, parse_word
from stream.qa.wordcloud import WordCloud
from stream.rooms.presence import presence_key
from tests.auth.staff import Staff, cheap_passwords, make_user
from tests.chat.client import moderator_token
from tests.conftest import base_url, create_session
from tests.qa.client import QAClient

SESSION = "export-test"


async def test_export_questions_and_polls(server: TestServer) -> None:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    # The session went live 100 s ago; the asker watches 10 s behind live.
    redis = server.app[REDIS]
    import time

    await redis.hset(presence_key(SESSION), "since", f"{time.time() - 100:.3f}")
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    viewer = await QAClient.join(server, SESSION, name="Anna Anonym")
    try:
        await mod.qa_mod("premod", on=False)
        qid = (await viewer.ask('=HYPERLINK("x") hur?', anon=True, delay_ms=10_000))["q"]
        await viewer.vote(qid)
        pid = (await mod.request("poll.create", question="Ja?", options=["Ja", "Nej"]))["poll"]
        await mod.request("poll.mod", action="open", poll=pid, v=1)
        await viewer.request("poll.answer", poll=pid, choices=[0])
    finally:
        await viewer.close()
        await mod.close()
    url = base_url(server) + f"/api/qa/{SESSION}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/export.json") as response:
            assert response.status == 401
        async with http.get(
            url + "/export.json", headers={"Authorization": "Bearer wrong"}
        ) as response:
            assert response.status == 401  # a token that grants nothing proves no one
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get(url + "/export.json", headers=auth) as response:
            assert response.status == 200
            data = await response.json()
        question = data["questions"][0]
        assert question["name"] == "Anna Anonym"
        assert question["anonymous"] is True
        assert question["votes"] == 1
        assert question["state"] == "approved"
        assert question["source"] == "remote"
        assert 85 <= question["stream_position_s"] <= 95
        assert data["polls"][0]["results"] == [
            {"option": "Ja", "count": 1, "hidden": False},
            {"option": "Nej", "count": 0, "hidden": False},
        ]
        async with http.get(url + "/questions.csv", headers=auth) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert rows[0]["text"].startswith("'=HYPERLINK")
        assert rows[0]["votes"] == "1"
        async with http.get(url + "/polls.csv", headers=auth) as response:
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [(r["option"], r["count"]) for r in rows] == [("Ja", "1"), ("Nej", "0")]
        async with http.get(base_url(server) + "/api/qa/nope/export.json", headers=auth) as r:
            assert r.status in (401, 403, 404)  # the token grants nothing there


async def test_logged_in_moderator_exports_without_a_token(server: TestServer) -> None:
    """One grant model: the staff login that may moderate the session may export its Q&A;
    a moderator of another session, a speaker, and a moderator link of another session may not."""
    await create_session(server, SESSION)
    await create_session(server, "other-session")
    other_token = await moderator_token(server, "other-session")
    await make_user(server, "moa", Role.MODERATOR, sessions=(SESSION,))
    await make_user(server, "mats", Role.MODERATOR, sessions=("other-session",))
    await make_user(server, "sara", Role.SPEAKER, sessions=(SESSION,))
    expected = {"moa": 200, "mats": 403, "sara": 403}
    with cheap_passwords():
        for username, status in expected.items():
            staff = Staff(server)
            try:
                assert await staff.login(username) == 303
                got, _ = await staff.get(f"/api/qa/{SESSION}/questions.csv")
                assert got == status, username
            finally:
                await staff.close()
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {other_token}"}
        async with http.get(base_url(server) + f"/api/qa/{SESSION}/export.json", headers=auth) as r:
            assert r.status == 401


async def test_export_rating_average_and_word_cloud(server: TestServer) -> None:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token)
    viewers = [await QAClient.join(server, SESSION) for _ in range(3)]
    try:
        rating = (await mod.request("poll.create", question="Betyg?", kind="rating"))["poll"]
        cloud = (await mod.request("poll.create", question="Ord?", kind="words"))["poll"]
        for pid in (rating, cloud):
            assert (await mod.request("poll.mod", action="open", poll=pid, v=1))["type"] == "qa.ack"
        for viewer, stars, word in zip(
            viewers, (4, 5, 5), ("=SUM(A1)", "Fika", "fika"), strict=True
        ):
            await viewer.request("poll.answer", poll=rating, choices=[stars - 1])
            await viewer.request("poll.answer", poll=cloud, words=[word])
    finally:
        for viewer in viewers:
            await viewer.close()
        await mod.close()
    url = base_url(server) + f"/api/qa/{SESSION}"
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/export.json", headers=auth) as response:
            polls = {p["id"]: p for p in (await response.json())["polls"]}
        async with http.get(url + "/polls.csv", headers=auth) as response:
            rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert polls[rating]["average"] == 4.7  # (4 + 5 + 5) / 3, one decimal
    assert [r["count"] for r in polls[rating]["results"]] == [0, 0, 0, 1, 2]
    assert polls[cloud]["average"] is None
    assert polls[cloud]["results"] == [
        {"option": "Fika", "count": 2, "hidden": False},
        {"option": "=SUM(A1)", "count": 1, "hidden": False},
    ]
    words = [(r["option"], r["count"]) for r in rows if r["poll"] == cloud]
    assert words == [("Fika", "2"), ("'=SUM(A1)", "1")]


async def test_export_holds_every_word_cloud_entry_hidden_ones_flagged(
    server: TestServer,
) -> None:
    """The record is not the live view: every stored entry (far more than the viewers' top
    entries) with its count, and a hidden one flagged rather than left out."""
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION)
    mod = await QAClient.join(server, SESSION, moderator_token=token)
    cloud = WordCloud(server.app[REDIS])
    people = 25
    distinct = people * MAX_WORDS_PER_ANSWER
    assert distinct > WORD_CLOUD_TOP + 10
    try:
        pid = (await mod.request("poll.create", question="Ord?", kind="words"))["poll"]
        assert (await mod.request("poll.mod", action="open", poll=pid, v=1))["type"] == "qa.ack"
        for i in range(people):
            # Everyone gives "fika" and (from the second on) two entries of their own.
            own = [f"ord{i}x{j}" for j in range(MAX_WORDS_PER_ANSWER - 1)]
            words = (["fika"] if i else [f"ord{i}x9"]) + own
            await cloud.answer(
                SESSION, f"u{i}", PollAnswer(pid, words=tuple(map(parse_word, words)))
            )
        hidden = await mod.request("poll.mod", action="hide", poll=pid, word="FIKA")
        assert hidden["type"] == "qa.ack"
    finally:
        await mod.close()
    url = base_url(server) + f"/api/qa/{SESSION}"
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/export.json", headers=auth) as response:
            (poll,) = (await response.json())["polls"]
        async with http.get(url + "/polls.csv", headers=auth) as response:
            rows = list(csv.DictReader(io.StringIO(await response.text())))
    results = poll["results"]
    stored = 1 + people * (MAX_WORDS_PER_ANSWER - 1) + 1  # fika, the own ones, ord0x9
    assert len(results) == stored
    assert results[0] == {"option": "fika", "count": people - 1, "hidden": True}
    assert all(r["count"] == 1 and r["hidden"] is False for r in results[1:])
    assert sum(r["count"] for r in results) == people * MAX_WORDS_PER_ANSWER
    assert len(rows) == stored
    assert (rows[0]["option"], rows[0]["count"], rows[0]["hidden"]) == ("fika", "24", "yes")
    assert {r["hidden"] for r in rows[1:]} == {"no"}

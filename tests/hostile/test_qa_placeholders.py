"""Text that looks like the scripts' stand-ins (``@votes@``, ``@stage@``, ``@counts@``) is shown
as written: user text is never a template."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from tests.chat.client import moderator_token
from tests.conftest import create_session
from tests.qa.client import QAClient

SESSION = "hostile-marks"
MARKS = ("@votes@", "@stage@", "@counts@", "@voters@")


async def test_marks_in_questions_and_answers_stay_text(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    viewer = await QAClient.join(server, SESSION)
    try:
        qids = []
        for mark in MARKS:
            ack = await viewer.ask(mark, anon=True)
            assert ack["type"] == "qa.ack", ack
            assert (await mod.qa_mod("approve", q=ack["q"], v=1))["type"] == "qa.ack"
            qids.append(ack["q"])
        edited = await mod.qa_mod("edit", q=qids[0], v=2, text="@stage@")
        assert edited["type"] == "qa.ack", edited
        replied = await mod.qa_mod("reply", q=qids[1], v=2, text="@votes@")
        assert replied["type"] == "qa.ack", replied
        await viewer.until(lambda: viewer.question(qids[0]).get("edited") is True)
        for qid, mark in zip(qids[1:], MARKS[1:], strict=True):
            assert viewer.question(qid)["text"] == mark, viewer.question(qid)
        assert viewer.question(qids[0])["text"] == "@stage@"
        # The reply's event reaches the moderator's socket through the fan-out (within a tick).
        await mod.until(lambda: mod.question(qids[1]).get("answer") == "@votes@")
        assert all(isinstance(viewer.question(q)["votes"], int) for q in qids)
    finally:
        await viewer.close()
        await mod.close()


async def test_marks_in_poll_texts_stay_text(server: TestServer) -> None:
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    viewer = await QAClient.join(server, SESSION)
    try:
        created = await mod.request(
            "poll.create", question="@voters@", kind="single", options=["@counts@", "@voters@"]
        )
        assert created["type"] == "qa.ack", created
        pid = created["poll"]
        assert (await mod.request("poll.mod", action="open", poll=pid, v=1))["type"] == "qa.ack"
        assert (await viewer.request("poll.answer", poll=pid, choices=[0]))["type"] == "qa.ack"
        await viewer.until(lambda: viewer.state()["polls"].get(pid, {}).get("voters") == 1)
        poll = viewer.state()["polls"][pid]
        assert poll["question"] == "@voters@"
        assert poll["options"] == ["@counts@", "@voters@"]
        assert poll["counts"] == [1, 0]
    finally:
        await viewer.close()
        await mod.close()

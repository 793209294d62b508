"""A Q&A client for tests: the chat test client plus the ``qa.*``/``poll.*`` frames, and the
state a browser would show (the snapshot with the later events applied)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.chat.client import ChatClient, Frame

_cids = itertools.count(1)


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class QAClient(ChatClient):
    snapshot: Frame | None = None

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            self.frames.append(frame)
            if frame.get("type") in ("history", "batch"):
                self.events.extend(frame["events"])
            elif "id" in frame and frame.get("type") in ("msg", "mod", "qa", "poll"):
                self.events.append(frame)
            self._changed.set()
        self._changed.set()

    @classmethod
    async def join(cls, server: TestServer, session_id: str, **kwargs: Any) -> QAClient:
        client = await cls.connect(server, session_id, **kwargs)
        assert isinstance(client, QAClient)
        await client.sync()
        return client

    async def request(self, frame_type: str, /, **params: Any) -> Frame:
        cid = f"qa{next(_cids)}"
        await self.ws.send_json({"type": frame_type, "cid": cid, **params})

        def find() -> Frame | None:
            for frame in self.frames:
                if frame.get("cid") == cid and frame.get("type") in (
                    "qa.ack",
                    "qa.error",
                    "qa.snapshot",
                    "error",
                ):
                    return frame
            return None

        found: Frame = await self.until(find, what=f"reply to {frame_type}")
        return found

    async def sync(self) -> Frame:
        self.snapshot = await self.request("qa.sync")
        return self.snapshot

    async def ask(self, text: str, **params: Any) -> Frame:
        return await self.request("qa.ask", text=text, **params)

    async def vote(self, qid: str, up: bool = True) -> Frame:
        return await self.request("qa.vote", q=qid, up=up)

    async def qa_mod(self, action: str, **params: Any) -> Frame:
        return await self.request("qa.mod", action=action, **params)

    def qa_events(self) -> list[Frame]:
        return [e for e in self.events if e.get("type") in ("qa", "poll")]

    def state(self) -> dict[str, Any]:
        """Questions by id, the stage, polls by id and the poll on screen, as a page would
        show them now."""
        assert self.snapshot is not None
        questions = {q["id"]: q for q in self.snapshot["questions"]}
        polls = {p["id"]: p for p in self.snapshot["polls"]}
        stage = self.snapshot["stage"]
        screen = self.snapshot.get("screen")
        at = _id(self.snapshot["at"])
        for event in self.qa_events():
            if _id(event["id"]) <= at:
                continue
            if event["type"] == "qa":
                if isinstance(event.get("q"), dict):
                    qid = event["q"]["id"]
                    questions[qid] = {**questions.get(qid, {}), **event["q"]}
                if isinstance(event.get("from"), dict):
                    questions[event["from"]["id"]] = event["from"]
                if event["action"] == "votes":
                    qid = event["q"]
                    questions[qid] = {**questions.get(qid, {}), "votes": event["votes"]}
                if "stage" in event:
                    stage = event["stage"]
            elif event["action"] == "results":
                results = {k: event[k] for k in ("counts", "words", "voters") if k in event}
                polls[event["poll"]] = {**polls.get(event["poll"], {}), **results}
            elif event["action"] == "clear":
                screen = event["screen"]
            else:
                polls[event["poll"]["id"]] = event["poll"]
                screen = event.get("screen", screen)
        return {"questions": questions, "stage": stage, "polls": polls, "screen": screen}

    def question(self, qid: str) -> Frame:
        found: Frame = self.state()["questions"].get(qid, {})
        return found

"""The follow-up's question groups (pure logic): a merged question is listed under the kept
question its merge chain ends at; one whose chain ends at a missing question or goes round is
listed apart, never counted and shown nowhere."""

from __future__ import annotations

from stream.admin.followup import QuestionGroups, group_questions
from stream.qa.model import Question, State


def q(qid: str, state: State = "approved", into: str = "") -> Question:
    return Question(id=qid, text=f"text {qid}", uid="u", state=state, into=into)


def shown(groups: QuestionGroups) -> set[str]:
    kept = groups.answered + groups.unanswered + groups.held_back
    ids = {k.id for k in kept} | {m.id for m in groups.merged_elsewhere}
    for k in kept:
        ids |= {m.id for m in groups.merged.get(k.id, [])}
    return ids


def test_a_chain_of_merges_lands_under_the_question_kept() -> None:
    questions = [
        q("root", "answered"),
        q("mid", "merged", into="root"),
        q("leaf", "merged", into="mid"),
        q("leaf2", "merged", into="leaf"),
    ]
    groups = group_questions(questions)
    assert {m.id for m in groups.merged["root"]} == {"mid", "leaf", "leaf2"}
    assert "mid" not in groups.merged
    assert "leaf" not in groups.merged
    assert groups.merged_elsewhere == []
    assert shown(groups) == {x.id for x in questions}
    assert groups.counts() == {
        "total": 4,
        "answered": 1,
        "unanswered": 0,
        "held_back": 0,
        "merged": 3,
    }


def test_a_missing_target_or_a_cycle_is_listed_apart() -> None:
    questions = [
        q("kept", "pending"),
        q("lost", "merged", into="gone"),
        q("lost2", "merged", into="lost"),
        q("a", "merged", into="b"),
        q("b", "merged", into="a"),
        q("self", "merged", into="self"),
        q("blank", "merged", into=""),
        q("fine", "merged", into="kept"),
    ]
    groups = group_questions(questions)
    assert {m.id for m in groups.merged_elsewhere} == {"lost", "lost2", "a", "b", "self", "blank"}
    assert [m.id for m in groups.merged["kept"]] == ["fine"]
    assert shown(groups) == {x.id for x in questions}
    assert groups.total == len(questions)
    assert groups.counts()["merged"] == 7

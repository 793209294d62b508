"""Redis key names of a session's Q&A and polls, in the chat's hash slot (``{session}``).

Question and poll ids are generated here (``q12``, ``p3``) and user ids are validated by the
chat, so no key can break out of its session.
"""

from __future__ import annotations


def _base(session_id: str) -> str:
    return f"chat:{{{session_id}}}:qa"


def question_seq_key(session_id: str) -> str:
    return f"{_base(session_id)}:seq"


def question_key(session_id: str, qid: str) -> str:
    """Hash: text, name, uid, anon, source, state, votes, v (revision), ts, pos, askers, ..."""
    return f"{_base(session_id)}:q:{qid}"


def voters_key(session_id: str, qid: str) -> str:
    """Set of user ids who upvoted the question (a vote counts once, whichever node took it)."""
    return f"{_base(session_id)}:voters:{qid}"


def order_key(session_id: str) -> str:
    """Sorted set: every question id by the time it was asked."""
    return f"{_base(session_id)}:order"


def score_key(session_id: str) -> str:
    """Sorted set: questions the audience sees, by votes."""
    return f"{_base(session_id)}:score"


def states_key(session_id: str) -> str:
    """Hash: how many questions are in each state, kept by the scripts that change a state;
    field ``~counted`` once it was counted from the questions themselves."""
    return f"{_base(session_id)}:states"


def stage_key(session_id: str) -> str:
    """The id of the question on stage (at most one)."""
    return f"{_base(session_id)}:stage"


def settings_key(session_id: str) -> str:
    """Hash: premod (1/0), rejected (how many questions are rejected)."""
    return f"{_base(session_id)}:settings"


def vote_addresses_key(session_id: str, qid: str) -> str:
    """Hash: ``a:<address tag>`` → upvotes from that address, ``u:<uid>`` → the voter's tag."""
    return f"{_base(session_id)}:vaddr:{qid}"


def asked_by_address_key(session_id: str) -> str:
    """Hash: address tag → questions asked from that address in the session."""
    return f"{_base(session_id)}:asked"


def people_key(session_id: str) -> str:
    """Set of user ids that have asked, voted or answered in the session's Q&A."""
    return f"{_base(session_id)}:people"


def ask_dedup_key(session_id: str, uid: str, cid: str) -> str:
    return f"{_base(session_id)}:cid:{uid}:{cid}"


def poll_seq_key(session_id: str) -> str:
    return f"{_base(session_id)}:pseq"


def polls_key(session_id: str) -> str:
    """Sorted set: every poll id by creation time."""
    return f"{_base(session_id)}:polls"


def poll_key(session_id: str, pid: str) -> str:
    """Hash: question, kind, options (JSON), n (options), state, v, voters, created."""
    return f"{_base(session_id)}:poll:{pid}"


def poll_answers_key(session_id: str, pid: str) -> str:
    """Hash: user id → their choices (JSON); one answer per person."""
    return f"{_base(session_id)}:poll:{pid}:answers"


def poll_addresses_key(session_id: str, pid: str) -> str:
    """Hash: address tag → answers from that address."""
    return f"{_base(session_id)}:poll:{pid}:addr"


def poll_counts_key(session_id: str, pid: str) -> str:
    """Hash: option index → how many chose it."""
    return f"{_base(session_id)}:poll:{pid}:counts"


def poll_words_key(session_id: str, pid: str) -> str:
    """Sorted set: a word cloud's normalised entries by how many gave them (hidden ones too)."""
    return f"{_base(session_id)}:poll:{pid}:words"


def poll_labels_key(session_id: str, pid: str) -> str:
    """Hash: normalised entry → the spelling shown (the first one given)."""
    return f"{_base(session_id)}:poll:{pid}:labels"


def poll_hidden_key(session_id: str, pid: str) -> str:
    """Set of normalised entries a moderator hid from the cloud."""
    return f"{_base(session_id)}:poll:{pid}:hidden"


def poll_screen_key(session_id: str) -> str:
    """The id of the closed poll whose result is on screen (at most one) until cleared."""
    return f"{_base(session_id)}:pscreen"

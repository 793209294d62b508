"""Q&A and poll limits, as named constants beside nothing else (the modules import them)."""

from __future__ import annotations

MAX_QUESTION_LENGTH = 300
MIN_QUESTION_LENGTH = 3
# The rates of asking, voting and answering polls (per identity and per address) are in
# stream/common/rates.py, with every other rate of the platform.
# Questions a session holds at most (the snapshot a client starts from stays bounded).
MAX_QUESTIONS_PER_SESSION = 2000
# Questions one address may have in a session (a share of the cap: one address cannot fill it).
MAX_QUESTIONS_PER_ADDRESS = MAX_QUESTIONS_PER_SESSION // 10
# Everything stored, rejected questions included (they do not count toward the cap above).
MAX_STORED_QUESTIONS_PER_SESSION = 2 * MAX_QUESTIONS_PER_SESSION
# Upvotes one address may have on one question, and answers it may have in one poll (a room
# on the venue's network shares one address; a reconnecting flooder gets no further).
MAX_VOTES_PER_ADDRESS_PER_QUESTION = 100
MAX_POLL_ANSWERS_PER_ADDRESS = 100
MAX_ANSWER_LENGTH = 1000
# The live delay a player may report (how far behind live the asker was watching).
MAX_DELAY_MS = 10 * 60 * 1000
# How long a client's ask id is remembered (a retried ask is stored once).
ASK_DEDUP_TTL_SECONDS = 3600

MAX_POLL_QUESTION_LENGTH = 200
MAX_OPTION_LENGTH = 100
MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_POLLS_PER_SESSION = 100
# Rating polls: the options are fixed, 1 to 5.
RATING_OPTIONS = ("1", "2", "3", "4", "5")
# Word clouds: entries one person gives, an entry's length (after trimming), the distinct
# entries a poll keeps (an entry new to a full poll is not counted: storage stays bounded),
# and how many of the most given entries viewers are shown.
MAX_WORDS_PER_ANSWER = 3
MAX_WORD_LENGTH = 40
MAX_DISTINCT_WORDS_PER_POLL = 500
WORD_CLOUD_TOP = 40

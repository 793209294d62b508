"""Q&A and poll limits, as named constants beside nothing else (the modules import them)."""

from __future__ import annotations

MAX_QUESTION_LENGTH = 300
MIN_QUESTION_LENGTH = 3
# Questions one person may ask per minute (counted in Redis: across every node).
QUESTIONS_PER_MINUTE = 5
ASK_RATE_WINDOW_SECONDS = 60
# Questions a session holds at most (the snapshot a client starts from stays bounded).
MAX_QUESTIONS_PER_SESSION = 2000
# Upvotes and withdrawals one person may send per second (per process), and at once.
VOTES_PER_SECOND = 10.0
VOTE_BURST = 40
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

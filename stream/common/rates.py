"""Every rate limit of the platform, in one place (counted by :class:`stream.common.limits.Limiter`
in Redis, so every node shares one allowance). Each action a visitor can take is limited per
identity *and* per address; the address limits are looser (a school or a hotel shares one)."""

from __future__ import annotations

from stream.common.limits import Rate

# Logins: every attempt counted before its password is checked, per account and per address (a
# correct password waits out a lock-out too; a good login clears its account's count).
LOGIN_PER_ACCOUNT = Rate("login-account", per_second=10 / 900, burst=10)
LOGIN_PER_ADDRESS = Rate("login-address", per_second=30 / 900, burst=30)

# Accounts and programme
# Viewer sign-ups per address: five at once, then one every twelve minutes.
SIGNUP_PER_ADDRESS = Rate("signup-address", per_second=5 / 3600, burst=5)

# Q&A and polls: asking, upvoting and answering polls, per identity and per address (a room on
# the venue's network shares one address, so the address limits are a room's worth).
QA_ASK_PER_IDENTITY = Rate("qa-ask-id", per_second=5 / 60, burst=5)
QA_ASK_PER_ADDRESS = Rate("qa-ask-addr", per_second=1 / 2, burst=30)
QA_VOTE_PER_IDENTITY = Rate("qa-vote-id", per_second=5, burst=30)
QA_VOTE_PER_ADDRESS = Rate("qa-vote-addr", per_second=50, burst=500)
QA_POLL_ANSWER_PER_IDENTITY = Rate("qa-poll-id", per_second=1, burst=10)
QA_POLL_ANSWER_PER_ADDRESS = Rate("qa-poll-addr", per_second=20, burst=300)
# Identities new to a session's Q&A (a reconnecting viewer without its token is one).
QA_NEW_IDENTITY_PER_ADDRESS = Rate("qa-identity-addr", per_second=1 / 5, burst=40)

# Media
# WHEP offers per address: a burst for a room of people behind one NAT joining at once, then
# one a second (a player that reconnects needs far less).
WHEP_OFFERS_PER_ADDRESS = Rate("whep-offer-address", per_second=1.0, burst=30)
# WHIP/WHEP resource requests (trickle PATCH, DELETE) passed on to the node holding the peer,
# per address: each costs that node a request too, so ids forged with a real node's tag are
# limited (a client's own trickle and DELETE stay far below; a venue's NAT has room).
RESOURCE_FORWARDS_PER_ADDRESS = Rate("resource-forward-address", per_second=10.0, burst=100)

# Chat
# Messages (and name changes) per identity; per address looser, for a venue behind one NAT.
CHAT_SEND_PER_IDENTITY = Rate("chat-send-id", per_second=1.0, burst=5)
CHAT_SEND_PER_ADDRESS = Rate("chat-send-addr", per_second=20.0, burst=60)
# New chat identities (a first display name) per address: a banned guest who comes back as
# someone new gets a few, not endless ones.
CHAT_NEW_IDENTITY_PER_ADDRESS = Rate("chat-identity-addr", per_second=0.5, burst=50)

"""Every rate limit of the platform, in one place (counted by :class:`stream.common.limits.Limiter`
in Redis, so every node shares one allowance). Each action a visitor can take is limited per
identity *and* per address; the address limits are looser (a school or a hotel shares one)."""

from __future__ import annotations

from stream.common.limits import Rate

# Logins: failures per account and per address (a correct password waits out a lock-out too).
LOGIN_PER_ACCOUNT = Rate("login-account", per_second=10 / 900, burst=10)
LOGIN_PER_ADDRESS = Rate("login-address", per_second=20 / 900, burst=20)

# Chat
# Messages (and name changes) per identity; per address looser, for a venue behind one NAT.
CHAT_SEND_PER_IDENTITY = Rate("chat-send-id", per_second=1.0, burst=5)
CHAT_SEND_PER_ADDRESS = Rate("chat-send-addr", per_second=20.0, burst=60)
# New chat identities (a first display name) per address: a banned guest who comes back as
# someone new gets a few, not endless ones.
CHAT_NEW_IDENTITY_PER_ADDRESS = Rate("chat-identity-addr", per_second=0.5, burst=50)

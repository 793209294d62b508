"""Every rate limit of the platform, in one place (counted by :class:`stream.common.limits.Limiter`
in Redis, so every node shares one allowance). Each action a visitor can take is limited per
identity *and* per address; the address limits are looser (a school or a hotel shares one)."""

from __future__ import annotations

from stream.common.limits import Rate

# Logins: failures per account and per address (a correct password waits out a lock-out too).
LOGIN_PER_ACCOUNT = Rate("login-account", per_second=10 / 900, burst=10)
LOGIN_PER_ADDRESS = Rate("login-address", per_second=20 / 900, burst=20)

# Media
# WHEP offers per address: a burst for a room of people behind one NAT joining at once, then
# one a second (a player that reconnects needs far less).
WHEP_OFFERS_PER_ADDRESS = Rate("whep-offer-address", per_second=1.0, burst=30)

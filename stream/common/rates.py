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

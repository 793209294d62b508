"""What each role may do, as a table."""

from __future__ import annotations

import pytest

from stream.common.grants import Identity, Permission, Role

ADMIN = Identity("admin", "Admin", Role.ADMIN)
ARRANGER = Identity("anna", "Anna", Role.ARRANGER, arranger="skog")
MODERATOR = Identity("mo", "Mo", Role.MODERATOR, arranger="skog", sessions=frozenset({"own"}))
SPEAKER = Identity("sp", "Sp", Role.SPEAKER, arranger="skog", sessions=frozenset({"own"}))
# (identity, permission, session id, session's arranger) → allowed
CASES = [
    (ADMIN, Permission.MANAGE, "any", "noden", True),
    (ADMIN, Permission.MODERATE, "any", "", True),
    (ARRANGER, Permission.MANAGE, "own", "skog", True),
    (ARRANGER, Permission.MODERATE, "own", "skog", True),
    (ARRANGER, Permission.MANAGE, "other", "noden", False),
    (ARRANGER, Permission.MODERATE, "other", "noden", False),
    (ARRANGER, Permission.MANAGE, "loose", "", False),
    (MODERATOR, Permission.MODERATE, "own", "skog", True),
    (MODERATOR, Permission.PRESENT, "own", "skog", True),
    (MODERATOR, Permission.MANAGE, "own", "skog", False),
    (MODERATOR, Permission.MODERATE, "unassigned", "skog", False),
    (SPEAKER, Permission.PRESENT, "own", "skog", True),
    (SPEAKER, Permission.MODERATE, "own", "skog", False),
    (SPEAKER, Permission.PRESENT, "unassigned", "skog", False),
]


@pytest.mark.parametrize(("identity", "permission", "session", "owner", "allowed"), CASES)
def test_permissions(
    identity: Identity, permission: Permission, session: str, owner: str, allowed: bool
) -> None:
    assert identity.may(permission, session, owner) is allowed


def test_who_may_make_which_accounts() -> None:
    assert ADMIN.may_grant() == tuple(Role)
    assert ARRANGER.may_grant() == (Role.MODERATOR, Role.SPEAKER)
    assert MODERATOR.may_grant() == ()
    assert ARRANGER.may_manage_account(Role.MODERATOR, "skog")
    assert not ARRANGER.may_manage_account(Role.MODERATOR, "noden")
    assert not ARRANGER.may_manage_account(Role.ARRANGER, "skog")
    assert not ARRANGER.may_manage_account(Role.ADMIN, "")
    assert not SPEAKER.may_manage_account(Role.SPEAKER, "skog")

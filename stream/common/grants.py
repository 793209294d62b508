"""Roles and what each may do.

- **admin**: everything.
- **arranger** (staff of one arranger): that arranger's sessions and keys, and moderators and
  speakers for them.
- **moderator**: chat and Q&A of the sessions assigned to them.
- **speaker**: the stage view of the sessions assigned to them.
- **viewer** (registered, signs up at ``/register``): chats under their own name where a
  session's chat admits registered participants only; no staff pages. Viewers without an
  account are anonymous with a display name (the chat's business).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ARRANGER = "arranger"
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    VIEWER = "viewer"


class Permission(StrEnum):
    MANAGE = "manage"  # edit the session, see and rotate its key, assign its staff
    MODERATE = "moderate"  # chat and Q&A moderation
    PRESENT = "present"  # the stage view


# Roles that work on the programme and may open the staff pages.
STAFF_ROLES = (Role.ADMIN, Role.ARRANGER, Role.MODERATOR, Role.SPEAKER)
# Roles whose accounts belong to an arranger; an admin may also leave them unattached.
ARRANGER_ROLES = (Role.ARRANGER, Role.MODERATOR, Role.SPEAKER)
# Roles that work on assigned sessions only.
ASSIGNED_ROLES = (Role.MODERATOR, Role.SPEAKER)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request: a logged-in staff member."""

    username: str
    display_name: str
    role: Role
    arranger: str = ""  # arranger id, for arranger staff (and their moderators/speakers)
    sessions: frozenset[str] = frozenset()  # assigned sessions (moderators and speakers)
    via_link: bool = False  # granted by a moderator link, not an account

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def manages_arranger(self, arranger_id: str) -> bool:
        if self.is_admin:
            return True
        return self.role is Role.ARRANGER and bool(arranger_id) and arranger_id == self.arranger

    def may(self, permission: Permission, session_id: str, arranger_id: str) -> bool:
        """May this identity do ``permission`` on the session (owned by ``arranger_id``)?"""
        if self.manages_arranger(arranger_id):
            return True
        if permission is Permission.MANAGE:
            return False
        assigned = session_id in self.sessions
        if permission is Permission.MODERATE:
            return self.role is Role.MODERATOR and assigned
        return self.role in ASSIGNED_ROLES and assigned  # PRESENT: moderators see the stage too

    def may_grant(self) -> tuple[Role, ...]:
        """The roles of accounts this identity may create and edit."""
        if self.is_admin:
            return tuple(Role)
        if self.role is Role.ARRANGER:
            return ASSIGNED_ROLES
        return ()

    def may_manage_account(self, role: Role, arranger_id: str) -> bool:
        if self.is_admin:
            return True
        return (
            self.role is Role.ARRANGER
            and role in ASSIGNED_ROLES
            and bool(arranger_id)
            and arranger_id == self.arranger
        )

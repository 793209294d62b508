"""Staff accounts: ``user:{username}`` hashes, the ``users`` set, ``arranger:{id}:staff``.

Passwords are stored as argon2 hashes only. Changing a password or deleting an account ends
every login of that account at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from redis.asyncio.client import Pipeline

from stream.auth.logins import user_logins_key
from stream.auth.passwords import hash_password_async, password_problem
from stream.common.errors import Conflict, NotFound
from stream.common.grants import ARRANGER_ROLES, ASSIGNED_ROLES, Identity, Role
from stream.common.records import (
    begin_writes,
    decode,
    fields,
    load_hashes,
    members,
    text,
    texts,
    transact,
)
from stream.common.validation import (
    MAX_NAME_LENGTH,
    Errors,
    FieldError,
    Invalid,
    check_text,
)
from stream.program.arrangers import arranger_key, arranger_staff_key
from stream.program.sessions import session_key
from stream.store import Redis

USERS_SET = "users"
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MAX_ASSIGNED_SESSIONS = 100


def user_key(username: str) -> str:
    return f"user:{username}"


def normalise_username(username: str) -> str:
    return username.strip().lower()


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    role: Role
    arranger: str = ""
    sessions: tuple[str, ...] = ()
    password_hash: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        errors = Errors()
        if not USERNAME_PATTERN.fullmatch(self.username):
            errors.add(
                "username",
                "bad_username",
                "a username is 2-40 lowercase letters, digits, '.', '_' or '-'",
            )
        check_text(errors, "display_name", self.display_name, limit=MAX_NAME_LENGTH, required=True)
        if self.role is Role.ARRANGER and not self.arranger:
            errors.add("arranger", "arranger_required", "arranger staff belong to an arranger")
        if self.role not in ARRANGER_ROLES and self.arranger:
            errors.add("arranger", "arranger_not_allowed", "an admin belongs to no arranger")
        if self.role not in ASSIGNED_ROLES and self.sessions:
            errors.add("sessions", "sessions_not_allowed", "only moderators and speakers")
        if len(self.sessions) > MAX_ASSIGNED_SESSIONS:
            errors.add(
                "sessions",
                "too_many",
                f"at most {MAX_ASSIGNED_SESSIONS} sessions",
                limit=MAX_ASSIGNED_SESSIONS,
            )
        errors.raise_if_any()

    def identity(self) -> Identity:
        return Identity(
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            arranger=self.arranger,
            sessions=frozenset(self.sessions),
        )

    def to_hash(self) -> dict[str, str]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "arranger": self.arranger,
            "sessions": json.dumps(list(self.sessions)),
            "password_hash": self.password_hash,
        }

    @classmethod
    def from_hash(cls, values: dict[str, str]) -> User:
        return cls(
            username=values["username"],
            display_name=values.get("display_name", ""),
            role=Role(values.get("role", "speaker")),
            arranger=values.get("arranger", ""),
            sessions=tuple(json.loads(values.get("sessions") or "[]")),
            password_hash=values.get("password_hash", ""),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "arranger": self.arranger,
            "sessions": list(self.sessions),
        }


def check_password(password: str, field_name: str = "password") -> None:
    problem = password_problem(password)
    if problem is not None:
        message = "the password is too short" if problem == "password_short" else "too long"
        raise Invalid([FieldError(field_name, problem, message)])


class UserStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, user: User, password: str) -> User:
        check_password(password)
        user = replace(user, password_hash=await hash_password_async(password))
        return await self._write(user, create=True)

    async def update(self, user: User) -> User:
        """Change role, name, arranger or assignments; the password stays."""
        return await self._write(user, create=False)

    async def _write(self, user: User, *, create: bool) -> User:
        key = user_key(user.username)

        async def body(pipe: Pipeline) -> User:
            old = decode(await pipe.hgetall(key))
            if create and old:
                raise Conflict(f"the username {user.username!r} is taken")
            if not create and not old:
                raise NotFound(f"no user {user.username!r}")
            stored = user if create else replace(user, password_hash=old["password_hash"])
            await self._check_references(pipe, stored)
            if old.get("role") == Role.ADMIN and stored.role is not Role.ADMIN:
                await self._keep_an_admin(pipe, stored.username)
            begin_writes(pipe)
            pipe.hset(key, mapping=fields(stored.to_hash()))
            pipe.sadd(USERS_SET, stored.username)
            if old.get("arranger") and old["arranger"] != stored.arranger:
                pipe.srem(arranger_staff_key(old["arranger"]), stored.username)
            if stored.arranger:
                pipe.sadd(arranger_staff_key(stored.arranger), stored.username)
            return stored

        return await transact(self.redis, body, key)

    async def _check_references(self, pipe: Pipeline, user: User) -> None:
        problems: list[FieldError] = []
        if user.arranger:
            await pipe.watch(arranger_key(user.arranger))
            if not await pipe.exists(arranger_key(user.arranger)):
                problems.append(FieldError("arranger", "unknown_arranger", "no such arranger"))
        for session_id in user.sessions:
            owner = await pipe.hget(session_key(session_id), "arranger_id")
            if owner is None:
                problems.append(FieldError("sessions", "unknown_session", "no such session"))
                break
            if user.arranger and text(owner) != user.arranger:
                problems.append(
                    FieldError("sessions", "foreign_session", "a session of another arranger")
                )
                break
        if problems:
            raise Invalid(problems)

    async def _keep_an_admin(self, pipe: Pipeline, leaving: str) -> None:
        others = [name for name in await members(self.redis, USERS_SET) if name != leaving]
        for values in await load_hashes(self.redis, [user_key(name) for name in others]):
            if values.get("role") == Role.ADMIN:
                return
        raise Conflict("this is the last admin: make another admin first")

    async def set_password(self, username: str, password: str) -> None:
        """A new password; every login of the account ends."""
        check_password(password)
        password_hash = await hash_password_async(password)
        key = user_key(username)
        logins = user_logins_key(username)

        async def body(pipe: Pipeline) -> None:
            if not await pipe.exists(key):
                raise NotFound(f"no user {username!r}")
            tokens = texts(await pipe.smembers(logins))
            begin_writes(pipe)
            pipe.hset(key, "password_hash", password_hash)
            for token_key in tokens:
                pipe.delete(token_key)
            pipe.delete(logins)

        await transact(self.redis, body, key, logins)

    async def get(self, username: str) -> User:
        found = await self.find(username)
        if found is None:
            raise NotFound(f"no user {username!r}")
        return found

    async def find(self, username: str) -> User | None:
        username = normalise_username(username)
        if not USERNAME_PATTERN.fullmatch(username):
            return None
        values = decode(await self.redis.hgetall(user_key(username)))
        return User.from_hash(values) if values else None

    async def all(self) -> list[User]:
        names = await members(self.redis, USERS_SET)
        users = [
            User.from_hash(v)
            for v in await load_hashes(self.redis, [user_key(n) for n in names])
            if v
        ]
        return sorted(users, key=lambda u: (u.role != Role.ADMIN, u.display_name.casefold()))

    async def count(self) -> int:
        return int(await self.redis.scard(USERS_SET))

    async def delete(self, username: str) -> None:
        key = user_key(username)
        logins = user_logins_key(username)

        async def body(pipe: Pipeline) -> None:
            old = decode(await pipe.hgetall(key))
            if not old:
                raise NotFound(f"no user {username!r}")
            if old.get("role") == Role.ADMIN:
                await self._keep_an_admin(pipe, username)
            tokens = texts(await pipe.smembers(logins))
            begin_writes(pipe)
            pipe.delete(key)
            pipe.srem(USERS_SET, username)
            if old.get("arranger"):
                pipe.srem(arranger_staff_key(old["arranger"]), username)
            for token_key in tokens:
                pipe.delete(token_key)
            pipe.delete(logins)

        await transact(self.redis, body, key, logins)

"""Staff passwords: argon2id hashes (argon2-cffi's defaults), verified off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 512  # argon2 hashes anything, but a megabyte of "password" is an attack

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong
# password and the timing does not tell which accounts exist (one per hasher in use).
_dummy_hashes = {id(_hasher): _hasher.hash("not a password of anyone")}


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash with ``hasher`` from now on (tests use cheap parameters); returns the previous
    one. Existing hashes keep verifying: argon2 hashes carry their own parameters."""
    global _hasher
    previous, _hasher = _hasher, hasher
    if id(hasher) not in _dummy_hashes:
        _dummy_hashes[id(hasher)] = hasher.hash("not a password of anyone")
    return previous


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used (a message code), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password_long"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        dummy = _dummy_hashes[id(_hasher)]
        return _hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored_hash, password)

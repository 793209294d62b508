from __future__ import annotations

from stream.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    password_problem,
    verify_password,
)


def test_argon2_hashes_verify_only_the_right_password() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batter")
    assert not verify_password("not a hash", "correct horse battery")


def test_an_unknown_account_never_verifies() -> None:
    assert not verify_password(None, "not a password of anyone")
    assert not verify_password(None, "anything")


def test_password_rules() -> None:
    assert password_problem("short") == "password_short"
    assert password_problem("x" * (MAX_PASSWORD_LENGTH + 1)) == "password_long"
    assert password_problem("long enough!") is None
    assert not verify_password(hash_password("x" * 10), "x" * (MAX_PASSWORD_LENGTH + 1))

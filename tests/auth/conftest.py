from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth.staff import cheap_passwords


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield

from __future__ import annotations

import pytest

from stream.common.validation import Invalid, slugify
from stream.program.arrangers import Arranger
from stream.program.events import Event
from stream.program.studios import Studio
from tests.program.conftest import DAY


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Skellefteå kommun", "skelleftea-kommun"),
        ("Region Västerbotten", "region-vasterbotten"),
        ("  Öppet hus!! ", "oppet-hus"),
        ("???", "item"),
    ],
)
def test_slugs_fold_swedish_letters(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(Invalid) as caught:
        Event("Bad Id", "", DAY, DAY.replace(day=1), languages=("svenska",))
    fields = {(e.field, e.code) for e in caught.value.errors}
    assert fields == {
        ("id", "bad_id"),
        ("name", "required"),
        ("end_date", "end_before_start"),
        ("languages", "languages"),
    }
    assert caught.value.status == 400


def test_oversized_and_control_characters_are_refused() -> None:
    with pytest.raises(Invalid) as caught:
        Studio("s", "x" * 201, location="Campus\x00Umeå")
    codes = {e.code for e in caught.value.errors}
    assert codes == {"too_long", "control_characters"}
    limits = [dict(e.params) for e in caught.value.errors if e.code == "too_long"]
    assert limits == [{"limit": "200"}]


def test_an_arranger_website_must_be_http() -> None:
    with pytest.raises(Invalid, match="website"):
        Arranger("a", "A", website="javascript:alert(1)")
    assert Arranger("a", "A", website="https://example.org").website


def test_reserved_ids_are_refused() -> None:
    with pytest.raises(Invalid, match="reserved"):
        Studio("new", "New")

"""The UI catalogues: both languages complete, and every key the pages use exists.

No browser needed: this reads ``web/i18n``, ``web/templates`` and ``web/static/js``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from string import Formatter

import pytest

from stream.config import WEB_DIR
from stream.http.i18n import DEFAULT_LANGUAGE, LANGUAGES

# t("key") / t('key') in templates; in scripts every string literal that looks like a key of
# one of the catalogue's prefixes (scripts keep their keys literal for exactly this check).
TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
SCRIPT_KEY = re.compile(
    r"""["'`]((?:site|nav|footer|programme|watch|studio|error)\.[a-z0-9_.]+)["'`]"""
)
PLURAL_BASES = ("programme.viewers", "watch.viewers")
# The public pages and their scripts (the admin, moderation and chat parts check their own).
PAGES = ("base.html", "error.html", "icons.html", "programme.html", "studio.html", "watch.html")
SCRIPTS = (
    "audience.js",
    "i18n.js",
    "player.js",
    "player/*.js",
    "programme.js",
    "rtc.js",
    "studio.js",
    "studio/*.js",
)


def load(lang: str) -> dict[str, str]:
    texts: dict[str, str] = json.loads((WEB_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return texts


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_every_language_has_every_key() -> None:
    default = load(DEFAULT_LANGUAGE)
    for lang in LANGUAGES:
        texts = load(lang)
        assert sorted(set(default) - set(texts)) == [], f"{lang} lacks keys"
        assert sorted(set(texts) - set(default)) == [], f"{lang} has keys Swedish lacks"
        for key, value in texts.items():
            assert isinstance(value, str), f"{lang}:{key} is not text"
            assert value.strip(), f"{lang}:{key} is empty"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_and_format(lang: str) -> None:
    default = load(DEFAULT_LANGUAGE)
    for key, value in load(lang).items():
        names = placeholders(value)
        assert names == placeholders(default[key]), f"{lang}:{key} placeholders differ"
        value.format(**dict.fromkeys(names, "x"))  # what the server's gettext does


def used_keys(paths: list[Path], pattern: re.Pattern[str]) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in paths:
        for key in pattern.findall(path.read_text("utf-8")):
            used.setdefault(key, set()).add(path.name)
    return used


def test_keys_used_by_the_pages_and_their_scripts_exist() -> None:
    known = set(load(DEFAULT_LANGUAGE))
    used = used_keys([WEB_DIR / "templates" / name for name in PAGES], TEMPLATE_KEY)
    scripts = [
        path for pattern in SCRIPTS for path in sorted((WEB_DIR / "static" / "js").glob(pattern))
    ]
    for key, files in used_keys(scripts, SCRIPT_KEY).items():
        used.setdefault(key, set()).update(files)
    missing = {
        key: sorted(files)
        for key, files in used.items()
        if key not in known and key not in PLURAL_BASES and not key.endswith(".")
    }
    assert missing == {}
    for base in PLURAL_BASES:
        assert f"{base}.other" in known
        assert f"{base}.one" in known

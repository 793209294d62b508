"""Swedish (default) and English UI strings, and choosing the language of a request.

Catalogues live in ``web/i18n/{lang}.json`` (flat key → text) so pages and their scripts share
them; a key missing from a catalogue falls back to Swedish, then to the key itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
LANG_COOKIE = "lang"


@dataclass(frozen=True, slots=True)
class Catalogues:
    texts: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, directory: Path) -> Catalogues:
        texts: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            path = directory / f"{lang}.json"
            texts[lang] = json.loads(path.read_text("utf-8")) if path.exists() else {}
        return cls(texts)

    def gettext(self, lang: str, key: str, /, **params: object) -> str:
        text = self.texts.get(lang, {}).get(key) or self.texts[DEFAULT_LANGUAGE].get(key) or key
        return text.format(**params) if params else text


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins, then the remembered cookie, then the browser's preference, then Swedish."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().lower()
            primary = tag.split("-")[0]
            if primary in LANGUAGES:
                return primary
    return DEFAULT_LANGUAGE

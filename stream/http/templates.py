"""Jinja2 pages: autoescaped, with the request's language and its catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from stream.http.i18n import LANG_COOKIE, LANGUAGES, Catalogues, choose_language

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


class Templates:
    def __init__(self, environment: jinja2.Environment, catalogues: Catalogues) -> None:
        self.environment = environment
        self.catalogues = catalogues

    def render(
        self, request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
    ) -> web.Response:
        lang = choose_language(
            request.query.get("lang"),
            request.cookies.get(LANG_COOKIE),
            request.headers.get("Accept-Language"),
        )

        def t(key: str, **params: object) -> str:
            return self.catalogues.gettext(lang, key, **params)

        html = self.environment.get_template(name).render(
            lang=lang,
            languages=LANGUAGES,
            t=t,
            catalogue=self.catalogues.texts[lang],
            path=request.path,
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        if request.query.get("lang") in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", httponly=False
            )
        return response


def make_templates(web_dir: Path) -> Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(web_dir / "templates")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Templates(environment, Catalogues.load(web_dir / "i18n"))

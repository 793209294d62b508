"""Jinja2 pages: autoescaped, with the request's language and its catalogue."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from stream.http.i18n import LANG_COOKIE, LANGUAGES, Catalogues, choose_language
from stream.http.middleware import CONTENT_SECURITY_POLICY

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


class Assets:
    """Versioned ``/static`` URLs (a content hash in ``?v=``), read once at start-up.

    ``url`` is the templates' ``asset()``. A module's relative imports drop the entry's query,
    so ``import_map`` maps every module to its versioned URL too; CSP admits it by its hash.
    """

    def __init__(self, static_dir: Path) -> None:
        self.versions = {
            path.relative_to(static_dir).as_posix(): _content_version(path)
            for path in sorted(static_dir.rglob("*"))
            if path.is_file()
        }
        imports = {
            f"/static/{name}": self.url(name) for name in self.versions if name.endswith(".js")
        }
        self.import_map = json.dumps({"imports": imports}).replace("<", "\\u003c")
        digest = base64.b64encode(hashlib.sha256(self.import_map.encode()).digest()).decode()
        self.content_security_policy = CONTENT_SECURITY_POLICY.replace(
            "script-src 'self'", f"script-src 'self' 'sha256-{digest}'"
        )

    def url(self, name: str) -> str:
        version = self.versions.get(name)
        return f"/static/{name}?v={version}" if version else f"/static/{name}"


def _content_version(path: Path) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()[:16]


class Templates:
    def __init__(
        self, environment: jinja2.Environment, catalogues: Catalogues, assets: Assets
    ) -> None:
        self.environment = environment
        self.catalogues = catalogues
        self.assets = assets

    def render(
        self, request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
    ) -> web.Response:
        lang = choose_language(
            request.query.get("lang"),
            request.cookies.get(LANG_COOKIE),
            request.headers.get("Accept-Language"),
        )

        def t(key: str, **params: object) -> str:
            if any(isinstance(value, Markup) for value in params.values()):
                # Markup (a time from ``when.time``) goes in as it is, the rest escaped.
                return escape(self.catalogues.gettext(lang, key)).format(**params)
            return self.catalogues.gettext(lang, key, **params)

        html = self.environment.get_template(name).render(
            lang=lang,
            languages=LANGUAGES,
            t=t,
            catalogue=self.catalogues.texts[lang],
            path=request.path,
            asset=self.assets.url,
            import_map=self.assets.import_map,
            **context,
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        response.headers["Content-Security-Policy"] = self.assets.content_security_policy
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
    return Templates(environment, Catalogues.load(web_dir / "i18n"), Assets(web_dir / "static"))

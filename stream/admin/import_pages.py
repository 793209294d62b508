"""The admin's import page: upload a CSV or pretalx/frab JSON, see the report."""

from __future__ import annotations

import logging

from aiohttp import web

from stream.admin.access import require_admin
from stream.http import identity as guard
from stream.http.keys import REDIS
from stream.http.render import render
from stream.program.drafts import Problem
from stream.program.importer import MAX_IMPORT_BYTES, ImportOptions, import_drafts, read_file
from stream.program.programme import load_programme

logger = logging.getLogger(__name__)


async def _page(
    request: web.Request, *, report: object = None, status: int = 200, options: object = None
) -> web.Response:
    programme = await load_programme(request.app[REDIS])
    return await render(
        request,
        "admin/import.html",
        {
            "events": list(programme.events.values()),
            "arrangers": list(programme.arrangers.values()),
            "report": report,
            "options": options or ImportOptions(),
            "max_kib": MAX_IMPORT_BYTES // 1024,
        },
        status=status,
    )


async def import_page(request: web.Request) -> web.StreamResponse:
    await require_admin(request)
    return await _page(request)


async def import_submit(request: web.Request) -> web.StreamResponse:
    identity = await require_admin(request)
    posted = await request.post()
    token = posted.get(guard.CSRF_FIELD)
    await guard.check_csrf(request, token if isinstance(token, str) else "")
    upload = posted.get("file")

    def text(name: str) -> str:
        value = posted.get(name)
        return value.strip() if isinstance(value, str) else ""

    options = ImportOptions(
        event=text("event"),
        arranger=text("arranger"),
        create_missing=text("create_missing") == "on",
        dry_run=text("dry_run") == "on",
    )
    if isinstance(upload, web.FileField) and upload.filename:
        data = upload.file.read(MAX_IMPORT_BYTES + 1)
        drafts, problems = read_file(data, upload.filename)
    else:
        drafts, problems = [], [Problem("file", "choose a file to import")]
    report = await import_drafts(request.app[REDIS], drafts, options, problems)
    logger.info(
        "import by %s: %d created, %d updated, %d problems%s",
        identity.username,
        len(report.created),
        len(report.updated),
        len(report.problems),
        " (dry run)" if report.dry_run else "",
    )
    return await _page(request, report=report, options=options, status=200)

"""The QR code to a session's phone page, as inline SVG (drawn with paths: no styles, no
scripts, so the strict CSP allows it)."""

from __future__ import annotations

import functools

import segno

QR_SCALE = 4
QR_BORDER = 2
MAX_URL_LENGTH = 300


@functools.lru_cache(maxsize=256)
def qr_svg(url: str, title: str = "") -> str:
    """An ``<svg>`` element encoding ``url`` (black on white, scalable by CSS)."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters")
    code = segno.make(url, error="m", micro=False)
    svg: str = code.svg_inline(
        scale=QR_SCALE,
        border=QR_BORDER,
        dark="#000",
        light="#fff",
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=title or None,
    )
    return svg

"""Debian's Chromium for browser tests, driven by Playwright (never a downloaded browser).

The flags give it a fake camera and microphone, let WebRTC use loopback candidates with real
addresses (no mDNS names), and keep it from reaching out to the network on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"browser tests need Debian's chromium at {CHROMIUM}"
)

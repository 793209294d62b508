"""The wheel is the product: built, installed in a fresh virtualenv, started elsewhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
# What a build needs; build/ and *.egg-info left in a checkout must not reach the wheel.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "stream", "web")
PAGES = ("/", "/s/demo")
CSS = ("text/css",)
JS = ("text/javascript", "application/javascript")
ASSET = re.compile(r'(?:href|src)="(/static/[^"?]+\.(?:css|js))(?:\?[^"]*)?"')


def run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get_content_type(), response.read()


def build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    source, dist = tmp_path / "source", tmp_path / "dist"
    source.mkdir()
    skip = shutil.ignore_patterns("__pycache__")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, source, cwd=source, env=env)
    (wheel,) = dist.glob("stream-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_built_wheel_serves_pages_and_assets_from_another_directory(tmp_path: Path) -> None:
    # Only the virtualenv's own packages: no PYTHONPATH pointing back at this checkout.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not key.startswith("STREAM_")
    }
    wheel = build_wheel(tmp_path, env)
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("stream/web/")}
    expected = {
        "stream/" + path.relative_to(ROOT).as_posix()
        for path in (ROOT / "web").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped == expected, "the wheel carries web/ as stream/web/"

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=env)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path, env=env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(
        python, "-c", "import stream, stream.config as c; print(stream.__file__); print(c.WEB_DIR)",
        cwd=elsewhere, env=env,
    ).split()  # fmt: skip
    site = venv / "lib"
    assert all(Path(path).is_relative_to(site) for path in where), where

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "stream"), "serve", "--demo", "--host", "127.0.0.1",
                "--port", str(port), "--rtmp-port", "0", "--ice-host", "127.0.0.1",
                "--data-dir", str(tmp_path / "data"),
            ],
            cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "server exited:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "server not up:\n" + log_path.read_text()
            try:
                if get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assets: set[str] = set()
        for page in PAGES:
            status, kind, body = get(base + page)
            assert (status, kind) == (200, "text/html"), page
            assets.update(ASSET.findall(body.decode()))
        assert any(path.endswith(".css") for path in assets), assets
        assert any(path.endswith(".js") for path in assets), assets
        for path in sorted(assets):
            status, kind, body = get(base + path)
            assert status == 200, path
            assert kind in (CSS if path.endswith(".css") else JS), (path, kind)
            assert body, path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert code == 0, log_path.read_text()

    # The same installed command as a supervisor of two workers (each ``stream serve
    # --worker-of``, started from the wheel's interpreter).
    log_path = tmp_path / "workers.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "stream"), "serve", "--workers", "2", "--host", "127.0.0.1",
                "--port", str(port), "--rtmp-port", "0", "--data-dir", str(tmp_path / "data"),
            ],
            cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        seen: set[int] = set()
        while seen != {0, 1}:
            assert process.poll() is None, "server exited:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "workers not up:\n" + log_path.read_text()
            try:
                status, _, body = get(f"{base}/healthz")
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                seen.add(json.loads(body)["worker"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    assert code == 0, log_path.read_text()

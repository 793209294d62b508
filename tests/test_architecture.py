"""The house rules, checked on the code itself: the layers and contracts in pyproject.toml,
no import cycle among the packages, one AppKey module, one URL builder, a guard on every route."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp

from stream.app import ROUTES, create_app
from stream.auth import guards
from stream.config import Settings
from stream.http.routing import Guard

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "stream"
MAX_MODULE_LINES = 500


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_import_cycle_among_packages() -> None:
    graph = grimp.build_graph("stream", exclude_type_checking_imports=True)
    edges = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = module.split(".")[:2], imported.split(".")[:2]
            if a != b:
                edges.add((".".join(a), ".".join(b)))
    assert sorted((a, b) for a, b in edges if (b, a) in edges) == []


def test_one_appkey_module_and_one_url_builder() -> None:
    appkeys, url_builders = [], []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        if re.search(r"web\.AppKey\(", source):
            appkeys.append(path.relative_to(PACKAGE).as_posix())
        if re.search(r"request\.scheme\}://|f\"\{request\.scheme\}", source):
            url_builders.append(path.relative_to(PACKAGE).as_posix())
    assert appkeys == ["http/keys.py"]
    assert url_builders == ["http/urls.py"]


def test_modules_stay_small() -> None:
    data = {"program/demo_programme.py"}  # the demo event's programme: data, not logic
    big = {
        path.relative_to(PACKAGE).as_posix(): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert {k: v for k, v in big.items() if k not in data} == {}


def test_every_route_names_a_known_guard(tmp_path: Path) -> None:
    known = {g for g in vars(guards).values() if isinstance(g, Guard)}
    for route in ROUTES:
        assert isinstance(route.guard, Guard), route.path
        assert route.guard.name, route.path
        assert route.guard in known or route.path.startswith("/whip/"), route.path
    app = create_app(Settings(data_dir=tmp_path))
    mounted = [
        r
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
        if not r.resource.canonical.startswith("/static")
    ]
    assert len(mounted) == len(ROUTES)  # nothing is added beside the table
    assert [(r.method, r.resource.canonical) for r in mounted if r.resource] == [
        (route.method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)) for route in ROUTES
    ]

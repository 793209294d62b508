"""Packaging beyond pyproject.toml: the top-level ``web/`` folder ships inside the package.

In the repository, templates, static files and translations live in ``web/``; the wheel
carries them as ``stream/web/`` (``stream.config.WEB_DIR`` finds either).
"""

from setuptools import find_namespace_packages, find_packages, setup

# Every folder under web/ is listed (setuptools warns about unlisted importable folders);
# the recursive pattern also takes files in folders whose names are not Python names.
WEB = ["stream.web", *(f"stream.web.{name}" for name in find_namespace_packages(where="web"))]

setup(
    packages=[*find_packages(include=["stream", "stream.*"]), *WEB],
    package_dir={"stream.web": "web"},
    package_data={"stream": ["py.typed"], "stream.web": ["**/*"]},
)

"""``stream import FILE`` and ``stream admin create-user|set-password``: the programme and
the first accounts from a terminal. Passwords come from a file, ``STREAM_ADMIN_PASSWORD``, a
pipe or a prompt, never from the command line (which other users can read in ``ps``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from stream.auth.users import User, UserStore, normalise_username
from stream.common.errors import StreamError
from stream.common.grants import Role
from stream.common.validation import Invalid
from stream.config import ConfigError, Settings
from stream.program.importer import (
    MAX_IMPORT_BYTES,
    ImportOptions,
    import_drafts,
    read_file,
)
from stream.store import Redis, use_redis

PASSWORD_ENV = "STREAM_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a value


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis]:
    """The server's Redis: ``--redis-url``, else a running server's embedded one in the data
    directory (named in its lock file), else the embedded server started just for this command."""
    async with use_redis(settings.redis_url, settings.data_dir) as client:
        yield client


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(redis_url=args.redis_url, data_dir=args.data_dir)


def run_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            print(f"stream import: {path} is larger than {MAX_IMPORT_BYTES} bytes", file=sys.stderr)
            return 2
        data = path.read_bytes()
        settings = _settings(args)
    except OSError as exc:
        print(f"stream import: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"stream import: {exc}", file=sys.stderr)
        return 2
    drafts, problems = read_file(data, path.name)
    options = ImportOptions(
        event=args.event or "",
        arranger=args.arranger or "",
        create_missing=args.create_missing,
        dry_run=args.dry_run,
    )

    async def run() -> tuple[str, bool]:
        async with open_redis(settings) as redis:
            report = await import_drafts(redis, drafts, options, problems)
        return report.text() + "\n", report.ok

    try:
        text, ok = asyncio.run(run())
    except ConfigError as exc:
        print(f"stream import: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0 if ok else 1


def read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        return Path(args.password_file).read_text("utf-8").rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the passwords differ")
    return first


def run_create_user(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        password = read_password(args)
        username = normalise_username(args.username)
        user = User(
            username=username,
            display_name=args.name or username,
            role=Role(args.role),
            arranger=args.arranger or "",
        )
    except Invalid as exc:
        _print_invalid(exc)
        return 1
    except (ConfigError, OSError, ValueError) as exc:
        print(f"stream admin: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        async with open_redis(settings) as redis:
            await UserStore(redis).create(user, password)

    return _report(run, f"created {user.role} {user.username}")


def run_set_password(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        password = read_password(args)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"stream admin: {exc}", file=sys.stderr)
        return 2
    username = normalise_username(args.username)

    async def run() -> None:
        async with open_redis(settings) as redis:
            await UserStore(redis).set_password(username, password)

    return _report(run, f"new password set for {username}")


def _report(action: Callable[[], Coroutine[Any, Any, None]], done: str) -> int:
    try:
        asyncio.run(action())
    except Invalid as exc:
        _print_invalid(exc)
        return 1
    except StreamError as exc:
        print(f"stream admin: {exc.detail}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"stream admin: {exc}", file=sys.stderr)
        return 2
    print(done)
    return 0


def _print_invalid(exc: Invalid) -> None:
    for error in exc.errors:
        print(f"stream admin: {error.field}: {error.message}", file=sys.stderr)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", help="the server's Redis (default: the embedded one)")
    parser.add_argument("--data-dir", type=Path, help="the server's data directory (.data)")


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a CSV file or a pretalx/frab schedule.json")
    parser.add_argument("--event", help="id of the event the sessions belong to")
    parser.add_argument("--arranger", help="arranger (id or name) for rows that name none")
    parser.add_argument(
        "--create-missing",
        action="store_true",
        help="create the arrangers and studios the file names that do not exist yet",
    )
    parser.add_argument("--dry-run", action="store_true", help="check only; save nothing")
    add_connection_arguments(parser)


def add_admin_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="admin_command", required=True)
    create = commands.add_parser(
        "create-user",
        help="create a staff account (password from --password-file, "
        f"${PASSWORD_ENV}, stdin or a prompt)",
    )
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    create.add_argument("--name", help="display name (default: the username)")
    create.add_argument("--arranger", help="arranger id (arranger staff, moderators, speakers)")
    create.add_argument("--password-file", help="read the password from this file")
    add_connection_arguments(create)
    create.set_defaults(func=run_create_user)
    password = commands.add_parser("set-password", help="give an account a new password")
    password.add_argument("username")
    password.add_argument("--password-file", help="read the password from this file")
    add_connection_arguments(password)
    password.set_defaults(func=run_set_password)

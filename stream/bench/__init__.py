"""``stream bench WHAT``: benchmarks that print figures measured side by side in one run.

Each benchmark is a module ``stream.bench.WHAT`` with ``add_arguments(parser)`` and
``run(args) -> int``; this package only dispatches.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = ("relay", "record", "chat", "qa")


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    benchmarks = parser.add_subparsers(dest="what", required=True)
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"stream.bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"stream.bench.{name}":
                raise
            continue
        sub = benchmarks.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(sub)
        sub.set_defaults(bench_module=module)


def run_bench(args: argparse.Namespace) -> int:
    result: int = args.bench_module.run(args)
    return result

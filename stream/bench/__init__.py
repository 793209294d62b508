"""``stream bench``: benchmarks that print figures measured side by side in one run."""

from __future__ import annotations

import argparse


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=["relay"], help="what to measure")


def run_bench(args: argparse.Namespace) -> int:
    raise SystemExit(f"stream bench {args.what}: not implemented yet")

"""Command-line options the benchmarks share: which strategies to run side by side (the first
is the baseline the others are compared with) and the tick of the coalescing one."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def strategies_type(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(part.strip() for part in text.split(",") if part.strip())
        if not values or any(value not in allowed for value in values):
            raise argparse.ArgumentTypeError(f"strategies are {', '.join(allowed)}")
        return values

    return parse


def add_strategy_arguments(
    parser: argparse.ArgumentParser,
    allowed: tuple[str, ...],
    *,
    what: str,
    tick_ms: float,
    tick_of: str,
) -> None:
    """``--strategies`` (``what`` they choose), ``--tick-ms`` (the ``tick_of`` strategy's) and
    ``--json`` (always on: one JSON object is the last line)."""
    parser.add_argument(
        "--strategies",
        type=strategies_type(allowed),
        default=allowed,
        help=f"{what} to run, the first is the baseline ({','.join(allowed)})",
    )
    parser.add_argument(
        "--tick-ms",
        type=float,
        default=tick_ms,
        help=f"the {tick_of} strategy's tick (default {tick_ms:g})",
    )
    parser.add_argument(
        "--json", action="store_true", help="(always on) one JSON object is the last line"
    )

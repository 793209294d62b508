"""What the archive holds on disk: bytes per recording, the live HLS's bytes, and the data
directory's free space (for ``/admin/recordings`` and its JSON). Blocking: call in a thread."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


def directory_bytes(directory: Path) -> int:
    """The size of every file under ``directory`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


@dataclass(frozen=True, slots=True)
class DiskUsage:
    recordings: int  # bytes of every recording
    hls: int  # bytes of the live HLS segments
    free: int  # bytes free on the data directory's file system (-1: unknown)
    total: int  # that file system's size (-1: unknown)

    def as_json(self) -> dict[str, int | None]:
        return {
            "recordings_bytes": self.recordings,
            "hls_bytes": self.hls,
            "free_bytes": self.free if self.free >= 0 else None,
            "disk_bytes": self.total if self.total >= 0 else None,
        }


def disk_usage(recordings: Path, hls: Path, data_dir: Path) -> DiskUsage:
    try:
        usage = shutil.disk_usage(data_dir)
        free, total = usage.free, usage.total
    except OSError:
        free = total = -1
    return DiskUsage(directory_bytes(recordings), directory_bytes(hls), free, total)


def human_bytes(count: int) -> str:
    """``1.5 GB``: decimal units, one decimal from MB on."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "kB" else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``."""
    whole = max(round(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

"""A real RTMP publisher for tests: PyAV (FFmpeg's rtmp protocol + flv muxer), in a child process.

FFmpeg's RTMP client blocks holding the GIL while it connects, so it cannot share a process
with the asyncio server under test; :class:`PublisherProcess` runs this module as a script.
It encodes H.264 baseline (libx264, an IDR every ``--gop`` frames) and AAC (FFmpeg's ``aac``)
from synthetic pictures and a 440 Hz tone, paced in real time, until ``--seconds`` have passed
or its stdin closes; then it unpublishes cleanly. It exits 0 after a clean publish, 1 when the
server refused it, and prints the frame counts as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import math
import sys
import threading
import time

import av
import numpy as np

WIDTH, HEIGHT, FPS = 320, 180, 30
AUDIO_RATE = 44_100
AAC_FRAME = 1024


def publish(url: str, seconds: float, gop: int, stop: threading.Event) -> dict[str, int]:
    counts = {"video": 0, "audio": 0}
    container = av.open(url, mode="w", format="flv")
    try:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 300_000
        video.codec_context.gop_size = gop
        video.codec_context.options = {
            "profile": "baseline",
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        audio.bit_rate = 96_000
        start = time.monotonic()
        samples = 0
        while not stop.is_set() and time.monotonic() - start < seconds:
            delay = start + counts["video"] / FPS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            index = counts["video"]
            picture = np.full((HEIGHT, WIDTH, 3), (index * 4) % 256, dtype=np.uint8)
            picture[:, : (index * 3) % WIDTH, 1] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            frame.time_base = fractions.Fraction(1, FPS)
            for packet in video.encode(frame):
                container.mux(packet)
            counts["video"] += 1
            while samples < counts["video"] * AUDIO_RATE / FPS:
                t = (np.arange(samples, samples + AAC_FRAME) / AUDIO_RATE).astype(np.float32)
                tone = (0.2 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
                sound = av.AudioFrame.from_ndarray(
                    np.stack([tone, tone]), format="fltp", layout="stereo"
                )
                sound.sample_rate = AUDIO_RATE
                sound.pts = samples
                sound.time_base = fractions.Fraction(1, AUDIO_RATE)
                for packet in audio.encode(sound):
                    container.mux(packet)
                samples += AAC_FRAME
                counts["audio"] += 1
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    finally:
        container.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--gop", type=int, default=FPS)
    args = parser.parse_args()
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent wants us to stop
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        counts = publish(args.url, args.seconds, args.gop, stop)
    except (av.FFmpegError, OSError) as exc:
        print(f"publish failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(counts), flush=True)
    return 0


class PublisherProcess:
    """Runs this module as a child process (for async tests)."""

    def __init__(self, url: str, *, seconds: float = 20.0, gop: int = FPS) -> None:
        self.args = [url, "--seconds", str(seconds), "--gop", str(gop)]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> PublisherProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.ingest.rtmp.avclient",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return self

    async def finish(self, timeout: float = 15.0) -> tuple[int, str, str]:
        """Ask it to stop (close stdin), wait for it; (exit code, stdout, stderr)."""
        process = self.process
        assert process is not None
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        return await self.wait(timeout)

    async def wait(self, timeout: float = 15.0) -> tuple[int, str, str]:
        """Wait for it to end by itself; (exit code, stdout, stderr)."""
        process = self.process
        assert process is not None
        try:
            async with asyncio.timeout(timeout):
                out, err = await process.communicate()
        except TimeoutError:
            process.kill()
            out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def kill(self) -> None:
        """Stop abruptly (no unpublish): the server must notice the dropped connection."""
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.communicate()


if __name__ == "__main__":
    sys.exit(main())

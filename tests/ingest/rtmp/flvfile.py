"""FLV bytes for tests: encode H.264 + AAC once with PyAV into an in-memory FLV, split its tags."""

from __future__ import annotations

import fractions
import io
import math
from dataclasses import dataclass

import av
import numpy as np

WIDTH, HEIGHT, FPS = 320, 180, 30
AUDIO_RATE = 44_100
AAC_FRAME = 1024
FLV_HEADER = 9 + 4  # header, then PreviousTagSize0
TAG_HEADER = 11


@dataclass(frozen=True, slots=True)
class FlvTag:
    type_id: int  # 8 audio, 9 video, 18 script data
    timestamp: int  # milliseconds
    body: bytes
    raw: bytes  # the whole tag with its header and back-pointer (what librtmp's RTMP_Write takes)


def encode_flv(seconds: float = 3.0, gop: int = FPS) -> bytes:
    buffer = io.BytesIO()
    container = av.open(buffer, mode="w", format="flv")
    video = container.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.codec_context.gop_size = gop
    video.codec_context.options = {
        "profile": "baseline",
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
    }
    audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
    samples = 0
    for index in range(int(seconds * FPS)):
        picture = np.full((HEIGHT, WIDTH, 3), (index * 4) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = index
        frame.time_base = fractions.Fraction(1, FPS)
        for packet in video.encode(frame):
            container.mux(packet)
        while samples < (index + 1) * AUDIO_RATE / FPS:
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
    for stream in (video, audio):
        for packet in stream.encode(None):
            container.mux(packet)
    container.close()
    return buffer.getvalue()


def flv_tags(data: bytes) -> list[FlvTag]:
    if data[:3] != b"FLV":
        raise ValueError("not an FLV file")
    tags: list[FlvTag] = []
    pos = FLV_HEADER
    while pos + TAG_HEADER <= len(data):
        type_id = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        timestamp = int.from_bytes(data[pos + 4 : pos + 7], "big") | (data[pos + 7] << 24)
        end = pos + TAG_HEADER + size + 4
        body = data[pos + TAG_HEADER : pos + TAG_HEADER + size]
        tags.append(FlvTag(type_id, timestamp, body, data[pos:end]))
        pos = end
    return tags

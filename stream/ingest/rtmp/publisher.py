"""An RTMP publisher: one connection's FLV media, pushed into its session's room.

H.264 passes through (AVCC → Annex-B, SPS/PPS before each IDR), timed by presentation time at
90 kHz. AAC becomes Opus (48 kHz) in a worker thread. RTMP has no way to ask the encoder for a
keyframe, so the room keeps the frames since the last one and starts new viewers from there.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

from stream.ingest.rtmp.audio import AacToOpus
from stream.ingest.rtmp.chunks import TIMESTAMP_MODULO
from stream.ingest.rtmp.flv import (
    AAC_SEQUENCE_HEADER,
    AVC_NALU,
    AVC_SEQUENCE_HEADER,
    AnnexBConverter,
    parse_aac_config,
    parse_audio_tag,
    parse_video_tag,
)
from stream.rooms.room import Room

logger = logging.getLogger(__name__)

VIDEO_TICKS_PER_MS = 90


class TimestampUnwrapper:
    """RTMP's 32-bit millisecond timestamps wrap after 49.7 days; this keeps counting."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._offset = 0

    def __call__(self, timestamp: int) -> int:
        timestamp %= TIMESTAMP_MODULO
        if self._last is not None and self._last - timestamp > TIMESTAMP_MODULO // 2:
            self._offset += TIMESTAMP_MODULO
        self._last = timestamp
        return timestamp + self._offset


class RtmpPublisher:
    answers_keyframe_requests = False

    def __init__(
        self, room: Room, log_prefix: str, on_stop: Callable[[str], None] | None = None
    ) -> None:
        self.id = secrets.token_hex(8)
        self.room = room
        self.log_prefix = log_prefix
        self._on_stop = on_stop
        self._video = AnnexBConverter()
        self._audio: AacToOpus | None = None
        self._video_clock = TimestampUnwrapper()
        self._audio_clock = TimestampUnwrapper()
        self._warned: set[str] = set()
        self.video_frames = 0
        self.audio_frames = 0

    def request_keyframe(self) -> None:
        """Nothing to do: RTMP cannot ask for a keyframe (the room's GOP cache covers it)."""

    async def stop(self, reason: str) -> None:
        """Ends the connection (``on_stop``), which detaches this publisher from its room."""
        if self._on_stop is not None:
            self._on_stop(reason)
        else:
            self.room.detach(self)

    @property
    def attached(self) -> bool:
        return self.room.publisher is self

    def video(self, payload: bytes, timestamp: int) -> None:
        """One video message; raises ``RtmpError`` for what cannot be passed through."""
        tag = parse_video_tag(payload)
        if tag.packet_type == AVC_SEQUENCE_HEADER:
            config = self._video.configure(tag.body)
            logger.info(
                "%s H.264 profile %d level %d", self.log_prefix, config.profile, config.level
            )
            return
        if tag.packet_type != AVC_NALU:
            return
        if self._video.config is None:
            self._warn_once("no-avc-config", "video before its AVC sequence header: dropped")
            return
        annexb = self._video.convert(tag.body)
        if not annexb or not self.attached:
            return
        if tag.composition_time:
            self._warn_once(
                "b-frames",
                "H.264 with B-frames: viewers may stutter; set the encoder's B-frames to 0",
            )
        pts = max(0, self._video_clock(timestamp) + tag.composition_time)
        self.video_frames += 1
        self.room.push("video", "H264", annexb, pts * VIDEO_TICKS_PER_MS)

    async def audio(self, payload: bytes, timestamp: int) -> None:
        """One audio message: AAC is transcoded to Opus off the event loop."""
        tag = parse_audio_tag(payload)
        if tag.packet_type < 0:
            self._warn_once(
                "audio-format", f"audio format {tag.sound_format} is not AAC: audio dropped"
            )
            return
        if tag.packet_type == AAC_SEQUENCE_HEADER:
            config = parse_aac_config(tag.body)
            logger.info(
                "%s AAC object type %d, %d Hz, channel config %d",
                self.log_prefix,
                config.object_type,
                config.sample_rate,
                config.channels,
            )
            if self._audio is None:
                self._audio = await asyncio.to_thread(AacToOpus, config, self.log_prefix)
            else:
                await asyncio.to_thread(self._audio.reconfigure, config)
            return
        if self._audio is None:
            self._warn_once("no-aac-config", "audio before its AAC sequence header: dropped")
            return
        opus = await asyncio.to_thread(
            self._audio.transcode, tag.body, self._audio_clock(timestamp)
        )
        if not self.attached:
            return
        for data, opus_timestamp in opus:
            self.audio_frames += 1
            self.room.push("audio", "opus", data, opus_timestamp)

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            logger.warning("%s %s", self.log_prefix, message)

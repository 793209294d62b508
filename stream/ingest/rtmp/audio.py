"""AAC → Opus, once per RTMP publisher (WebRTC viewers play Opus, not AAC).

Decode AAC with PyAV, resample to s16 stereo 48 kHz (what the Opus encoder takes), re-chunk
into 20 ms frames and encode with libopus. Costs about 0.25 ms of CPU per 21 ms AAC frame;
:meth:`AacToOpus.transcode` is synchronous, so callers run it in a worker thread.

Timestamps: each Opus frame gets the 48 kHz time of its first sample, counted from the RTMP
timestamp of the AAC frame that started the timeline; a jump in the RTMP timestamps larger
than :data:`MAX_DRIFT` (the encoder paused, or its clock stepped) restarts the count there.
"""

from __future__ import annotations

import fractions
import logging

import av

from stream.ingest.rtmp.errors import RtmpError
from stream.ingest.rtmp.flv import AacConfig

logger = logging.getLogger(__name__)

OPUS_RATE = 48_000
OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz
OPUS_BITRATE = 96_000  # stereo speech and music
MAX_DRIFT = OPUS_RATE // 10  # 100 ms between the RTMP clock and the sample count
MAX_BAD_FRAMES = 50  # undecodable AAC frames in a row before the publisher is dropped
SAMPLES_PER_MS = OPUS_RATE // 1000


class AacToOpus:
    def __init__(self, config: AacConfig, log_prefix: str = "") -> None:
        self._log_prefix = log_prefix
        self._decoder = _aac_decoder(config)
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=OPUS_RATE)
        self._encoder = av.CodecContext.create("libopus", "w")
        self._encoder.sample_rate = OPUS_RATE
        self._encoder.layout = "stereo"
        self._encoder.format = "s16"
        self._encoder.bit_rate = OPUS_BITRATE
        self._encoder.time_base = fractions.Fraction(1, OPUS_RATE)
        self._encoder.open()
        self._fifo = av.AudioFifo()
        self._next_in: int | None = None  # 48 kHz time of the next sample into the FIFO
        self._last_out: int | None = None
        self._bad_frames = 0

    def reconfigure(self, config: AacConfig) -> None:
        """A new AudioSpecificConfig mid-stream: new decoder, same Opus timeline."""
        self._decoder = _aac_decoder(config)
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=OPUS_RATE)

    def transcode(self, aac: bytes, timestamp_ms: int) -> list[tuple[bytes, int]]:
        """Opus frames (data, 48 kHz timestamp) completed by one raw AAC frame."""
        try:
            decoded = self._decoder.decode(av.Packet(aac))
        except av.FFmpegError as exc:
            self._bad_frames += 1
            if self._bad_frames > MAX_BAD_FRAMES:
                raise RtmpError(f"{self._bad_frames} undecodable AAC frames in a row") from exc
            logger.debug("%s dropped an undecodable AAC frame: %s", self._log_prefix, exc)
            return []
        self._bad_frames = 0
        timestamp = timestamp_ms * SAMPLES_PER_MS
        if self._next_in is None or abs(timestamp - self._next_in) > MAX_DRIFT:
            if self._next_in is not None:
                logger.info("%s audio timeline jumped; resynchronised", self._log_prefix)
            self._next_in = timestamp
        for frame in decoded:
            for resampled in self._resampler.resample(frame):
                resampled.pts = None
                self._fifo.write(resampled)
                self._next_in += resampled.samples
        return self._drain()

    def _drain(self) -> list[tuple[bytes, int]]:
        out: list[tuple[bytes, int]] = []
        assert self._next_in is not None
        while self._fifo.samples >= OPUS_FRAME_SAMPLES:
            timestamp = self._next_in - self._fifo.samples
            if self._last_out is not None:
                timestamp = max(timestamp, self._last_out + OPUS_FRAME_SAMPLES)
            frame = self._fifo.read(OPUS_FRAME_SAMPLES)
            if frame is None:
                break
            frame.pts = None
            for packet in self._encoder.encode(frame):
                out.append((bytes(packet), timestamp))
                self._last_out = timestamp
        return out


def _aac_decoder(config: AacConfig) -> av.AudioCodecContext:
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = config.raw
    return decoder

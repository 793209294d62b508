"""Every private part of aiortc (1.16) the relay relies on, in one place to check on upgrade.

aiortc has no encoded-frame API. The relay needs four hooks, each per object (never
process-wide): a receiver's jitter buffer and decoder queue (to take encoded frames out), a
sender's encoder (to put pre-packetized frames in) and a sender's keyframe hook (to route a
viewer's PLI to the publisher). ``check()`` fails loudly if a hook is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RtpPacket

_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_SENDER_ENCODER = "_RTCRtpSender__encoder"


def check_receiver(receiver: RTCRtpReceiver) -> None:
    for name in (_RECEIVER_JITTER_BUFFER, _RECEIVER_DECODER_QUEUE):
        if not hasattr(receiver, name):
            raise RuntimeError(f"unsupported aiortc version: RTCRtpReceiver has no {name}")


def set_receiver_jitter_buffer(receiver: RTCRtpReceiver, buffer: object) -> None:
    check_receiver(receiver)
    setattr(receiver, _RECEIVER_JITTER_BUFFER, buffer)


def set_receiver_decoder_queue(receiver: RTCRtpReceiver, queue: object) -> None:
    check_receiver(receiver)
    setattr(receiver, _RECEIVER_DECODER_QUEUE, queue)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await receiver._send_rtcp_pli(media_ssrc)


def set_sender_encoder(sender: RTCRtpSender, encoder: object) -> None:
    if not hasattr(sender, _SENDER_ENCODER):
        raise RuntimeError(f"unsupported aiortc version: RTCRtpSender has no {_SENDER_ENCODER}")
    setattr(sender, _SENDER_ENCODER, encoder)


def set_sender_keyframe_hook(sender: RTCRtpSender, hook: Callable[[], None]) -> None:
    """Route the PLIs/FIRs a sender receives to ``hook`` (aiortc only flags its encoder)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise RuntimeError("unsupported aiortc version: RTCRtpSender has no _send_keyframe")
    setattr(sender, "_send_keyframe", hook)  # noqa: B010 - an instance override, on purpose


def depayloaded(packet: RtpPacket) -> bytes:
    """The codec payload aiortc's receiver depacketized (stored on the packet)."""
    data: Any = getattr(packet, "_data", b"")
    return bytes(data)

"""Publish a test pattern with FFmpeg's WHIP muxer (PyAV), as ``ffmpeg -f whip`` would.

``python -m tests.ingest.ffmpeg_whip URL KEY CERT KEYFILE SECONDS [dtls_active]``: H.264
(baseline, no B-frames, a keyframe every second) at 30 fps in real time for SECONDS, with the
given P-256 DTLS certificate. Run as a child process: the muxer blocks its thread, and a test
can end it abruptly (SIGKILL) to see what the server does when a publisher falls silent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import av
import cryptography.x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

FPS = 30


def write_p256_certificate(cert_file: Path, key_file: Path) -> None:
    """A self-signed P-256 certificate, as ``openssl req -x509 -newkey ec
    -pkeyopt ec_paramgen_curve:P-256`` makes (FFmpeg's own key is P-224, which aiortc refuses)."""
    import datetime

    key = ec.generate_private_key(ec.SECP256R1())
    name = cryptography.x509.Name(
        [cryptography.x509.NameAttribute(cryptography.x509.NameOID.COMMON_NAME, "whip")]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        cryptography.x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cryptography.x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def publish(url: str, key: str, cert: str, key_file: str, seconds: float, flags: str) -> None:
    options = {"authorization": key, "cert_file": cert, "key_file": key_file}
    if flags:
        options["whip_flags"] = flags
    source = av.open(f"testsrc=size=320x240:rate={FPS}", format="lavfi")
    output = av.open(url, mode="w", format="whip", options=options)
    stream = output.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.options = {
        "profile": "baseline",
        "tune": "zerolatency",
        "preset": "ultrafast",
        "bf": "0",
        "g": str(FPS),
    }
    start = time.monotonic()
    print("publishing", flush=True)
    for index, frame in enumerate(source.decode(video=0)):
        due = start + index / FPS
        if due - start > seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        for packet in stream.encode(frame.reformat(format="yuv420p")):
            output.mux(packet)
    output.close()
    source.close()


if __name__ == "__main__":
    url, key, cert, key_file, seconds = sys.argv[1:6]
    publish(url, key, cert, key_file, float(seconds), sys.argv[6] if len(sys.argv) > 6 else "")

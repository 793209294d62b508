"""RTMP ingest: OBS, FFmpeg and hardware encoders publish to ``rtmp://HOST:1935/live/<key>``.

Wire parts (each a sans-IO parser or writer, raising :class:`RtmpError` on bad input):
``handshake`` (C0/C1/C2), ``chunks`` (the chunk stream), ``amf`` (AMF0 commands), ``flv``
(video/audio tag bodies). ``audio`` turns AAC into Opus once per publisher; ``publisher`` pushes
a connection's media into its room; ``connection`` runs one client's command exchange; ``server``
is the listener with its limits; ``lookup`` finds the session a stream key belongs to; ``routes``
starts and stops the listener with the app.
"""

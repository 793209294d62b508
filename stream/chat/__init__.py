"""Live chat per session: a Redis Stream per session, one reader per session per process.

``log`` stores (Lua append with de-duplication), ``fanout`` reads and writes to this process's
sockets, ``policy`` and ``moderation`` keep it civil, ``chat`` ties them together for ``ws``.
"""

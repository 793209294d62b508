"""Q&A and polls per session, on the chat's socket and log.

``questions`` (asking), ``votes`` (upvotes), ``moderation`` (the queue, the stage) and ``polls``
change Redis atomically and append each change to the session's chat Stream, so every node's
fan-out carries it; ``snapshot`` is the state a joining client starts from; ``service`` answers
the socket's ``qa.*``/``poll.*`` frames; ``export`` writes CSV and JSON after the session.
"""

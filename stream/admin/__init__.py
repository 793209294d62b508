"""The staff back office: ``/admin`` pages and the ``stream import`` / ``stream admin`` commands."""

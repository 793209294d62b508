"""One error family; the HTTP layer renders each as a status and a short problem body."""

from __future__ import annotations


class StreamError(Exception):
    """An error a client caused or must know about. ``status`` is its HTTP status."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}


class BadRequest(StreamError):
    status = 400
    title = "Bad request"


class BadOffer(BadRequest):
    title = "Malformed or unsupported SDP offer"


class Unauthorized(StreamError):
    status = 401
    title = "Unauthorized"


class Forbidden(StreamError):
    status = 403
    title = "Forbidden"


class NotFound(StreamError):
    status = 404
    title = "Not found"


class MethodNotAllowed(StreamError):
    status = 405
    title = "Method not allowed"


class Conflict(StreamError):
    status = 409
    title = "Conflict"


class PreconditionFailed(StreamError):
    status = 412
    title = "Precondition failed"


class TooLarge(StreamError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(StreamError):
    status = 415
    title = "Unsupported media type"


class RateLimited(StreamError):
    status = 429
    title = "Too many requests"


class Unavailable(StreamError):
    status = 503
    title = "Service unavailable"

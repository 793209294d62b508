"""stream: a livestream and hybrid-event platform."""

__version__ = "0.1.0"

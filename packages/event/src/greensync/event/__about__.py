"""The version of greensync-event."""

__version__ = "0.1.0"

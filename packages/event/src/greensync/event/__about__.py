"""The version of greensync-event."""

__version__ = "0.3.0"

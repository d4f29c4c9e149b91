"""The version of greensync-timeout."""

__version__ = "0.1.0"

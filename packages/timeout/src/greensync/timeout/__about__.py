"""The version of greensync-timeout."""

__version__ = "0.2.1"

"""The version of greensync-lock."""

__version__ = "0.2.0"

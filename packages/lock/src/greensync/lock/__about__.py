"""The version of greensync-lock."""

__version__ = "0.3.0"

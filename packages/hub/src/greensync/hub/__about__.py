"""The version of greensync-hub."""

__version__ = "0.2.0"

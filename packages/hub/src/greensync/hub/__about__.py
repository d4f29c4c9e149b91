"""The version of greensync-hub."""

__version__ = "0.1.0"

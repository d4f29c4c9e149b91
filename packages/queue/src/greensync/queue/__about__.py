"""The version of greensync-queue."""

__version__ = "0.3.0"

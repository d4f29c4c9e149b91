"""The version of greensync-queue."""

__version__ = "0.1.0"

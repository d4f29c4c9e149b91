"""greensync.timeout: gevent's and eventlet's Timeout for greenlets on the greensync hub.

``Timeout`` raises an exception in the current greenlet after a delay (a context manager, a
``BaseException``); ``with_timeout`` calls a function under one; ``is_timeout`` and
``wrap_is_timeout`` are eventlet's markers for timeout-like exceptions.
"""

from __future__ import annotations

from .__about__ import __version__
from ._is_timeout import is_timeout, wrap_is_timeout
from ._timeout import Timeout, with_timeout

__all__ = ["Timeout", "__version__", "is_timeout", "with_timeout", "wrap_is_timeout"]

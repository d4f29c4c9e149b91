"""greensync.event: Event, AsyncResult and ValueEvent for greenlets.

* :class:`Event` -- a flag greenlets wait on (threading's, gevent's and asyncio's ``Event``).
* :class:`AsyncResult` -- a one-shot value or exception (gevent's ``AsyncResult``).
* :class:`ValueEvent` -- a resettable event that carries a value (eventlet's ``Event``).

All three park on :class:`greensync.hub.Linkable`, so they work with
:func:`greensync.hub.iwait` and :func:`greensync.hub.wait` and can be shared between OS threads.
"""

from __future__ import annotations

from .__about__ import __version__
from ._event import Event
from ._result import AsyncResult
from ._valueevent import ValueEvent

__all__ = ["AsyncResult", "Event", "ValueEvent", "__version__"]

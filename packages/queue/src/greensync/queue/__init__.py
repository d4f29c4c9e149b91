"""greensync.queue: queues and channels shared by greenlets, asyncio tasks and threads.

Greenlets and threads call ``put``/``get``; coroutines await ``async_put``/``async_get``; all
of them wait in one FIFO line.  ``Queue`` (alias ``JoinableQueue``), ``LifoQueue`` and
``PriorityQueue`` track tasks;
``SimpleQueue`` (alias ``LightQueue``) does not, and is the fastest; ``Channel`` is a rendezvous
of capacity zero.  ``Full`` and ``Empty`` are the standard library's ``queue.Full`` and
``queue.Empty``; ``ShutDown`` is ``queue.ShutDown`` on Python 3.13 and newer.
"""

from __future__ import annotations

from .__about__ import __version__
from ._channel import Channel
from ._common import Empty, Full, ShutDown
from ._queue import (
    JoinableQueue,
    LifoQueue,
    LightQueue,
    PriorityQueue,
    Queue,
    SimpleQueue,
)

__all__ = [
    "Channel",
    "Empty",
    "Full",
    "JoinableQueue",
    "LifoQueue",
    "LightQueue",
    "PriorityQueue",
    "Queue",
    "ShutDown",
    "SimpleQueue",
    "__version__",
]

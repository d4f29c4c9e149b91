"""greensync.lock: semaphores, locks, conditions and barriers for greenlets and asyncio tasks.

Every primitive here parks on the hub's public wait line: waiters -- greenlets, asyncio tasks
(the ``async_`` methods and ``async with``) and plain threads -- are served first come, first
served, a release hands the permit or the lock straight to the first waiter, a waiter that
leaves early gives back what it was handed, and everything is safe to share between OS
threads.  Uncontended use takes no mutex and never touches the hub.
"""

from __future__ import annotations

from .__about__ import __version__
from ._barrier import Barrier, BrokenBarrierError
from ._condition import Condition
from ._lock import Lock, RLock
from ._semaphore import BoundedSemaphore, CappedSemaphore, DummySemaphore, Semaphore

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "CappedSemaphore",
    "Condition",
    "DummySemaphore",
    "Lock",
    "RLock",
    "Semaphore",
    "__version__",
]

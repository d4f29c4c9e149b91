"""Lock and RLock: mutexes that hand ownership straight to the next waiter.

Why it looks like this
----------------------
Releasing a contended lock does not unlock it: :meth:`Linkable._handoff` gives it to the
first waiter, and it stays locked (for :class:`RLock`, owned by that waiter) until the waiter
runs.  The releaser cannot take it back by acquiring again at once, so waiters are served in
order and none starves under a tight acquire/release loop.  A waiter that was handed the lock
and then left early (timeout race, kill) gives it back through :meth:`_reclaim`, which passes
it to the next waiter or unlocks it.

An uncontended acquire or release is a ``threading.Lock`` round trip and an attribute store;
it never looks at the hub.  :class:`RLock` takes and drops recursion levels of its own
without even that.

The private helpers ``_unlock`` and ``_pass_on`` (mutex held) are what
:class:`~greensync.lock.Condition` uses to release the lock atomically with queueing itself.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from greenlet import getcurrent, greenlet

from greensync.hub import TIMED_OUT, Linkable

from ._util import check_acquire_timeout

__all__ = ["Lock", "RLock"]


class Lock(Linkable):
    """A mutex: one holder at a time, with ``threading.Lock`` and ``asyncio.Lock`` semantics.

    Any greenlet may release a locked Lock (it has no owner); releasing an unlocked one is a
    ``RuntimeError``.  Waiters get the lock in the order they asked for it, and a release
    hands it directly to the first of them.  Safe to share between OS threads, each running
    its own hub.  Not meant to be subclassed.

    Note:
        ``gevent.lock`` has no ``Lock``: gevent code uses ``Semaphore(1)``, which a double
        release silently raises to 2, or ``gevent.thread.LockType`` (what a monkey-patched
        ``threading.Lock`` is).  This one refuses a double release, as ``threading`` does.
    """

    __slots__ = ("_locked",)

    def __init__(self) -> None:
        super().__init__()
        self._locked = False

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<Lock {state} waiters={self.linkcount()}>"

    def locked(self) -> bool:
        """Return True if the lock is held."""
        return self._locked

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block."""
        return not self._locked

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock, waiting for it if necessary.

        Args:
            blocking: If False, do not wait: return False at once if the lock is held.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if the lock was taken, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block inside the hub (in a hub callback).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        mutex = self._mutex
        mutex.acquire()
        if not self._locked:  # the fast path: nothing here can raise
            self._locked = True
            mutex.release()
            return True
        try:
            if not blocking or timeout == 0.0:
                return False
            link = self._enqueue_waiter()
        finally:
            mutex.release()
        return self._park(link, timeout) is not TIMED_OUT

    def release(self) -> None:
        """Release the lock, handing it to the longest waiter if there is one.

        Never switches away from the caller.

        Raises:
            RuntimeError: the lock is not locked.
        """
        mutex = self._mutex
        mutex.acquire()
        if self._locked and not self.linkcount():  # nobody waits or listens: just unlock
            self._locked = False
            mutex.release()
            return
        try:
            if not self._locked:
                raise RuntimeError("cannot release an unlocked Lock")
            self._unlock()
        finally:
            mutex.release()

    def _unlock(self) -> None:
        """Hand the lock to the first waiter, or unlock it.  Hold ``_mutex``."""
        if self._handoff(True) is None:
            self._locked = False
            self._notify()

    def _reclaim(self, value: Any) -> None:
        # A waiter handed the lock left before it ran: the next one gets it, or it unlocks.
        self._unlock()

    def __enter__(self) -> bool:
        # acquire()'s fast path, inlined: a ``with`` block is the hottest use.
        mutex = self._mutex
        mutex.acquire()
        if not self._locked:
            self._locked = True
            mutex.release()
            return True
        mutex.release()
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # release()'s fast path, inlined.
        mutex = self._mutex
        mutex.acquire()
        if self._locked and not self.linkcount():
            self._locked = False
            mutex.release()
            return
        mutex.release()
        self.release()


class RLock(Linkable):
    """A reentrant mutex owned by a greenlet, with ``threading.RLock`` semantics.

    The owning greenlet may acquire it again; each :meth:`acquire` needs a matching
    :meth:`release`, and the lock is free once the count drops to zero.  Only the owner may
    release it.  Ownership passes directly to the longest waiter.  Safe to share between OS
    threads (ownership is per greenlet, and a greenlet lives in one thread).  Not meant to be
    subclassed.
    """

    __slots__ = ("_count", "_owner")

    def __init__(self) -> None:
        super().__init__()
        self._owner: greenlet | None = None
        self._count = 0

    def __repr__(self) -> str:
        owner = self._owner
        if owner is None:
            return f"<RLock unlocked waiters={self.linkcount()}>"
        return f"<RLock owner={owner!r} count={self._count} waiters={self.linkcount()}>"

    def locked(self) -> bool:
        """Return True if some greenlet holds the lock."""
        return self._owner is not None

    def ready(self) -> bool:
        """Return True if the lock is free."""
        return self._owner is None

    def _is_owned(self) -> bool:
        """Return True if the current greenlet holds the lock (``threading``'s name)."""
        return self._owner is getcurrent()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock, or one more level of it if this greenlet already holds it.

        Args:
            blocking: If False, do not wait: return False at once if another greenlet holds
                the lock.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if the lock was taken, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block inside the hub (in a hub callback).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        me = getcurrent()
        if self._owner is me:
            # Only the owner changes the count while it owns the lock: no mutex needed.
            self._count += 1
            return True
        mutex = self._mutex
        mutex.acquire()
        if self._owner is None:  # the fast path: nothing here can raise
            self._owner = me
            self._count = 1
            mutex.release()
            return True
        try:
            if not blocking or timeout == 0.0:
                return False
            link = self._enqueue_waiter()
        finally:
            mutex.release()
        if self._park(link, timeout) is TIMED_OUT:
            return False
        # The releaser made us the owner, with a count of 1, under the mutex; in another
        # thread it may still be doing so (the wake-up goes out first).  Wait until it is done.
        mutex.acquire()
        mutex.release()
        return True

    def release(self) -> None:
        """Drop one level of the lock; at zero, hand it to the longest waiter or free it.

        Raises:
            RuntimeError: the current greenlet does not hold the lock.
        """
        me = getcurrent()
        if self._owner is not me:
            raise RuntimeError(self._not_owner(me))
        count = self._count - 1
        if count:
            self._count = count
            return
        mutex = self._mutex
        mutex.acquire()
        if not self.linkcount():  # nobody waits or listens: just free it
            self._owner = None
            self._count = 0
            mutex.release()
            return
        try:
            self._pass_on()
        finally:
            mutex.release()

    def _not_owner(self, me: greenlet) -> str:
        owner = self._owner
        if owner is None:
            return f"cannot release an RLock that is not held (released by {me!r})"
        return f"cannot release an RLock owned by {owner!r}: {me!r} does not hold it"

    def _pass_on(self) -> None:
        """Make the first waiter the owner, or free the lock.  Hold ``_mutex``."""
        glet = self._handoff(True)
        self._owner = glet
        if glet is None:
            self._count = 0
            self._notify()
        else:
            self._count = 1

    def _reclaim(self, value: Any) -> None:
        # A waiter made the owner left before it ran: the next waiter gets it, or it is freed.
        self._pass_on()

    def __enter__(self) -> bool:
        # acquire()'s fast paths, inlined: a ``with`` block is the hottest use.
        me = getcurrent()
        if self._owner is me:
            self._count += 1
            return True
        mutex = self._mutex
        mutex.acquire()
        if self._owner is None:
            self._owner = me
            self._count = 1
            mutex.release()
            return True
        mutex.release()
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # release()'s fast paths, inlined.
        if self._owner is getcurrent():
            count = self._count - 1
            if count:
                self._count = count
                return
            mutex = self._mutex
            mutex.acquire()
            if not self.linkcount():
                self._owner = None
                self._count = 0
                mutex.release()
                return
            mutex.release()
        self.release()

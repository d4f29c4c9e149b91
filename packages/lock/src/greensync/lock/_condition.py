"""Condition: wait for a notification while holding a lock, threading-style.

Why it looks like this
----------------------
A notified waiter must get the lock back before :meth:`Condition.wait` returns.  Waking it
and letting it call ``acquire()`` would make every notified waiter wake only to block again
on the lock (a thundering herd for ``notify_all``).  Instead, when the lock is one of ours,
``notify`` moves the waiters' records from the condition's queue to the back of the lock's
queue (:meth:`Linkable._move_waiters`, both mutexes held, the condition's first): nobody
runs, and each waiter wakes exactly once, when the lock is handed to it.  For an
:class:`RLock` the waiter then puts back the recursion count it had before waiting.

``wait`` queues itself and releases the lock in one step (both mutexes held), so a notify
cannot slip in between and be missed.

Any other object with ``acquire()`` and ``release()`` works too, the plain way: the waiter
is woken and re-acquires the lock itself.

Rejected: a private waiter lock per ``wait`` call, as ``threading.Condition`` does (an
allocation per wait, and the herd above).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar

from greenlet import getcurrent

from greensync.hub import TIMED_OUT, Linkable, check_timeout, get_hub

from ._lock import Lock, RLock
from ._util import check_int

__all__ = ["Condition"]

T = TypeVar("T")


class SupportsAcquireRelease(Protocol):
    """Anything usable as a :class:`Condition`'s lock."""

    def acquire(self, blocking: bool = ...) -> bool: ...

    def release(self) -> object: ...


class _ConditionLine(Linkable):
    """The greenlets waiting in :meth:`Condition.wait`.  Private."""

    __slots__ = ("_cond",)

    def __init__(self, cond: Condition) -> None:
        super().__init__()
        self._cond = cond

    def __repr__(self) -> str:
        return repr(self._cond)

    def ready(self) -> bool:
        return False  # waiting on a condition always waits for a notify


class Condition:
    """Wait until notified, with a lock held around the check, as ``threading.Condition``.

    Hold the lock (``with cond:``) to call :meth:`wait`, :meth:`wait_for`, :meth:`notify` and
    :meth:`notify_all`.  :meth:`wait` releases the lock, parks until notified (or until its
    timeout), and re-acquires the lock before returning, however it returns.  Waiters are
    notified first come, first served, and a notified waiter is queued for the lock rather
    than woken, so it wakes once, already holding the lock.  Safe to share between OS
    threads.  Not meant to be subclassed.

    Args:
        lock: The lock to use: an :class:`RLock` (the default, made fresh), a :class:`Lock`,
            or any object with ``acquire()`` and ``release()``.

    Raises:
        TypeError: ``lock`` has no ``acquire``/``release`` methods.

    Note:
        A waiter that leaves :meth:`wait` with an exception (a kill, an outer timeout) passes
        a notification on to the next waiter, in case a notify had chosen it: a wake-up is
        never lost to a greenlet that left, at the price of a possible spurious one (as in
        ``asyncio`` since Python 3.13).  A wait that times out was not chosen, and passes
        nothing on.

        With a :class:`Lock` (which has no owner) "holding the lock" can only be checked as
        "the lock is locked", as in ``asyncio``.  With a foreign lock the check uses its
        ``_is_owned()`` if it has one, or else tries to acquire it without blocking (as
        ``threading`` does), and a notified waiter re-acquires it by calling ``acquire()``,
        which may block the whole thread if that lock is not greenlet-aware.
    """

    __slots__ = ("__weakref__", "_line", "_lock")

    def __init__(self, lock: SupportsAcquireRelease | None = None) -> None:
        if lock is None:
            lock = RLock()
        elif not (
            callable(getattr(lock, "acquire", None)) and callable(getattr(lock, "release", None))
        ):
            raise TypeError(
                f"`lock` must have acquire() and release() methods, got "
                f"{type(lock).__name__} {lock!r}"
            )
        self._lock = lock
        self._line = _ConditionLine(self)

    def __repr__(self) -> str:
        return f"<Condition lock={self._lock!r} waiters={self._line.linkcount()}>"

    # -- the lock -----------------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Acquire the underlying lock; see its ``acquire``.

        Returns:
            What the lock's ``acquire`` returned.
        """
        if timeout is None:
            return bool(self._lock.acquire(blocking))
        return bool(self._lock.acquire(blocking, timeout))  # type: ignore[call-arg]

    def release(self) -> None:
        """Release the underlying lock; see its ``release``."""
        self._lock.release()

    def locked(self) -> bool:
        """Return True if the underlying lock is held (by anyone)."""
        locked = getattr(self._lock, "locked", None)
        return bool(locked()) if callable(locked) else False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified, and re-acquire the lock.

        The lock is held again when this returns or raises: a waiter whose wait timed out,
        or into which an exception was thrown, waits for the lock before it goes on.

        Args:
            timeout: The longest to wait for a notification, in seconds; ``None`` waits for as
                long as it takes.  Waiting for the lock afterwards is not limited.

        Returns:
            True if notified, False if ``timeout`` expired first.

        Raises:
            RuntimeError: the current greenlet does not hold the lock.
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        lock = self._lock
        line = self._line
        saved = 1
        if isinstance(lock, RLock):
            me = getcurrent()
            with line._mutex, lock._mutex:
                if lock._owner is not me:
                    raise RuntimeError(self._not_held("wait on"))
                link = line._enqueue_waiter()
                saved = lock._count
                lock._pass_on()
        elif isinstance(lock, Lock):
            with line._mutex, lock._mutex:
                if not lock._locked:
                    raise RuntimeError(self._not_held("wait on"))
                link = line._enqueue_waiter()
                lock._unlock()
        else:
            return self._wait_foreign(lock, timeout)
        try:
            result = line._park(link, timeout, self)
        except BaseException:
            # The exception may have come after a notify chose this greenlet (moved it to the
            # lock's queue): pass a notification on, so that none is lost.
            try:
                self._reacquire(saved)
            finally:
                self._notify_one_more()
            raise
        if result is TIMED_OUT:
            self._reacquire(saved)
            return False
        # Notified: moved to the lock's queue and handed the lock.  An RLock's releaser made
        # us the owner under the lock's mutex, perhaps still doing so in another thread:
        # taking the mutex waits for it, then we put our recursion count back.
        if isinstance(lock, RLock):
            with lock._mutex:
                lock._count = saved
        return True

    def _notify_one_more(self) -> None:
        """Notify the next waiter for one that left :meth:`wait` with an exception.

        Which of them a notify had chosen cannot be told apart from the others, so this may
        wake the next waiter spuriously (a condition variable may); it never loses a wake-up.
        Normally the caller holds the lock again; if re-acquiring it failed and nobody holds
        it, the waiter moved onto its queue is handed it at once.
        """
        lock = self._lock
        line = self._line
        if isinstance(lock, RLock):
            with line._mutex, lock._mutex:
                free = lock._owner is None
                if line._move_waiters(lock, 1) and free:
                    lock._pass_on()
        elif isinstance(lock, Lock):
            with line._mutex, lock._mutex:
                free = not lock._locked
                if line._move_waiters(lock, 1) and free:
                    lock._locked = True
                    lock._unlock()

    def _reacquire(self, saved: int) -> None:
        """Take our lock back after a wait that was not ended by a hand-off."""
        lock = self._lock
        lock.acquire()
        if saved != 1 and isinstance(lock, RLock):
            with lock._mutex:
                lock._count = saved

    def _wait_foreign(self, lock: SupportsAcquireRelease, timeout: float | None) -> bool:
        if not _foreign_is_owned(lock):
            raise RuntimeError(self._not_held("wait on"))
        line = self._line
        with line._mutex:
            link = line._enqueue_waiter()
        release_save = getattr(lock, "_release_save", None)
        acquire_restore = getattr(lock, "_acquire_restore", None)
        state: Any = None
        if callable(release_save) and callable(acquire_restore):
            state = release_save()
        else:
            acquire_restore = None
            lock.release()
        try:
            result = line._park(link, timeout, self)
        finally:
            if acquire_restore is not None:
                acquire_restore(state)
            else:
                lock.acquire()
        return result is not TIMED_OUT

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true, checking it each time this greenlet is notified.

        Args:
            predicate: A callable whose result is read as a bool.  It is called with the
                lock held.
            timeout: The longest to wait in total, in seconds; ``None`` waits for as long as
                it takes.

        Returns:
            The last value ``predicate()`` returned: true, or false if ``timeout`` expired.

        Raises:
            RuntimeError: the current greenlet does not hold the lock.
            TypeError: ``predicate`` is not callable, or ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.

        Note:
            Unlike ``threading``, holding the lock is checked even when the predicate is
            already true.
        """
        if not callable(predicate):
            raise TypeError(
                f"`predicate` must be callable, got {type(predicate).__name__} {predicate!r}"
            )
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self._is_held():
            raise RuntimeError(self._not_held("wait on"))
        result = predicate()
        if result or timeout == 0.0:
            return result
        if timeout is None:
            while not result:
                self.wait()
                result = predicate()
            return result
        clock = get_hub().time
        deadline = clock() + timeout
        while not result:
            remaining = deadline - clock()
            if remaining <= 0.0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    # -- notifying ----------------------------------------------------------------------------

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, the longest-waiting first.

        They are queued for the lock and run once the caller releases it.  A no-op when
        nobody waits.  Never switches away from the caller.

        Raises:
            RuntimeError: the current greenlet does not hold the lock.
            TypeError: ``n`` is not an int.
            ValueError: ``n`` is negative.
        """
        if n.__class__ is not int or n < 0:
            n = check_int(n, "n", 0)
        lock = self._lock
        line = self._line
        if isinstance(lock, RLock):
            me = getcurrent()
            with line._mutex, lock._mutex:
                if lock._owner is not me:
                    raise RuntimeError(self._not_held("notify"))
                line._move_waiters(lock, n)
        elif isinstance(lock, Lock):
            with line._mutex, lock._mutex:
                if not lock._locked:
                    raise RuntimeError(self._not_held("notify"))
                line._move_waiters(lock, n)
        else:
            if not _foreign_is_owned(lock):
                raise RuntimeError(self._not_held("notify"))
            with line._mutex:
                while n and line._handoff(True) is not None:
                    n -= 1

    def notify_all(self) -> None:
        """Wake every waiter (see :meth:`notify`).

        Raises:
            RuntimeError: the current greenlet does not hold the lock.
        """
        self.notify(sys.maxsize)

    # -- helpers ------------------------------------------------------------------------------

    def _is_held(self) -> bool:
        lock = self._lock
        if isinstance(lock, RLock):
            return lock._owner is getcurrent()
        if isinstance(lock, Lock):
            return lock._locked
        return _foreign_is_owned(lock)

    def _not_held(self, what: str) -> str:
        return f"cannot {what} a Condition without holding its lock ({self._lock!r})"


def _foreign_is_owned(lock: object) -> bool:
    """Tell whether the caller holds a lock that is not ours, as ``threading`` does."""
    is_owned = getattr(lock, "_is_owned", None)
    if callable(is_owned):
        return bool(is_owned())
    if lock.acquire(False):  # type: ignore[attr-defined]
        lock.release()  # type: ignore[attr-defined]
        return False
    return True

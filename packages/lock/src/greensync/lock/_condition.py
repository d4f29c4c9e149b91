"""Condition: wait for a notification while holding a lock, threading-style.

Why it looks like this
----------------------
A notified waiter must get the lock back before :meth:`Condition.wait` returns.  Waking it
and letting it call ``acquire()`` would make every notified waiter wake only to block again
on the lock (a thundering herd for ``notify_all``).  Instead, when the lock is one of ours,
the condition's :class:`~greensync.hub.WaitLine` moves the notified waiters to the back of the
lock's line (:meth:`~greensync.hub.WaitLine.move_to`, both mutexes held, the condition's
first): nobody runs, and each waiter wakes exactly once, when the lock is handed to it.  For
an :class:`RLock` the waiter then becomes the owner with the recursion count it had before
waiting.

``wait`` joins the condition's line first and releases the lock in the line's ``retry`` hook
(after joining, before parking), so a notify cannot slip in between and be missed.

Any other object with ``acquire()`` and ``release()`` works too, the plain way: the waiter
is woken and re-acquires the lock itself.

Greenlets (:meth:`Condition.wait`) and asyncio tasks (:meth:`Condition.async_wait`) wait in
the same line and are notified in the order they began to wait.

Rejected: a private waiter lock per ``wait`` call, as ``threading.Condition`` does (an
allocation per wait, and the herd above).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar, final

from greensync.hub import NOTHING, TIMED_OUT, check_timeout

from ._lock import _HELD, Lock, RLock
from ._tokens import Line
from ._util import check_int, current_owner

__all__ = ["Condition"]

T = TypeVar("T")


class SupportsAcquireRelease(Protocol):
    """Anything usable as a :class:`Condition`'s lock."""

    def acquire(self, blocking: bool = ...) -> bool: ...

    def release(self) -> object: ...


@final
class Condition:
    """Wait until notified, with a lock held around the check, as ``threading.Condition``.

    Hold the lock (``with cond:`` or ``async with cond:``) to call :meth:`wait`,
    :meth:`wait_for`, their ``async_`` twins, :meth:`notify` and :meth:`notify_all`.
    :meth:`wait` releases the lock, parks until notified (or until its timeout), and
    re-acquires the lock before returning, however it returns.  Waiters -- greenlets, asyncio
    tasks and threads -- are notified first come, first served, and a notified waiter is
    queued for the lock rather than woken, so it wakes once, already holding the lock.  Safe
    to share between OS threads.  Not meant to be subclassed.

    Args:
        lock: The lock to use: an :class:`RLock` (the default, made fresh), a :class:`Lock`,
            or any object with ``acquire()`` and ``release()`` (the ``async_`` methods need a
            lock with ``async_acquire()``).

    Raises:
        TypeError: ``lock`` has no ``acquire``/``release`` methods.

    Note:
        A waiter that leaves :meth:`wait` with an exception (a kill, an outer timeout, a
        cancelled task) passes a notification on to the next waiter, in case a notify had
        chosen it: a wake-up is never lost to a waiter that left, at the price of a possible
        spurious one (as in ``asyncio`` since Python 3.13).  A wait that times out was not
        chosen, and passes nothing on.

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
        self._lock: Any = lock
        #: The waiters in :meth:`wait` (takers: a notify moves or hands them on).
        self._line = Line(self)

    def __repr__(self) -> str:
        return f"<Condition lock={self._lock!r} waiters={self._waiters()}>"

    def _waiters(self) -> int:
        line = self._line
        return line.takers() if line else 0

    # -- the lock -----------------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Acquire the underlying lock; see its ``acquire``.

        Returns:
            What the lock's ``acquire`` returned.
        """
        if timeout is None:
            return bool(self._lock.acquire(blocking))
        return bool(self._lock.acquire(blocking, timeout))

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

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Acquire the underlying lock from an asyncio task (its ``async_acquire``).

        Raises:
            TypeError: the lock has no ``async_acquire()``.
        """
        return bool(await self._async_lock().async_acquire(timeout))

    async def __aenter__(self) -> bool:
        return await self.async_acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def _async_lock(self) -> Any:
        lock = self._lock
        if not callable(getattr(lock, "async_acquire", None)):
            raise TypeError(
                f"the lock of this Condition ({lock!r}) has no async_acquire(): use a "
                "greensync Lock or RLock to wait from a coroutine"
            )
        return lock

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
            RuntimeError: the caller does not hold the lock, or it would block in a
                coroutine (use :meth:`async_wait` there).
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        lock = self._lock
        if not isinstance(lock, (Lock, RLock)):
            return self._wait_foreign(lock, timeout)
        me, saved, unlock = self._prepare(lock)
        try:
            result = self._line.park(timeout, unlock)
        except BaseException:
            if not unlock.done:
                raise  # refused before it joined the line (in a coroutine, in the hub)
            # The exception may have come after a notify chose this waiter (moved it to the
            # lock's line): pass a notification on, so that none is lost.
            try:
                self._reacquire(lock, saved)
            finally:
                self._notify_one_more()
            raise
        if result is TIMED_OUT:
            self._reacquire(lock, saved)
            return False
        self._took(lock, me, saved)
        return True

    async def async_wait(self, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`wait`: the task waits in the same line as greenlets.

        A task cancelled while it waits takes the lock back (as ``asyncio.Condition``
        does), passes a notification on, and then raises ``CancelledError``.

        Raises:
            RuntimeError: the task does not hold the lock.
            TypeError: the lock has no ``async_acquire()``, or ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        lock = self._async_lock()
        if not isinstance(lock, (Lock, RLock)):
            return await self._async_wait_foreign(lock, timeout)
        me, saved, unlock = self._prepare(lock)
        try:
            result = await self._line.async_park(timeout, unlock)
        except BaseException:
            if not unlock.done:
                raise
            try:
                await self._async_reacquire(lock, saved)
            finally:
                self._notify_one_more()
            raise
        if result is TIMED_OUT:
            await self._async_reacquire(lock, saved)
            return False
        self._took(lock, me, saved)
        return True

    def _prepare(self, lock: Lock | RLock) -> tuple[object, int, _Unlock]:
        """Check that the caller holds ``lock``; return who it is, its count and the unlock."""
        if isinstance(lock, RLock):
            me = current_owner()
            if lock._owner is not me:
                raise RuntimeError(self._not_held("wait on"))
            return me, lock._count, _Unlock(lock)
        if not lock.locked():
            raise RuntimeError(self._not_held("wait on"))
        return None, 1, _Unlock(lock)

    @staticmethod
    def _took(lock: Lock | RLock, me: object, saved: int) -> None:
        """Notified: moved to the lock's line and handed the lock; take it as ours."""
        if isinstance(lock, RLock):
            lock._owner = me
            lock._count = saved
        else:
            lock._state.append(_HELD)

    @staticmethod
    def _reacquire(lock: Lock | RLock, saved: int) -> None:
        """Take our lock back after a wait that was not ended by a hand-off."""
        lock.acquire()
        if isinstance(lock, RLock):
            lock._count = saved

    @staticmethod
    async def _async_reacquire(lock: Lock | RLock, saved: int) -> None:
        import asyncio

        cancelled: BaseException | None = None
        while True:
            try:
                await lock.async_acquire()
                break
            except asyncio.CancelledError as exc:
                cancelled = exc  # the lock comes first (as asyncio.Condition does)
        if isinstance(lock, RLock):
            lock._count = saved
        if cancelled is not None:
            raise cancelled

    def _notify_one_more(self) -> None:
        """Notify the next waiter for one that left :meth:`wait` with an exception.

        Which of them a notify had chosen cannot be told apart from the others, so this may
        wake the next waiter spuriously (a condition variable may); it never loses a wake-up.
        Normally the caller holds the lock again; if re-acquiring it failed and the lock is
        free, the waiter moved onto its line is handed it at once.
        """
        line = self._line
        if not line:
            return
        lock_line = self._lock.get_waitline()
        with line.mutex, lock_line.mutex:
            if line.move_to(lock_line, 1):
                lock_line.serve()

    def _wait_foreign(self, lock: Any, timeout: float | None) -> bool:
        if not _foreign_is_owned(lock):
            raise RuntimeError(self._not_held("wait on"))
        unlock = _ForeignUnlock(lock)
        try:
            result = self._line.park(timeout, unlock)
        finally:
            if unlock.done:
                unlock.restore()
        return result is not TIMED_OUT

    async def _async_wait_foreign(self, lock: Any, timeout: float | None) -> bool:
        if not _foreign_is_owned(lock):
            raise RuntimeError(self._not_held("wait on"))

        unlock = _ForeignUnlock(lock, save=False)
        try:
            result = await self._line.async_park(timeout, unlock)
        finally:
            if unlock.done:
                await lock.async_acquire()
        return result is not TIMED_OUT

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true, checking it each time this waiter is notified.

        Args:
            predicate: A callable whose result is read as a bool.  It is called with the
                lock held.
            timeout: The longest to wait in total, in seconds; ``None`` waits for as long as
                it takes.

        Returns:
            The last value ``predicate()`` returned: true, or false if ``timeout`` expired.

        Raises:
            RuntimeError: the caller does not hold the lock.
            TypeError: ``predicate`` is not callable, or ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.

        Note:
            Unlike ``threading``, holding the lock is checked even when the predicate is
            already true.
        """
        timeout = self._check_wait_for(predicate, timeout)
        result = predicate()
        if result or timeout == 0.0:
            return result
        if timeout is None:
            while not result:
                self.wait()
                result = predicate()
            return result
        deadline = time.monotonic() + timeout
        while not result:
            remaining = deadline - time.monotonic()
            if remaining <= 0.0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    async def async_wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """The awaitable twin of :meth:`wait_for`."""
        timeout = self._check_wait_for(predicate, timeout)
        result = predicate()
        if result or timeout == 0.0:
            return result
        if timeout is None:
            while not result:
                await self.async_wait()
                result = predicate()
            return result
        deadline = time.monotonic() + timeout
        while not result:
            remaining = deadline - time.monotonic()
            if remaining <= 0.0:
                break
            await self.async_wait(remaining)
            result = predicate()
        return result

    def _check_wait_for(self, predicate: object, timeout: object) -> float | None:
        if not callable(predicate):
            raise TypeError(
                f"`predicate` must be callable, got {type(predicate).__name__} {predicate!r}"
            )
        checked = check_timeout(timeout)
        if not self._is_held():
            raise RuntimeError(self._not_held("wait on"))
        return checked

    # -- notifying ----------------------------------------------------------------------------

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters, the longest-waiting first.

        They are queued for the lock and run once the caller releases it.  A no-op when
        nobody waits.  Never switches away from the caller; allowed in a coroutine.

        Raises:
            RuntimeError: the caller does not hold the lock.
            TypeError: ``n`` is not a number.
            ValueError: ``n`` is negative or not a whole number.
        """
        if n.__class__ is not int or n < 0:
            n = check_int(n, "n", 0)
        lock = self._lock
        line = self._line
        if isinstance(lock, (Lock, RLock)):
            if not self._is_held():
                raise RuntimeError(self._not_held("notify"))
            if not line or not n:
                return
            lock_line = lock.get_waitline()
            with line.mutex, lock_line.mutex:
                line.move_to(lock_line, n)
                lock_line.serve()  # type: ignore[attr-defined]
        else:
            if not _foreign_is_owned(lock):
                raise RuntimeError(self._not_held("notify"))
            if not line:
                return
            with line.mutex:
                while n and line.handoff(True):
                    n -= 1

    def notify_all(self) -> None:
        """Wake every waiter (see :meth:`notify`).

        Raises:
            RuntimeError: the caller does not hold the lock.
        """
        self.notify(sys.maxsize)

    # -- helpers ------------------------------------------------------------------------------

    def _is_held(self) -> bool:
        lock = self._lock
        if isinstance(lock, RLock):
            return lock._owner is current_owner()
        if isinstance(lock, Lock):
            return lock.locked()
        return _foreign_is_owned(lock)

    def _not_held(self, what: str) -> str:
        return f"cannot {what} a Condition without holding its lock ({self._lock!r})"


class _Unlock:
    """The ``retry`` hook of a wait: releases our lock after the waiter joined the line."""

    __slots__ = ("done", "lock")

    def __init__(self, lock: Lock | RLock) -> None:
        self.lock = lock
        self.done = False

    def __call__(self) -> Any:
        lock = self.lock
        if isinstance(lock, RLock):
            lock._count = 0
            lock._owner = None
        else:
            try:
                lock._state.remove(_HELD)
            except ValueError:
                pass
        self.done = True
        lock._pass_on()
        return NOTHING


class _ForeignUnlock:
    """The ``retry`` hook of a wait on a foreign lock, saving its state where it can."""

    __slots__ = ("done", "lock", "restore_fn", "state")

    def __init__(self, lock: Any, save: bool = True) -> None:
        self.lock = lock
        self.done = False
        self.state: Any = None
        release_save = getattr(lock, "_release_save", None)
        restore = getattr(lock, "_acquire_restore", None)
        self.restore_fn: Any = None
        if save and callable(release_save) and callable(restore):
            self.restore_fn = restore

    def __call__(self) -> Any:
        if self.restore_fn is not None:
            self.state = self.lock._release_save()
        else:
            self.lock.release()
        self.done = True
        return NOTHING

    def restore(self) -> None:
        if self.restore_fn is not None:
            self.restore_fn(self.state)
        else:
            self.lock.acquire()


def _foreign_is_owned(lock: object) -> bool:
    """Tell whether the caller holds a lock that is not ours, as ``threading`` does."""
    is_owned = getattr(lock, "_is_owned", None)
    if callable(is_owned):
        return bool(is_owned())
    if lock.acquire(False):  # type: ignore[attr-defined]
        lock.release()  # type: ignore[attr-defined]
        return False
    return True

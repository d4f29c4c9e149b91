"""Lock and RLock: mutexes that hand ownership straight to the next waiter.

Why it looks like this
----------------------
A free lock is one token in a list (see :mod:`._tokens`): acquiring is ``list.pop()``,
unlocking ``list.append()``, with no mutex and no call into the hub.  Releasing a contended
lock does not unlock it: the token is handed to the first waiter, under the line's mutex,
and the lock stays locked (for :class:`RLock`, to be owned by that waiter) until the waiter
runs.  The releaser cannot take it back by acquiring again at once, so waiters are served in
order and none starves under a tight acquire/release loop.  A waiter that was handed the lock
and then left early (timeout race, kill, cancelled task) gives it back through the line's
``give_back``, which passes it to the next waiter or unlocks it.

:class:`Lock` has no owner, so "is it locked?" must be answered atomically by the release
itself: its one-token list holds a *free* token while unlocked and a *held* token while its
holder has it; acquiring swaps the first for the second, and a release must remove the held
token (one ``list.remove()``: of two racing releases of a lock held once, exactly one
succeeds).  One list, not two, keeps a ``Lock`` smaller than gevent's.
:class:`RLock` checks its owner instead -- only the owner may release, and the owner is one
greenlet or task, in one thread -- and takes and drops recursion levels without touching
either list.

:class:`~greensync.lock.Condition` uses the private parts (``_state``, ``_free``,
``_owner``, ``_count``, ``_pass_on``) to release the lock after joining its own line, and
moves notified waiters onto the lock's line.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, final

from greenlet import getcurrent

from greensync.hub import NOTHING, TIMED_OUT, Linkable, WaitLine, check_timeout

from ._tokens import Line, TokenLine
from ._util import ASYNCIO, check_acquire_timeout, current_owner, task_or

__all__ = ["Lock", "RLock"]

_modules = sys.modules


#: The two tokens of a :class:`Lock`'s state list.
_FREE = 1
_HELD = 0


class _LockLine(Line):
    """The line of a :class:`Lock`: hands the free token to takers (see ``_tokens``)."""

    __slots__ = ("state",)

    def __init__(self, owner: Lock, state: list[int]) -> None:
        super().__init__(owner)
        self.state = state

    def serve(self) -> None:
        """Hand the free token to the first taker, or wake the listeners.  Hold the mutex."""
        state = self.state
        if _FREE in state and self.takers():
            try:
                state.remove(_FREE)
            except ValueError:
                return
            if self.handoff(_FREE):
                return
            state.append(_FREE)
        if _FREE in state and self.listeners():
            self.notify()

    def give_back(self, value: Any) -> None:
        """The lock, handed to a taker that left: the next taker gets it, or it unlocks."""
        if not self.handoff(_FREE):
            self.state.append(_FREE)
            if self.listeners():
                self.notify()


@final
class Lock(Linkable):
    """A mutex: one holder at a time, with ``threading.Lock`` and ``asyncio.Lock`` semantics.

    Any greenlet, task or thread may release a locked Lock (it has no owner); releasing an
    unlocked one is a ``RuntimeError``.  Waiters -- greenlets, asyncio tasks
    (:meth:`async_acquire`, ``async with``) and threads -- get the lock in the order they asked
    for it, and a release hands it directly to the first of them.  Safe to share between OS
    threads, each running its own hub.  Uncontended use takes no mutex.  Not meant to be
    subclassed.

    Note:
        ``gevent.lock`` has no ``Lock``: gevent code uses ``Semaphore(1)``, which a double
        release silently raises to 2, or ``gevent.thread.LockType`` (what a monkey-patched
        ``threading.Lock`` is).  This one refuses a double release, as ``threading`` does.
    """

    __slots__ = ("_state",)

    def __init__(self) -> None:
        super().__init__()
        #: One token: ``_FREE`` while unlocked, ``_HELD`` while its holder has it; empty
        #: for a moment in between, and while the lock is on its way to a waiter.
        self._state = [_FREE]

    def make_waitline(self) -> WaitLine:
        return _LockLine(self, self._state)

    def __repr__(self) -> str:
        state = "locked" if self.locked() else "unlocked"
        return f"<Lock {state} waiters={self.linkcount()}>"

    def locked(self) -> bool:
        """Return True if the lock is held (or handed to a waiter that has not run yet)."""
        return _FREE not in self._state

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block."""
        return _FREE in self._state

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
            RuntimeError: it would block inside the hub (in a hub callback), or in a
                coroutine (use :meth:`async_acquire` there).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        state = self._state
        if _FREE in state:
            try:
                state.remove(_FREE)
            except ValueError:
                pass
            else:
                state.append(_HELD)
                return True
        if not blocking or timeout == 0.0:
            return False
        return self._block(timeout)

    def __enter__(self) -> bool:
        # acquire()'s fast path again (a blocked ``with`` in a coroutine is then told to use
        # ``async with``).  No membership test first: when the lock is held this waits, and
        # the raised ValueError costs little beside a wait.
        state = self._state
        try:
            state.remove(_FREE)
        except ValueError:
            return self._block(None)
        state.append(_HELD)
        return True

    def _block(self, timeout: float | None) -> bool:
        line = self.waitline or self.get_waitline()
        if line.park(timeout, self._take) is TIMED_OUT:
            return False
        self._state.append(_HELD)
        return True

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Take the lock from an asyncio task, waiting in the same line as greenlets.

        The awaitable twin of :meth:`acquire`.  A task cancelled while it waits leaves the
        line; if the lock had been handed to it, it goes to the next waiter.

        Returns:
            True if the lock was taken, False if ``timeout`` expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        state = self._state
        if _FREE in state:
            try:
                state.remove(_FREE)
            except ValueError:
                pass
            else:
                state.append(_HELD)
                return True
        if timeout == 0.0:
            return False
        line = self.waitline or self.get_waitline()
        if await line.async_park(timeout, self._take) is TIMED_OUT:
            return False
        state.append(_HELD)
        return True

    async def __aenter__(self) -> bool:
        return await self.async_acquire()

    def _take(self) -> Any:
        """Take the free token without waiting (a waiter's retry after joining the line)."""
        state = self._state
        if _FREE in state:
            try:
                state.remove(_FREE)
            except ValueError:
                return NOTHING
            return _FREE
        return NOTHING

    def release(self) -> None:
        """Release the lock, handing it to the longest waiter if there is one.

        Never switches away from the caller; allowed in a coroutine.

        Raises:
            RuntimeError: the lock is not locked.
        """
        state = self._state
        try:
            state.remove(_HELD)
        except ValueError:
            raise RuntimeError("cannot release an unlocked Lock") from None
        if self.waitline:  # someone may wait: hand the lock over, reserved
            self._hand_over()
            return
        state.append(_FREE)
        if self.waitline:  # someone joined meanwhile
            self._serve()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # release(), inlined: a ``with`` block is the hottest use.
        state = self._state
        try:
            state.remove(_HELD)
        except ValueError:
            raise RuntimeError("cannot release an unlocked Lock") from None
        if self.waitline:
            self._hand_over()
            return
        state.append(_FREE)
        if self.waitline:
            self._serve()

    def _pass_on(self) -> None:
        """Hand the token to the first waiter, or unlock (the holder's token is gone)."""
        if self.waitline:
            self._hand_over()
            return
        self._state.append(_FREE)
        if self.waitline:
            self._serve()

    def _hand_over(self) -> None:
        line = self.waitline
        assert line is not None
        mutex = line.mutex
        mutex.acquire()
        try:
            line.give_back(_FREE)
        finally:
            mutex.release()

    def _serve(self) -> None:
        line = self.waitline
        assert line is not None
        with line.mutex:
            line.serve()  # type: ignore[attr-defined]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@final
class RLock(Linkable):
    """A reentrant mutex, with ``threading.RLock`` semantics, owned by a greenlet or a task.

    The owner may acquire it again; each :meth:`acquire` needs a matching :meth:`release`,
    and the lock is free once the count drops to zero.  Only the owner may release it.
    Ownership passes directly to the longest waiter.  The owner is the asyncio task when
    the lock is taken from a coroutine (``async with rlock``, :meth:`async_acquire`, or a
    non-blocking ``acquire(blocking=False)`` called there), else the greenlet: a task that
    holds it re-enters with ``async with`` or a non-blocking ``acquire()``, and releases it
    with ``release()`` or by leaving its ``async with``.  Safe to share between OS threads.
    Not meant to be subclassed.
    """

    __slots__ = ("_count", "_free", "_owner")

    def __init__(self) -> None:
        super().__init__()
        #: The token while the lock is free.
        self._free = [1]
        self._owner: object = None
        self._count = 0

    def make_waitline(self) -> WaitLine:
        return TokenLine(self, self._free)

    def __repr__(self) -> str:
        owner = self._owner
        if owner is None:
            state = "unlocked" if self._free else "handed"
            return f"<RLock {state} waiters={self.linkcount()}>"
        return f"<RLock owner={owner!r} count={self._count} waiters={self.linkcount()}>"

    def locked(self) -> bool:
        """Return True if the lock is held (or handed to a waiter that has not run yet)."""
        return not self._free

    def ready(self) -> bool:
        """Return True if the lock is free."""
        return bool(self._free)

    def _is_owned(self) -> bool:
        """Return True if the current greenlet (or task) holds the lock (``threading``'s name)."""
        return self._owner is current_owner()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock, or one more level of it if the caller already holds it.

        Args:
            blocking: If False, do not wait: return False at once if another greenlet or
                task holds the lock.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if the lock was taken, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block inside the hub (in a hub callback), or in a
                coroutine (use :meth:`async_acquire` there).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        me: object = getcurrent()
        events = _modules.get(ASYNCIO)
        if events is not None and events._get_running_loop() is not None:
            me = task_or(me)
        if self._owner is me:
            # Only the owner changes the count while it owns the lock: no mutex needed.
            self._count += 1
            return True
        free = self._free
        if free:
            try:
                free.pop()
            except IndexError:
                pass
            else:
                self._owner = me
                self._count = 1
                return True
        if not blocking or timeout == 0.0:
            return False
        return self._block(timeout, me)

    def __enter__(self) -> bool:
        # acquire()'s fast paths again (a blocked ``with`` in a coroutine is then told to use
        # ``async with``).
        me: object = getcurrent()
        events = _modules.get(ASYNCIO)
        if events is not None and events._get_running_loop() is not None:
            me = task_or(me)
        if self._owner is me:
            self._count += 1
            return True
        free = self._free
        if free:
            try:
                free.pop()
            except IndexError:
                pass
            else:
                self._owner = me
                self._count = 1
                return True
        return self._block(None, me)

    def _block(self, timeout: float | None, me: object) -> bool:
        line = self.waitline or self.get_waitline()
        if line.park(timeout, self._take) is TIMED_OUT:
            return False
        self._owner = me
        self._count = 1
        return True

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Take the lock (or one more level of it) for the current asyncio task.

        The awaitable twin of :meth:`acquire`; the task waits in the same line as greenlets.

        Returns:
            True if the lock was taken, False if ``timeout`` expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        me = current_owner()
        if self._owner is me:
            self._count += 1
            return True
        free = self._free
        if free:
            try:
                free.pop()
            except IndexError:
                pass
            else:
                self._owner = me
                self._count = 1
                return True
        if timeout == 0.0:
            return False
        if await self.get_waitline().async_park(timeout, self._take) is TIMED_OUT:
            return False
        self._owner = me
        self._count = 1
        return True

    async def __aenter__(self) -> bool:
        return await self.async_acquire()

    def _take(self) -> Any:
        """Take the free token without waiting (a waiter's retry after joining the line)."""
        free = self._free
        if free:
            try:
                return free.pop()
            except IndexError:
                pass
        return NOTHING

    def release(self) -> None:
        """Drop one level of the lock; at zero, hand it to the longest waiter or free it.

        Allowed in a coroutine (for a lock its task holds).

        Raises:
            RuntimeError: the caller does not hold the lock.
        """
        me: object = getcurrent()
        events = _modules.get(ASYNCIO)
        if events is not None and events._get_running_loop() is not None:
            me = task_or(me)
        if self._owner is not me:
            raise RuntimeError(self._not_owner())
        count = self._count - 1
        if count:
            self._count = count
            return
        self._count = 0
        self._owner = None
        if self.waitline:  # someone may wait: hand the lock over, reserved
            self._hand_over()
            return
        self._free.append(1)
        if self.waitline:  # someone joined meanwhile
            self._serve()

    def _pass_on(self) -> None:
        """Hand the token to the first waiter, or free the lock (it has no owner now)."""
        if self.waitline:
            self._hand_over()
            return
        self._free.append(1)
        if self.waitline:
            self._serve()

    def _hand_over(self) -> None:
        line = self.waitline
        assert line is not None
        mutex = line.mutex
        mutex.acquire()
        try:
            line.give_back(1)
        finally:
            mutex.release()

    def _serve(self) -> None:
        line = self.waitline
        assert line is not None
        with line.mutex:
            line.serve()  # type: ignore[attr-defined]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # release(), inlined: a ``with`` block is the hottest use.
        me: object = getcurrent()
        events = _modules.get(ASYNCIO)
        if events is not None and events._get_running_loop() is not None:
            me = task_or(me)
        if self._owner is not me:
            raise RuntimeError(self._not_owner())
        count = self._count - 1
        if count:
            self._count = count
            return
        self._count = 0
        self._owner = None
        if self.waitline:
            self._hand_over()
            return
        self._free.append(1)
        if self.waitline:
            self._serve()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _not_owner(self) -> str:
        me = current_owner()
        owner = self._owner
        if owner is None:
            return f"cannot release an RLock that is not held (released by {me!r})"
        return f"cannot release an RLock owned by {owner!r}: {me!r} does not hold it"

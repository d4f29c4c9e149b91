"""``Event``: a flag that greenlets, asyncio tasks and threads wait on (threading's and gevent's).

Why it looks like this
----------------------
The flag is one attribute; storing ``True`` or ``False`` is a single atomic step, so the calls
users make most -- :meth:`Event.set` when nobody waits, :meth:`Event.is_set`, a
:meth:`Event.wait` on a set flag -- take no mutex and make no call into the hub (DESIGN rule
10).  Waiters are *listeners* of the event's :class:`~greensync.hub.WaitLine`, made on the
first wait.  The two sides follow the line's rule:

* ``set()`` stores ``True`` first and only then looks at the line (``if self.waitline:``); if
  anyone may be waiting, it wakes every listener under the line's mutex;
* a waiter joins the line first and only then looks at the flag again (``listen(timeout,
  ready=self.is_set)``), so a ``set()`` that found the line empty a moment earlier has
  already raised the flag where the second look finds it.

Either the setter sees the waiter in the line, or the waiter sees the flag: no wake-up is lost.
A waiter that was notified returns True even if the flag was cleared again before it ran --
the flag *was* set during its wait.  (A ``set()`` still running when a wait begins may count
for that wait, even if a ``clear()`` from a third thread slipped in between: the two calls
overlapped.)

Rejected: the mutex around the store and the notify (the previous design; it doubled the cost
of ``set()`` and of an uncontended ``wait()``), a generation counter to tell those overlapping
calls apart (every ``set()`` would pay for a three-thread race that has no wrong answer).
"""

from __future__ import annotations

from typing import final

from greensync.hub import Linkable, check_timeout

__all__ = ["Event"]


@final
class Event(Linkable):
    """Let any number of greenlets, asyncio tasks and threads wait until a flag is set.

    The flag starts cleared.  :meth:`set` wakes everyone blocked in :meth:`wait` (or awaiting
    :meth:`async_wait`), in the order they began to wait, on their hub's or loop's next turn:
    ``set()`` itself never switches away from its caller.  While the flag is set, :meth:`wait`
    returns at once without touching the hub.  :meth:`clear` lowers the flag again.

    An event may be shared between OS threads and between greenlets and asyncio tasks:
    ``set()`` from one thread wakes greenlets parked in another thread's hub and tasks on any
    loop.  Callbacks registered with :meth:`rawlink` run once, in the hub, the next time the
    flag is set (or on the next turn if it already is).

    Not meant to be subclassed.
    """

    __slots__ = ("_flag",)

    def __init__(self) -> None:
        # Linkable.__init__, inlined (it only does this): half the cost of making an Event.
        self.waitline = None
        self._flag = False

    def __repr__(self) -> str:
        if self._flag:
            return "<Event set>"
        return f"<Event clear waiters={self.linkcount()}>"

    def is_set(self) -> bool:
        """Return True if the flag is set."""
        return self._flag

    #: gevent's and old threading's spelling of :meth:`is_set`.
    isSet = is_set

    def ready(self) -> bool:
        """Return True if the flag is set (:meth:`wait` would not block)."""
        return self._flag

    def set(self) -> None:
        """Set the flag and wake everyone waiting for it.

        The waiters run on their hubs' (or loops') next turn, in the order they began to wait;
        the caller keeps running.  Setting a flag that is already set does nothing.
        """
        if self._flag:
            return
        self._flag = True
        line = self.waitline
        if line:
            with line.mutex:
                line.notify()

    def clear(self) -> None:
        """Lower the flag; later calls to :meth:`wait` block until :meth:`set` is called.

        Waiters already woken by an earlier :meth:`set` still see ``wait()`` return True.
        """
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set, or until ``timeout`` seconds pass.

        Returns at once, without touching the hub, if the flag is already set.  A zero
        ``timeout`` checks the flag and returns without blocking or yielding.  ``timeout`` is
        validated either way, so a bad value fails whether or not the flag happens to be set.

        Args:
            timeout: How long to wait, in seconds; ``None`` (or ``math.inf``) waits for as
                long as it takes.

        Returns:
            True if the flag was set at any moment during the wait -- even if :meth:`clear`
            ran again before this greenlet woke up -- and False if the wait timed out.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_wait`) or inside the hub, and the flag is not set.
        """
        if self._flag:
            # A float that is >= 0 (inf included) needs no look; NaN fails the comparison.
            if timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
                check_timeout(timeout)
            return True
        if timeout is not None:
            timeout = check_timeout(timeout)
            if timeout == 0.0:
                return self._flag
        line = self.waitline
        if line is None:
            line = self.get_waitline()
        return line.listen(timeout, self.is_set)

    async def async_wait(self, timeout: float | None = None) -> bool:
        """Wait, from an asyncio task, until the flag is set; the awaitable :meth:`wait`.

        The task waits in the same line as greenlets and threads.  Returns at once, without
        yielding to the loop, if the flag is already set.  A task cancelled while it waits
        leaves the line; the ``await`` raises ``CancelledError``.

        Returns:
            True if the flag was set at any moment during the wait, False on timeout.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: no asyncio event loop is running in this thread.
        """
        if self._flag:
            if timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
                check_timeout(timeout)
            return True
        timeout = check_timeout(timeout)
        if timeout == 0.0:
            return self._flag
        return await self.get_waitline().async_listen(timeout, self.is_set)

"""Barrier: a fixed number of greenlets meet, then all go on, threading-style.

Why it looks like this
----------------------
``threading.Barrier`` wakes everybody through a condition variable and then has to "drain":
new arrivals wait until every thread of the previous trip has noticed that it may go.  Here
the greenlet that completes a trip hands each waiter its outcome directly (the waiter
protocol's hand-off), so a trip is over the moment it is complete and the next one can begin
at once.  Only while the trip's ``action`` runs (outside the mutex: it may do anything) do
new arrivals wait, as listeners, for it to finish.

Each trip has a generation number.  A waiter that leaves early (its timeout, a kill) breaks
the barrier only if its own trip is still open; if the trip completed while it was leaving,
the others have gone through and it just leaves.  The greenlet that completes a trip counts
the live waiters under the mutex before handing them their pass, so a waiter that timed out
in another thread but has not yet said so is not mistaken for a member of the trip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from greensync.hub import TIMED_OUT, Linkable, check_timeout

from ._util import check_int

__all__ = ["Barrier", "BrokenBarrierError"]

_FILLING = 0  # greenlets are arriving
_TRIPPING = 1  # the last one has arrived and runs the action
_BROKEN = 2  # broken until reset()

_STATE_NAMES = {_FILLING: "filling", _TRIPPING: "tripping", _BROKEN: "broken"}


class BrokenBarrierError(threading.BrokenBarrierError):
    """Raised by :meth:`Barrier.wait` when the barrier is broken or reset while waiting.

    A subclass of ``threading.BrokenBarrierError`` (itself a ``RuntimeError``), so code
    written for ``threading`` catches it unchanged.
    """


class _BarrierLine(Linkable):
    """The greenlets waiting in :meth:`Barrier.wait`.  Private."""

    __slots__ = ("_barrier",)

    def __init__(self, barrier: Barrier) -> None:
        super().__init__()
        self._barrier = barrier

    def __repr__(self) -> str:
        return repr(self._barrier)

    def ready(self) -> bool:
        return self._barrier._state != _TRIPPING

    def _reclaim(self, value: object) -> None:
        # A pass (or a "broken") handed to a waiter that then left is nobody else's: the
        # next waiter belongs to the next trip.  Drop it.
        return None


class Barrier:
    """Make ``parties`` greenlets wait for each other, then let them all go, repeatedly.

    Each :meth:`wait` blocks until ``parties`` greenlets are waiting; then ``action`` (if
    any) runs once, in the last greenlet to arrive, and all of them return.  The barrier can
    be used again at once.  If a waiter times out, is killed, or the action raises, the
    barrier is *broken*: every current and future :meth:`wait` raises
    :class:`BrokenBarrierError` until :meth:`reset`.  Safe to share between OS threads.
    Not meant to be subclassed.

    Args:
        parties: How many greenlets must meet.
        action: Called with no arguments once per trip, before anyone is released.
        timeout: The default timeout of :meth:`wait`, in seconds.

    Raises:
        TypeError: ``parties`` is not an int, ``action`` is not callable, or ``timeout`` is
            not a number.
        ValueError: ``parties`` is less than 1, or ``timeout`` is negative.

    Note:
        Unlike ``threading``, a waiter that leaves because an exception was thrown into it
        (a kill, an outer timeout) breaks the barrier, so the others do not wait forever
        for a party that is gone.
    """

    __slots__ = ("_action", "_count", "_gen", "_line", "_parties", "_state", "_timeout")

    def __init__(
        self,
        parties: int,
        action: Callable[[], object] | None = None,
        timeout: float | None = None,
    ) -> None:
        self._parties = check_int(parties, "parties", 1)
        if action is not None and not callable(action):
            raise TypeError(
                f"`action` must be callable or None, got {type(action).__name__} {action!r}"
            )
        self._action = action
        self._timeout = check_timeout(timeout)
        self._count = 0
        self._state = _FILLING
        self._gen = 0
        self._line = _BarrierLine(self)

    def __repr__(self) -> str:
        return f"<Barrier {_STATE_NAMES[self._state]} waiters={self._count}/{self._parties}>"

    @property
    def parties(self) -> int:
        """How many greenlets must meet for the barrier to trip."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many greenlets wait in the current trip (0 while broken)."""
        return self._count if self._state == _FILLING else 0

    @property
    def broken(self) -> bool:
        """True if the barrier is broken (until :meth:`reset`)."""
        return self._state == _BROKEN

    def wait(self, timeout: float | None = None) -> int:
        """Wait until ``parties`` greenlets are waiting, then return with all of them.

        Args:
            timeout: The longest to wait, in seconds; ``None`` uses the barrier's default.

        Returns:
            This greenlet's arrival index in its trip: 0 for the first to arrive, up to
            ``parties - 1`` for the last (which runs the action), as in ``threading``.

        Raises:
            BrokenBarrierError: the barrier is broken, was reset while waiting, or the
                timeout expired (which breaks it).
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
            Exception: whatever ``action`` raised, in the greenlet that ran it (the barrier
                is then broken).
        """
        timeout = self._timeout if timeout is None else check_timeout(timeout)
        line = self._line
        run_action = False
        while True:
            with line._mutex:
                state = self._state
                if state == _BROKEN:
                    raise BrokenBarrierError(f"{self!r} is broken")
                if state == _FILLING:
                    gen = self._gen
                    index = self._count
                    self._count = index + 1
                    if index + 1 < self._parties:
                        link = line._enqueue_waiter()
                        break
                    if self._action is None:
                        self._trip()
                        return index
                    self._state = _TRIPPING
                    run_action = True
                    break
                # The previous trip's action is running: wait for it to finish.
                listener = line._enqueue_listener()
            line._park(listener, None, self)
        if run_action:
            return self._run_action(index, gen)
        try:
            result = line._park(link, timeout, self)
        except BaseException:
            with line._mutex:
                if self._gen == gen and self._state != _BROKEN:
                    self._break()
            raise
        if result is True:
            return index
        if result is TIMED_OUT:
            with line._mutex:
                if self._gen == gen and self._state != _BROKEN:
                    self._break()
            raise BrokenBarrierError(f"{self!r}: wait timed out after {timeout} seconds")
        raise BrokenBarrierError(f"{self!r} was broken or reset while waiting")

    def _run_action(self, index: int, gen: int) -> int:
        """Run the action as the last arrival, then release the trip."""
        action = self._action
        assert action is not None
        line = self._line
        try:
            action()
        except BaseException:
            with line._mutex:
                if self._gen == gen and self._state == _TRIPPING:
                    self._break()
            raise
        with line._mutex:
            if self._gen != gen or self._state != _TRIPPING:
                raise BrokenBarrierError(f"{self!r} was broken or reset while its action ran")
            self._trip()
        return index

    def _trip(self) -> None:
        """Release every waiter of the current trip.  Hold the mutex."""
        line = self._line
        if line._waiter_count() != self._parties - 1:
            # A waiter left (timed out or killed) and has not yet broken the barrier.
            self._break()
            raise BrokenBarrierError(f"{self!r}: a waiter left before the barrier tripped")
        self._count = 0
        self._gen += 1
        self._state = _FILLING
        while line._handoff(True) is not None:
            pass
        line._notify()

    def _break(self) -> None:
        """Break the barrier: every waiter raises.  Hold the mutex."""
        line = self._line
        self._count = 0
        self._state = _BROKEN
        while line._handoff(False) is not None:
            pass
        line._notify()

    def reset(self) -> None:
        """Return the barrier to its empty, unbroken state.

        Greenlets waiting in the current trip raise :class:`BrokenBarrierError`; if the last
        arrival is running the action, it raises too once the action returns.
        """
        line = self._line
        with line._mutex:
            self._count = 0
            self._gen += 1
            self._state = _FILLING
            while line._handoff(False) is not None:
                pass
            line._notify()

    def abort(self) -> None:
        """Break the barrier: current and future waiters raise until :meth:`reset`."""
        with self._line._mutex:
            self._break()

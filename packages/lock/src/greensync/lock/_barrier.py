"""Barrier: a fixed number of waiters meet, then all go on, threading-style.

Why it looks like this
----------------------
``threading.Barrier`` wakes everybody through a condition variable and then has to "drain":
new arrivals wait until every thread of the previous trip has noticed that it may go.  Here
each trip (generation) has its own small outcome cell: the waiter that completes a trip
writes "passed" into it, starts a fresh cell for the next trip and wakes every listener of
the barrier's :class:`~greensync.hub.WaitLine` at once; a woken waiter reads its own trip's
cell.  So a trip is over the moment it is complete and the next one can begin at once.
Only while the trip's ``action`` runs (outside the mutex: it may do anything) do new
arrivals wait, as listeners too, for it to finish.

Arrivals are counted under the line's mutex.  A waiter joins the line afterwards and then
reads its cell once more before it parks (the line's ``ready`` hook), so a trip completed in
another thread in between is not missed.  A waiter that leaves early (its timeout, a kill, a
cancelled task) breaks the barrier only if its own trip is still open; if the trip completed
first, the trip stands: a waiter whose timeout raced the trip passes with the others, and
one into which an exception was thrown leaves with it while the others pass.

Greenlets (:meth:`Barrier.wait`) and asyncio tasks (:meth:`Barrier.async_wait`) can be
parties of the same trip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import final

from greensync.hub import check_timeout

from ._tokens import Line
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


class _Trip:
    """The outcome of one trip: ``None`` while it is open, then True (passed) or False."""

    __slots__ = ("outcome",)

    def __init__(self) -> None:
        self.outcome: bool | None = None

    def done(self) -> bool:
        return self.outcome is not None


@final
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

    __slots__ = (
        "__weakref__",
        "_action",
        "_count",
        "_line",
        "_parties",
        "_state",
        "_timeout",
        "_trip",
    )

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
        self._trip = _Trip()
        #: Its listeners: the parties of the open trip, and arrivals waiting for an action.
        self._line = Line(self)

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
        while True:
            index, trip = self._arrive()
            if trip is None:
                # The previous trip's action is running: wait for it to finish.
                line.listen(None, self._not_tripping)
                continue
            if index == self._parties - 1 and self._action is not None:
                return self._run_action(index, trip)
            break  # (the last to arrive without an action finds its trip passed)
        try:
            if timeout is None:
                while not trip.done():
                    line.listen(None, trip.done)
            else:
                deadline = time.monotonic() + timeout
                while not trip.done():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0.0 or not line.listen(remaining, trip.done):
                        break
        except BaseException:
            self._left(trip)
            raise
        return self._outcome(index, trip, timeout)

    async def async_wait(self, timeout: float | None = None) -> int:
        """The awaitable twin of :meth:`wait`: tasks and greenlets can meet in one trip.

        A task cancelled while it waits breaks the barrier (as a killed greenlet does) and
        raises ``CancelledError``.
        """
        timeout = self._timeout if timeout is None else check_timeout(timeout)
        line = self._line
        while True:
            index, trip = self._arrive()
            if trip is None:
                await line.async_listen(None, self._not_tripping)
                continue
            if index == self._parties - 1 and self._action is not None:
                return self._run_action(index, trip)
            break
        try:
            if timeout is None:
                while not trip.done():
                    await line.async_listen(None, trip.done)
            else:
                deadline = time.monotonic() + timeout
                while not trip.done():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0.0 or not await line.async_listen(remaining, trip.done):
                        break
        except BaseException:
            self._left(trip)
            raise
        return self._outcome(index, trip, timeout)

    def _not_tripping(self) -> bool:
        return self._state != _TRIPPING

    def _arrive(self) -> tuple[int, _Trip | None]:
        """Count this arrival; return its index and trip (``None``: an action is running).

        The last arrival completes the trip at once when there is no action (its trip's
        outcome is then set), or is told to run the action (its index is ``parties - 1``).
        """
        with self._line.mutex:
            state = self._state
            if state == _BROKEN:
                raise BrokenBarrierError(f"{self!r} is broken")
            if state == _TRIPPING:
                return 0, None
            trip = self._trip
            index = self._count
            self._count = index + 1
            if index + 1 == self._parties:
                if self._action is None:
                    self._end(True)
                else:
                    self._state = _TRIPPING
            return index, trip

    def _left(self, trip: _Trip) -> None:
        """A waiter leaves with an exception: break its trip if it is still open."""
        with self._line.mutex:
            if trip is self._trip and trip.outcome is None and self._state != _BROKEN:
                self._break()

    def _outcome(self, index: int, trip: _Trip, timeout: float | None) -> int:
        outcome = trip.outcome
        if outcome is True:
            return index
        if outcome is None:
            with self._line.mutex:
                outcome = trip.outcome
                if outcome is None:  # still open: this timeout breaks it
                    self._break()
            if outcome is True:
                return index  # the trip completed as the timeout expired: it stands
            if outcome is None:
                raise BrokenBarrierError(f"{self!r}: wait timed out after {timeout} seconds")
        raise BrokenBarrierError(f"{self!r} was broken or reset while waiting")

    def _run_action(self, index: int, trip: _Trip) -> int:
        """Run the action as the last arrival, then release the trip."""
        action = self._action
        assert action is not None
        line = self._line
        try:
            action()
        except BaseException:
            with line.mutex:
                if trip is self._trip and self._state == _TRIPPING:
                    self._break()
            raise
        with line.mutex:
            if trip is not self._trip or self._state != _TRIPPING:
                raise BrokenBarrierError(f"{self!r} was broken or reset while its action ran")
            self._end(True)
        return index

    def _end(self, passed: bool) -> None:
        """End the open trip (passed or failed) and start the next.  Hold the mutex."""
        self._trip.outcome = passed
        self._trip = _Trip()
        self._count = 0
        self._state = _FILLING
        line = self._line
        if line:
            line.notify()
            # Nobody takes from this line: a hand-off hands nothing, and drops the records of
            # waiters that left (timed out) instead of keeping them until the line compacts.
            line.handoff(None)

    def _break(self) -> None:
        """Break the barrier: every waiter raises.  Hold the mutex."""
        self._end(False)
        self._state = _BROKEN

    def reset(self) -> None:
        """Return the barrier to its empty, unbroken state.

        Waiters of the current trip raise :class:`BrokenBarrierError`; if the last arrival
        is running the action, it raises too once the action returns.
        """
        with self._line.mutex:
            self._end(False)

    def abort(self) -> None:
        """Break the barrier: current and future waiters raise until :meth:`reset`."""
        with self._line.mutex:
            self._break()

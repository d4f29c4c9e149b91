"""The semaphore family: Semaphore, BoundedSemaphore, DummySemaphore and CappedSemaphore.

Why it looks like this
----------------------
Free permits are tokens in a list (see :mod:`._tokens`): an uncontended ``acquire`` is one
``list.pop()`` and an uncontended ``release`` one ``list.append()``, with no mutex and no call
into the hub.  A release first looks at the wait line: if anyone may wait, the permit is
handed straight to the first taker under the line's mutex, reserved for it, so the releaser
(or anyone else) cannot take it back before the waiter runs; otherwise it is appended, and
the line is looked at again, so a waiter that joined meanwhile is served.  A waiter joins the
line and then tries the list once more before it parks, so no release is missed.  A permit
handed to a waiter that then leaves (timeout race, kill, cancelled task) goes back through
the line's ``give_back`` to the next waiter or to the list.  Nothing is lost and nothing is
counted twice.

``BoundedSemaphore`` also keeps a token per permit that is out (acquired and not yet
released): a release must take one, so an over-release is refused atomically, and a permit
on its way to a waiter that has not run yet counts against the bound.

``CappedSemaphore`` keeps two token lists -- units it may give (above the lower bound) and
room it may take (below the upper bound) -- and two lines: acquirers and releasers.  An
acquire moves a unit from the first list to the second, a release the other way; a release
that finds an acquirer waiting hands its permit straight to it, and an acquire that finds a
releaser waiting takes that releaser's permit, so the two lines are never both served from
the lists.  Both lines share one mutex; the contended paths (:meth:`CappedSemaphore._serve`)
run under it.

Rejected: a counter under a mutex (a mutex round trip on every uncontended call doubled the
cost of ``with sem:``); gevent's scheme of waking waiters and letting them race for the
counter (the releaser barges back in and starves waiters under a tight loop); eventlet's
``CappedSemaphore`` built from two semaphores (its ``acquire`` lets a blocked releaser go
before it knows it can take a permit itself).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from greensync.hub import NOTHING, TIMED_OUT, Linkable, WaitLine, check_timeout

from ._tokens import Line, TokenLine, fill, put, take
from ._util import check_acquire_timeout, check_count, check_int

__all__ = ["BoundedSemaphore", "CappedSemaphore", "DummySemaphore", "Semaphore"]

#: What :class:`DummySemaphore` reports as its counter: as many permits as an int can say.
_INFINITE = sys.maxsize


class Semaphore(Linkable):
    """A counter of permits: :meth:`acquire` takes one, blocking while there are none.

    Any greenlet or task may release, whether it acquired or not; releasing more often than
    acquiring raises the counter past its initial value (use :class:`BoundedSemaphore` to
    treat that as the bug it usually is).  Waiters -- greenlets, asyncio tasks
    (:meth:`async_acquire`, ``async with``) and plain threads alike -- are served first come,
    first served, and a released permit is handed to the first of them, reserved: whoever
    releases and at once acquires again queues behind the waiters.

    Safe to share between OS threads, each running its own hub.  An acquire or release that
    does not block takes no mutex and never touches the hub (nor creates one).

    Args:
        value: The initial number of permits (an int, or a float with a whole value).

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: ``value`` is negative or not a whole number.

    Note:
        gevent's ``Semaphore.release()`` releases one permit; this one takes ``n`` as
        ``threading.Semaphore.release(n)`` does.  ``balance`` is eventlet's: the counter
        minus the waiters blocked in :meth:`acquire`.
    """

    __slots__ = ("_tokens",)

    def __init__(self, value: int = 1) -> None:
        if value.__class__ is not int or value < 0:
            value = check_int(value, "value", 0, whole_floats=True)
        super().__init__()
        #: The free permits, as tokens (see ``_tokens``).
        self._tokens = fill(value)

    def make_waitline(self) -> WaitLine:
        return TokenLine(self, self._tokens)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} value={self.counter} waiters={self.linkcount()}>"

    # -- state ------------------------------------------------------------------------------

    @property
    def counter(self) -> int:
        """The number of permits that can be acquired right now without blocking."""
        return sum(self._tokens)

    @property
    def balance(self) -> int:
        """The counter minus the number of waiters blocked in :meth:`acquire`.

        Positive: that many acquires would succeed at once.  Negative: that many releases are
        needed before the next new acquire could succeed (eventlet's meaning).  Greenlets,
        tasks and threads all count.
        """
        line = self.waitline
        if line is None:
            return self.counter
        with line.mutex:
            return sum(self._tokens) - line.takers()

    def locked(self) -> bool:
        """Return True if :meth:`acquire` would block (no permit is free)."""
        return not self._tokens

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block (a permit is free)."""
        return bool(self._tokens)

    # -- acquiring --------------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit, waiting for one if necessary.

        Args:
            blocking: If False, do not wait: return False at once when no permit is free.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if a permit was taken, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block inside the hub (in a hub callback), or in a
                coroutine (use :meth:`async_acquire` there).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        tokens = self._tokens
        if tokens:
            try:
                k = tokens.pop()
            except IndexError:
                pass
            else:
                if k != 1:
                    self._split(k)
                return True
        if not blocking or timeout == 0.0:
            return False
        line = self.waitline or self.get_waitline()
        return line.park(timeout, self._take) is not TIMED_OUT

    def __enter__(self) -> bool:
        # acquire()'s fast path again: a ``with`` block is the hottest use, and a blocked
        # ``with`` in a coroutine is then told to use ``async with``.
        tokens = self._tokens
        if tokens:
            try:
                k = tokens.pop()
            except IndexError:
                pass
            else:
                if k != 1:
                    self._split(k)
                return True
        return self._block(None)

    def _block(self, timeout: float | None) -> bool:
        line = self.waitline or self.get_waitline()
        return line.park(timeout, self._take) is not TIMED_OUT

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Take a permit from an asyncio task, waiting in the same line as greenlets.

        The awaitable twin of :meth:`acquire`.  A task cancelled while it waits leaves the
        line, and a permit it had been handed goes to the next waiter.

        Args:
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if a permit was taken, False if ``timeout`` expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        tokens = self._tokens
        if tokens:
            try:
                k = tokens.pop()
            except IndexError:
                pass
            else:
                if k != 1:
                    self._split(k)
                return True
        if timeout == 0.0:
            return False
        return await self.get_waitline().async_park(timeout, self._take) is not TIMED_OUT

    async def __aenter__(self) -> bool:
        return await self.async_acquire()

    def _take(self) -> Any:
        """Take a permit without waiting (a waiter's retry after joining the line)."""
        tokens = self._tokens
        if tokens:
            try:
                k = tokens.pop()
            except IndexError:
                return NOTHING
            if k != 1:
                self._split(k)
            return 1
        return NOTHING

    def _split(self, k: int) -> None:
        # Took one permit of a bundle: the rest goes back, and is a give like any other.
        self._tokens.append(k - 1)
        line = self.waitline
        if line:
            with line.mutex:
                line.serve()  # type: ignore[attr-defined]

    def wait(self, timeout: float | None = None) -> int:
        """Wait until a permit is free, without taking it, and return the counter.

        Args:
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            The counter when this call returns.  It can be 0: the wait timed out, or other
            waiters took the free permits before this one ran.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self._tokens and timeout != 0.0:
            self.get_waitline().listen(timeout, self.ready)
        return self.counter

    async def async_wait(self, timeout: float | None = None) -> int:
        """The awaitable twin of :meth:`wait`."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self._tokens and timeout != 0.0:
            await self.get_waitline().async_listen(timeout, self.ready)
        return self.counter

    # -- releasing --------------------------------------------------------------------------

    def release(self, n: int = 1) -> None:
        """Give back ``n`` permits, handing each to the longest waiter, if any.

        Never blocks and never switches away from the caller: woken waiters run on their
        hub's (or loop's) next turn.  Allowed in a coroutine.

        Args:
            n: How many permits to release.

        Raises:
            TypeError: ``n`` is not an int.
            ValueError: ``n`` is less than 1.
        """
        if n.__class__ is not int or n != 1:
            n = check_count(n)
            if n != 1:
                self._release_many(n)
                return
        line = self.waitline
        if line:  # someone may wait: hand the permit over, reserved (rule 2)
            mutex = line.mutex
            mutex.acquire()
            try:
                if not line.handoff(1):
                    line.give_back(1)  # nobody takes: to the list, and wake the listeners
            finally:
                mutex.release()
            return
        self._tokens.append(1)
        if self.waitline:  # someone joined meanwhile: serve them
            self._serve()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # release()'s path, inlined: a ``with`` block is the hottest use.
        line = self.waitline
        if line:
            mutex = line.mutex
            mutex.acquire()
            try:
                if not line.handoff(1):
                    line.give_back(1)
            finally:
                mutex.release()
            return
        self._tokens.append(1)
        if self.waitline:
            self._serve()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _release_many(self, n: int) -> None:
        line = self.waitline
        if line:
            with line.mutex:
                line.put(n)  # type: ignore[attr-defined]
            return
        put(self._tokens, n)
        if self.waitline:
            self._serve()

    def _serve(self) -> None:
        line = self.waitline
        assert line is not None
        with line.mutex:
            line.serve()  # type: ignore[attr-defined]


class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` whose counter may not rise above its initial value.

    Releasing more permits than were acquired is almost always a bug, so :meth:`release`
    raises ``ValueError`` instead, and leaves the semaphore as it was.  A permit handed to a
    waiter that has not run yet still counts against the bound, as it does in ``threading``
    and gevent (where it sits in the counter until the woken waiter takes it): a release
    fails if the counter plus those permits plus ``n`` would pass the initial value, and so
    the counter never does, whoever leaves early.

    Args:
        value: The initial, and largest, number of permits.

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: ``value`` is negative or not a whole number.
    """

    __slots__ = ("_initial", "_out")

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial = self.counter
        #: One token per permit out (acquired, not yet released): a release must take one.
        self._out: list[int] = []

    def __repr__(self) -> str:
        return (
            f"<BoundedSemaphore value={self.counter} initial={self._initial} "
            f"waiters={self.linkcount()}>"
        )

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit, waiting for one if necessary (see :meth:`Semaphore.acquire`)."""
        if Semaphore.acquire(self, blocking, timeout):
            self._out.append(1)
            return True
        return False

    def __enter__(self) -> bool:
        if Semaphore.__enter__(self):
            self._out.append(1)
            return True
        return False  # pragma: no cover - a wait without a timeout only ends holding one

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Take a permit from an asyncio task (see :meth:`Semaphore.async_acquire`)."""
        if await Semaphore.async_acquire(self, timeout):
            self._out.append(1)
            return True
        return False

    def release(self, n: int = 1) -> None:
        """Give back ``n`` permits, like :meth:`Semaphore.release`, but never past the start.

        Raises:
            TypeError: ``n`` is not an int.
            ValueError: ``n`` is less than 1, or the counter plus the permits handed to
                waiters that have not run yet plus ``n`` would exceed the initial value (the
                semaphore is left unchanged).
        """
        if n.__class__ is not int or n != 1:
            n = check_count(n)
        out = self._out
        taken = 0
        while taken < n:
            if not out:
                break
            try:
                out.pop()
            except IndexError:
                break
            taken += 1
        if taken < n:
            if taken:
                out.extend([1] * taken)
            raise ValueError(self._too_many(n))
        Semaphore.release(self, n)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _too_many(self, n: int) -> str:
        value = self.counter
        handed = max(0, self._initial - value - len(self._out))
        if handed:
            held = f"counter {value} and {handed} permit{'s' if handed > 1 else ''} handed to "
            held += "waiters that have not run yet"
        else:
            held = f"counter {value}"
        return (
            f"BoundedSemaphore released too many times: releasing {n} with {held} would "
            f"exceed the initial value {self._initial}"
        )


class DummySemaphore(Linkable):
    """An object with :class:`Semaphore`'s API that never blocks: it has permits without end.

    Use it where a semaphore is expected but nothing needs limiting (gevent's pools do so
    for an unbounded size), so the code that acquires and releases need not change.
    Arguments are checked as :class:`Semaphore` checks them, so code that is wrong for one
    is wrong for both.

    Args:
        value: Accepted for compatibility with :class:`Semaphore`; checked, then ignored.

    Note:
        :attr:`counter`, :attr:`balance` and :meth:`wait` report ``sys.maxsize``; gevent's
        ``DummySemaphore.wait()`` returns 1.  :meth:`rawlink` callbacks are
        called on the hub's next turn, since the object is always ready.
    """

    __slots__ = ()

    def __init__(self, value: int | None = None) -> None:
        if value is not None:
            check_int(value, "value", 0, whole_floats=True)
        super().__init__()

    def __repr__(self) -> str:
        return "<DummySemaphore>"

    @property
    def counter(self) -> int:
        """Always ``sys.maxsize``: a permit is always free."""
        return _INFINITE

    @property
    def balance(self) -> int:
        """Always ``sys.maxsize``: a permit is always free."""
        return _INFINITE

    def locked(self) -> bool:
        """Return False: a DummySemaphore is never locked."""
        return False

    def ready(self) -> bool:
        """Return True: a DummySemaphore can always be acquired."""
        return True

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Return True at once, after checking the arguments as :meth:`Semaphore.acquire` does.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
        """
        if timeout is not None:
            check_acquire_timeout(blocking, timeout)
        return True

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """Return True at once, after checking ``timeout`` (see :meth:`acquire`)."""
        if timeout is not None:
            check_timeout(timeout)
        return True

    def wait(self, timeout: float | None = None) -> int:
        """Return ``sys.maxsize`` at once, after checking ``timeout``.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            check_timeout(timeout)
        return _INFINITE

    async def async_wait(self, timeout: float | None = None) -> int:
        """Return ``sys.maxsize`` at once, after checking ``timeout``."""
        return self.wait(timeout)

    def release(self, n: int = 1) -> None:
        """Do nothing, after checking ``n`` as :meth:`Semaphore.release` does.

        Raises:
            TypeError: ``n`` is not an int.
            ValueError: ``n`` is less than 1.
        """
        if n.__class__ is not int or n != 1:
            check_count(n)

    def __enter__(self) -> bool:
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def __aenter__(self) -> bool:
        return True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


# -- CappedSemaphore ---------------------------------------------------------------------------

#: What a blocked releaser is handed: its release went through (room was made for it, or an
#: acquirer took its permit).
_RELEASED: Any = True


class _AcquireLine(Line):
    """The acquirers of a CappedSemaphore (and its listeners)."""

    __slots__ = ()

    def give_back(self, value: Any) -> None:
        # An acquirer handed a permit left before it ran: undo its acquire.
        sem: CappedSemaphore | None = self.owner
        if sem is not None:
            sem._undo_acquire()


class _ReleaseLine(Line):
    """The releasers of a CappedSemaphore blocked at its upper bound."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<release line of {self.owner!r}>"

    def give_back(self, value: Any) -> None:
        # A releaser whose release was made for it left before it ran: undo its release.
        sem: CappedSemaphore | None = self.owner
        if sem is not None:
            sem._undo_release()


class CappedSemaphore(Linkable):
    """A semaphore whose counter stays between two bounds, blocking at either end.

    :meth:`acquire` lowers the counter and blocks while it is at ``lower_bound``;
    :meth:`release` raises it and blocks while it is at ``upper_bound``.  Each side waits in
    its own FIFO line; a release that finds an acquirer waiting hands its permit straight to
    it, and an acquire that finds a releaser waiting takes that releaser's permit, so with
    ``lower_bound == upper_bound`` the semaphore is a rendezvous.  Uncontended acquires and
    releases take no mutex.

    Args:
        balance: The initial counter.
        lower_bound: The counter's floor (default 0).
        upper_bound: The counter's ceiling (default ``balance``).

    Raises:
        TypeError: an argument is not a number.
        ValueError: an argument is not a whole number, or the bounds are out of order
            (``lower_bound <= balance <= upper_bound`` must hold).

    Note:
        eventlet spells the constructor ``CappedSemaphore(count, limit)``; here that is
        ``CappedSemaphore(count, upper_bound=limit)`` (the reference documentation's
        signature).  A permit given back by a waiter that left early can leave the counter
        one past a bound until the next acquire or release brings it back.
    """

    __slots__ = ("_above", "_below", "_free", "_lower", "_rline", "_room", "_upper")

    def __init__(
        self, balance: int, lower_bound: int | None = None, upper_bound: int | None = None
    ) -> None:
        balance = check_int(balance, "balance", whole_floats=True)
        lower = (
            0 if lower_bound is None else check_int(lower_bound, "lower_bound", whole_floats=True)
        )
        upper = (
            balance
            if upper_bound is None
            else check_int(upper_bound, "upper_bound", whole_floats=True)
        )
        if balance < lower:
            raise ValueError(f"`balance` must be >= `lower_bound` ({lower}), got {balance}")
        if upper < balance:
            raise ValueError(f"`upper_bound` must be >= `balance` ({balance}), got {upper}")
        super().__init__()
        self._lower = lower
        self._upper = upper
        #: Units an acquire may take: ``counter - lower_bound`` of them.
        self._free = fill(balance - lower)
        #: Units a release may take: ``upper_bound - counter`` of them.
        self._room = fill(upper - balance)
        #: Debts: the counter is that many past the upper bound (``_room`` is empty) ...
        self._above: list[int] = []
        #: ... or below the lower bound (``_free`` is empty), after a waiter left early.
        self._below: list[int] = []
        #: The releasers' line, made with the acquirers' (:meth:`make_waitline`).
        self._rline: _ReleaseLine | None = None

    def make_waitline(self) -> WaitLine:
        line = _AcquireLine(self)
        rline = _ReleaseLine(self, mutex=line.mutex)  # one mutex for both lines
        self._rline = rline
        return line

    def __repr__(self) -> str:
        return (
            f"<CappedSemaphore value={self.counter} bounds={self._lower}..{self._upper} "
            f"acquirers={Linkable.linkcount(self)} "
            f"releasers={self._releasers()}>"
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def counter(self) -> int:
        """The counter as it stands."""
        return self._lower + sum(self._free) - len(self._below)

    @property
    def balance(self) -> int:
        """The counter once every blocked acquire and release has gone through.

        The counter, minus the waiters blocked in :meth:`acquire`, plus those blocked in
        :meth:`release`.  (eventlet's ``CappedSemaphore.balance`` is a different number: how
        many acquires minus how many releases could go through without blocking.)
        """
        line = self.waitline
        if line is None:
            return self.counter
        rline = self._rline
        assert rline is not None
        with line.mutex:
            return self.counter - line.takers() + rline.takers()

    @property
    def lower_bound(self) -> int:
        """The counter's floor: :meth:`acquire` blocks there."""
        return self._lower

    @property
    def upper_bound(self) -> int:
        """The counter's ceiling: :meth:`release` blocks there."""
        return self._upper

    def _releasers(self) -> int:
        rline = self._rline
        return rline.takers() if rline else 0

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block."""
        return bool(self._free) or self._releasers() > 0

    def locked(self) -> bool:
        """Return True if :meth:`acquire` would block."""
        return not self.ready()

    def bounded(self) -> bool:
        """Return True if :meth:`release` would block (eventlet's name)."""
        if self._room:
            return False
        line = self.waitline
        return not (line and line.takers())

    def linkcount(self) -> int:
        """Return how many callbacks, greenlets and tasks wait, on either side."""
        return super().linkcount() + self._releasers()

    # -- the units (list operations, each atomic; the debts settle the rare overshoots) ----------

    def _free_plus(self) -> None:
        below = self._below
        if below:
            try:
                below.pop()
            except IndexError:
                pass
            else:
                return
        self._free.append(1)

    def _room_plus(self) -> None:
        above = self._above
        if above:
            try:
                above.pop()
            except IndexError:
                pass
            else:
                return
        self._room.append(1)

    def _free_minus(self) -> None:
        if take(self._free) is NOTHING:
            self._below.append(1)

    def _room_minus(self) -> None:
        if take(self._room) is NOTHING:
            self._above.append(1)

    # -- acquiring --------------------------------------------------------------------------

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Lower the counter by one, waiting while it is at the lower bound.

        Args:
            blocking: If False, do not wait: return False at once instead.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if the counter was lowered, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block in a coroutine (use :meth:`async_acquire`).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        if self._take() is not NOTHING:
            return True
        if not blocking or timeout == 0.0:
            return False
        return self._block(timeout)

    def __enter__(self) -> bool:
        if self._take() is not NOTHING:
            return True
        return self._block(None)

    def _block(self, timeout: float | None) -> bool:
        return self.get_waitline().park(timeout, self._take) is not TIMED_OUT

    async def async_acquire(self, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`acquire` (the task waits in the same line)."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._take() is not NOTHING:
            return True
        if timeout == 0.0:
            return False
        return await self.get_waitline().async_park(timeout, self._take) is not TIMED_OUT

    async def __aenter__(self) -> bool:
        return await self.async_acquire()

    def _take(self) -> Any:
        """Lower the counter without waiting: return 1, or NOTHING (also a waiter's retry)."""
        if not self._rline:  # no releaser may be waiting: the uncontended path
            free = self._free
            if free:
                try:
                    k = free.pop()
                except IndexError:
                    pass
                else:
                    if k != 1:
                        free.append(k - 1)
                    self._room_plus()
                    if self._rline or (k != 1 and self.waitline):
                        self._serve()
                    return 1
            return NOTHING
        line = self.get_waitline()
        rline = self._rline
        with line.mutex:
            if take(self._free) is not NOTHING:
                self._room_plus()
                self._serve_locked(line, rline)
                return 1
            if rline.handoff(_RELEASED):
                return 1  # took a blocked releaser's permit: the counter does not move
        return NOTHING

    def wait(self, timeout: float | None = None) -> int:
        """Wait until :meth:`acquire` would not block, without acquiring; return the counter.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self.ready() and timeout != 0.0:
            self.get_waitline().listen(timeout, self.ready)
        return self.counter

    async def async_wait(self, timeout: float | None = None) -> int:
        """The awaitable twin of :meth:`wait`."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if not self.ready() and timeout != 0.0:
            await self.get_waitline().async_listen(timeout, self.ready)
        return self.counter

    # -- releasing --------------------------------------------------------------------------

    def release(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Raise the counter by one, waiting while it is at the upper bound.

        A release that finds an acquirer waiting hands the permit straight to it.

        Args:
            blocking: If False, do not wait: return False at once instead.
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            True if the permit was released, False if ``blocking`` was False or ``timeout``
            expired first.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative, or given together with ``blocking=False``.
            RuntimeError: it would block in a coroutine (use :meth:`async_release`).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        if self._give() is not NOTHING:
            return True
        if not blocking or timeout == 0.0:
            return False
        self.get_waitline()
        rline = self._rline
        assert rline is not None
        return rline.park(timeout, self._give) is not TIMED_OUT

    async def async_release(self, timeout: float | None = None) -> bool:
        """The awaitable twin of :meth:`release` (the task waits among the releasers)."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._give() is not NOTHING:
            return True
        if timeout == 0.0:
            return False
        self.get_waitline()
        rline = self._rline
        assert rline is not None
        return await rline.async_park(timeout, self._give) is not TIMED_OUT

    def _give(self) -> Any:
        """Raise the counter without waiting: return True, or NOTHING (a releaser's retry)."""
        line = self.waitline
        if not line:  # no acquirer or listener may be waiting: the uncontended path
            room = self._room
            if room:
                try:
                    k = room.pop()
                except IndexError:
                    pass
                else:
                    if k != 1:
                        room.append(k - 1)
                    self._free_plus()
                    if self.waitline or (k != 1 and self._rline):
                        self._serve()
                    return _RELEASED
            return NOTHING
        rline = self._rline
        assert rline is not None
        with line.mutex:
            if line.handoff(1):
                return _RELEASED  # an acquirer takes the permit: the counter does not move
            if take(self._room) is not NOTHING:
                self._free_plus()
                self._serve_locked(line, rline)
                return _RELEASED
            if line.listeners() and rline.takers():
                # A releaser waits (this one, on its retry): an acquire would now succeed by
                # taking its permit, so the acquirers' listeners may go.
                line.notify()
        return NOTHING

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.async_release()

    # -- the contended paths (under the lines' mutex) -----------------------------------------

    def _serve(self) -> None:
        line = self.get_waitline()
        rline = self._rline
        assert rline is not None
        with line.mutex:
            self._serve_locked(line, rline)

    def _serve_locked(self, line: WaitLine, rline: WaitLine) -> None:
        """Serve both lines from the lists, first come first served.  Hold the mutex."""
        free = self._free
        room = self._room
        progress = True
        while progress:
            progress = False
            while line.takers():
                if free:
                    if take(free) is NOTHING:
                        continue
                    if not line.handoff(1):
                        self._free_plus()
                        break
                    self._room_plus()
                elif rline.takers():
                    if not line.handoff(1):
                        break
                    if not rline.handoff(_RELEASED):
                        # The releaser's thread is gone after all: an acquire like any other.
                        self._free_minus()
                        self._room_plus()
                else:
                    break
                progress = True
            while rline.takers() and room:
                if take(room) is NOTHING:
                    continue
                if not rline.handoff(_RELEASED):
                    self._room_plus()
                    break
                self._free_plus()
                progress = True
        if line.listeners() and (free or rline.takers()):
            line.notify()

    def _undo_acquire(self) -> None:
        # Mutex held (give_back): the permit goes to the next acquirer, or back.
        line = self.waitline
        rline = self._rline
        assert line is not None
        assert rline is not None
        if line.handoff(1):
            return
        self._free_plus()
        self._room_minus()
        self._serve_locked(line, rline)

    def _undo_release(self) -> None:
        # Mutex held (give_back): the next blocked releaser gives its permit instead, or the
        # counter takes it back.
        line = self.waitline
        rline = self._rline
        assert line is not None
        assert rline is not None
        if rline.handoff(_RELEASED):
            return
        self._free_minus()
        self._room_plus()
        self._serve_locked(line, rline)

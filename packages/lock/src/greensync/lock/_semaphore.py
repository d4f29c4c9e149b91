"""The semaphore family: Semaphore, BoundedSemaphore, DummySemaphore and CappedSemaphore.

Why it looks like this
----------------------
A permit is never put back into the counter while somebody waits for one.  ``release()``
hands it straight to the first parked greenlet through :meth:`Linkable._handoff`, reserved
for it, so the releaser (or any other greenlet) cannot take it back before the waiter runs:
the counter only grows when nobody waits, which also means "counter > 0" implies "no
waiters" and ``acquire`` can take a permit without looking at the queue.  A permit handed
to a waiter that then leaves (timeout race, kill, an outer timeout) comes back through
:meth:`_reclaim` and goes to the next waiter or into the counter.  Nothing is lost and
nothing is counted twice.

``CappedSemaphore`` has two lines: acquirers that wait for the counter to rise above the
lower bound, and releasers that wait for it to fall below the upper bound.  The second line
is a private :class:`Linkable` sharing the semaphore's mutex.  An acquire that finds a
releaser waiting takes that releaser's permit directly, and the other way round, so the two
lines are never both non-empty.

Rejected: gevent's scheme of waking waiters and letting them race for the counter (it lets
the releaser barge back in and starves waiters under a tight loop); eventlet's
``CappedSemaphore`` built from two semaphores (its ``acquire`` lets a blocked releaser go
before it knows it can take a permit itself).
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from greensync.hub import TIMED_OUT, Linkable, check_timeout

from ._util import check_acquire_timeout, check_count, check_int

__all__ = ["BoundedSemaphore", "CappedSemaphore", "DummySemaphore", "Semaphore"]

#: What :class:`DummySemaphore` reports as its counter: as many permits as an int can say.
_INFINITE = sys.maxsize


class Semaphore(Linkable):
    """A counter of permits: :meth:`acquire` takes one, blocking while there are none.

    Any greenlet may release, whether it acquired or not; releasing more often than
    acquiring raises the counter past its initial value (use :class:`BoundedSemaphore` to
    treat that as the bug it usually is).  Waiters are served first come, first served, and a
    released permit is handed to the first of them, reserved: a greenlet that releases and at
    once acquires again queues behind the waiters.

    Safe to share between OS threads, each running its own hub.  An acquire or release that
    does not block never touches the hub (and never creates one).

    Args:
        value: The initial number of permits.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is negative.

    Note:
        gevent's ``Semaphore.release()`` releases one permit; this one takes ``n`` as
        ``threading.Semaphore.release(n)`` does.  ``balance`` is eventlet's: the counter
        minus the greenlets blocked in :meth:`acquire`.
    """

    __slots__ = ("_value",)

    def __init__(self, value: int = 1) -> None:
        if value.__class__ is not int or value < 0:
            value = check_int(value, "value", 0)
        super().__init__()
        self._value = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} value={self._value} waiters={self.linkcount()}>"

    # -- state ------------------------------------------------------------------------------

    @property
    def counter(self) -> int:
        """The number of permits that can be acquired right now without blocking."""
        return self._value

    @property
    def balance(self) -> int:
        """The counter minus the number of greenlets blocked in :meth:`acquire`.

        Positive: that many acquires would succeed at once.  Negative: that many releases are
        needed before the next new acquire could succeed (eventlet's meaning).
        """
        with self._mutex:
            return self._value - self._waiter_count()

    def locked(self) -> bool:
        """Return True if :meth:`acquire` would block (no permit is free)."""
        return self._value <= 0

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block (a permit is free)."""
        return self._value > 0

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
            RuntimeError: it would block inside the hub (in a hub callback).
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        mutex = self._mutex
        mutex.acquire()
        value = self._value
        if value > 0:  # the fast path: nothing here can raise
            self._value = value - 1
            mutex.release()
            return True
        try:
            if not blocking or timeout == 0.0:
                return False
            link = self._enqueue_waiter()
        finally:
            mutex.release()
        return self._park(link, timeout) is not TIMED_OUT

    def wait(self, timeout: float | None = None) -> int:
        """Wait until a permit is free, without taking it, and return the counter.

        Args:
            timeout: The longest to wait, in seconds; ``None`` waits for as long as it takes.

        Returns:
            The counter when this call returns.  It can be 0: the wait timed out, or other
            greenlets took the free permits before this one ran.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._value > 0 or timeout == 0.0:
                return self._value
            link = self._enqueue_listener()
        finally:
            mutex.release()
        self._park(link, timeout)
        return self._value

    # -- releasing --------------------------------------------------------------------------

    def release(self, n: int = 1) -> None:
        """Give back ``n`` permits, handing each to the longest waiter, if any.

        Never blocks and never switches away from the caller: woken waiters run on their
        hub's next turn.

        Args:
            n: How many permits to release.

        Raises:
            TypeError: ``n`` is not an int.
            ValueError: ``n`` is less than 1.
        """
        if n.__class__ is not int or n != 1:
            n = check_count(n)
        mutex = self._mutex
        mutex.acquire()
        if not self.linkcount():  # nobody waits or listens (exact: the mutex is held)
            self._value += n
            mutex.release()
            return
        try:
            self._give(n)
        finally:
            mutex.release()

    def _give(self, n: int) -> None:
        """Hand ``n`` permits to waiters, the rest to the counter.  Hold ``_mutex``."""
        handoff = self._handoff
        while handoff(True) is not None:
            n -= 1
            if not n:
                return
        self._value += n
        self._notify()

    def _reclaim(self, value: Any) -> None:
        # A waiter that was handed a permit left before it ran: pass the permit on.
        self._give(1)

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> bool:
        # acquire()'s fast path, inlined: a ``with`` block is the hottest use.
        mutex = self._mutex
        mutex.acquire()
        value = self._value
        if value > 0:
            self._value = value - 1
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
        if not self.linkcount():
            self._value += 1
            mutex.release()
            return
        try:
            self._give(1)
        finally:
            mutex.release()


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
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is negative.
    """

    __slots__ = ("_handed", "_initial")

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial = self._value
        #: Permits handed to waiters that have not yet run (and so not yet taken them).
        self._handed = 0

    def __repr__(self) -> str:
        return (
            f"<BoundedSemaphore value={self._value} initial={self._initial} "
            f"waiters={self.linkcount()}>"
        )

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit, waiting for one if necessary (see :meth:`Semaphore.acquire`)."""
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        mutex = self._mutex
        mutex.acquire()
        value = self._value
        if value > 0:  # the fast path: nothing here can raise
            self._value = value - 1
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
        # Handed a permit: it is ours now, no longer on its way.
        mutex.acquire()
        self._handed -= 1
        mutex.release()
        return True

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
        mutex = self._mutex
        mutex.acquire()
        value = self._value
        if value + self._handed + n <= self._initial and not self.linkcount():
            self._value = value + n
            mutex.release()
            return
        try:
            if value + self._handed + n > self._initial:
                raise ValueError(self._too_many(value, n))
            self._give(n)
        finally:
            mutex.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _give(self, n: int) -> None:
        """Hand ``n`` permits to waiters, the rest to the counter.  Hold ``_mutex``."""
        handoff = self._handoff
        while handoff(True) is not None:
            self._handed += 1
            n -= 1
            if not n:
                return
        self._value += n
        self._notify()

    def _reclaim(self, value: Any) -> None:
        # A waiter handed a permit left before it ran: it is no longer on its way to it.
        self._handed -= 1
        self._give(1)

    def _too_many(self, value: int, n: int) -> str:
        handed = self._handed
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
            check_int(value, "value", 0)
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

    def wait(self, timeout: float | None = None) -> int:
        """Return ``sys.maxsize`` at once, after checking ``timeout``.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            check_timeout(timeout)
        return _INFINITE

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


class _ReleaseLine(Linkable):
    """The greenlets blocked in :meth:`CappedSemaphore.release`.  Private.

    Shares the semaphore's mutex, so one lock covers both lines.
    """

    __slots__ = ("_sem",)

    def __init__(self, sem: CappedSemaphore) -> None:
        super().__init__()
        self._mutex = sem._mutex
        self._sem = sem

    def __repr__(self) -> str:
        return f"<release line of {self._sem!r}>"

    def ready(self) -> bool:
        sem = self._sem
        return sem._value < sem._upper

    def _reclaim(self, value: Any) -> None:
        # A releaser was told "an acquirer took your permit", then left with an exception
        # before it ran, so its release did not happen.  The acquirer keeps the permit: the
        # next blocked releaser gives it instead, or it comes out of the counter.
        if self._handoff(value) is None:
            self._sem._value -= 1


class CappedSemaphore(Linkable):
    """A semaphore whose counter stays between two bounds, blocking at either end.

    :meth:`acquire` lowers the counter and blocks while it is at ``lower_bound``;
    :meth:`release` raises it and blocks while it is at ``upper_bound``.  Each side waits in
    its own FIFO line; a release that finds an acquirer waiting hands its permit straight to
    it, and an acquire that finds a releaser waiting takes that releaser's permit, so with
    ``lower_bound == upper_bound`` the semaphore is a rendezvous.

    Args:
        balance: The initial counter.
        lower_bound: The counter's floor (default 0).
        upper_bound: The counter's ceiling (default ``balance``).

    Raises:
        TypeError: an argument is not an int.
        ValueError: the bounds are out of order (``lower_bound <= balance <= upper_bound``
            must hold).

    Note:
        eventlet spells the constructor ``CappedSemaphore(count, limit)``; here that is
        ``CappedSemaphore(count, upper_bound=limit)`` (the reference documentation's
        signature).  A permit given back by a waiter that left early can leave the counter
        one past a bound until the next acquire or release brings it back.
    """

    __slots__ = ("_line", "_lower", "_upper", "_value")

    def __init__(
        self, balance: int, lower_bound: int | None = None, upper_bound: int | None = None
    ) -> None:
        balance = check_int(balance, "balance")
        lower = 0 if lower_bound is None else check_int(lower_bound, "lower_bound")
        upper = balance if upper_bound is None else check_int(upper_bound, "upper_bound")
        if balance < lower:
            raise ValueError(f"`balance` must be >= `lower_bound` ({lower}), got {balance}")
        if upper < balance:
            raise ValueError(f"`upper_bound` must be >= `balance` ({balance}), got {upper}")
        super().__init__()
        self._value = balance
        self._lower = lower
        self._upper = upper
        self._line = _ReleaseLine(self)

    def __repr__(self) -> str:
        return (
            f"<CappedSemaphore value={self._value} bounds={self._lower}..{self._upper} "
            f"acquirers={Linkable.linkcount(self)} "
            f"releasers={self._line.linkcount()}>"
        )

    # -- state ------------------------------------------------------------------------------

    @property
    def counter(self) -> int:
        """The counter as it stands."""
        return self._value

    @property
    def balance(self) -> int:
        """The counter once every blocked acquire and release has gone through.

        The counter, minus the greenlets blocked in :meth:`acquire`, plus those blocked in
        :meth:`release`.  (eventlet's ``CappedSemaphore.balance`` is a different number: how
        many acquires minus how many releases could go through without blocking.)
        """
        with self._mutex:
            return self._value - self._waiter_count() + self._line._waiter_count()

    @property
    def lower_bound(self) -> int:
        """The counter's floor: :meth:`acquire` blocks there."""
        return self._lower

    @property
    def upper_bound(self) -> int:
        """The counter's ceiling: :meth:`release` blocks there."""
        return self._upper

    def ready(self) -> bool:
        """Return True if :meth:`acquire` would not block."""
        return self._value > self._lower or self._line._has_waiters()

    def locked(self) -> bool:
        """Return True if :meth:`acquire` would block."""
        with self._mutex:
            return not self.ready()

    def bounded(self) -> bool:
        """Return True if :meth:`release` would block (eventlet's name)."""
        with self._mutex:
            return self._value >= self._upper and not self._has_waiters()

    def linkcount(self) -> int:
        """Return how many callbacks and greenlets wait, on either side."""
        return super().linkcount() + self._line.linkcount()

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
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        mutex = self._mutex
        mutex.acquire()
        try:
            value = self._value
            if value > self._lower:
                value -= 1
                self._value = value
                if value < self._upper and self._line._handoff(True) is not None:
                    self._value = value + 1  # a blocked releaser's permit refills it
                return True
            if self._line._handoff(True) is not None:
                return True  # take a blocked releaser's permit directly
            if not blocking or timeout == 0.0:
                return False
            link = self._enqueue_waiter()
        finally:
            mutex.release()
        return self._park(link, timeout) is not TIMED_OUT

    def wait(self, timeout: float | None = None) -> int:
        """Wait until :meth:`acquire` would not block, without acquiring; return the counter.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        with self._mutex:
            if self.ready() or timeout == 0.0:
                return self._value
            link = self._enqueue_listener()
        self._park(link, timeout)
        return self._value

    def _reclaim(self, value: Any) -> None:
        # An acquirer handed a permit left before it ran: the next acquirer gets it, or the
        # counter takes it back.
        if self._handoff(value) is None:
            self._value += 1
            self._notify()

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
        """
        if timeout is not None:
            timeout = check_acquire_timeout(blocking, timeout)
        line = self._line
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._handoff(True) is not None:
                return True  # an acquirer takes it directly
            value = self._value
            if value < self._upper:
                self._value = value + 1
                if value + 1 > self._lower:
                    self._notify()
                return True
            if not blocking or timeout == 0.0:
                return False
            link = line._enqueue_waiter()
            self._notify()  # an acquire would now succeed, by taking this permit
        finally:
            mutex.release()
        return line._park(link, timeout, self) is not TIMED_OUT

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

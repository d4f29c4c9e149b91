"""``ValueEvent``: eventlet's resettable event that carries a value or an exception.

Each send belongs to a *round*: a small record that :meth:`ValueEvent.reset` replaces with a
fresh one.  A waiter remembers the round it parked on and reads its outcome from that record
when it wakes, so a waiter woken by ``send(1)`` gets 1 even if ``reset()`` and ``send(2)`` ran
before it did -- the outcome is never read from a later round, and never lost.  A round can
only be replaced once it was sent, and sending wakes everyone parked on it, so no waiter is
ever left on a stale round.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from greensync.hub import TIMED_OUT, Linkable, check_timeout

from ._outcome import from_raise_args, short_repr

__all__ = ["ValueEvent"]

T = TypeVar("T")
N = TypeVar("N")


class _Round:
    """The outcome of one send (or the lack of it).  Private."""

    __slots__ = ("exc", "sent", "tb", "value")

    def __init__(self) -> None:
        self.sent = False
        self.value: Any = None
        self.exc: BaseException | None = None
        self.tb: TracebackType | None = None

    def outcome(self) -> Any:
        exc = self.exc
        if exc is not None:
            raise exc.with_traceback(self.tb)
        return self.value


class ValueEvent(Linkable, Generic[T]):
    """An event that carries a value (or an exception) to every greenlet waiting for it.

    This is eventlet's ``Event``.  :meth:`send` stores a value and wakes every greenlet
    blocked in :meth:`wait`, in the order they began to wait, on the hub's next turn; the
    caller keeps running.  Later waits return the value at once, until :meth:`reset` makes
    the event unsent again.  :meth:`send_exception` makes waiters raise instead.  Works
    across OS threads.

    Differences from eventlet: a :meth:`wait` that times out raises the builtin
    ``TimeoutError`` (eventlet returns ``None``, which looks like ``send(None)``); sending
    twice without a reset is a ``RuntimeError`` (eventlet: ``AssertionError``), as is
    resetting an unsent event; :meth:`poll_exception` returns the exception instead of
    raising it.

    Not meant to be subclassed.
    """

    __slots__ = ("_round",)

    def __init__(self) -> None:
        super().__init__()
        self._round = _Round()

    def __repr__(self) -> str:
        rnd = self._round
        if not rnd.sent:
            return f"<ValueEvent unsent waiters={self.linkcount()}>"
        if rnd.exc is not None:
            return f"<ValueEvent exception={short_repr(rnd.exc)}>"
        return f"<ValueEvent result={short_repr(rnd.value)}>"

    # -- state --------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True if the event was sent (:meth:`wait` would return at once)."""
        return self._round.sent

    def has_exception(self) -> bool:
        """Return True if the event was sent an exception."""
        rnd = self._round
        return rnd.sent and rnd.exc is not None

    def has_result(self) -> bool:
        """Return True if the event was sent a value (not an exception)."""
        rnd = self._round
        return rnd.sent and rnd.exc is None

    # -- sending ------------------------------------------------------------------------------

    @overload
    def send(self: ValueEvent[None]) -> None: ...
    @overload
    def send(self, result: T) -> None: ...
    def send(self, result: T | None = None) -> None:
        """Store ``result`` and wake every greenlet waiting for it.

        Raises:
            RuntimeError: the event was already sent; call :meth:`reset` first.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            rnd = self._round
            if rnd.sent:
                raise RuntimeError(self._already_sent())
            rnd.value = result
            rnd.sent = True
            self._notify()
        finally:
            mutex.release()

    def send_exception(self, *args: Any) -> None:
        """Make every waiting greenlet, and later :meth:`wait` calls, raise an exception.

        The arguments are those of eventlet (and of ``greenlet.throw``): an exception
        instance; or an exception class, optionally followed by a value (an instance of the
        class, a tuple of constructor arguments, or a single argument) and a traceback --
        ``send_exception(*sys.exc_info())`` works.  Every :meth:`wait` re-raises the
        exception with that traceback, or with the one the exception carries now.

        Raises:
            TypeError: the arguments do not describe an exception.
            RuntimeError: the event was already sent; call :meth:`reset` first.
        """
        exc, tb = from_raise_args(args)
        mutex = self._mutex
        mutex.acquire()
        try:
            rnd = self._round
            if rnd.sent:
                raise RuntimeError(self._already_sent())
            rnd.exc = exc
            rnd.tb = tb
            rnd.sent = True
            self._notify()
        finally:
            mutex.release()

    def _already_sent(self) -> str:
        return "this ValueEvent was already sent: call reset() before sending again"

    def reset(self) -> None:
        """Make a sent event unsent again, so that it can be sent another value.

        Greenlets already woken by the last send still get that send's outcome.

        Raises:
            RuntimeError: the event was not sent.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            if not self._round.sent:
                raise RuntimeError("cannot reset a ValueEvent that was not sent")
            self._round = _Round()
        finally:
            mutex.release()

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> T:
        """Block until the event is sent; return the value, or raise the exception, sent.

        Returns at once, without touching the hub, if the event was already sent.  A zero
        ``timeout`` checks and returns (or raises) without blocking or yielding.  ``timeout``
        is validated either way.

        Args:
            timeout: How long to wait, in seconds; ``None`` (or ``math.inf``) waits for as
                long as it takes.

        Raises:
            TimeoutError: nothing was sent within ``timeout`` seconds.
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
        """
        rnd = self._round
        if not rnd.sent:
            timeout = check_timeout(timeout)
            if timeout == 0.0:
                rnd = self._round
                if not rnd.sent:
                    raise TimeoutError("the ValueEvent was not sent")
                return rnd.outcome()  # type: ignore[no-any-return]
            mutex = self._mutex
            mutex.acquire()
            try:
                rnd = self._round
                link = None if rnd.sent else self._enqueue_listener()
            finally:
                mutex.release()
            if link is not None and self._park(link, timeout) is TIMED_OUT:
                raise TimeoutError(f"the ValueEvent was not sent within {timeout} seconds")
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)  # a bad timeout fails whether or not the event was sent
        return rnd.outcome()  # type: ignore[no-any-return]

    @overload
    def poll(self) -> T | None: ...
    @overload
    def poll(self, notready: N) -> T | N: ...
    def poll(self, notready: Any = None) -> Any:
        """Return what :meth:`wait` would if the event was sent, else ``notready``.

        Never blocks; raises the sent exception, as :meth:`wait` does.
        """
        rnd = self._round
        if rnd.sent:
            return rnd.outcome()
        return notready

    @overload
    def poll_exception(self) -> BaseException | None: ...
    @overload
    def poll_exception(self, notready: N) -> BaseException | N: ...
    def poll_exception(self, notready: Any = None) -> Any:
        """Return the sent exception if the event was sent one, else ``notready``.

        Never blocks and never raises.  (Installed eventlet raises the exception here.)
        """
        rnd = self._round
        if rnd.sent and rnd.exc is not None:
            return rnd.exc
        return notready

    @overload
    def poll_result(self) -> T | None: ...
    @overload
    def poll_result(self, notready: N) -> T | N: ...
    def poll_result(self, notready: Any = None) -> Any:
        """Return the sent value if the event was sent one (not an exception), else ``notready``.

        Never blocks and never raises.
        """
        rnd = self._round
        if rnd.sent and rnd.exc is None:
            return rnd.value
        return notready

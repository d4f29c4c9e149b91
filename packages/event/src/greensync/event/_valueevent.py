"""``ValueEvent``: eventlet's resettable event that carries a value or an exception.

Each send belongs to a *round*: a small record that :meth:`ValueEvent.reset` replaces with a
fresh one.  A waiter remembers the round it began to wait on and reads its outcome from that
record when it wakes, so a waiter woken by ``send(1)`` gets 1 even if ``reset()`` and
``send(2)`` ran before it did -- the outcome is never read from a later round, and never lost.
A round can only be replaced once it was sent, so a waiter whose round was replaced finds it
sent when it looks again.

No mutex on the uncontended paths (DESIGN rule 10).  A round is a list of two tokens, ``[RESET,
SEND]``, and each step of its life takes its own token with ``list.remove`` -- one atomic call
that removes the token or fails if it is gone (the tokens are ``True`` and ``False``, compared in
C).  ``send`` takes ``SEND``, so of two racing senders exactly one gets it and the other
raises; it then stores the outcome in the round (one store publishes it) and looks at the
event's line.  ``reset`` of a published round takes ``RESET``, so of two racing resets exactly
one replaces the round and the other is told the event is not sent -- a waiter is never left on
a round nobody will send.  A waiter joins the line, then looks at its round again before it
parks (``listen(timeout, ready=round.sent)``).  A sender of an *earlier* round may still be
notifying when a waiter of a later round has joined; such a waiter finds its own round unsent
when it wakes, and waits on.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Generic, TypeVar, final, overload

from greensync.hub import Linkable, check_timeout

from ._outcome import from_raise_args, short_repr

__all__ = ["ValueEvent"]

T = TypeVar("T")
N = TypeVar("N")

_monotonic = time.monotonic


#: The tokens of a round: ``send`` takes one, the ``reset`` of a sent round the other.
_SEND = True
_RESET = False


class _Round(list[bool]):
    """One round: the tokens not taken yet, and the outcome once sent.  Private."""

    __slots__ = ("outcome",)

    def __init__(self) -> None:
        super().__init__((_RESET, _SEND))
        #: ``(value, exception or None, traceback or None)`` once sent, else None.
        self.outcome: tuple[Any, BaseException | None, TracebackType | None] | None = None

    def sent(self) -> bool:
        return self.outcome is not None


def _unpack(outcome: tuple[Any, BaseException | None, TracebackType | None]) -> Any:
    value, exc, tb = outcome
    if exc is not None:
        raise exc.with_traceback(tb)
    return value


@final
class ValueEvent(Linkable, Generic[T]):
    """An event that carries a value (or an exception) to everyone waiting for it.

    This is eventlet's ``Event``.  :meth:`send` stores a value and wakes every greenlet
    blocked in :meth:`wait` (and every task awaiting :meth:`async_wait`), in the order they
    began to wait, on their hub's (or loop's) next turn; the caller keeps running.  Later
    waits return the value at once, until :meth:`reset` makes the event unsent again.
    :meth:`send_exception` makes waiters raise instead.  Works across OS threads.

    Differences from eventlet: a :meth:`wait` that times out raises the builtin
    ``TimeoutError`` (eventlet returns ``None``, which looks like ``send(None)``); sending
    twice without a reset is a ``RuntimeError`` (eventlet: ``AssertionError``), as is
    resetting an unsent event; :meth:`poll_exception` returns the exception instead of
    raising it.

    Not meant to be subclassed.
    """

    __slots__ = ("_round",)

    def __init__(self) -> None:
        self.waitline = None  # Linkable.__init__, inlined (it only does this)
        self._round = _Round()

    def __repr__(self) -> str:
        outcome = self._round.outcome
        if outcome is None:
            return f"<ValueEvent unsent waiters={self.linkcount()}>"
        if outcome[1] is not None:
            return f"<ValueEvent exception={short_repr(outcome[1])}>"
        return f"<ValueEvent result={short_repr(outcome[0])}>"

    # -- state --------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True if the event was sent (:meth:`wait` would return at once)."""
        return self._round.outcome is not None

    def has_exception(self) -> bool:
        """Return True if the event was sent an exception."""
        outcome = self._round.outcome
        return outcome is not None and outcome[1] is not None

    def has_result(self) -> bool:
        """Return True if the event was sent a value (not an exception)."""
        outcome = self._round.outcome
        return outcome is not None and outcome[1] is None

    # -- sending ------------------------------------------------------------------------------

    @overload
    def send(self: ValueEvent[None]) -> None: ...
    @overload
    def send(self, result: T) -> None: ...
    def send(self, result: T | None = None) -> None:
        """Store ``result`` and wake everyone waiting for it.

        Raises:
            RuntimeError: the event was already sent; call :meth:`reset` first.
        """
        self._send((result, None, None))

    def send_exception(self, *args: Any) -> None:
        """Make everyone waiting, and later :meth:`wait` calls, raise an exception.

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
        self._send((None, exc, tb))

    def _send(self, outcome: tuple[Any, BaseException | None, TracebackType | None]) -> None:
        rnd = self._round
        try:
            rnd.remove(_SEND)
        except ValueError:
            pass  # sent already (or a moment ago, by another thread)
        else:
            rnd.outcome = outcome
            line = self.waitline
            if line:
                with line.mutex:
                    line.notify()
            return
        raise RuntimeError("this ValueEvent was already sent: call reset() before sending again")

    def reset(self) -> None:
        """Make a sent event unsent again, so that it can be sent another value.

        Waiters already woken by the last send still get that send's outcome.

        Raises:
            RuntimeError: the event was not sent.
        """
        rnd = self._round
        if rnd.outcome is not None:
            try:
                rnd.remove(_RESET)
            except ValueError:
                pass  # another thread reset it a moment ago
            else:
                self._round = _Round()
                return
        raise RuntimeError("cannot reset a ValueEvent that was not sent")

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
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_wait`) or inside the hub, and the event is not sent.
        """
        rnd = self._round
        outcome = rnd.outcome
        if outcome is None:
            timeout = check_timeout(timeout)
            if timeout == 0.0:
                outcome = self._round.outcome
                if outcome is None:
                    raise TimeoutError("the ValueEvent was not sent")
                return _unpack(outcome)  # type: ignore[no-any-return]
            line = self.get_waitline()
            started = None if timeout is None else _monotonic()
            left = timeout
            while True:
                if not line.listen(left, rnd.sent):
                    raise TimeoutError(f"the ValueEvent was not sent within {timeout} seconds")
                outcome = rnd.outcome
                if outcome is not None:
                    break
                left = _left(timeout, started)  # woken by the send of an earlier round
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)  # a bad timeout fails whether or not the event was sent
        return _unpack(outcome)  # type: ignore[no-any-return]

    async def async_wait(self, timeout: float | None = None) -> T:
        """Wait, from an asyncio task, until the event is sent; the awaitable :meth:`wait`.

        Returns the value, or raises the exception, sent (at once, without yielding to the
        loop, if the event was already sent).  A task cancelled while it waits leaves the
        line; the ``await`` raises ``CancelledError``.

        Raises:
            TimeoutError: nothing was sent within ``timeout`` seconds.
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: no asyncio event loop is running in this thread.
        """
        rnd = self._round
        outcome = rnd.outcome
        if outcome is None:
            timeout = check_timeout(timeout)
            if timeout == 0.0:
                outcome = self._round.outcome
                if outcome is None:
                    raise TimeoutError("the ValueEvent was not sent")
                return _unpack(outcome)  # type: ignore[no-any-return]
            line = self.get_waitline()
            started = None if timeout is None else _monotonic()
            left = timeout
            while True:
                if not await line.async_listen(left, rnd.sent):
                    raise TimeoutError(f"the ValueEvent was not sent within {timeout} seconds")
                outcome = rnd.outcome
                if outcome is not None:
                    break
                left = _left(timeout, started)
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)
        return _unpack(outcome)  # type: ignore[no-any-return]

    # -- looking without waiting --------------------------------------------------------------

    @overload
    def poll(self) -> T | None: ...
    @overload
    def poll(self, notready: N) -> T | N: ...
    def poll(self, notready: Any = None) -> Any:
        """Return what :meth:`wait` would if the event was sent, else ``notready``.

        Never blocks; raises the sent exception, as :meth:`wait` does.
        """
        outcome = self._round.outcome
        if outcome is not None:
            return _unpack(outcome)
        return notready

    @overload
    def poll_exception(self) -> BaseException | None: ...
    @overload
    def poll_exception(self, notready: N) -> BaseException | N: ...
    def poll_exception(self, notready: Any = None) -> Any:
        """Return the sent exception if the event was sent one, else ``notready``.

        Never blocks and never raises.  (Installed eventlet raises the exception here.)
        """
        outcome = self._round.outcome
        if outcome is not None and outcome[1] is not None:
            return outcome[1]
        return notready

    @overload
    def poll_result(self) -> T | None: ...
    @overload
    def poll_result(self, notready: N) -> T | N: ...
    def poll_result(self, notready: Any = None) -> Any:
        """Return the sent value if the event was sent one (not an exception), else ``notready``.

        Never blocks and never raises.
        """
        outcome = self._round.outcome
        if outcome is not None and outcome[1] is None:
            return outcome[0]
        return notready


def _left(timeout: float | None, started: float | None) -> float | None:
    """What remains of ``timeout`` seconds counted from ``started`` (never negative)."""
    if timeout is None or started is None:
        return None
    return max(0.0, timeout - (_monotonic() - started))

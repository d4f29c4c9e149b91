"""Linkable, the base of every primitive that can be waited on, and Waiter.

A :class:`Linkable` owns one :class:`~greensync.hub.WaitLine`, made on first need, that holds
both its takers and its listeners; on top of it sits the linkable protocol that gevent users
know -- :meth:`~Linkable.rawlink`, :meth:`~Linkable.unlink`, :meth:`~Linkable.linkcount`,
:meth:`~Linkable.ready` -- through which :func:`~greensync.hub.iwait` and
:func:`~greensync.hub.wait` watch any mix of objects.  A primitive that needs more lines (the
putters of a bounded queue) owns more :class:`WaitLine` objects; they are its business.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar, final

from ._loop import _Throw, check_timeout
from ._waitline import _CREATE, WaitLine, cancel_due

__all__ = ["Linkable", "Waiter"]

T = TypeVar("T")


class Linkable(ABC):
    """The base of every primitive that can be waited on.

    Public surface (gevent's): :meth:`rawlink`, :meth:`unlink`, :meth:`linkcount`,
    :meth:`ready`.  For authors of primitives: :attr:`waitline` is the object's line of takers
    and listeners, ``None`` until somebody first needs it; :meth:`get_waitline` returns it,
    making it (through :meth:`make_waitline`) on first need.  A fast path reads
    ``if self.waitline:`` -- true while anyone may be waiting or listening -- and otherwise
    touches only the primitive's own atomic state.  A subclass implements :meth:`ready` and its
    own blocking methods; see :class:`~greensync.hub.WaitLine` for the rules.

    Every Linkable can be weakly referenced.

    Attributes:
        waitline: This object's :class:`~greensync.hub.WaitLine` of takers and listeners, or
            ``None`` until somebody first needs it (see :meth:`get_waitline`).  A fast path
            reads ``if self.waitline:``, true while anyone may be waiting or listening.
    """

    __slots__ = ("__weakref__", "waitline")

    def __init__(self) -> None:
        #: This object's line of takers and listeners, or ``None`` until first needed.
        self.waitline: WaitLine | None = None

    @abstractmethod
    def ready(self) -> bool:
        """Return True if waiting on this object now would not block."""

    def make_waitline(self) -> WaitLine:
        """Make this object's wait line; called once, on first need.

        Override it to return a :class:`WaitLine` subclass (for instance one whose
        :meth:`~WaitLine.give_back` puts a permit back).
        """
        return WaitLine(self)

    def get_waitline(self) -> WaitLine:
        """Return :attr:`waitline`, making it on first need (safe from any thread)."""
        line = self.waitline
        if line is None:
            # lazy_waitline(), inlined: a fresh AsyncResult per message makes one per wait.
            new = self.make_waitline()
            with _CREATE:
                line = self.waitline
                if line is None:
                    line = self.waitline = new
        return line

    def rawlink(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(self)`` in the hub once this object is ready.

        The callback runs in the hub of the thread that registered it, on a hub turn after the
        object became ready (at once, on the next turn, if it already is), and is removed
        before it is called (one-shot, as in gevent).  It must not block.

        Raises:
            TypeError: ``callback`` is not callable.
        """
        line = self.get_waitline()
        line.link(callback)
        if self.ready():
            with line.mutex:
                line.notify()

    def unlink(self, callback: Callable[[Any], object]) -> None:
        """Remove every registration of ``callback`` made with :meth:`rawlink`.

        A callback that was already due (the object became ready) but has not run yet is not
        called either, when it was registered in this thread.
        """
        line = self.waitline
        if line is not None:
            line.unlink(callback)
        else:
            cancel_due(self, callback)  # the line went with its last notify (one-shot objects)

    def linkcount(self) -> int:
        """Return how many callbacks, greenlets and tasks wait on this object."""
        line = self.waitline
        if not line:
            return 0
        return line.takers() + line.listeners()


@final
class Waiter(Linkable, Generic[T]):
    """A one-shot rendezvous between the greenlet that calls :meth:`get` and whoever wakes it.

    ``switch(value)`` or ``throw(exc)`` may come before or after ``get()``: a value that
    arrives first is kept, and every ``get()`` returns it.  Waking never switches away from the
    caller; the waiting greenlet runs on the hub's next turn.  Works across threads, and an
    asyncio task can wait for it with :meth:`async_get`.
    """

    __slots__ = ("_has_value", "_once", "_traceback", "_value")

    def __init__(self) -> None:
        super().__init__()
        self._value: Any = None
        self._has_value = False
        self._traceback: TracebackType | None = None
        self._once = [True]  # popped by the one delivery: an atomic test-and-set

    def __repr__(self) -> str:
        state = "ready" if self._has_value else f"waiters={self.linkcount()}"
        return f"<Waiter {state}>"

    def ready(self) -> bool:
        """Return True once a value or an exception has arrived."""
        return self._has_value

    def switch(self, value: T) -> None:
        """Deliver ``value`` to the greenlet in :meth:`get` (or keep it for a later ``get``).

        Raises:
            RuntimeError: a value or exception was already delivered.
        """
        self._deliver(value, None)

    def throw(self, exc: BaseException | type[BaseException]) -> None:
        """Make :meth:`get` raise ``exc`` (an exception instance or class).

        Raises:
            TypeError: ``exc`` is not an exception.
            RuntimeError: a value or exception was already delivered.
        """
        if isinstance(exc, type) and issubclass(exc, BaseException):
            exc = exc()
        if not isinstance(exc, BaseException):
            raise TypeError(f"`exc` must be an exception, got {type(exc).__name__} {exc!r}")
        self._deliver(_Throw(exc), exc.__traceback__)

    def _deliver(self, value: Any, traceback: TracebackType | None) -> None:
        try:
            self._once.pop()
        except IndexError:
            raise RuntimeError(
                "this Waiter was already switched or thrown: it is one-shot"
            ) from None
        self._value = value
        self._traceback = traceback
        self._has_value = True
        line = self.waitline
        if line is not None:
            # One-shot: every get from now on returns at once (a getter that joined just before
            # re-checks and finds the value), so the line goes with its last notify.
            self.waitline = None
            if line:
                with line.mutex:
                    line.notify()

    def get(self, timeout: float | None = None) -> T:
        """Park until a value arrives and return it (or raise the exception thrown).

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        if not self._has_value:
            timeout = check_timeout(timeout)
            if not self.get_waitline().listen(timeout, self.ready):
                raise TimeoutError(f"{self!r} got nothing within {timeout} seconds")
        return self._outcome()

    async def async_get(self, timeout: float | None = None) -> T:
        """Wait, from an asyncio task, until a value arrives; return it (see :meth:`get`).

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        if not self._has_value:
            timeout = check_timeout(timeout)
            if not await self.get_waitline().async_listen(timeout, self.ready):
                raise TimeoutError(f"{self!r} got nothing within {timeout} seconds")
        return self._outcome()

    def _outcome(self) -> T:
        value = self._value
        if value.__class__ is _Throw:
            raise value.exc.with_traceback(self._traceback)
        return value  # type: ignore[no-any-return]

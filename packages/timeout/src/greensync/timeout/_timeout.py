"""Timeout and with_timeout: one hub timer and a three-state machine per timeout.

Why it looks like this
----------------------
A :class:`Timeout` is an exception that arms a timer on its greenlet's hub.  When the timer
fires, the hub raises the exception in the greenlet that started it, wherever that greenlet is
parked; the ``with`` block (or :func:`with_timeout`) then recognises its own timeout and
decides whether to let it out.  The shape follows asyncio's ``timeouts.py``::

    idle --start()--> pending --timer fires--> expired
      ^                  |                        |
      +---- cancel() / close() / end of ``with`` -+

* **pending**: ``_handle`` holds the armed timer (a ready callback for ``0`` seconds).
* **expired**: ``_expiry`` records what was raised, in which greenlet and when; it lasts until
  the ``with`` block ends or :meth:`Timeout.cancel` is called, so a block can tell its own
  firing from anyone else's.

Identity, not type.  Every ``Timeout`` is the same class, so a block never asks "is this a
Timeout?" but "is this the very exception *my* timer raised?" (curio's ``timeout_after`` does
the same).  That is what keeps nested timeouts apart: an outer timeout that fires first goes
through an inner block untouched, and a silent inner timeout swallows only its own firing.

One case identity alone gets wrong: an outer timeout fires, and while it is unwinding through
an inner block some clean-up code there blocks long enough for the inner timer to fire too.
The inner exception replaces the outer one, and the inner block would then swallow it (or
report it as its own), hiding the outer deadline.  So when a block's own exception carries, in
its ``__context__`` chain, the exception of an outer timeout that fired in the same greenlet
*after* this block started and has not been settled yet, the block re-raises the outer
exception instead.  Starts and firings take numbers from one global counter to tell "after"
from "before"; that costs one C call per start.  An inner timeout started after the outer one
fired (say, in an ``except Timeout:`` handler doing clean-up) is left alone.

The hot path is ``with Timeout(10):`` that does not fire: one timer armed and cancelled, no
switch, nothing allocated but the timer handle and its argument tuple.  Firing wakes a
greenlet parked in the hub by switching it a marker (:meth:`Hub.throw_into`), about ten times
cheaper than ``greenlet.throw``.

Rejected: a per-greenlet stack of active timeouts (curio's deadline list) -- it would tell
nested timeouts apart without the counter, but costs a dictionary or attribute round trip on
every start and exit; passing ``hub.throw_into`` as the timer callback directly -- cheaper by
one Python call when firing, but then the timeout could not record that it fired.
"""

from __future__ import annotations

import itertools
import math
import sys
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Self, TypeAlias, TypeVar, overload

from greenlet import getcurrent, greenlet

from greensync.hub import CallbackHandle, Hub, check_timeout, get_hub

__all__ = ["Timeout", "with_timeout"]

T = TypeVar("T")
V = TypeVar("V")

# What ``exception`` may be: None (raise the Timeout), False (silent), a class or an instance.
_ExceptionSpec: TypeAlias = "BaseException | type[BaseException] | Literal[False] | None"

_INF: Final = math.inf

# Numbers the moments timeouts start and fire, so a block can tell whether an outer timeout
# fired while it was running.  ``next()`` on a count is one C call and atomic under the GIL.
_ticks = itertools.count(1)
_tick = _ticks.__next__

# An expired timeout whose exception is not the Timeout itself, by the id of that exception.
# The timeout keeps the exception alive while it is registered, so the id cannot be reused;
# the registry holds the timeout weakly, so a timeout that is never cancelled leaks nothing.
_raised_by: weakref.WeakValueDictionary[int, Timeout] = weakref.WeakValueDictionary()

#: How far along ``__context__`` to look for an outer timeout (chains are short in practice).
_MAX_CONTEXT_DEPTH: Final = 64


#: The largest int that converts to a float; anything beyond is a bad ``seconds``.
_MAX_INT: Final = int(sys.float_info.max)


def _check_seconds(seconds: object) -> float | None:
    """Validate ``seconds`` off the fast path, as every greensync timeout is validated.

    An int too large for a float means never, like ``math.inf`` (the hub's rule).
    """
    return check_timeout(seconds, "seconds")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _check_exception(exception: object) -> None:
    if isinstance(exception, BaseException):
        return
    if isinstance(exception, type) and issubclass(exception, BaseException):
        return
    raise TypeError(
        "`exception` must be None, False, or an exception class or instance, got "
        f"{type(exception).__name__} {exception!r}"
    )


def _describe(exception: BaseException | type[BaseException]) -> str:
    if isinstance(exception, type):
        return exception.__qualname__
    message = str(exception)
    name = type(exception).__qualname__
    return f"{name}: {message}" if message else name


class Timeout(BaseException):
    """Raise an exception in the current greenlet once ``seconds`` have passed.

    Use it as a context manager, or call :meth:`start` (or :meth:`start_new`) and then
    :meth:`cancel` in a ``finally``::

        with Timeout(5):
            data = sock.recv(1024)        # Timeout raised here after 5 seconds

        with Timeout(5, False):           # silent: the block is just left
            data = sock.recv(1024)

    It subclasses ``BaseException``, so a bare ``except Exception`` in the timed code does not
    swallow it.  When it fires it raises, in the greenlet that started it:

    * the ``Timeout`` itself when ``exception`` is None (the default);
    * the ``Timeout`` itself when ``exception`` is ``False``, and the ``with`` block then
      suppresses it, so the code after the block runs;
    * ``exception`` when it is an exception instance, or a new instance when it is a class.

    ``seconds=None`` (or infinity) never fires and arms nothing; ``0`` fires at the next point
    where the greenlet blocks, even ``sleep(0)``.  A block recognises only its own timeout (by
    identity): nested timeouts each fire on their own and each is caught by its own ``with``.
    A timeout that was cancelled, closed or whose block has ended never fires.

    A Timeout belongs to the greenlet that started it and to that greenlet's thread; start,
    cancel and close it from that thread (cancelling a pending one from another thread is a
    ``RuntimeError``).  It may be started again, in any thread, once it is no longer pending.

    Differences: unlike eventlet's, constructing a Timeout does not start it (as in gevent).
    Unlike gevent's, ``close()`` is the same as ``cancel()`` (the timeout may be started
    again), and ``Timeout(0)`` fires at ``sleep(0)`` too.  Not meant to be subclassed.

    Args:
        seconds: How long until the timeout fires; ``None`` or ``math.inf`` for never.
        exception: What to raise instead of the Timeout itself: an exception class or
            instance, or ``False`` to leave the ``with`` block silently.
        ref: Whether the armed timer keeps the hub's loop alive (as in gevent); a main
            greenlet that blocks with only unref'd timers left gets ``LoopExit``.

    Raises:
        TypeError: ``seconds`` is not a number, or ``exception`` is not an exception.
        ValueError: ``seconds`` is negative or NaN.
    """

    __slots__ = (
        "__weakref__",
        "_delay",
        "_exception",
        "_expiry",
        "_handle",
        "_owner",
        "_ref",
        "_seconds",
        "_started",
    )

    #: Marks timeout exceptions for :func:`is_timeout` (eventlet's convention).
    is_timeout: ClassVar[bool] = True

    def __init__(
        self,
        seconds: float | None = None,
        exception: _ExceptionSpec = None,
        ref: bool = True,
    ) -> None:
        delay: float | None
        number: object = seconds
        if number.__class__ is float and 0.0 <= seconds < _INF:  # type: ignore[operator]
            delay = seconds
        elif number.__class__ is int and 0 <= seconds <= _MAX_INT:  # type: ignore[operator]
            delay = float(seconds)  # type: ignore[arg-type]
        elif seconds is None:
            delay = None
        else:
            delay = _check_seconds(seconds)
        if exception is not None and exception is not False:
            _check_exception(exception)
        self._seconds = seconds
        self._delay = delay
        self._exception = exception
        self._ref = ref is True or bool(ref)
        self._handle: Any = None  # the hub's timer handle (a ready callback for 0 seconds)
        self._owner: greenlet | None = None  # the greenlet it was last started in
        self._started = 0
        # (what was raised, in which greenlet, its tick) while expired; None otherwise.
        self._expiry: tuple[BaseException, greenlet, int] | None = None

    # -- attributes -------------------------------------------------------------------------

    @property
    def seconds(self) -> float | None:
        """The number of seconds given to the constructor (``None``: never fires)."""
        return self._seconds

    @property
    def exception(self) -> _ExceptionSpec:
        """What the timeout raises: ``None`` (itself), ``False`` (silent), or an exception."""
        return self._exception

    @property
    def pending(self) -> bool:
        """True while the timeout is armed: started, and neither fired nor cancelled."""
        return self._handle is not None

    @property
    def ref(self) -> bool:
        """Whether the timer keeps the loop alive; changing it affects a pending timer too."""
        return self._ref

    @ref.setter
    def ref(self, value: bool) -> None:
        value = bool(value)
        handle = self._handle
        if handle is not None and not isinstance(handle, CallbackHandle):
            self._check_thread("change `ref` of")
            handle.ref = value
        self._ref = value

    # -- starting and stopping --------------------------------------------------------------

    @classmethod
    def start_new(
        cls,
        timeout: float | Timeout | None = None,
        exception: _ExceptionSpec = None,
        ref: bool = True,
    ) -> Timeout:
        """Create a timeout and start it; given a Timeout, start it unless it is pending.

        With an existing Timeout, ``exception`` and ``ref`` are ignored (as in gevent).

        Returns:
            The started Timeout.

        Raises:
            TypeError, ValueError: bad ``timeout`` or ``exception`` (see :class:`Timeout`).
        """
        if isinstance(timeout, Timeout):
            if timeout._handle is None:
                timeout.start()
            return timeout
        return cls(timeout, exception, ref).start()

    def start(self) -> Self:
        """Arm the timer in the current greenlet and return the timeout.

        A timeout with ``seconds=None`` arms nothing (and does not create a hub).

        Raises:
            RuntimeError: the timeout is already pending, or this is called inside the hub
                (a hub callback cannot block, so nothing could be timed out).
        """
        if self._handle is not None:
            raise RuntimeError(f"{self!r} is already pending: cancel it before starting it again")
        if self._expiry is not None:
            self._clear_expiry()
        delay = self._delay
        if delay is None:
            return self
        hub = get_hub()
        glet = getcurrent()
        if glet is hub if isinstance(hub, Hub) else glet is hub.loop_greenlet:
            raise RuntimeError(
                "cannot start a Timeout inside the hub: a hub callback must not block"
            )
        self._owner = glet
        self._started = _tick()
        if delay:
            self._handle = hub.call_later(delay, _fire, self, glet, ref=self._ref)
        else:
            # A ready callback, not a zero timer: callbacks run before timers within a turn,
            # so a zero timer would lose the race against sleep(0) and never fire there.
            self._handle = hub.run_callback(_fire, self, glet)
        return self

    def cancel(self) -> None:
        """Disarm the timeout; it never fires after this.  Harmless if it is not pending.

        Any greenlet of the thread that started it may cancel it.  A cancelled timeout may be
        started again.

        Raises:
            RuntimeError: the timeout is pending in another OS thread (its timer belongs to
                that thread's hub, which only that thread may touch); it stays pending.
        """
        handle = self._handle
        if handle is not None:
            self._check_thread("cancel")
            self._handle = None
            handle.cancel()
        if self._expiry is not None:
            self._clear_expiry()

    def _check_thread(self, action: str) -> None:
        """Raise RuntimeError unless the current greenlet is in the thread that started us."""
        owner = self._owner
        current = getcurrent()
        if owner is current or owner is None:
            return
        # A greenlet's parent chain ends at its thread's main greenlet, and greenlet forbids
        # parents in other threads: equal roots mean the same thread.
        while owner.parent is not None:
            owner = owner.parent
        while current.parent is not None:
            current = current.parent
        if owner is not current:
            raise RuntimeError(
                f"cannot {action} {self!r} from another thread: it is pending in the thread "
                "that started it, and only that thread may touch its timer"
            )

    def close(self) -> None:
        """Disarm the timeout: the same as :meth:`cancel` (gevent's spelling).

        Unlike gevent, a closed timeout may be started again.

        Raises:
            RuntimeError: the timeout is pending in another OS thread (see :meth:`cancel`).
        """
        self.cancel()

    def __enter__(self) -> Self:
        """Start the timeout (unless it is already pending) and return it.

        Raises:
            RuntimeError: it is pending in another greenlet, or this is called inside the hub.
        """
        # start(), inlined: this is the hot path.  Kept because it measures: delegating to
        # start() cost ~40 ns (3-4%) more per `with Timeout(10): pass` (paired, in one
        # process, 2026-12-05), one Python call and the `ref=` keyword on ref'd timers.
        if self._handle is not None:
            if self._owner is not getcurrent():
                raise RuntimeError(f"{self!r} is pending in another greenlet")
            return self
        if self._expiry is not None:
            self._clear_expiry()
        delay = self._delay
        if delay is None:
            return self
        hub = get_hub()
        glet = getcurrent()
        if glet is hub if isinstance(hub, Hub) else glet is hub.loop_greenlet:
            raise RuntimeError(
                "cannot start a Timeout inside the hub: a hub callback must not block"
            )
        self._owner = glet
        self._started = _tick()
        if delay and self._ref:
            self._handle = hub.call_later(delay, _fire, self, glet)
        elif delay:
            self._handle = hub.call_later(delay, _fire, self, glet, ref=False)
        else:
            self._handle = hub.run_callback(_fire, self, glet)
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Cancel the timeout; suppress its own firing if ``exception`` is ``False``."""
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()
        if self._expiry is not None and value is not None:
            self._settle(value)
        elif self._expiry is not None:
            self._clear_expiry()
        if value is self and self._exception is False:
            return True
        return None

    # -- expiry -----------------------------------------------------------------------------

    def _settle(self, value: BaseException) -> bool:
        """Forget the expiry; return True if ``value`` is what this timeout raised.

        Raises:
            BaseException: an outer timeout's exception, when that outer timeout fired inside
                this block and this timeout then fired while it was unwinding.
        """
        expiry = self._expiry
        if expiry is None:
            return False
        self._clear_expiry()
        if value is not expiry[0]:
            return False
        outer = _unwinding_outer(value, expiry[1], self._started)
        if outer is not None:
            raise outer
        return True

    def _clear_expiry(self) -> None:
        expiry = self._expiry
        self._expiry = None
        if expiry is not None and expiry[0] is not self:
            key = id(expiry[0])
            if _raised_by.get(key) is self:
                del _raised_by[key]

    # -- presentation -----------------------------------------------------------------------

    def __str__(self) -> str:
        seconds = self._seconds
        if seconds is None:
            return ""
        unit = "second" if seconds == 1 else "seconds"
        exception = self._exception
        if exception is None:
            return f"{seconds} {unit}"
        if exception is False:
            return f"{seconds} {unit} (silent)"
        return f"{seconds} {unit} ({_describe(exception)})"

    def __repr__(self) -> str:
        parts = [f"<{type(self).__name__} seconds={self._seconds}"]
        exception = self._exception
        if exception is not None:
            shown = exception.__qualname__ if isinstance(exception, type) else repr(exception)
            parts.append(f" exception={shown}")
        if self._handle is not None:
            parts.append(" pending")
        elif self._expiry is not None:
            parts.append(" expired")
        if not self._ref:
            parts.append(" unref")
        parts.append(">")
        return "".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy or an unpickled Timeout is a fresh, idle one with the same settings.
        return (type(self), (self._seconds, self._exception, self._ref))


def _fire(timeout: Timeout, glet: greenlet) -> None:
    """Timer callback: the timeout expired; raise its exception in ``glet``."""
    timeout._handle = None
    exception = timeout._exception
    raised: BaseException
    if exception is None or exception is False:
        raised = timeout
    elif isinstance(exception, BaseException):
        raised = exception
    else:
        try:
            raised = exception()
        except Exception as exc:  # noqa: BLE001 - the class needs arguments: raise why instead
            raised = exc
    if glet.dead or glet is getcurrent():
        # Its greenlet has finished (a timeout started by hand and never cancelled), or --
        # defensively -- it is the loop itself, which start() refuses: nowhere to raise it,
        # and nothing to remember.
        return
    if raised.__traceback__ is not None:
        # Raised before (a reused Timeout, a shared exception instance): raising it again would
        # append to that old traceback, keeping every earlier frame alive, firing after firing.
        raised.__traceback__ = None
    timeout._expiry = (raised, glet, _tick())
    if raised is not timeout:
        _raised_by[id(raised)] = timeout
    get_hub().throw_into(glet, raised)


def _unwinding_outer(exc: BaseException, glet: greenlet, started: int) -> BaseException | None:
    """Return an outer timeout's exception that ``exc`` interrupted while it unwound, if any.

    That is an exception in ``exc``'s ``__context__`` chain raised by a timeout that is still
    expired, fired in the same greenlet, and fired after ``started`` (inside our block).
    """
    ctx = exc.__context__
    depth = 0
    while ctx is not None and depth < _MAX_CONTEXT_DEPTH:
        owner = ctx if isinstance(ctx, Timeout) else _raised_by.get(id(ctx))
        expiry = None if owner is None else owner._expiry
        if expiry is not None and expiry[0] is ctx and expiry[1] is glet and expiry[2] > started:
            return ctx
        ctx = ctx.__context__
        depth += 1
    return None


@overload
def with_timeout(
    seconds: float | None,
    func: Callable[..., T],
    /,
    *args: Any,
    timeout_value: V,
    **kwargs: Any,
) -> T | V: ...
@overload
def with_timeout(
    seconds: float | None, func: Callable[..., T], /, *args: Any, **kwargs: Any
) -> T: ...
def with_timeout(
    seconds: float | None,
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout_value: Any = _MISSING,
    **kwargs: Any,
) -> Any:
    """Call ``func(*args, **kwargs)`` under a timeout of ``seconds``.

    ``timeout_value`` is not passed to ``func``.  If the call's own timeout fires, return
    ``timeout_value`` when it was given, or let the :class:`Timeout` out when it was not.
    Other timeouts (an outer one set by the caller) always propagate.

    Args:
        seconds: The time limit; ``None`` for none.
        func: What to call.
        *args: Positional arguments for ``func``.
        timeout_value: What to return if the timeout fires.
        **kwargs: Keyword arguments for ``func``.

    Returns:
        What ``func`` returned, or ``timeout_value``.

    Raises:
        Timeout: the call timed out and no ``timeout_value`` was given.
        TypeError: ``func`` is not callable, or ``seconds`` is not a number.
        ValueError: ``seconds`` is negative, NaN or too large.
        RuntimeError: called inside the hub with a finite ``seconds``.
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable, got {type(func).__name__} {func!r}")
    timeout = Timeout(seconds)
    timeout.start()
    try:
        result = func(*args, **kwargs)
    except BaseException as exc:
        handle = timeout._handle
        if handle is not None:
            timeout._handle = None
            handle.cancel()
        if timeout._settle(exc) and timeout_value is not _MISSING:
            return timeout_value
        raise
    handle = timeout._handle
    if handle is not None:
        timeout._handle = None
        handle.cancel()
    if timeout._expiry is not None:
        timeout._clear_expiry()
    return result

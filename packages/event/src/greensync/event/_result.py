"""``AsyncResult``: a one-shot value or exception that greenlets, tasks and threads wait for.

Why it looks like this
----------------------
The outcome lives in a list, ``_result``, empty until the result is set and then holding one
tuple ``(value, exception, traceback)``.  Setting appends the finished tuple -- one atomic step
that publishes the whole outcome at once -- and the setter whose tuple landed first (index 0)
wins; any other setter, however close behind, finds someone else's tuple there, removes its
own and raises ``RuntimeError``.  So the result is one-shot even when two threads race, with
no mutex, and a reader sees either nothing or a complete outcome (DESIGN rule 10: ``get()``
on a ready result is a list test and an index).

Waiters are listeners of the result's :class:`~greensync.hub.WaitLine`: a setter publishes,
then looks at the line (``if self.waitline:``) and wakes them under its mutex; a waiter joins
the line, then looks at the result again before it parks.

Rejected: a ``_done`` flag next to ``_value``/``_exc`` slots with a token list popped by the
winning setter (one more object and three stores to publish, where one append does it); the
line's mutex around the check and the store (the previous design).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast, final, overload

from greensync.hub import Linkable, check_timeout

from ._outcome import ExcInfo, as_exception, check_traceback, short_repr

__all__ = ["AsyncResult", "ResultSource"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: What ``_result`` holds once set: ``(value, exception or None, traceback or None)``.
_Outcome = tuple[Any, BaseException | None, TracebackType | None]


class ResultSource(Protocol[T_co]):
    """What :meth:`AsyncResult.__call__` reads: a finished task, or another result."""

    def successful(self) -> bool:
        """Return True if it finished with a value rather than an exception."""
        ...

    @property
    def value(self) -> T_co | None:
        """The value it finished with."""
        ...

    @property
    def exception(self) -> BaseException | None:
        """The exception it finished with."""
        ...


@final
class AsyncResult(Linkable, Generic[T]):
    """A value or an exception that will arrive later, for anyone to get: greenlets, tasks, threads.

    Exactly one of :meth:`set` or :meth:`set_exception` may be called, once; every
    :meth:`get`, blocked or later, then returns that value or raises that exception.  Setting
    wakes all waiters, in the order they began to wait, on their hub's (or loop's) next turn;
    the caller keeps running.  Works across OS threads; asyncio tasks await :meth:`async_get`
    and :meth:`async_wait` in the same line.

    An ``AsyncResult`` is callable with a finished task, so it can be linked to one::

        result: AsyncResult[int] = AsyncResult()
        spawn(compute).rawlink(result)
        result.get()          # compute()'s value, or its exception raised here

    Differences from gevent: a second ``set``/``set_exception`` is a ``RuntimeError`` (gevent
    overwrites the outcome); a ``get`` that times out raises the builtin ``TimeoutError``.

    Not meant to be subclassed.
    """

    __slots__ = ("_result",)

    def __init__(self) -> None:
        # Linkable.__init__, inlined (it only does this): half the cost of making a result.
        self.waitline = None
        self._result: list[_Outcome] = []

    def __repr__(self) -> str:
        result = self._result
        if not result:
            return f"<AsyncResult unset waiters={self.linkcount()}>"
        value, exc, _ = result[0]
        if exc is not None:
            return f"<AsyncResult exception={short_repr(exc)}>"
        return f"<AsyncResult value={short_repr(value)}>"

    # -- state --------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True once a value or an exception has been set."""
        return bool(self._result)

    def successful(self) -> bool:
        """Return True if a value (not an exception) has been set."""
        result = self._result
        return bool(result) and result[0][1] is None

    @property
    def value(self) -> T | None:
        """The value passed to :meth:`set`, or ``None`` until then (and after an exception)."""
        result = self._result
        return result[0][0] if result else None

    @property
    def exception(self) -> BaseException | None:
        """The exception passed to :meth:`set_exception`, or ``None``."""
        result = self._result
        return result[0][1] if result else None

    @property
    def exc_info(self) -> ExcInfo | tuple[()]:
        """The ``(type, value, traceback)`` of the stored exception, or ``()`` if there is none.

        The traceback is the one :meth:`get` re-raises the exception with.
        """
        result = self._result
        if not result:
            return ()
        _, exc, tb = result[0]
        if exc is None:
            return ()
        return (type(exc), exc, tb)

    # -- setting ------------------------------------------------------------------------------

    @overload
    def set(self: AsyncResult[None]) -> None: ...
    @overload
    def set(self, value: T) -> None: ...
    def set(self, value: T | None = None) -> None:
        """Store ``value`` and wake everyone waiting for it.

        Raises:
            RuntimeError: a value or an exception was already set; the first one is kept.
        """
        outcome = (value, None, None)
        result = self._result
        result.append(outcome)
        if result[0] is not outcome:
            self._lost(result)
        self._notify_once()

    def set_exception(
        self,
        exc: BaseException | type[BaseException],
        exc_info: ExcInfo | tuple[()] | None = None,
    ) -> None:
        """Store ``exc`` for every :meth:`get` to raise, and wake everyone waiting.

        Args:
            exc: An exception instance, or a class (which is instantiated with no arguments).
            exc_info: A :func:`sys.exc_info` triple whose traceback every :meth:`get`
                re-raises ``exc`` with.  Without it, the traceback ``exc`` carries now is
                used (none, for an exception that was never raised).

        Raises:
            TypeError: ``exc`` is not an exception, or ``exc_info`` is not a triple ending in
                a traceback or None.
            RuntimeError: a value or an exception was already set; the first one is kept.
        """
        error = as_exception(exc, "exc")
        if exc_info is None or (isinstance(exc_info, tuple) and not exc_info):
            tb = error.__traceback__
        elif isinstance(exc_info, tuple) and len(exc_info) == 3:
            tb = check_traceback(exc_info[2], "exc_info[2]")
        else:
            raise TypeError(
                "`exc_info` must be a (type, value, traceback) triple or None, got "
                f"{type(exc_info).__name__} {exc_info!r}"
            )
        outcome = (None, error, tb)
        result = self._result
        result.append(outcome)
        if result[0] is not outcome:
            self._lost(result)
        self._notify_once()

    def _notify_once(self) -> None:
        """Wake everyone waiting, and let the line go: nobody will ever wait again.

        Every wait from now on returns at once, and a waiter that joined the line just before
        re-checks after joining and finds the outcome, so the line is of no more use.  Dropping
        it keeps a set result small (results are often kept, in chains, by the values they
        carry): the collector has fewer objects to look at.
        """
        line = self.waitline
        if line is not None:
            self.waitline = None
            if line:
                with line.mutex:
                    line.notify()

    def _lost(self, result: list[_Outcome]) -> None:
        """A second set: drop what it appended (never the first outcome) and say so."""
        del result[1:]
        what = "an exception" if result[0][1] is not None else "a value"
        raise RuntimeError(
            f"this AsyncResult already holds {what}: it is one-shot, create a new one"
        )

    def __call__(self, source: ResultSource[T]) -> None:
        """Take the outcome of ``source``, a finished task or result: link target protocol.

        ``task.rawlink(result)`` makes ``result`` hold what the task returned or raised.

        Raises:
            TypeError: ``source`` has no ``successful()`` method.
            RuntimeError: ``source`` has not finished, or a value or an exception was already
                set.
        """
        successful = getattr(source, "successful", None)
        if not callable(successful):
            raise TypeError(
                "`source` must be a finished task or result (with successful(), value and "
                f"exception), got {type(source).__name__} {short_repr(source)}"
            )
        if successful():
            self.set(cast(T, source.value))
        else:
            exc = source.exception
            if exc is None:
                raise RuntimeError(f"{source!r} has not finished: it has no outcome to take")
            self.set_exception(exc)

    # -- getting ------------------------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Return the stored value or raise the stored exception, waiting for one if needed.

        The exception is raised with the traceback it was stored with, every time.

        Args:
            block: If False, do not wait: raise ``TimeoutError`` if nothing is set yet.
            timeout: How long to wait, in seconds; ``None`` (or ``math.inf``) waits for as
                long as it takes.

        Raises:
            TimeoutError: nothing was set in time (or at all, with ``block=False``).
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_get`) or inside the hub, and nothing is set yet.
        """
        result = self._result
        if not result:
            if timeout is not None:
                timeout = check_timeout(timeout)
            if block and timeout != 0.0:
                line = self.waitline
                if line is None:
                    line = self.get_waitline()
                if not line.listen(timeout, self.ready):
                    raise TimeoutError(f"the AsyncResult got no value within {timeout} seconds")
            elif not result:
                raise TimeoutError("the AsyncResult holds no value yet")
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)  # a bad timeout fails whether or not the result is ready
        value, exc, tb = result[0]
        if exc is not None:
            raise exc.with_traceback(tb)
        return value  # type: ignore[no-any-return]

    async def async_get(self, timeout: float | None = None) -> T:
        """Wait, from an asyncio task, for the outcome; return the value or raise the exception.

        The awaitable :meth:`get`: the task waits in the same line as greenlets and threads.
        Returns (or raises) at once, without yielding to the loop, if the result is ready.  A
        task cancelled while it waits leaves the line; the ``await`` raises
        ``CancelledError``.

        Raises:
            TimeoutError: nothing was set within ``timeout`` seconds (the builtin one).
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: no asyncio event loop is running in this thread.
        """
        result = self._result
        if not result:
            timeout = check_timeout(timeout)
            if timeout == 0.0:
                if not result:
                    raise TimeoutError("the AsyncResult holds no value yet")
            elif not await self.get_waitline().async_listen(timeout, self.ready):
                raise TimeoutError(f"the AsyncResult got no value within {timeout} seconds")
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)
        value, exc, tb = result[0]
        if exc is not None:
            raise exc.with_traceback(tb)
        return value  # type: ignore[no-any-return]

    def get_nowait(self) -> T:
        """Return the stored value or raise the stored exception, without waiting.

        Raises:
            TimeoutError: nothing is set yet.
        """
        return self.get(block=False)

    def wait(self, timeout: float | None = None) -> T | None:
        """Block until a value or an exception is set, or ``timeout`` seconds pass.

        As in gevent, returns the value: the stored value when the result is ready, ``None``
        if the wait timed out or the result holds an exception.  Unlike :meth:`get`, it never
        raises the stored exception (and never raises ``TimeoutError``): use :meth:`ready`,
        :meth:`successful` or :meth:`get` to tell a stored ``None`` from a timeout.

        Returns:
            The stored value, or ``None``.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: called from a coroutine on a running asyncio loop (use
                :meth:`async_wait`) or inside the hub, and nothing is set yet.
        """
        result = self._result
        if not result:
            timeout = check_timeout(timeout)
            if timeout != 0.0:
                line = self.waitline
                if line is None:
                    line = self.get_waitline()
                if not line.listen(timeout, self.ready):
                    return None
            elif not result:
                return None
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)
        return result[0][0]  # type: ignore[no-any-return]

    async def async_wait(self, timeout: float | None = None) -> T | None:
        """Wait, from an asyncio task, until the result is ready; the awaitable :meth:`wait`.

        Returns:
            The stored value; ``None`` if the wait timed out or the result holds an exception.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: no asyncio event loop is running in this thread.
        """
        result = self._result
        if not result:
            timeout = check_timeout(timeout)
            if timeout != 0.0:
                if not await self.get_waitline().async_listen(timeout, self.ready):
                    return None
            elif not result:
                return None
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)
        return result[0][0]  # type: ignore[no-any-return]

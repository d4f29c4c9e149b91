"""``AsyncResult``: a one-shot value or exception that greenlets wait for (gevent's)."""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Protocol, TypeVar, cast, overload

from greensync.hub import TIMED_OUT, Linkable, check_timeout

from ._outcome import ExcInfo, as_exception, check_traceback, short_repr

__all__ = ["AsyncResult", "ResultSource"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


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


class AsyncResult(Linkable, Generic[T]):
    """A value or an exception that will arrive later, for any number of greenlets to get.

    Exactly one of :meth:`set` or :meth:`set_exception` may be called, once; every
    :meth:`get`, blocked or later, then returns that value or raises that exception.  Setting
    wakes all waiting greenlets, in the order they began to wait, on the hub's next turn;
    the caller keeps running.  Works across OS threads.

    An ``AsyncResult`` is callable with a finished task, so it can be linked to one::

        result: AsyncResult[int] = AsyncResult()
        spawn(compute).rawlink(result)
        result.get()          # compute()'s value, or its exception raised here

    Differences from gevent: a second ``set``/``set_exception`` is a ``RuntimeError`` (gevent
    overwrites the outcome); a ``get`` that times out raises the builtin ``TimeoutError``;
    :meth:`wait` returns a bool, not the value.

    Not meant to be subclassed.
    """

    __slots__ = ("_done", "_exc", "_tb", "_value")

    def __init__(self) -> None:
        super().__init__()
        self._done = False
        self._value: T | None = None
        self._exc: BaseException | None = None
        self._tb: TracebackType | None = None

    def __repr__(self) -> str:
        if not self._done:
            return f"<AsyncResult unset waiters={self.linkcount()}>"
        if self._exc is not None:
            return f"<AsyncResult exception={short_repr(self._exc)}>"
        return f"<AsyncResult value={short_repr(self._value)}>"

    # -- state --------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True once a value or an exception has been set."""
        return self._done

    def successful(self) -> bool:
        """Return True if a value (not an exception) has been set."""
        return self._done and self._exc is None

    @property
    def value(self) -> T | None:
        """The value passed to :meth:`set`, or ``None`` until then (and after an exception)."""
        return self._value

    @property
    def exception(self) -> BaseException | None:
        """The exception passed to :meth:`set_exception`, or ``None``."""
        return self._exc

    @property
    def exc_info(self) -> ExcInfo | tuple[()]:
        """The ``(type, value, traceback)`` of the stored exception, or ``()`` if there is none.

        The traceback is the one :meth:`get` re-raises the exception with.
        """
        exc = self._exc
        if exc is None:
            return ()
        return (type(exc), exc, self._tb)

    # -- setting ------------------------------------------------------------------------------

    @overload
    def set(self: AsyncResult[None]) -> None: ...
    @overload
    def set(self, value: T) -> None: ...
    def set(self, value: T | None = None) -> None:
        """Store ``value`` and wake every greenlet waiting for it.

        Raises:
            RuntimeError: a value or an exception was already set; the first one is kept.
        """
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._done:
                raise RuntimeError(self._already_set())
            self._value = value
            self._done = True
            self._notify()
        finally:
            mutex.release()

    def set_exception(
        self,
        exc: BaseException | type[BaseException],
        exc_info: ExcInfo | tuple[()] | None = None,
    ) -> None:
        """Store ``exc`` for every :meth:`get` to raise, and wake every greenlet waiting.

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
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._done:
                raise RuntimeError(self._already_set())
            self._exc = error
            self._tb = tb
            self._done = True
            self._notify()
        finally:
            mutex.release()

    def _already_set(self) -> str:
        what = "an exception" if self._exc is not None else "a value"
        return f"this AsyncResult already holds {what}: it is one-shot, create a new one"

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
        """
        if not self._done:
            timeout = check_timeout(timeout)
            if block and timeout != 0.0:
                if not self._wait(timeout):
                    raise TimeoutError(f"the AsyncResult got no value within {timeout} seconds")
            elif not self._done:
                raise TimeoutError("the AsyncResult holds no value yet")
        elif timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
            check_timeout(timeout)  # a bad timeout fails whether or not the result is ready
        exc = self._exc
        if exc is not None:
            raise exc.with_traceback(self._tb)
        return self._value  # type: ignore[return-value]

    def get_nowait(self) -> T:
        """Return the stored value or raise the stored exception, without waiting.

        Raises:
            TimeoutError: nothing is set yet.
        """
        return self.get(block=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a value or an exception is set, or ``timeout`` seconds pass.

        Unlike :meth:`get`, never raises the stored exception.

        Returns:
            True if the result is ready, False if the wait timed out.

        Raises:
            TypeError: ``timeout`` is not a number.
            ValueError: ``timeout`` is negative or NaN.
        """
        if self._done:
            if timeout is not None and (timeout.__class__ is not float or not timeout >= 0.0):
                check_timeout(timeout)
            return True
        timeout = check_timeout(timeout)
        if timeout == 0.0:
            return self._done
        return self._wait(timeout)

    def _wait(self, timeout: float | None) -> bool:
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._done:
                return True
            link = self._enqueue_listener()
        finally:
            mutex.release()
        return self._park(link, timeout) is not TIMED_OUT

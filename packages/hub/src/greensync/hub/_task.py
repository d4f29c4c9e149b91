"""Greenlets with results (``Task``), ``sleep``, and waiting on many objects at once."""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar, final, overload

from greenlet import GreenletExit, getcurrent, greenlet

from ._current import _stale, get_hub
from ._diagnostics import parked_on
from ._loop import (
    CallbackHandle,
    Hub,
    HubBase,
    TimerHandle,
    _check_delay,
    _Throw,
    check_timeout,
    parks,
)
from ._state import _local
from ._waitline import WaitLine, cancel_due, lazy_waitline

__all__ = ["Task", "iwait", "joinall", "sleep", "spawn", "spawn_later", "wait"]

T = TypeVar("T")
L = TypeVar("L")
TaskT = TypeVar("TaskT", bound="Task[Any]")
P = ParamSpec("P")

_greenlet_switch = greenlet.switch


@parks
def sleep(seconds: float = 0) -> None:
    """Park the current greenlet for ``seconds``.

    ``sleep(0)`` lets every other runnable greenlet run once before this one continues.

    Raises:
        TypeError, ValueError: ``seconds`` is not a non-negative number.
        RuntimeError: called inside the hub.
    """
    try:
        hub: HubBase = _local.hub
    except AttributeError:
        hub = get_hub()
    current = getcurrent()
    cls = seconds.__class__
    if (
        (cls is int or cls is float)
        and seconds == 0
        and hub.__class__ is Hub
        and current is not hub
    ):
        # The hot path: queue our own switch and park, with no handle object and no timer.
        item = [_greenlet_switch, (current,)]
        hub._ready.append(item)
        try:
            result = _greenlet_switch(hub)
        except BaseException:
            item[0] = None
            raise
        if result.__class__ is _Throw:
            item[0] = None
            raise result.exc
        return
    delay = _check_delay(seconds, "seconds")
    if hub._is_asyncio and _stale(hub):
        hub = get_hub()  # the asyncio loop it was bound to is closed: a fresh hub
    if delay == 0:
        hub._yield_turn(current)
        return
    handle = hub.call_later(delay, current.switch)
    try:
        hub.switch("sleep")
    finally:
        handle.cancel()


class Task(greenlet, Generic[T]):
    """A greenlet that runs ``fn(*args, **kwargs)`` in the hub and keeps its outcome.

    Create tasks with :func:`spawn` or :func:`spawn_later`.  A task runs in a copy of the
    spawner's :mod:`contextvars` context, as asyncio tasks do.  An exception that ends a task
    is stored (see :attr:`exception`) and reported through the hub's ``handle_error``; a task
    killed with ``GreenletExit`` counts as successful, with the exception instance as its value
    (gevent's rule).  Greenlets, asyncio tasks (:meth:`async_get`, :meth:`async_join`) and
    other threads may all wait for a task.
    """

    def __init__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {type(fn).__name__} {fn!r}")
        hub = get_hub()
        super().__init__(parent=hub._loop_greenlet)
        self._hub = hub
        self.gr_context = contextvars.copy_context()
        self._fn: Callable[..., T] | None = fn
        self._args: tuple[Any, ...] = args
        self._kwargs: dict[str, Any] = kwargs
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._traceback: TracebackType | None = None
        self._start: CallbackHandle | TimerHandle | None = None
        self._done = False
        #: The line of whoever waits for this task (greenlets, tasks, callbacks), made on need.
        self.waitline: WaitLine | None = None

    def __repr__(self) -> str:
        fn = self._fn
        name = getattr(fn, "__qualname__", None) or repr(fn) if fn is not None else "-"
        if self._done:
            state = "failed" if self._exception is not None else "done"
        elif self:
            on = parked_on(self)
            state = "running" if on is None else f"parked on {on!r}"
        else:
            state = "pending"
        return f"<Task {name} {state}>"

    def _line(self) -> WaitLine:
        line = self.waitline
        if line is None:
            line = lazy_waitline(self, "waitline", lambda: WaitLine(self))
        return line

    # -- the greenlet body ----------------------------------------------------------------

    def run(self) -> None:
        self._start = None
        fn, args, kwargs = self._fn, self._args, self._kwargs
        self._args, self._kwargs = (), {}
        assert fn is not None
        try:
            value = fn(*args, **kwargs)
        except GreenletExit as exc:
            self._finish(exc, None)
        except BaseException as exc:
            self._finish(None, exc)
            if isinstance(exc, Exception) or getattr(exc, "is_timeout", False):
                # A timeout that escaped the task ends the task, like any error (gevent's rule).
                self._hub._report_error(self, exc)
            else:
                raise  # KeyboardInterrupt/SystemExit travel to the hub, then to the main greenlet
        else:
            self._finish(value, None)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        self._value = value
        self._exception = exc
        if exc is not None:
            self._traceback = exc.__traceback__
        self._done = True
        line = self.waitline
        if line is not None:
            # A task finishes once: every later wait returns at once (a waiter that joined just
            # before re-checks), so the line goes with its last notify; finished tasks are
            # often kept (joinall returns them) and stay small.
            self.waitline = None
            if line:
                with line.mutex:
                    line.notify()

    # -- outcome ----------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True once the task has finished (returned, raised, or was killed)."""
        return self._done

    def successful(self) -> bool:
        """Return True if the task finished without raising (``GreenletExit`` counts as ok)."""
        return self._done and self._exception is None

    @property
    def value(self) -> T | None:
        """What the function returned; ``None`` until then or if it raised."""
        return self._value

    @property
    def exception(self) -> BaseException | None:
        """The exception that ended the task, or ``None``."""
        return self._exception

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Return the task's value, or raise the exception that ended it.

        Args:
            block: If False, do not wait: raise ``TimeoutError`` if the task is not finished.
            timeout: How long to wait, in seconds; ``None`` waits for as long as it takes.

        Raises:
            TimeoutError: the task did not finish in time.
        """
        if not self._done:
            timeout = check_timeout(timeout)
            if not block:
                raise TimeoutError(f"{self!r} has not finished")
            if not self._line().listen(timeout, self.ready):
                raise TimeoutError(f"{self!r} did not finish within {timeout} seconds")
        return self._outcome()

    async def async_get(self, timeout: float | None = None) -> T:
        """Wait, from an asyncio task, for this task to finish; return its value or raise.

        Raises:
            TimeoutError: the task did not finish within ``timeout`` seconds.
        """
        if not self._done:
            timeout = check_timeout(timeout)
            if not await self._line().async_listen(timeout, self.ready):
                raise TimeoutError(f"{self!r} did not finish within {timeout} seconds")
        return self._outcome()

    def _outcome(self) -> T:
        exc = self._exception
        if exc is not None:
            # Re-raise with the traceback it ended the task with, so it does not grow per get().
            raise exc.with_traceback(self._traceback)
        return self._value  # type: ignore[return-value]

    def join(self, timeout: float | None = None) -> None:
        """Wait until the task finishes or ``timeout`` seconds pass; never raises its error."""
        if not self._done:
            self._line().listen(check_timeout(timeout), self.ready)

    async def async_join(self, timeout: float | None = None) -> None:
        """Wait, from an asyncio task, until this task finishes or ``timeout`` seconds pass."""
        if not self._done:
            await self._line().async_listen(check_timeout(timeout), self.ready)

    def kill(
        self,
        exception: type[BaseException] | BaseException = GreenletExit,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        """Raise ``exception`` in the task and, by default, wait for it to finish.

        A task that has not started yet never runs.  The exception is delivered by the hub on
        its next turn, so ``kill`` never switches to the task itself; with ``block=True`` the
        caller then waits (up to ``timeout``) for the task to finish.
        """
        if isinstance(exception, type) and issubclass(exception, BaseException):
            exc: BaseException = exception()
        elif isinstance(exception, BaseException):
            exc = exception
        else:
            raise TypeError(
                f"`exception` must be an exception class or instance, got {exception!r}"
            )
        timeout = check_timeout(timeout)
        if self._done:
            return
        if self is getcurrent():
            raise exc
        start = self._start
        if start is not None and not self:
            start.cancel()
            self._start = None
            self._fn = None
            self._args, self._kwargs = (), {}
            if isinstance(exc, GreenletExit):
                self._finish(exc, None)
            else:
                self._finish(None, exc)
            return
        self._hub.run_callback(self._deliver_kill, exc)
        if block:
            self.join(timeout)

    def _deliver_kill(self, exc: BaseException) -> None:
        if not self._done and not self.dead:
            self._hub.throw_into(self, exc)

    # -- links ------------------------------------------------------------------------------

    def rawlink(self, callback: Callable[[Task[T]], object]) -> None:
        """Call ``callback(self)`` in the hub when the task finishes (one-shot).

        Raises:
            TypeError: ``callback`` is not callable.
        """
        line = self._line()
        line.link(callback)
        if self._done:
            with line.mutex:
                line.notify()

    def unlink(self, callback: Callable[[Task[T]], object]) -> None:
        """Remove a callback registered with :meth:`rawlink`."""
        line = self.waitline
        if line is not None:
            line.unlink(callback)
        else:
            cancel_due(self, callback)  # the line went when the task finished

    def linkcount(self) -> int:
        """Return how many callbacks, greenlets and tasks wait for this task."""
        line = self.waitline
        if not line:
            return 0
        return line.takers() + line.listeners()


def spawn(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Task[T]:
    """Start ``fn(*args, **kwargs)`` in a new :class:`Task` on the hub's next turn.

    Raises:
        TypeError: ``fn`` is not callable.
    """
    task: Task[T] = Task(fn, *args, **kwargs)
    task._start = task._hub.run_callback(task.switch)
    return task


def spawn_later(
    seconds: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> Task[T]:
    """Start ``fn(*args, **kwargs)`` in a new :class:`Task` after ``seconds``.

    Raises:
        TypeError: ``fn`` is not callable, or ``seconds`` is not a number.
        ValueError: ``seconds`` is negative or NaN.
    """
    delay = _check_delay(seconds, "seconds")
    task: Task[T] = Task(fn, *args, **kwargs)
    task._start = task._hub.call_later(delay, task.switch)
    return task


def _check_linkable(obj: object) -> None:
    if not (callable(getattr(obj, "rawlink", None)) and callable(getattr(obj, "unlink", None))):
        raise TypeError(
            f"`objects` must hold linkable objects (with rawlink/unlink), got "
            f"{type(obj).__name__} {obj!r}"
        )


class _Collector:
    """The rawlink callback of every object an :class:`iwait` watches; wakes the iterator.

    Apart from the iterator, so that the links (which hold this) do not keep the iterator
    alive: an iterator dropped half-way is freed, and unlinks on the way out.
    """

    __slots__ = ("arrived", "line")

    def __init__(self, owner: object) -> None:
        self.arrived: deque[Any] = deque()
        self.line = WaitLine(owner)

    def __call__(self, obj: object) -> None:
        self.arrived.append(obj)
        line = self.line
        if line:
            with line.mutex:
                line.notify()


@final
class iwait(Generic[L]):
    """Yield objects from ``objects`` as they become ready, until ``count`` or ``timeout``.

    Any mix of linkables works: events, results, semaphores, queues, tasks.  Objects that are
    ready already are reported first, in the order given, whatever the timeout (``timeout=0``
    included); the others as they become ready.  Use it as a context manager to stop watching
    at once when the block is left (gevent's ``with iwait(objects) as it:``); links are also
    removed when the iteration ends, however it ends, and when the iterator is dropped.

    Raises:
        TypeError: an object is not linkable, or ``count`` is not an int.
        ValueError: ``count`` or ``timeout`` is negative.
    """

    __slots__ = (
        "__weakref__",
        "_collector",
        "_count",
        "_deadline",
        "_items",
        "_linked",
        "_timeout",
    )

    def __init__(
        self, objects: Iterable[L], timeout: float | None = None, count: int | None = None
    ) -> None:
        self._linked: list[Any] | None = None  # what is linked, once the waiting began
        items = list(objects)
        for obj in items:
            _check_linkable(obj)
        timeout = check_timeout(timeout)
        if count is None:
            count = len(items)
        elif isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"`count` must be an int or None, got {type(count).__name__} {count!r}")
        elif count < 0:
            raise ValueError(f"`count` must be non-negative, got {count}")
        self._items: list[Any] = items
        self._count = min(count, len(items))
        self._timeout = timeout
        self._deadline: float | None = None
        self._collector = _Collector(self)

    def __repr__(self) -> str:
        watched = self._items if self._linked is None else self._linked
        return f"<iwait on {watched!r}>"

    def __iter__(self) -> iwait[L]:
        return self

    def __enter__(self) -> iwait[L]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_linked", None):
            self.close()

    def __next__(self) -> L:
        if self._count <= 0:
            self.close()
            raise StopIteration
        if self._linked is None:
            self._start()
        collector = self._collector
        arrived = collector.arrived
        if not arrived:
            deadline = self._deadline
            remaining = None if deadline is None else max(0.0, deadline - get_hub().time())
            try:
                woken = remaining != 0.0 and collector.line.listen(remaining, arrived.__len__)
            except BaseException:
                self.close()  # a Timeout, a kill: stop watching before it propagates
                raise
            if not woken:
                self.close()
                raise StopIteration
        self._count -= 1
        obj = arrived.popleft()
        linked = self._linked
        if linked:
            for index, watched in enumerate(linked):
                if watched is obj:
                    del linked[index]
                    break
        return obj  # type: ignore[no-any-return]

    def _start(self) -> None:
        """Report what is ready now; link the rest."""
        linked: list[Any] = []
        collector = self._collector
        for obj in self._items:
            ready = getattr(obj, "ready", None)
            if callable(ready) and ready():
                collector.arrived.append(obj)
            else:
                linked.append(obj)
        self._linked = linked
        if len(collector.arrived) < self._count:
            timeout = self._timeout
            if timeout is not None:
                self._deadline = get_hub().time() + timeout
            for obj in linked:
                obj.rawlink(collector)

    def close(self) -> None:
        """Stop watching: unlink from every object not yet reported."""
        linked = self._linked
        self._linked = []
        if linked:
            collector = self._collector
            for obj in linked:
                obj.unlink(collector)


@overload
def wait(objects: None = None, timeout: float | None = None, count: None = None) -> bool: ...
@overload
def wait(
    objects: Iterable[L], timeout: float | None = None, count: int | None = None
) -> list[L]: ...
def wait(
    objects: Iterable[L] | None = None, timeout: float | None = None, count: int | None = None
) -> list[L] | bool:
    """Wait for objects to become ready and return those that did.

    Objects that are ready already are returned whatever the timeout (``timeout=0`` included).
    With ``objects=None``, wait until the hub has nothing left to run (every other greenlet
    finished or blocked forever) and return True, or False if ``timeout`` passed first.
    """
    if objects is not None:
        with iwait(objects, timeout, count) as it:
            return list(it)
    return get_hub()._wait_idle(check_timeout(timeout))


def joinall(
    tasks: Iterable[TaskT], timeout: float | None = None, raise_error: bool = False
) -> list[TaskT]:
    """Wait for ``tasks`` to finish; return those that did (within ``timeout``).

    With ``raise_error=True``, raise the exception of the first task that fails, as soon as it
    does.
    """
    done: list[TaskT] = []
    with iwait(tasks, timeout) as it:
        for task in it:
            done.append(task)
            if raise_error and task.exception is not None:
                raise task.exception
    return done

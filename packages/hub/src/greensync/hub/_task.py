"""Greenlets with results (``Task``), ``sleep``, and waiting on many objects at once."""

from __future__ import annotations

import contextvars
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from greenlet import GreenletExit, getcurrent, greenlet

from ._linkable import TIMED_OUT, Linkable, Waiter
from ._loop import (
    _PARK_CODES,
    CallbackHandle,
    Hub,
    HubBase,
    TimerHandle,
    _check_delay,
    _local,
    _Throw,
    check_timeout,
    get_hub,
)

__all__ = ["Task", "iwait", "joinall", "sleep", "spawn", "spawn_later", "wait"]

T = TypeVar("T")
L = TypeVar("L")

_greenlet_switch = greenlet.switch


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
        item = [current.switch, ()]
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
    handle: CallbackHandle | TimerHandle
    if delay == 0:
        handle = hub.run_callback(current.switch)
    else:
        handle = hub.call_later(delay, current.switch)
    try:
        hub.switch("sleep")
    finally:
        handle.cancel()


_PARK_CODES.add(sleep.__code__)


class _TaskLinks(Linkable):
    """The waiting side of a :class:`Task` (a greenlet cannot also carry Linkable's slots).

    It refers to its task only weakly, so a finished task is freed by reference counting.
    """

    __slots__ = ("done", "task")

    def __init__(self, task: Task[Any]) -> None:
        super().__init__()
        self.done = False
        self.task = weakref.ref(task)

    def ready(self) -> bool:
        return self.done

    def __repr__(self) -> str:
        return repr(self.task())


class Task(greenlet, Generic[T]):
    """A greenlet that runs ``fn(*args, **kwargs)`` in the hub and keeps its outcome.

    Create tasks with :func:`spawn` or :func:`spawn_later`.  A task runs in a copy of the
    spawner's :mod:`contextvars` context, as asyncio tasks do.  An exception that ends a task
    is stored (see :attr:`exception`) and reported through the hub's ``handle_error``; a task
    killed with ``GreenletExit`` counts as successful, with the exception instance as its value
    (gevent's rule).
    """

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {type(fn).__name__} {fn!r}")
        hub = get_hub()
        super().__init__(parent=hub._loop_greenlet)
        self._hub = hub
        self.gr_context = contextvars.copy_context()
        self._fn: Callable[..., T] | None = fn
        self._args = args
        self._kwargs = kwargs
        self._value: T | None = None
        self._exception: BaseException | None = None
        self._traceback: TracebackType | None = None
        self._start: CallbackHandle | TimerHandle | None = None
        self._links = _TaskLinks(self)

    def __repr__(self) -> str:
        fn = self._fn
        name = getattr(fn, "__qualname__", None) or repr(fn) if fn is not None else "-"
        if self._links.done:
            state = "failed" if self._exception is not None else "done"
        elif self:
            state = "running"
        else:
            state = "pending"
        return f"<Task {name} {state}>"

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
                self._hub.handle_error(self, exc)
            else:
                raise  # KeyboardInterrupt/SystemExit travel to the hub, then to the main greenlet
        else:
            self._finish(value, None)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        links = self._links
        with links._mutex:
            self._value = value
            self._exception = exc
            if exc is not None:
                self._traceback = exc.__traceback__
            links.done = True
            links._notify()

    # -- outcome ----------------------------------------------------------------------------

    def ready(self) -> bool:
        """Return True once the task has finished (returned, raised, or was killed)."""
        return self._links.done

    def successful(self) -> bool:
        """Return True if the task finished without raising (``GreenletExit`` counts as ok)."""
        return self._links.done and self._exception is None

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
        if not self._links.done:
            timeout = check_timeout(timeout)
            if not block:
                raise TimeoutError(f"{self!r} has not finished")
            if not self._wait(timeout):
                raise TimeoutError(f"{self!r} did not finish within {timeout} seconds")
        exc = self._exception
        if exc is not None:
            # Re-raise with the traceback it ended the task with, so it does not grow per get().
            raise exc.with_traceback(self._traceback)
        return self._value  # type: ignore[return-value]

    def join(self, timeout: float | None = None) -> None:
        """Wait until the task finishes or ``timeout`` seconds pass; never raises its error."""
        if not self._links.done:
            self._wait(check_timeout(timeout))

    def _wait(self, timeout: float | None) -> bool:
        links = self._links
        with links._mutex:
            if self._links.done:
                return True
            link = links._enqueue_listener()
        return links._park(link, timeout) is not TIMED_OUT

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
        if self._links.done:
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
        if not self._links.done and not self.dead:
            self._hub.throw_into(self, exc)

    # -- links ------------------------------------------------------------------------------

    def rawlink(self, callback: Callable[[Task[T]], object]) -> None:
        """Call ``callback(self)`` in the hub when the task finishes (one-shot)."""
        self._links.rawlink(_TaskCallback(self, callback))

    def unlink(self, callback: Callable[[Task[T]], object]) -> None:
        """Remove a callback registered with :meth:`rawlink`."""
        self._links.unlink(_TaskCallback(self, callback))

    def linkcount(self) -> int:
        """Return how many callbacks and greenlets wait for this task."""
        return self._links.linkcount()


class _TaskCallback:
    """Adapts a task callback (called with the task) to a link (called with the Linkable)."""

    __slots__ = ("callback", "task")

    def __init__(self, task: Task[Any], callback: Callable[[Any], object]) -> None:
        if not callable(callback):
            raise TypeError(
                f"`callback` must be callable, got {type(callback).__name__} {callback!r}"
            )
        self.task = task
        self.callback = callback

    def __call__(self, _links: object) -> None:
        self.callback(self.task)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TaskCallback) and other.callback == self.callback

    def __hash__(self) -> int:
        return hash(self.callback)


def spawn(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Task[T]:
    """Start ``fn(*args, **kwargs)`` in a new :class:`Task` on the hub's next turn."""
    task: Task[T] = Task(fn, *args, **kwargs)
    task._start = task._hub.run_callback(task.switch)
    return task


def spawn_later(seconds: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Task[T]:
    """Start ``fn(*args, **kwargs)`` in a new :class:`Task` after ``seconds``."""
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
    """Receives rawlink callbacks for :func:`iwait` and wakes the iterating greenlet."""

    __slots__ = ("arrived", "waiter")

    def __init__(self) -> None:
        self.arrived: deque[Any] = deque()
        self.waiter: Waiter[None] | None = None

    def __call__(self, obj: object) -> None:
        self.arrived.append(obj)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.switch(None)


def iwait(
    objects: Iterable[L], timeout: float | None = None, count: int | None = None
) -> Iterator[L]:
    """Yield objects from ``objects`` as they become ready, until ``count`` or ``timeout``.

    Any mix of linkables works: events, results, semaphores, queues, tasks.  Links are removed
    when the iteration ends, however it ends.

    Raises:
        TypeError: an object is not linkable, or ``count`` is not an int.
        ValueError: ``count`` or ``timeout`` is negative.
    """
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
    return _iwait(items, timeout, min(count, len(items)))


def _iwait(items: list[Any], timeout: float | None, count: int) -> Iterator[Any]:
    if count == 0:
        return
    hub = get_hub()
    deadline = None if timeout is None else hub.time() + timeout
    collector = _Collector()
    for obj in items:
        obj.rawlink(collector)
    try:
        for _ in range(count):
            while not collector.arrived:
                waiter: Waiter[None] = Waiter()
                collector.waiter = waiter
                remaining = None if deadline is None else max(0.0, deadline - hub.time())
                try:
                    waiter.get(remaining)
                except TimeoutError:
                    return
                finally:
                    collector.waiter = None
            yield collector.arrived.popleft()
    finally:
        for obj in items:
            obj.unlink(collector)


@overload
def wait(objects: None = None, timeout: float | None = None, count: None = None) -> bool: ...
@overload
def wait(
    objects: Sequence[L] | Iterable[L], timeout: float | None = None, count: int | None = None
) -> list[L]: ...
def wait(
    objects: Iterable[L] | None = None, timeout: float | None = None, count: int | None = None
) -> list[L] | bool:
    """Wait for objects to become ready and return those that did.

    With ``objects=None``, wait until the hub has nothing left to run (every other greenlet
    finished or blocked forever) and return True, or False if ``timeout`` passed first.
    """
    if objects is not None:
        return list(iwait(objects, timeout, count))
    return get_hub()._wait_idle(check_timeout(timeout))


def joinall(
    tasks: Iterable[Task[Any]], timeout: float | None = None, raise_error: bool = False
) -> list[Task[Any]]:
    """Wait for ``tasks`` to finish; return those that did (within ``timeout``).

    With ``raise_error=True``, raise the exception of the first task that fails, as soon as it
    does.
    """
    items = list(tasks)
    done: list[Task[Any]] = []
    for task in iwait(items, timeout):
        done.append(task)
        if raise_error and task.exception is not None:
            raise task.exception
    return done

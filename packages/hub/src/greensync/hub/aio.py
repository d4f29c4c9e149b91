"""Greenlets under a live asyncio event loop, and coroutines awaiting greensync objects.

From inside a running loop, :func:`run_greenlet` starts greenlet code that may block on any
greensync primitive: this thread's hub is bound to the running loop (an
:class:`~greensync.hub._adapters.AsyncioHub`), so parked greenlets are resumed by the loop's own
callbacks and timers.  :func:`wait_ready` lets a coroutine await any greensync linkable -- an
``Event``, an ``AsyncResult``, a ``Task`` -- set by a greenlet, in this thread or another::

    async def main():
        result = AsyncResult()
        task = asyncio.ensure_future(run_greenlet(producer, result))   # greenlet code
        await wait_ready(result)                                      # coroutine code
        print(result.get())
        await task

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from ._adapters import AsyncioHub
from ._current import _install, _peek_hub
from ._linkable import Linkable
from ._loop import check_timeout
from ._task import Task, _check_linkable, spawn

__all__ = ["bind_running_loop", "run_greenlet", "wait_ready"]

T = TypeVar("T")
L = TypeVar("L")
P = ParamSpec("P")


def bind_running_loop() -> AsyncioHub:
    """Return this thread's hub, bound to the running asyncio loop (creating it if needed).

    Raises:
        RuntimeError: no asyncio loop is running in this thread, or this thread already has a
            greensync hub of another kind (create greenlets through :func:`run_greenlet` before
            anything else uses the hub in this thread).
    """
    loop = asyncio.get_running_loop()
    hub = _peek_hub()
    if hub is None:
        hub = AsyncioHub(loop)
        _install(hub)
        return hub
    if isinstance(hub, AsyncioHub):
        if hub.loop is loop:
            return hub
        if hub.loop.is_closed():
            # A previous asyncio.run() in this thread is over; its hub has nothing left.
            hub.destroy()
            hub = AsyncioHub(loop)
            _install(hub)
            return hub
    raise RuntimeError(
        f"this thread already runs the greensync hub {hub!r}, not one bound to the running "
        "asyncio loop: start greenlet code with run_greenlet() before anything else in this "
        "thread uses greensync"
    )


async def run_greenlet(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in a new greenlet on the running loop; return its result.

    The greenlet may block on greensync primitives; the loop keeps running meanwhile.  If the
    awaiting coroutine is cancelled, the greenlet is killed.

    Raises:
        BaseException: whatever ``fn`` raised, raised here.
    """
    bind_running_loop()
    task = spawn(fn, *args, **kwargs)
    try:
        await wait_ready(task)
    except asyncio.CancelledError:
        task.kill(block=False)
        raise
    return task.get(block=False)


async def wait_ready(obj: L, timeout: float | None = None) -> L:
    """Wait, from a coroutine, until the greensync linkable ``obj`` is ready; return it.

    Raises:
        TypeError: ``obj`` is not linkable.
        TimeoutError: ``timeout`` seconds passed first.
    """
    _check_linkable(obj)
    timeout = check_timeout(timeout)
    line = None
    if isinstance(obj, Linkable):
        line = obj.get_waitline()
        ready: Callable[[], object] = obj.ready
    elif isinstance(obj, Task):
        line = obj._line()
        ready = obj.ready
    if line is not None:
        # A greensync object: the task waits in its line itself, no hub involved.
        if not await line.async_listen(timeout, ready):
            raise TimeoutError(f"{obj!r} was not ready within {timeout} seconds")
        return obj
    loop = asyncio.get_running_loop()
    bind_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def on_ready(_obj: object) -> None:
        if not future.done():
            future.set_result(None)

    link: Any = obj
    link.rawlink(on_ready)
    try:
        if timeout is None:
            await future
        else:
            await asyncio.wait_for(future, timeout)
    finally:
        link.unlink(on_ready)
    return obj

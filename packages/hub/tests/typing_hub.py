"""What a type checker knows about each public call of greensync.hub (never run, only checked).

``mypy --strict`` and pyright in strict mode both check this file (``nox -s typecheck``); each
``assert_type`` fails the check if the inferred type drifts.  The cases a checker must reject
live in ``test_hub_typing.py``, which runs the checkers on them and asserts the errors.
"""

from __future__ import annotations

import signal
from typing import Any, assert_type

from greenlet import greenlet

from greensync.hub import (
    NOTHING,
    TIMED_OUT,
    HubBase,
    Linkable,
    LoopExit,
    SignalHandle,
    Task,
    Waiter,
    WaitLine,
    check_timeout,
    get_hub,
    iwait,
    joinall,
    signal_handler,
    sleep,
    spawn,
    spawn_later,
    wait,
)
from greensync.hub.aio import run_greenlet, wait_ready
from greensync.hub.testing import Permits


def double(n: int) -> int:
    return n * 2


def greet(name: str, *, punctuation: str = "!") -> str:
    return name + punctuation


def spawning() -> None:
    assert_type(spawn(double, 2), Task[int])
    assert_type(spawn(greet, "you", punctuation="?"), Task[str])
    assert_type(spawn_later(0.5, double, 2), Task[int])
    assert_type(Task(double, 2), Task[int])
    task = spawn(double, 2)
    assert_type(task.get(), int)
    assert_type(task.get(block=False, timeout=1.0), int)
    assert_type(task.value, int | None)
    assert_type(task.exception, BaseException | None)
    assert_type(task.ready(), bool)
    assert_type(task.successful(), bool)
    assert_type(task.join(timeout=1), None)
    assert_type(task.kill(block=False), None)


def waiting_on_many() -> None:
    tasks = [spawn(double, 1), spawn(double, 2)]
    assert_type(joinall(tasks), list[Task[int]])
    assert_type(joinall(tasks, timeout=1, raise_error=True), list[Task[int]])
    waiters: list[Waiter[str]] = [Waiter(), Waiter()]
    assert_type(wait(waiters), list[Waiter[str]])
    assert_type(wait(waiters, timeout=0, count=1), list[Waiter[str]])
    assert_type(wait(), bool)
    assert_type(wait(timeout=1.0), bool)
    assert_type(iwait(tasks), iwait[Task[int]])
    for done in iwait(tasks, timeout=1):
        assert_type(done, Task[int])
    with iwait(waiters) as it:
        assert_type(it, iwait[Waiter[str]])
        assert_type(iter(it), iwait[Waiter[str]])
        assert_type(next(it), Waiter[str])


def waiters_and_lines() -> None:
    waiter: Waiter[bytes] = Waiter()
    assert_type(waiter.get(timeout=1), bytes)
    assert_type(waiter.switch(b"x"), None)
    line = WaitLine(owner=waiter)
    assert_type(line.park(1.0), Any)
    assert_type(line.listen(None, waiter.ready), bool)
    assert_type(line.handoff(1), bool)
    assert_type(line.notify(), int)
    assert_type(line.move_to(WaitLine(), 2), int)
    assert_type(line.takers(), int)
    assert_type(line.owner, Any)
    permits = Permits(1)
    assert_type(permits, Permits)
    linkable: Linkable = permits
    assert_type(linkable.get_waitline(), WaitLine)
    assert_type(linkable.linkcount(), int)
    assert_type(check_timeout(3), float | None)
    assert_type(TIMED_OUT, Any)
    assert_type(NOTHING, Any)


def the_hub() -> None:
    hub = get_hub()
    assert_type(hub, HubBase)
    assert_type(hub.time(), float)
    assert_type(hub.deadlock_warning, float | None)
    assert_type(sleep(0), None)
    assert_type(signal_handler(signal.SIGTERM, double, 3), SignalHandle)
    assert_type(signal_handler(signal.SIGTERM, greet, "bye"), SignalHandle)
    handle = signal_handler(signal.SIGINT, print)
    assert_type(handle.cancel(), None)
    assert_type(handle.cancelled, bool)
    try:
        pass
    except LoopExit as exc:
        assert_type(exc.waiting_on, object)
        assert_type(exc.parked, list[tuple[greenlet, object]])


async def from_a_coroutine() -> None:
    task = spawn(double, 2)
    assert_type(await task.async_get(timeout=1), int)
    assert_type(await task.async_join(), None)
    waiter: Waiter[float] = Waiter()
    assert_type(await waiter.async_get(), float)
    assert_type(await run_greenlet(double, 2), int)
    assert_type(await run_greenlet(greet, "x", punctuation="."), str)
    assert_type(await wait_ready(waiter), Waiter[float])
    assert_type(await WaitLine().async_park(None), Any)
    assert_type(await WaitLine().async_listen(0.5), bool)

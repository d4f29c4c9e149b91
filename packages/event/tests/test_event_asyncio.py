"""The asyncio face of each class: ``async_wait``, ``async_get``, what they return and raise.

What every kind shares with its blocking twin (FIFO, timeouts, early leavers, cancellation,
threads) is in the contract suite, parametrized over kinds of waiter; here are the per-class
specifics: return values, exceptions, rounds, reprs.  Each test runs its coroutine with
``asyncio.run`` in a fresh thread, so it does not depend on this thread's hub.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, assert_type

from greensync.event import AsyncResult, Event, ValueEvent
from greensync.hub import sleep, spawn
from greensync.hub.testing import assert_no_links, existing_hub, run_until_blocked

T = TypeVar("T")


class Boom(Exception):
    """Stored and raised by the tests."""


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``main()`` with ``asyncio.run`` in a fresh thread; return its result."""
    out: list[tuple[bool, Any]] = []

    def body() -> None:
        try:
            out.append((True, asyncio.run(main())))  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            out.append((False, exc))

    thread = threading.Thread(target=body, name="greensync-event-asyncio")
    thread.start()
    thread.join(60)
    assert out, "the coroutine did not finish within 60 s"
    ok, value = out[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


async def until(predicate: Callable[[], bool]) -> None:
    """Let the loop run until ``predicate()`` holds (bounded: fails after 30 s)."""
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.001)


# -- Event ---------------------------------------------------------------------------------


def test_event_async_wait_returns_true_when_set_and_false_on_timeout() -> None:
    ev = Event()

    async def main() -> list[object]:
        seen: list[object] = [await ev.async_wait(0), await ev.async_wait(0.01)]
        waiter = asyncio.get_running_loop().create_task(ev.async_wait())
        await until(lambda: ev.linkcount() == 1)
        assert repr(ev) == "<Event clear waiters=1>"  # a task counts as a waiter
        ev.set()
        ev.clear()  # cleared again before the task ran: it was set during the wait
        seen.append(await waiter)
        seen.append(ev.linkcount())
        return seen

    assert run(main) == [False, False, True, 0]
    assert_no_links(ev)


def test_event_set_by_a_greenlet_wakes_a_task_on_a_loop_in_another_thread() -> None:
    ev = Event()
    seen: list[object] = []

    async def main() -> None:
        seen.append(await ev.async_wait(30))
        seen.append(existing_hub())  # the task never needed a greensync hub

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    deadline = time.monotonic() + 30
    while ev.linkcount() == 0:
        assert time.monotonic() < deadline, "the task never began to wait"
        sleep(0.001)
    spawn(ev.set)  # a greenlet sets it
    run_until_blocked()
    thread.join(30)
    assert seen == [True, None]
    assert_no_links(ev)


# -- AsyncResult ---------------------------------------------------------------------------


def test_asyncresult_async_get_returns_the_value_and_raises_the_stored_exception() -> None:
    good: AsyncResult[int] = AsyncResult()
    bad: AsyncResult[int] = AsyncResult()

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        getting = loop.create_task(good.async_get())
        failing = loop.create_task(bad.async_get(timeout=30))
        await until(lambda: good.linkcount() == 1 and bad.linkcount() == 1)
        assert repr(good) == "<AsyncResult unset waiters=1>"
        good.set(42)
        bad.set_exception(Boom("stored"))
        seen: list[object] = [await getting, await good.async_get(), await good.async_get(0)]
        for _ in range(2):
            try:
                await failing if not failing.done() else await bad.async_get()
            except Boom as exc:
                seen.append(str(exc))
        return seen

    assert run(main) == [42, 42, 42, "stored", "stored"]
    assert_no_links(good, bad)


def test_asyncresult_async_get_times_out_with_the_builtin_timeout_error() -> None:
    result: AsyncResult[int] = AsyncResult()

    async def main() -> list[str]:
        messages = []
        for timeout in (0, 0.01):
            try:
                await result.async_get(timeout)
            except TimeoutError as exc:
                messages.append(f"{type(exc).__module__}.{type(exc).__name__}: {exc}")
        return messages

    assert run(main) == [
        "builtins.TimeoutError: the AsyncResult holds no value yet",
        "builtins.TimeoutError: the AsyncResult got no value within 0.01 seconds",
    ]
    assert_no_links(result)


def test_asyncresult_async_wait_returns_the_value_or_none_and_never_raises() -> None:
    result: AsyncResult[str] = AsyncResult()
    failed: AsyncResult[str] = AsyncResult()

    async def main() -> list[object]:
        seen: list[object] = [await result.async_wait(0), await result.async_wait(0.01)]
        waiting = asyncio.get_running_loop().create_task(result.async_wait())
        await until(lambda: result.linkcount() == 1)
        result.set("v")
        seen.append(await waiting)
        failed.set_exception(Boom())
        seen.append(await failed.async_wait())
        return seen

    assert run(main) == [None, None, "v", None]
    assert_no_links(result, failed)


def test_asyncresult_async_methods_are_typed_like_their_twins() -> None:
    result: AsyncResult[int] = AsyncResult()
    result.set(1)

    async def main() -> None:
        assert_type(await result.async_get(), int)
        assert_type(await result.async_wait(), int | None)

    run(main)


# -- ValueEvent ----------------------------------------------------------------------------


def test_valueevent_async_wait_returns_the_value_raises_the_exception_or_times_out() -> None:
    ev: ValueEvent[str] = ValueEvent()

    async def main() -> list[object]:
        seen: list[object] = []
        for timeout in (0, 0.01):
            try:
                await ev.async_wait(timeout)
            except TimeoutError as exc:
                seen.append(str(exc))
        waiting = asyncio.get_running_loop().create_task(ev.async_wait())
        await until(lambda: ev.linkcount() == 1)
        assert repr(ev) == "<ValueEvent unsent waiters=1>"  # a task counts as a waiter
        ev.send("first")
        ev.reset()
        ev.send("second")  # before the task ran: it still gets the send that woke it
        seen.append(await waiting)
        seen.append(await ev.async_wait())
        ev.reset()
        ev.send_exception(Boom("sent"))
        try:
            await ev.async_wait()
        except Boom as exc:
            seen.append(str(exc))
        return seen

    assert run(main) == [
        "the ValueEvent was not sent",
        "the ValueEvent was not sent within 0.01 seconds",
        "first",
        "second",
        "sent",
    ]
    assert_no_links(ev)


def test_valueevent_async_wait_is_typed_like_wait() -> None:
    ev: ValueEvent[int] = ValueEvent()
    ev.send(1)

    async def main() -> None:
        assert_type(await ev.async_wait(), int)

    run(main)

"""asyncio tasks in the wait line: FIFO with greenlets and threads, cancellation, misuse.

Issue 13: a coroutine that called a blocking method froze its loop (or got an error about hub
callbacks); tasks could not wait in a primitive's line at all.  ``testing.Permits`` is a
semaphore built on the public wait line, with an ``async_acquire`` twin.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import Task, Waiter, sleep, spawn
from greensync.hub.testing import Permits, assert_no_links, run_in_threads, run_until_blocked


def _until(condition: Callable[[], bool], what: str) -> None:
    """Let the hub run (and other threads post) until ``condition()`` holds."""
    for turn in range(200_000):
        if condition():
            return
        sleep(0.001 if turn % 50 == 49 else 0)
    raise AssertionError(f"never happened: {what}")


# -- a blocking call from a coroutine -------------------------------------------------------


def test_a_blocking_wait_in_a_coroutine_names_the_async_method_and_leaves_it_clean() -> None:
    permits = Permits(0)
    waiter: Waiter[int] = Waiter()

    async def main() -> list[str]:
        messages = []
        calls: list[Callable[[], object]] = [
            lambda: permits.acquire(timeout=5),
            lambda: waiter.get(timeout=5),
        ]
        for call in calls:
            with pytest.raises(RuntimeError) as info:
                call()
            messages.append(str(info.value))
        # Calls that do not block stay allowed in a coroutine.
        permits.release()
        assert permits.acquire(timeout=0) is True
        return messages

    messages = _in_thread(lambda: asyncio.run(main()))
    assert "use `await permits.async_acquire(...)` instead" in messages[0]
    assert "use `await waiter.async_get(...)` instead" in messages[1]
    assert all("cannot block a coroutine's event loop" in m for m in messages)
    assert_no_links(permits, waiter)
    # Both still work for everyone afterwards.
    permits.release()
    assert permits.acquire(timeout=5) is True
    waiter.switch(7)
    assert waiter.get(timeout=5) == 7


def test_a_refused_blocking_wait_makes_no_hub_so_run_greenlet_still_binds_the_loop() -> None:
    from greensync.hub.aio import run_greenlet
    from greensync.hub.testing import existing_hub

    permits = Permits(0)

    def in_a_greenlet() -> str:
        permits.release()
        return "greenlet ran on the loop"

    async def main() -> tuple[object, str]:
        with pytest.raises(RuntimeError, match="async_acquire"):
            permits.acquire(timeout=5)
        made = existing_hub()  # the refusal made no hub in this thread...
        return made, await run_greenlet(in_a_greenlet)  # ...so this can bind one to the loop

    made, ran = _in_thread(lambda: asyncio.run(main()))
    assert made is None
    assert ran == "greenlet ran on the loop"
    assert permits.acquire(timeout=0) is True


def test_a_blocking_task_get_in_a_coroutine_names_async_get() -> None:
    task: Task[int] = spawn(int, "3")

    async def main() -> str:
        with pytest.raises(RuntimeError) as info:
            task.get(timeout=5)
        return str(info.value)

    assert "`await task.async_get(...)`" in _in_thread(lambda: asyncio.run(main()))
    assert task.get(timeout=5) == 3
    assert_no_links(task)


# -- every kind of waiter in one FIFO line --------------------------------------------------


def test_tasks_greenlets_and_threads_are_served_in_arrival_order() -> None:
    permits = Permits(0)
    served: list[str] = []
    line = permits.get_waitline()

    def greenlet_waiter(label: str) -> None:
        assert permits.acquire(timeout=30)
        served.append(label)

    loop_ready = threading.Event()
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop: list[asyncio.Future[None]] = []

    async def loop_main() -> None:
        loop_box.append(asyncio.get_running_loop())
        stop.append(asyncio.get_running_loop().create_future())
        loop_ready.set()
        await stop[0]

    async def task_waiter(label: str) -> None:
        assert await permits.async_acquire(timeout=30)
        served.append(label)

    loop_thread = threading.Thread(target=lambda: asyncio.run(loop_main()))
    loop_thread.start()
    assert loop_ready.wait(30)
    loop = loop_box[0]
    plain: list[threading.Thread] = []

    def start_thread_waiter(label: str) -> None:
        thread = threading.Thread(target=greenlet_waiter, args=(label,))
        thread.start()
        plain.append(thread)

    arrivals: list[tuple[str, Callable[[], object]]] = [
        ("greenlet 1", lambda: spawn(greenlet_waiter, "greenlet 1")),
        ("task 1", lambda: asyncio.run_coroutine_threadsafe(task_waiter("task 1"), loop)),
        ("thread 1", lambda: start_thread_waiter("thread 1")),
        ("greenlet 2", lambda: spawn(greenlet_waiter, "greenlet 2")),
        ("task 2", lambda: asyncio.run_coroutine_threadsafe(task_waiter("task 2"), loop)),
        ("thread 2", lambda: start_thread_waiter("thread 2")),
    ]
    try:
        for waiting, (label, arrive) in enumerate(arrivals, 1):
            arrive()
            _until(lambda n=waiting: line.takers() == n, f"{label} waits")  # type: ignore[misc]
        for count in range(1, len(arrivals) + 1):
            permits.release()
            _until(lambda n=count: len(served) == n, f"waiter {count} served")  # type: ignore[misc]
        assert served == [label for label, _ in arrivals]
    finally:
        loop.call_soon_threadsafe(stop[0].set_result, None)
        loop_thread.join(30)
        for thread in plain:
            thread.join(30)
    assert permits.count == 0
    assert_no_links(permits)


# -- cancellation racing a hand-off ---------------------------------------------------------


def test_a_task_cancelled_after_it_was_handed_a_permit_gives_it_back() -> None:
    async def main() -> tuple[int, int, bool]:
        permits = Permits(0)
        first = asyncio.ensure_future(permits.async_acquire())
        second = asyncio.ensure_future(permits.async_acquire())
        await asyncio.sleep(0)
        assert permits.linkcount() == 2
        permits.release()  # handed to `first`, reserved for it...
        first.cancel()  # ...which is cancelled before it ran
        with pytest.raises(asyncio.CancelledError):
            await first
        # The permit went on to the next waiter: nothing lost, nothing counted twice.
        assert await asyncio.wait_for(second, 30) is True
        return permits.count, permits.reclaimed, first.cancelled()

    assert _in_thread(lambda: asyncio.run(main())) == (0, 1, True)


def test_a_task_cancelled_after_a_hand_off_from_another_thread_gives_it_back() -> None:
    permits = Permits(0)
    released = threading.Event()

    async def main() -> tuple[int, int]:
        waiting = asyncio.ensure_future(permits.async_acquire())
        await asyncio.sleep(0)
        assert permits.linkcount() == 1

        # Another thread hands the permit over; the wake-up is posted to this loop, and the
        # task is cancelled before that wake-up runs.
        def release() -> None:
            permits.release()
            released.set()

        thread = threading.Thread(target=release)
        thread.start()
        assert released.wait(30)
        thread.join(30)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)  # the posted wake-up runs, finds the task gone
        return permits.count, permits.reclaimed

    assert _in_thread(lambda: asyncio.run(main())) == (1, 1)
    assert_no_links(permits)


def test_a_greenlet_handed_a_permit_and_killed_before_it_ran_gives_it_back() -> None:
    permits = Permits(0)
    first = spawn(permits.acquire)
    run_until_blocked()
    second = spawn(permits.acquire)
    run_until_blocked()
    first.kill(block=False)  # the kill is queued on the hub first...
    permits.release()  # ...then the permit is handed to `first`, reserved for it
    first.join(timeout=30)
    if first.value is True:
        # Only under the chaos scheduler, which may run the wake-up before the kill: then
        # `first` simply took its permit.  Either way, nothing is lost.
        permits.release()
    else:
        assert permits.reclaimed == 1
    assert second.get(timeout=30) is True
    assert permits.count == 0


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` in a fresh thread (its own hub, made the default way; destroyed after)."""
    return run_in_threads(lambda _: fn(), 1, timeout=60, what="the test thread")[0]


def test_after_asyncio_run_with_run_greenlet_the_thread_gets_a_hub_of_its_own_again() -> None:
    from greensync.hub.aio import run_greenlet

    def body() -> list[object]:
        async def main() -> str:
            return await run_greenlet(lambda: "greenlet on the loop")

        seen: list[object] = [asyncio.run(main())]  # binds the hub to that loop, then closes it
        waiter: Waiter[str] = Waiter()
        spawn(waiter.switch, "woken")  # a new hub: the old one's loop is closed
        seen.append(waiter.get(timeout=5))
        sleep(0.001)
        seen.append("slept")
        return seen

    assert _in_thread(body) == ["greenlet on the loop", "woken", "slept"]


def test_a_greenlet_of_run_greenlet_parks_on_the_loop_and_is_woken_by_it() -> None:
    from greensync.hub.aio import run_greenlet

    async def main() -> str:
        waiter: Waiter[str] = Waiter()
        asyncio.get_running_loop().call_later(0.01, waiter.switch, "woken")
        return await run_greenlet(waiter.get, 30)

    assert _in_thread(lambda: asyncio.run(main())) == "woken"

"""The asyncio face: ``async_put``, ``async_get``, ``async_peek``, ``async_join``, ``async for``.

The same arguments, results and exceptions as the blocking methods (the contract itself, for
tasks as for every other kind of waiter, is ``test_queue_kinds.py``); a blocking call from a
coroutine is refused with the name of its twin; calls that do not wait work in coroutines and
make no hub.  Each test runs ``asyncio.run`` in a fresh thread.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from greensync.hub import NOTHING, TIMED_OUT
from greensync.hub.testing import assert_no_links, existing_hub, run_in_threads
from greensync.queue import (
    Channel,
    Empty,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    ShutDown,
    SimpleQueue,
)

QUEUES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]
ALL: list[Any] = [*QUEUES, Channel]


def _name(cls: type) -> str:
    return cls.__name__


def arun(main: Callable[[], Awaitable[Any]]) -> Any:
    """``asyncio.run(main())`` in a fresh thread (no hub of the test's thread in the way)."""
    return run_in_threads(lambda _: asyncio.run(main()), 1, timeout=30, what="asyncio.run")[0]  # type: ignore[arg-type]


def settled(q: Any) -> None:
    assert (q.getting(), q.putting()) == (0, 0)
    assert_no_links(q)


@pytest.mark.skipif(
    os.environ.get("GREENSYNC_HUB", "").strip().lower() == "asyncio",
    reason="under use('asyncio') the hub does not refuse a wait from a coroutine of another "
    "loop in its thread (reported to the hub)",
)
@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_a_blocking_call_in_a_coroutine_is_refused_naming_its_async_twin(cls: Any) -> None:
    async def main() -> dict[str, str]:
        empty: Any = cls() if cls is Channel else cls(1)
        full: Any = cls() if cls is Channel else cls(1)
        if cls is not Channel:
            full.put_nowait("a")
        calls: dict[str, Callable[[], object]] = {
            "async_get": empty.get,
            "async_put": lambda: full.put("b"),
        }
        if cls is not Channel:
            calls["async_peek"] = empty.peek
        if issubclass(cls, Queue):
            calls["async_join"] = full.join
        errors: dict[str, str] = {}
        for twin, call in calls.items():
            with pytest.raises(RuntimeError) as caught:
                call()
            errors[twin] = str(caught.value)
        with pytest.raises(RuntimeError, match="async_get"):
            next(iter(empty))
        # Nothing changed, and the twins work.
        if cls is not Channel:
            assert (empty.qsize(), full.qsize(), full.get_nowait()) == (0, 1, "a")
        settled(empty)
        settled(full)
        return errors

    errors = arun(main)
    for twin, message in errors.items():
        assert message.startswith("cannot block a coroutine's event loop"), message
        assert f".{twin}(" in message, message


@pytest.mark.parametrize("cls", QUEUES, ids=_name)
def test_calls_that_do_not_wait_work_in_a_coroutine_and_make_no_hub(cls: Any) -> None:
    async def main() -> object:
        q = cls(2)
        q.put_nowait(1)
        q.put(2, block=False)
        with pytest.raises(Full):
            q.put_nowait(3)
        assert (q.peek_nowait(), q.qsize(), q.full()) == (2 if cls is LifoQueue else 1, 2, True)
        assert sorted([q.get_nowait(), q.get(block=False)]) == [1, 2]
        with pytest.raises(Empty):
            q.get_nowait()
        if isinstance(q, Queue):
            q.task_done()
            q.task_done()
            assert q.join(timeout=0) is True
        await q.async_put(4)  # none of these waits
        assert await q.async_peek() == 4
        assert await q.async_get() == 4
        q.shutdown()
        return existing_hub()

    assert arun(main) is None


@pytest.mark.parametrize("cls", QUEUES, ids=_name)
def test_async_waits_time_out_with_the_same_exceptions(cls: Any) -> None:
    async def main() -> None:
        q = cls(1)
        for timeout in (0, 0.01):
            with pytest.raises(Empty):
                await q.async_get(timeout=timeout)
            with pytest.raises(Empty):
                await q.async_peek(timeout=timeout)
        await q.async_put("a", timeout=0)
        for timeout in (0, 0.01):
            with pytest.raises(Full):
                await q.async_put("b", timeout=timeout)
        if isinstance(q, Queue):
            assert await q.async_join(timeout=0) is False
            assert await q.async_join(timeout=0.01) is False
        assert (q.qsize(), q.get_nowait()) == (1, "a")
        if isinstance(q, Queue):
            assert q.unfinished_tasks == 1
            q.task_done()
            assert await q.async_join(timeout=0) is True
        settled(q)

    arun(main)


@pytest.mark.parametrize("cls", QUEUES, ids=_name)
def test_async_get_with_a_zero_timeout_only_looks_and_a_positive_one_waits(cls: Any) -> None:
    async def main() -> None:
        q = cls(1)
        with pytest.raises(Empty) as blocking:
            q.get_nowait()
        ran: list[str] = []

        async def other() -> None:
            ran.append("other")

        task = asyncio.get_running_loop().create_task(other())
        with pytest.raises(Empty) as zero:
            await q.async_get(timeout=0)
        # Raised at once, as get_nowait does, without yielding to the loop.
        assert str(zero.value) == str(blocking.value)
        assert str(zero.value).endswith(" is empty")
        assert ran == []
        await task
        # Any other timeout, 1 s included, waits: an item put meanwhile (by a task that was
        # ready before the get parked, so before any timer can fire) is got.
        putter = asyncio.get_running_loop().create_task(q.async_put("x"))
        assert await q.async_get(timeout=1) == "x"
        await putter
        assert q.qsize() == 0
        settled(q)

    arun(main)


def test_async_channel_waits_time_out_with_the_same_exceptions() -> None:
    async def main() -> None:
        ch: Channel[str] = Channel()
        for timeout in (0, 0.01):
            with pytest.raises(Empty):
                await ch.async_get(timeout=timeout)
            with pytest.raises(Full):
                await ch.async_put("x", timeout=timeout)
        assert (ch.ready(), ch.qsize()) == (False, 0)
        settled(ch)

    arun(main)


@pytest.mark.parametrize("bad", ["1", None, True, -1, math.nan], ids=repr)
@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_bad_timeouts_of_async_methods_raise_and_change_nothing(cls: Any, bad: Any) -> None:
    if bad is None:
        pytest.skip("None waits as long as it takes")

    async def main() -> None:
        q: Any = cls() if cls is Channel else cls(1)
        error = TypeError if isinstance(bad, (str, bool)) else ValueError
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: q.async_get(timeout=bad),
            lambda: q.async_put("x", timeout=bad),
        ]
        if cls is not Channel:
            calls.append(lambda: q.async_peek(timeout=bad))
        if issubclass(cls, Queue):
            calls.append(lambda: q.async_join(timeout=bad))
        for call in calls:
            with pytest.raises(error):
                await call()
        assert q.qsize() == 0
        settled(q)

    arun(main)


@pytest.mark.parametrize("cls", QUEUES, ids=_name)
def test_async_calls_on_a_shut_down_queue_raise_shutdown_once_it_is_drained(cls: Any) -> None:
    async def main() -> None:
        q = cls()
        await q.async_put(1)
        waiting = asyncio.ensure_future(q.async_get())
        q.shutdown()
        with pytest.raises(ShutDown):
            await q.async_put(2)
        assert await waiting == 1  # what was in the queue can still be got
        for call in (q.async_get, q.async_peek):
            with pytest.raises(ShutDown):
                await call()
        blocked = asyncio.ensure_future(cls(1).async_get())
        await asyncio.sleep(0)
        blocked.cancel()
        settled(q)

    arun(main)


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_tasks_are_counted_in_getting_putting_and_the_repr(cls: Any) -> None:
    async def main() -> None:
        q = cls() if cls is Channel else cls(1)
        getters = [asyncio.ensure_future(q.async_get()) for _ in range(2)]
        await asyncio.sleep(0)
        assert q.getting() == 2
        assert "getting=2" in repr(q)
        for item in (1, 2):
            q.put_nowait(item)
        assert sorted(await asyncio.gather(*getters)) == [1, 2]
        if cls is not Channel:
            q.put_nowait(0)
        putters = [asyncio.ensure_future(q.async_put(item)) for item in (3, 4)]
        await asyncio.sleep(0)
        assert q.putting() == 2
        assert "putting=2" in repr(q)
        got = [q.get_nowait()]
        await asyncio.sleep(0)
        got.append(q.get_nowait())
        if cls is not Channel:
            await asyncio.sleep(0)
            got.append(q.get_nowait())
        await asyncio.gather(*putters)
        assert sorted(got) == ([3, 4] if cls is Channel else [0, 3, 4])
        settled(q)

    arun(main)


@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_async_for_ends_at_the_stopiteration_class(cls: Any) -> None:
    async def main() -> list[Any]:
        q = cls()

        async def consume() -> list[Any]:
            return [item async for item in q]

        consumer = asyncio.ensure_future(consume())
        for item in (1, 2, StopIteration):
            while not q.getting():
                await asyncio.sleep(0)
            q.put_nowait(item)
        return await consumer

    assert arun(main) == [1, 2]


@pytest.mark.parametrize("cls", QUEUES, ids=_name)
def test_async_for_ends_when_the_queue_is_shut_down_and_drained(cls: Any) -> None:
    async def main() -> list[Any]:
        q = cls()
        for item in (3, 1, 2):
            q.put_nowait(item)
        q.shutdown()
        return [item async for item in q]

    assert sorted(arun(main)) == [1, 2, 3]


@pytest.mark.parametrize("item", [TIMED_OUT, NOTHING, None], ids=repr)
@pytest.mark.parametrize("cls", ALL, ids=_name)
def test_awkward_items_reach_tasks_as_they_are(cls: Any, item: Any) -> None:
    # The hub's own markers (a wait that timed out, a retry that took nothing) are items like
    # any other: never mistaken for a timeout, never lost.
    async def main() -> None:
        q = cls()
        waiting = asyncio.ensure_future(q.async_get(timeout=5))
        await asyncio.sleep(0)
        q.put_nowait(item)  # handed to the task
        assert await waiting is item
        putter = asyncio.ensure_future(q.async_put(item, timeout=5))
        await asyncio.sleep(0)
        assert await q.async_get(timeout=5) is item  # from the buffer, or from the putter
        await putter
        settled(q)

    arun(main)


def test_a_task_cancelled_by_asyncio_timeout_leaves_like_a_timed_out_greenlet() -> None:
    async def main() -> None:
        q: Queue[str] = Queue(1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await q.async_get()
        q.put_nowait("a")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(q.async_put("b"), 0.01)
        assert (q.qsize(), q.get_nowait(), q.unfinished_tasks) == (1, "a", 1)
        settled(q)

    arun(main)

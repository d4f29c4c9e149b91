"""The README's "Build your own primitive" examples, run as written.

The code blocks of that section are executed from ``README.md`` itself, so the documentation
cannot drift from what is tested: a countdown latch (listeners) and a baton (takers), made from
public hub parts only.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from greensync.hub import get_hub, iwait, sleep, spawn
from greensync.hub.testing import (
    Trace,
    assert_no_links,
    run_in_threads,
    run_until_blocked,
)

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code() -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Build your own primitive", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "the section holds the latch and the baton"
    namespace: dict[str, Any] = {"__name__": "readme_primitives"}
    for block in blocks:
        assert "greensync.hub._" not in block  # public parts only
        exec(compile(block, str(README), "exec"), namespace)
    return namespace


CODE = _section_code()
CountdownLatch: Any = CODE["CountdownLatch"]
Baton: Any = CODE["Baton"]


# -- the countdown latch ----------------------------------------------------------------------


def test_latch_opens_after_count_calls_and_wakes_every_waiter() -> None:
    latch = CountdownLatch(3)
    trace = Trace()

    def waiter(name: str) -> None:
        assert latch.wait(timeout=30)
        trace(name)

    tasks = [spawn(waiter, name) for name in "abc"]
    run_until_blocked()
    assert latch.linkcount() == 3
    latch.count_down()
    latch.count_down()
    run_until_blocked()
    assert trace == []
    latch.count_down()
    assert trace == []  # waking never switches away from the caller
    for task in tasks:
        task.join(timeout=30)
    assert sorted(trace) == ["a", "b", "c"]
    assert latch.wait(timeout=0) is True
    latch.count_down()  # past zero: stays open, nothing happens
    assert latch.ready()
    assert_no_links(latch)


def test_latch_wait_times_out_and_leaves_nothing_behind() -> None:
    latch = CountdownLatch(1)
    assert latch.wait(timeout=0.01) is False
    assert_no_links(latch)
    assert repr(latch) == "<CountdownLatch left=1 waiters=0>"
    with pytest.raises(ValueError, match="`count` must be non-negative"):
        CountdownLatch(-1)
    with pytest.raises(ValueError, match="`timeout`"):
        latch.wait(timeout=-1)


def test_latch_works_with_iwait_and_rawlink() -> None:
    latch = CountdownLatch(1)
    seen: list[object] = []
    latch.rawlink(seen.append)
    spawn(latch.count_down)
    with iwait([latch], timeout=30) as it:
        assert list(it) == [latch]
    sleep(0)
    assert seen == [latch]


def test_latch_counted_down_from_many_threads_opens_once_for_everyone() -> None:
    latch = CountdownLatch(400)
    opened = threading.Event()

    def waiting_thread() -> None:
        assert latch.wait(timeout=30)
        opened.set()

    waiter = threading.Thread(target=waiting_thread)
    waiter.start()

    def counting(index: int) -> int:
        for _ in range(100):
            latch.count_down()
        return index

    run_in_threads(counting, 4)
    waiter.join(30)
    assert opened.is_set()
    assert latch.ready()


def test_latch_awaited_by_an_asyncio_task_alongside_a_greenlet() -> None:
    latch = CountdownLatch(1)
    greenlet_side = spawn(latch.wait, 30)
    run_until_blocked()
    results: list[bool] = []

    async def coroutine_side() -> None:
        task = asyncio.ensure_future(latch.async_wait(30))
        await asyncio.sleep(0)
        latch.count_down()  # from the loop's own thread: allowed, it does not block
        results.append(await task)

    thread = threading.Thread(target=lambda: asyncio.run(coroutine_side()))
    thread.start()
    thread.join(30)
    assert results == [True]
    assert greenlet_side.get(timeout=30) is True


# -- the baton ----------------------------------------------------------------------------------


def test_baton_is_handed_over_in_fifo_order_and_the_releaser_cannot_barge() -> None:
    baton = Baton()
    trace = Trace()
    assert baton.acquire()

    def runner(name: str) -> None:
        assert baton.acquire(timeout=30)
        trace(name)
        baton.release()

    tasks = []
    for name in "abc":  # one at a time, so they line up in this order on every scheduler
        tasks.append(spawn(runner, name))
        run_until_blocked()
    assert baton.linkcount() == 3
    baton.release()
    assert not baton.ready()  # reserved for "a": nothing left for the releaser to barge with
    for task in tasks:
        task.join(timeout=30)
    assert trace == ["a", "b", "c"]
    assert baton.ready()
    assert_no_links(baton)


def test_baton_handed_to_a_waiter_that_left_goes_to_the_next() -> None:
    baton = Baton()
    assert baton.acquire()
    first = spawn(baton.acquire, 30)
    run_until_blocked()
    second = spawn(baton.acquire, 30)
    run_until_blocked()
    first.kill(block=False)  # queued first...
    baton.release()  # ...then the baton is handed to `first`, which leaves without it
    first.join(timeout=30)
    if first.value is True:
        baton.release()  # only under the chaos scheduler, which may wake `first` first
    assert second.get(timeout=30) is True
    baton.release()
    assert baton.ready()
    assert_no_links(baton)


def test_baton_timeout_and_threads_conserve_the_one_baton() -> None:
    baton = Baton()
    assert baton.acquire()
    assert baton.acquire(timeout=0.01) is False
    baton.release()
    inside = [0]
    most = [0]

    def worker(_: int) -> int:
        for _ in range(200):
            assert baton.acquire(timeout=30)
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            inside[0] -= 1
            baton.release()
        return 0

    run_in_threads(worker, 4)
    assert most == [1]
    assert baton.acquire(timeout=0) is True  # exactly one baton, free again
    baton.release()
    get_hub()

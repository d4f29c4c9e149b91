"""Queues shared between OS threads (each with its own hub), and calls that need no hub.

Part of the contract suite: every assertion is about counts and items, never about the order
in which unrelated greenlets run, so it holds under the chaos scheduler too.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import Task, joinall, spawn, testing
from greensync.hub.testing import existing_hub as _peek_hub
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

Item = tuple[int, int, int, int]
STOP: Item = (1, 0, 0, 0)  # ends a channel's consumers (queues are shut down instead)

PRODUCER_THREADS = 3
CONSUMER_THREADS = 3
GREENLETS = 2  # per thread
PER_PRODUCER = 150

pytestmark = pytest.mark.contract

MAKERS: dict[str, Callable[[], Any]] = {
    "Queue(4)": lambda: Queue(4),
    "Queue()": Queue,
    "SimpleQueue(4)": lambda: SimpleQueue(4),
    "LifoQueue(4)": lambda: LifoQueue(4),
    "PriorityQueue(4)": lambda: PriorityQueue(4),
    "Channel": Channel,
}


@pytest.mark.parametrize("timeouts", [False, True], ids=["blocking", "retrying-timeouts"])
@pytest.mark.parametrize("kind", list(MAKERS))
def test_producers_and_consumers_in_several_threads_deliver_every_item_exactly_once(
    kind: str, timeouts: bool
) -> None:
    q = MAKERS[kind]()
    consumers = CONSUMER_THREADS * GREENLETS
    lock = threading.Lock()
    producers_left = [PRODUCER_THREADS * GREENLETS]

    def put(item: Item) -> None:
        if not timeouts:
            q.put(item)
            return
        while True:
            try:
                q.put(item, timeout=0.001)
            except Full:
                continue
            return

    def get() -> Item:
        if not timeouts:
            return q.get()  # type: ignore[no-any-return]
        while True:
            try:
                return q.get(timeout=0.001)  # type: ignore[no-any-return]
            except Empty:
                continue

    def produce(thread: int, glet: int) -> list[Item]:
        for i in range(PER_PRODUCER):
            put((0, thread, glet, i))
        with lock:
            producers_left[0] -= 1
            last = producers_left[0] == 0
        if last:
            # Every item is in (or, for a channel, delivered): tell the consumers to stop.
            if isinstance(q, Channel):
                for _ in range(consumers):
                    put(STOP)
            else:
                q.shutdown()  # getters drain what is left, then see ShutDown
        return []

    def consume(thread: int, glet: int) -> list[Item]:
        got: list[Item] = []
        while True:
            try:
                item = get()
            except ShutDown:
                return got
            if item == STOP:
                return got
            got.append(item)
            if isinstance(q, Queue):
                q.task_done()

    def thread_main(index: int) -> list[Item]:
        role = produce if index < PRODUCER_THREADS else consume
        tasks: list[Task[list[Item]]] = [spawn(role, index, g) for g in range(GREENLETS)]
        joinall(tasks, raise_error=True)
        return [item for task in tasks for item in task.get()]

    results = testing.run_in_threads(
        thread_main, PRODUCER_THREADS + CONSUMER_THREADS, timeout=60, what=f"{kind} stress"
    )
    delivered = Counter(item for result in results for item in result)  # type: ignore[attr-defined]
    expected = {
        (0, t, g, i): 1
        for t in range(PRODUCER_THREADS)
        for g in range(GREENLETS)
        for i in range(PER_PRODUCER)
    }
    assert delivered == expected
    assert (q.getting(), q.putting(), q.qsize()) == (0, 0, 0)
    testing.assert_no_links(q)
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 0
        assert q.join(timeout=0)


def test_a_put_in_another_thread_wakes_a_getter_here_without_creating_a_hub_there() -> None:
    q: Queue[str] = Queue()
    getter = spawn(q.get)
    testing.run_until_blocked()

    def other_thread(_: int) -> bool:
        q.put_nowait("from afar")
        return _peek_hub() is None

    assert testing.run_in_threads(other_thread, 1) == [True]
    assert getter.get(timeout=10) == "from afar"


@pytest.mark.parametrize("cls", [Queue, SimpleQueue, LifoQueue, PriorityQueue])
def test_nonblocking_calls_never_create_a_hub(cls: type[SimpleQueue[int]]) -> None:
    def body(_: int) -> bool:
        q = cls(2)
        q.put_nowait(1)
        q.put(2, block=False)
        try:
            q.put_nowait(3)
        except Full:
            pass
        assert (q.qsize(), q.full(), q.empty(), q.ready()) == (2, True, False, True)
        assert (q.getting(), q.putting(), len(repr(q)) > 0) == (0, 0, True)
        q.peek_nowait()
        q.peek(block=False)
        q.get_nowait()
        q.get(block=False)
        try:
            q.get(timeout=0)
        except Empty:
            pass
        q.resize(5)
        q.maxsize = 1
        if isinstance(q, Queue):
            assert q.join(timeout=0) is False
            q.task_done()
            q.task_done()
            assert q.join() is True
        q.put_nowait(9)
        q.shutdown()
        q.get_nowait()
        try:
            q.get_nowait()
        except ShutDown:
            pass
        return _peek_hub() is None

    assert testing.run_in_threads(body, 1) == [True]


def test_nonblocking_channel_calls_never_create_a_hub() -> None:
    def body(_: int) -> bool:
        ch: Channel[int] = Channel()
        try:
            ch.put_nowait(1)
        except Full:
            pass
        try:
            ch.get_nowait()
        except Empty:
            pass
        assert (ch.getting(), ch.putting(), ch.balance, ch.full(), ch.ready()) == (
            0,
            0,
            0,
            True,
            False,
        )
        return _peek_hub() is None

    assert testing.run_in_threads(body, 1) == [True]


# -- OS threads hammering one queue, switching mid-operation ---------------------------------

#: scale -> puts and gets per thread (the stress run: a million operations in all)
HAMMER_SCALES = {"reduced": 2_000, "full": 125_000}
HAMMER_MAKERS: dict[str, Callable[[], Any]] = {
    "Queue()": Queue,
    "Queue(4)": lambda: Queue(4),
    "SimpleQueue(1)": lambda: SimpleQueue(1),
    "LifoQueue(4)": lambda: LifoQueue(4),
    "PriorityQueue(4)": lambda: PriorityQueue(4),
}


def hammer(q: Any, threads: int, per_thread: int, seed: int | None = None) -> None:
    """``threads`` OS threads each put ``per_thread`` items of their own and get as many,
    mixing the calls that wait and those that do not, with the interpreter switching threads
    every microsecond; every item must come out exactly once."""

    def body(thread: int) -> list[Any]:
        if seed is not None:
            testing.chaos(seed * 100 + thread)
        got: list[Any] = []
        for i in range(per_thread):
            # One put and one get per step (so no thread can wait for items nobody will put),
            # each either the call that waits or the one that does not, retried.
            item = (thread, i)
            if i % 3 == 0:
                while True:
                    try:
                        q.put_nowait(item)
                        break
                    except Full:
                        time.sleep(0)
            else:
                q.put(item, timeout=10)
            if i % 2 == 0:
                while True:
                    try:
                        got.append(q.get_nowait())
                        break
                    except Empty:
                        time.sleep(0)
            else:
                got.append(q.get(timeout=10))
        if isinstance(q, Queue):
            for _ in got:
                q.task_done()
        return got

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        results = testing.run_in_threads(body, threads, timeout=300, what="threads hammering")
    finally:
        sys.setswitchinterval(interval)
    delivered = Counter(item for result in results for item in result)  # type: ignore[attr-defined]
    assert delivered == {(t, i): 1 for t in range(threads) for i in range(per_thread)}
    assert (q.qsize(), q.getting(), q.putting()) == (0, 0, 0)
    testing.assert_no_links(q)
    if isinstance(q, Queue):
        assert (q.unfinished_tasks, q.join(timeout=0)) == (0, True)


@pytest.mark.parametrize(
    "scale", [pytest.param("reduced"), pytest.param("full", marks=pytest.mark.stress)]
)
@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("kind", list(HAMMER_MAKERS))
def test_threads_hammering_one_queue_deliver_every_item_exactly_once(
    kind: str, threads: int, scale: str
) -> None:
    hammer(HAMMER_MAKERS[kind](), threads, HAMMER_SCALES[scale] * 4 // threads)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", list(HAMMER_MAKERS))
def test_threads_hammering_one_queue_under_the_chaos_scheduler(kind: str, seed: int) -> None:
    hammer(HAMMER_MAKERS[kind](), 4, HAMMER_SCALES["reduced"] // 4, seed=seed)

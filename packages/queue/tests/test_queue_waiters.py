"""Blocked getters and putters: FIFO service, hand-off, reserved room, resizing, timeouts."""

from __future__ import annotations

from typing import Any

import pytest

from greensync.hub import LoopExit, joinall, spawn, testing
from greensync.queue import Empty, Full, LifoQueue, PriorityQueue, Queue, SimpleQueue

QUEUES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


@pytest.mark.parametrize("cls", QUEUES)
def test_getters_are_served_in_the_order_they_blocked(cls: type[SimpleQueue[int]]) -> None:
    q = cls()
    trace = testing.Trace()

    def getter(name: str) -> None:
        trace(f"{name} waits")
        trace(f"{name} got {q.get()}")

    testing.spawn_all(getter, ["a", "b", "c"])
    testing.run_until_blocked()
    for item in [3, 1, 2]:
        q.put(item)
    trace("main put 3 items")
    testing.run_until_blocked()
    assert trace == [
        "a waits",
        "b waits",
        "c waits",
        "main put 3 items",
        "a got 3",
        "b got 1",
        "c got 2",
    ]
    assert q.getting() == 0
    testing.assert_no_links(q)


@pytest.mark.parametrize("cls", QUEUES)
def test_put_hands_the_item_to_a_waiting_getter_so_the_putter_cannot_take_it_back(
    cls: type[SimpleQueue[str]],
) -> None:
    q = cls()
    trace = testing.Trace()
    spawn(lambda: trace(f"getter got {q.get()}"))
    testing.run_until_blocked()
    q.put("x")
    # The item never entered the queue: it is reserved for the getter, which has not run yet.
    assert (q.qsize(), q.getting(), trace) == (0, 0, [])
    with pytest.raises(Empty):
        q.get_nowait()
    testing.run_until_blocked()
    assert trace == ["getter got x"]


@pytest.mark.parametrize("cls", QUEUES)
def test_putters_on_a_full_queue_are_served_in_the_order_they_blocked(
    cls: type[SimpleQueue[int]],
) -> None:
    q = cls(1)
    q.put(0)
    trace = testing.Trace()

    def putter(item: int) -> None:
        trace(f"put {item} waits")
        q.put(item)
        trace(f"put {item} done")

    testing.spawn_all(putter, [1, 2, 3])
    testing.run_until_blocked()
    assert q.putting() == 3
    got = []
    for _ in range(4):
        got.append(q.get())
        trace(f"main got {got[-1]}")
    testing.run_until_blocked()
    assert got == [0, 1, 2, 3]
    assert trace == [
        "put 1 waits",
        "put 2 waits",
        "put 3 waits",
        "main got 0",
        "put 1 done",
        "main got 1",
        "put 2 done",
        "main got 2",
        "put 3 done",
        "main got 3",
    ]
    assert (q.putting(), q.qsize()) == (0, 0)
    testing.assert_no_links(q)


def test_room_made_by_a_get_is_reserved_for_the_blocked_putter() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    putter = spawn(q.put, "b")
    testing.run_until_blocked()
    assert q.get_nowait() == "a"
    # The free place belongs to the parked putter: a newcomer cannot take it.
    assert q.full()
    with pytest.raises(Full):
        q.put_nowait("barger")
    assert q.putting() == 1
    testing.run_until_blocked()
    assert putter.successful()
    assert q.get_nowait() == "b"
    assert q.empty()


def test_a_blocked_putter_hands_its_item_to_a_getter_that_came_meanwhile() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    spawn(q.put, "b")
    testing.run_until_blocked()
    assert q.get_nowait() == "a"  # room handed to the putter, which has not run
    assert q.get(timeout=1) == "b"  # we park; the putter runs and gives "b" straight to us
    assert (q.qsize(), q.putting(), q.unfinished_tasks) == (0, 0, 2)


@pytest.mark.parametrize("grow", ["maxsize", "resize"])
def test_growing_maxsize_wakes_blocked_putters_in_order(grow: str) -> None:
    q: Queue[int] = Queue(1)
    q.put(0)
    trace = testing.Trace()

    def putter(item: int) -> None:
        q.put(item)
        trace(f"put {item} done")

    testing.spawn_all(putter, [1, 2, 3])
    testing.run_until_blocked()
    if grow == "maxsize":
        q.maxsize = 3
    else:
        q.resize(3)
    testing.run_until_blocked()
    assert trace == ["put 1 done", "put 2 done"]
    assert (q.qsize(), q.putting(), q.maxsize) == (3, 1, 3)
    q.maxsize = None  # unbounded: the last putter gets in too
    testing.run_until_blocked()
    assert trace == ["put 1 done", "put 2 done", "put 3 done"]
    assert [q.get_nowait() for _ in range(4)] == [0, 1, 2, 3]
    testing.assert_no_links(q)


def test_shrinking_maxsize_never_drops_items() -> None:
    q: Queue[int] = Queue(5)
    for i in range(5):
        q.put(i)
    q.resize(2)
    assert (q.qsize(), q.full(), q.maxsize) == (5, True, 2)
    with pytest.raises(Full):
        q.put_nowait(99)
    putter = spawn(q.put, 5)
    testing.run_until_blocked()
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    testing.run_until_blocked()
    assert not putter.ready()  # still 2 items: full
    assert q.get() == 3
    testing.run_until_blocked()
    assert putter.successful()
    assert [q.get_nowait() for _ in range(2)] == [4, 5]


@pytest.mark.parametrize("cls", QUEUES)
def test_get_timeout_raises_empty_and_the_queue_still_works(cls: type[SimpleQueue[int]]) -> None:
    q = cls()
    with pytest.raises(Empty, match="stayed empty"):
        q.get(timeout=0.01)
    testing.assert_no_links(q)
    q.put(1)
    assert q.get(timeout=0.01) == 1


@pytest.mark.parametrize("cls", QUEUES)
def test_put_timeout_raises_full_and_does_not_put(cls: type[SimpleQueue[int]]) -> None:
    q = cls(1)
    q.put(1)
    with pytest.raises(Full, match="stayed full"):
        q.put(2, timeout=0.01)
    assert (q.qsize(), q.putting()) == (1, 0)
    assert q.get() == 1
    q.put(3, timeout=0.01)
    assert q.get() == 3


def test_getting_and_putting_count_waiters_and_return_to_zero_after_mass_timeouts() -> None:
    q: Queue[int] = Queue(1)
    outcomes: list[str] = []

    def getter() -> None:
        try:
            q.get(timeout=0.02)
        except Empty:
            outcomes.append("empty")

    getters = [spawn(getter) for _ in range(200)]
    testing.run_until_blocked()
    assert (q.getting(), q.putting()) == (200, 0)
    joinall(getters)
    assert outcomes == ["empty"] * 200
    assert (q.getting(), q.putting()) == (0, 0)
    testing.assert_no_links(q)

    q.put(0)
    outcomes.clear()

    def putter(item: int) -> None:
        try:
            q.put(item, timeout=0.02)
        except Full:
            outcomes.append("full")

    putters = testing.spawn_all(putter, range(200))
    testing.run_until_blocked()
    assert (q.getting(), q.putting()) == (0, 200)
    joinall(putters)
    assert outcomes == ["full"] * 200
    assert (q.getting(), q.putting(), q.qsize(), q.unfinished_tasks) == (0, 0, 1, 1)
    testing.assert_no_links(q)
    # Still works, in both directions.
    assert q.get() == 0
    q.put(1)
    assert q.get() == 1


def test_mixed_timeouts_keep_fifo_among_the_getters_that_stay() -> None:
    q: Queue[int] = Queue()
    trace = testing.Trace()

    def getter(name: str, timeout: float | None) -> None:
        try:
            trace(f"{name} got {q.get(timeout=timeout)}")
        except Empty:
            trace(f"{name} timed out")

    tasks = [spawn(getter, "a", None), spawn(getter, "b", 0.01), spawn(getter, "c", None)]
    joinall(tasks[1:2])
    q.put(1)
    q.put(2)
    joinall(tasks)
    assert trace == ["b timed out", "a got 1", "c got 2"]
    testing.assert_no_links(q)


def test_main_greenlet_blocking_forever_gets_loopexit_and_the_queue_still_works() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(LoopExit, match="Queue"):
        q.get()
    assert q.getting() == 0
    testing.assert_no_links(q)
    full: Queue[int] = Queue(1)
    full.put(1)
    with pytest.raises(LoopExit, match="waiting to put"):
        full.put(2)
    assert (full.putting(), full.qsize(), full.get_nowait()) == (0, 1, 1)
    q.put(5)
    assert q.get() == 5


def test_blocking_inside_a_hub_callback_is_refused_and_the_queue_still_works() -> None:
    from greensync.hub import get_hub

    q: Queue[int] = Queue()
    errors: list[str] = []

    def callback() -> None:
        try:
            q.get()
        except RuntimeError as exc:
            errors.append(str(exc))

    get_hub().run_callback(callback)
    testing.run_until_blocked()
    assert len(errors) == 1
    assert "cannot block inside the hub" in errors[0]
    testing.assert_no_links(q)
    q.put(1)
    assert q.get() == 1

"""Waiters that leave at the moment something is handed to them: nothing lost, nothing twice.

Each test schedules the kill or the thrown exception *before* the put or get that hands the
waiter an item (or room) in the same hub turn, so the exception reaches the waiter first.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from greensync.hub import Task, get_hub, joinall, spawn, testing
from greensync.queue import Empty, Full, LifoQueue, PriorityQueue, Queue, SimpleQueue

QUEUES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


class Boom(Exception):
    """Thrown into a waiter."""


class OuterTimeout(BaseException):
    """Stands in for an outer ``Timeout`` (a BaseException) firing around the wait."""


def throw_soon(task: Task[Any], exc: BaseException) -> None:
    """Schedule ``exc`` into ``task`` on the hub's next turn, ahead of later callbacks."""
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, exc)


def make_getter(q: Any, trace: testing.Trace) -> Any:
    def getter(name: str) -> None:
        try:
            item = q.get()
        except (Boom, OuterTimeout) as exc:
            trace(f"{name} {type(exc).__name__}")
        else:
            trace(f"{name} got {item}")

    return getter


def make_putter(q: Any, trace: testing.Trace) -> Any:
    def putter(item: str) -> None:
        try:
            q.put(item)
        except (Boom, OuterTimeout) as exc:
            trace(f"put {item} {type(exc).__name__}")
        else:
            trace(f"put {item} done")

    return putter


# -- getters ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", QUEUES)
@pytest.mark.parametrize("how", ["throw", "outer", "kill"])
def test_item_handed_to_a_getter_that_leaves_goes_to_the_next_getter(
    cls: type[SimpleQueue[str]], how: str
) -> None:
    q = cls()
    trace = testing.Trace()
    first, second = testing.spawn_all(make_getter(q, trace), ["g1", "g2"])
    testing.run_until_blocked()
    if how == "kill":
        first.kill(block=False)
    else:
        throw_soon(first, Boom() if how == "throw" else OuterTimeout())
    q.put("x")  # handed to g1, whose exception arrives first
    testing.run_until_blocked()
    expected = {"throw": ["g1 Boom"], "outer": ["g1 OuterTimeout"], "kill": []}[how]
    assert trace == [*expected, "g2 got x"]
    assert first.ready()
    assert second.ready()
    assert (q.qsize(), q.getting()) == (0, 0)
    testing.assert_no_links(q)


@pytest.mark.parametrize("cls", [Queue, SimpleQueue])
def test_item_handed_to_a_getter_that_leaves_goes_back_to_the_front(
    cls: type[SimpleQueue[str]],
) -> None:
    q = cls()
    trace = testing.Trace()
    (getter,) = testing.spawn_all(make_getter(q, trace), ["g1"])
    testing.run_until_blocked()
    throw_soon(getter, Boom())
    q.put("x")  # handed to g1
    q.put("y")  # into the queue
    testing.run_until_blocked()
    assert trace == ["g1 Boom"]
    assert [q.get_nowait(), q.get_nowait()] == ["x", "y"]
    testing.assert_no_links(q)


@pytest.mark.parametrize(("cls", "order"), [(LifoQueue, ["x", "y"]), (PriorityQueue, ["x", "y"])])
def test_item_given_back_by_a_getter_is_next_again_in_other_orders(
    cls: type[SimpleQueue[str]], order: list[str]
) -> None:
    q = cls()
    trace = testing.Trace()
    (getter,) = testing.spawn_all(make_getter(q, trace), ["g1"])
    testing.run_until_blocked()
    throw_soon(getter, Boom())
    q.put("x")
    q.put("y")
    testing.run_until_blocked()
    assert trace == ["g1 Boom"]
    assert [q.get_nowait(), q.get_nowait()] == order


def test_item_given_back_counts_once_as_a_task() -> None:
    q: Queue[str] = Queue()
    trace = testing.Trace()
    (getter,) = testing.spawn_all(make_getter(q, trace), ["g1"])
    testing.run_until_blocked()
    getter.kill(block=False)
    q.put("x")
    testing.run_until_blocked()
    assert (q.qsize(), q.unfinished_tasks) == (1, 1)
    q.get()
    q.task_done()
    assert q.join(timeout=0)


@pytest.mark.parametrize("cls", QUEUES)
def test_getter_whose_timeout_is_due_when_the_item_arrives_gets_it_exactly_once(
    cls: type[SimpleQueue[str]],
) -> None:
    q = cls()
    outcome: list[str] = []

    def getter() -> None:
        try:
            outcome.append(f"got {q.get(timeout=0.01)}")
        except Empty:
            outcome.append("empty")

    task = spawn(getter)
    testing.run_until_blocked()
    time.sleep(0.03)  # the getter's timer is overdue, but the hub has not run it yet
    q.put("x")
    joinall([task])
    left = [q.get_nowait() for _ in range(q.qsize())]
    # Exactly one of the two: the getter got the item, or it timed out and the item stayed.
    assert (outcome, left) in ((["got x"], []), (["empty"], ["x"]))
    testing.assert_no_links(q)


def test_getter_timeouts_racing_puts_never_lose_or_duplicate_items() -> None:
    q: Queue[int] = Queue()
    got: list[int] = []

    def getter() -> None:
        while True:
            try:
                item = q.get(timeout=0.001)
            except Empty:
                continue
            if item < 0:
                return
            got.append(item)

    getters = [spawn(getter) for _ in range(5)]
    for i in range(300):
        q.put(i)
        if i % 7 == 0:
            time.sleep(0.002)  # let some getter timers fall due while items arrive
        testing.run_until_blocked()
    for _ in getters:
        q.put(-1)
    joinall(getters)
    assert sorted(got) == list(range(300))
    testing.assert_no_links(q)


# -- putters ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", QUEUES)
@pytest.mark.parametrize("how", ["throw", "outer", "kill"])
def test_putter_that_leaves_after_being_handed_room_never_puts_and_passes_the_room_on(
    cls: type[SimpleQueue[str]], how: str
) -> None:
    q = cls(1)
    q.put("a")
    trace = testing.Trace()
    first, second = testing.spawn_all(make_putter(q, trace), ["b", "c"])
    testing.run_until_blocked()
    if how == "kill":
        first.kill(block=False)
    else:
        throw_soon(first, Boom() if how == "throw" else OuterTimeout())
    assert q.get_nowait() == "a"  # room handed to the putter of "b", which leaves first
    testing.run_until_blocked()
    expected = {"throw": ["put b Boom"], "outer": ["put b OuterTimeout"], "kill": []}[how]
    assert trace == [*expected, "put c done"]
    assert first.ready()
    assert second.ready()
    assert [q.get_nowait() for _ in range(q.qsize())] == ["c"]
    assert (q.putting(), q.full()) == (0, False)
    testing.assert_no_links(q)


def test_room_returned_by_the_only_putter_is_free_again() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    trace = testing.Trace()
    (putter,) = testing.spawn_all(make_putter(q, trace), ["b"])
    testing.run_until_blocked()
    throw_soon(putter, Boom())
    assert q.get_nowait() == "a"
    assert q.full()  # the room is promised to the putter...
    testing.run_until_blocked()
    assert trace == ["put b Boom"]
    assert not q.full()  # ...which left, so it is free
    q.put_nowait("d")
    assert [q.get_nowait() for _ in range(q.qsize())] == ["d"]
    # "a" and "d" were put; "b" never was.
    assert q.unfinished_tasks == 2


def test_putter_that_retries_after_an_outer_timeout_puts_its_item_exactly_once() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    attempts: list[str] = []

    def putter() -> None:
        while True:
            try:
                q.put("b")
            except OuterTimeout:
                attempts.append("timed out, retrying")
                continue
            attempts.append("put")
            return

    task = spawn(putter)
    testing.run_until_blocked()
    throw_soon(task, OuterTimeout())
    assert q.get_nowait() == "a"
    testing.run_until_blocked()
    assert attempts == ["timed out, retrying", "put"]
    assert [q.get_nowait() for _ in range(q.qsize())] == ["b"]


@pytest.mark.parametrize("cls", QUEUES)
def test_putter_whose_timeout_is_due_when_room_is_made_puts_exactly_once(
    cls: type[SimpleQueue[str]],
) -> None:
    q = cls(1)
    q.put("a")
    outcome: list[str] = []

    def putter() -> None:
        try:
            q.put("b", timeout=0.01)
        except Full:
            outcome.append("full")
        else:
            outcome.append("put")

    task = spawn(putter)
    testing.run_until_blocked()
    time.sleep(0.03)  # the putter's timer is overdue, but the hub has not run it yet
    assert q.get_nowait() == "a"
    joinall([task])
    left = [q.get_nowait() for _ in range(q.qsize())]
    assert (outcome, left) in ((["put"], ["b"]), (["full"], []))
    assert q.putting() == 0
    testing.assert_no_links(q)


def test_putter_timeouts_racing_gets_never_lose_or_duplicate_items() -> None:
    q: Queue[tuple[int, int]] = Queue(2)
    put_ok: list[tuple[int, int]] = []

    def producer(pid: int) -> None:
        for i in range(60):
            while True:
                try:
                    q.put((pid, i), timeout=0.001)
                except Full:
                    continue
                put_ok.append((pid, i))
                break

    producers = testing.spawn_all(producer, range(4))
    got: list[tuple[int, int]] = []
    while len(got) < 240:
        got.append(q.get())
        if len(got) % 5 == 0:
            time.sleep(0.002)  # let producer timers fall due while room is made
    joinall(producers)
    assert sorted(got) == sorted(put_ok) == [(p, i) for p in range(4) for i in range(60)]
    assert (q.qsize(), q.putting(), q.unfinished_tasks) == (0, 0, 240)
    testing.assert_no_links(q)

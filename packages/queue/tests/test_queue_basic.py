"""The queue contract without waiting: orders, sizes, peek, iteration, linking, repr, types."""

from __future__ import annotations

import queue as stdlib_queue
import sys
from typing import Any, assert_type

import pytest

from greensync.hub import Task, get_hub, iwait, spawn, testing, wait
from greensync.queue import (
    Channel,
    Empty,
    Full,
    JoinableQueue,
    LifoQueue,
    LightQueue,
    PriorityQueue,
    Queue,
    ShutDown,
    SimpleQueue,
)

QUEUES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


def test_names_are_the_standard_librarys_and_the_aliases_are_the_same_classes() -> None:
    assert Full is stdlib_queue.Full
    assert Empty is stdlib_queue.Empty
    assert JoinableQueue is Queue
    assert LightQueue is SimpleQueue
    if sys.version_info >= (3, 13):
        assert ShutDown is stdlib_queue.ShutDown  # type: ignore[attr-defined,unused-ignore]
    else:
        assert ShutDown.__name__ == "ShutDown"
        assert issubclass(ShutDown, Exception)
    assert issubclass(Queue, SimpleQueue)
    assert issubclass(LifoQueue, Queue)
    assert issubclass(PriorityQueue, Queue)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (Queue, [5, 1, 4, 2, 3]),
        (SimpleQueue, [5, 1, 4, 2, 3]),
        (LifoQueue, [3, 2, 4, 1, 5]),
        (PriorityQueue, [1, 2, 3, 4, 5]),
    ],
)
def test_queue_returns_items_in_its_order(cls: type[SimpleQueue[int]], expected: list[int]) -> None:
    q = cls()
    for item in [5, 1, 4, 2, 3]:
        q.put(item)
    assert [q.get() for _ in range(5)] == expected
    assert q.empty()


@pytest.mark.parametrize("cls", QUEUES)
@pytest.mark.parametrize("maxsize", [0, None, -1, -100])
def test_zero_none_and_negative_maxsize_mean_unbounded(
    cls: type[SimpleQueue[int]], maxsize: int | None
) -> None:
    q = cls(maxsize)
    assert q.maxsize == 0
    for i in range(1000):
        q.put_nowait(i)
    assert not q.full()
    assert q.qsize() == 1000


@pytest.mark.parametrize("cls", QUEUES)
def test_bounded_queue_sizes_and_nonblocking_errors(cls: type[SimpleQueue[int]]) -> None:
    q = cls(2)
    assert (q.qsize(), q.empty(), q.full(), len(q), bool(q)) == (0, True, False, 0, True)
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    with pytest.raises(Empty):
        q.get(timeout=0)
    q.put_nowait(1)
    q.put(2, block=False)
    assert (q.qsize(), q.empty(), q.full(), len(q)) == (2, False, True, 2)
    with pytest.raises(Full):
        q.put_nowait(3)
    with pytest.raises(Full):
        q.put(3, block=False)
    with pytest.raises(Full):
        q.put(3, timeout=0)
    assert sorted([q.get_nowait(), q.get_nowait()]) == [1, 2]
    assert q.empty()


@pytest.mark.parametrize(
    ("cls", "head"), [(Queue, 5), (SimpleQueue, 5), (LifoQueue, 3), (PriorityQueue, 1)]
)
def test_peek_returns_the_next_item_without_removing_it(
    cls: type[SimpleQueue[int]], head: int
) -> None:
    q = cls()
    with pytest.raises(Empty):
        q.peek_nowait()
    with pytest.raises(Empty):
        q.peek(block=False)
    for item in [5, 1, 3]:
        q.put(item)
    assert q.peek() == head
    assert q.peek_nowait() == head
    assert q.qsize() == 3
    assert q.get() == head


def test_peek_waits_for_an_item_and_leaves_it_in_the_queue() -> None:
    q: Queue[str] = Queue()
    trace = testing.Trace()

    def peeker() -> None:
        trace(f"peeked {q.peek()}")

    task = spawn(peeker)
    testing.run_until_blocked()
    assert trace == []
    q.put("x")
    trace("put x")
    testing.run_until_blocked()
    assert trace == ["put x", "peeked x"]
    assert task.ready()
    assert q.get_nowait() == "x"
    testing.assert_no_links(q)


def test_peek_does_not_take_an_item_from_a_waiting_getter() -> None:
    q: Queue[str] = Queue()
    trace = testing.Trace()

    def getter() -> None:
        trace(f"got {q.get()}")

    def peeker() -> None:
        trace(f"peeked {q.peek()}")

    spawn(getter)
    spawn(peeker)
    testing.run_until_blocked()
    q.put("first")
    testing.run_until_blocked()
    assert trace == ["got first"]
    q.put("second")
    testing.run_until_blocked()
    assert trace == ["got first", "peeked second"]
    assert q.get_nowait() == "second"
    testing.assert_no_links(q)


def test_peek_times_out_with_empty_and_leaves_no_link() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(Empty):
        q.peek(timeout=0.01)
    testing.assert_no_links(q)
    q.put(1)
    assert q.peek(timeout=0.01) == 1


def test_peek_woken_but_beaten_to_the_item_waits_again() -> None:
    q: Queue[int] = Queue()
    trace = testing.Trace()

    def peeker() -> None:
        trace(f"peeked {q.peek()}")

    spawn(peeker)
    testing.run_until_blocked()
    q.put(1)
    assert q.get_nowait() == 1  # taken before the peeker runs
    testing.run_until_blocked()
    assert trace == []
    q.put(2)
    testing.run_until_blocked()
    assert trace == ["peeked 2"]
    testing.assert_no_links(q)


@pytest.mark.parametrize("cls", [Queue, SimpleQueue, LifoQueue])
def test_iteration_stops_at_the_stopiteration_class(cls: type[SimpleQueue[Any]]) -> None:
    q = cls()
    for item in [1, 2, StopIteration, 3]:
        q.put(item)
    if cls is LifoQueue:
        assert list(q) == [3]
    else:
        assert list(q) == [1, 2]
        assert q.get_nowait() == 3


def test_iteration_stops_when_shut_down_and_drained() -> None:
    q: Queue[int] = Queue()
    trace = testing.Trace()

    def consumer() -> None:
        for item in q:
            trace(f"item {item}")
        trace("end")

    task = spawn(consumer)
    q.put(1)
    q.put(2)
    testing.run_until_blocked()
    q.put(3)
    q.shutdown()
    testing.run_until_blocked()
    assert trace == ["item 1", "item 2", "item 3", "end"]
    assert task.successful()


def test_queue_is_ready_only_when_it_holds_an_item() -> None:
    q: Queue[int] = Queue()
    assert not q.ready()
    q.put(1)
    assert q.ready()
    q.get()
    assert not q.ready()


def test_iwait_reports_the_queue_that_got_an_item() -> None:
    q1: Queue[int] = Queue()
    q2: Queue[int] = Queue()
    assert wait([q1, q2], timeout=0.01) == []
    get_hub().call_later(0.01, q2.put, 7)
    assert list(iwait([q1, q2], count=1)) == [q2]
    assert q2.get_nowait() == 7
    testing.assert_no_links(q1, q2)


def test_an_item_handed_to_a_getter_does_not_make_the_queue_ready() -> None:
    q: Queue[int] = Queue()
    got: list[int] = []
    spawn(lambda: got.append(q.get()))
    testing.run_until_blocked()
    q.put(1)  # handed to the getter, never in the queue
    assert not q.ready()
    assert wait([q], timeout=0.01) == []
    assert got == [1]
    testing.assert_no_links(q)


def test_rawlink_callback_runs_once_when_an_item_arrives() -> None:
    q: Queue[int] = Queue()
    calls: list[object] = []
    q.rawlink(calls.append)
    testing.run_until_blocked()
    assert calls == []
    q.put(1)
    q.put(2)
    testing.run_until_blocked()
    assert calls == [q]
    assert q.linkcount() == 0


def test_repr_shows_size_bound_waiters_tasks_and_shutdown() -> None:
    q: Queue[int] = Queue(2)
    assert repr(q) == "<Queue qsize=0 maxsize=2>"
    q.put(1)
    q.put(2)
    outcomes: list[str] = []

    def putter(item: int) -> None:
        try:
            q.put(item)
        except ShutDown:
            outcomes.append(f"{item} shut down")

    testing.spawn_all(putter, [3, 4])
    testing.run_until_blocked()
    assert repr(q) == "<Queue qsize=2 maxsize=2 putting=2 unfinished=2>"
    q.shutdown()
    testing.run_until_blocked()
    assert repr(q) == "<Queue qsize=2 maxsize=2 unfinished=2 shutdown>"
    assert outcomes == ["3 shut down", "4 shut down"]
    s: SimpleQueue[int] = SimpleQueue()
    getter = spawn(s.get)
    testing.run_until_blocked()
    assert repr(s) == "<SimpleQueue qsize=0 getting=1>"
    s.put(5)
    testing.run_until_blocked()
    assert getter.value == 5
    assert repr(LifoQueue()) == "<LifoQueue qsize=0>"
    assert repr(PriorityQueue(3)) == "<PriorityQueue qsize=0 maxsize=3>"


def test_queues_are_generic_for_type_checkers() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    assert_type(q.peek(), int)
    assert_type(q.get(), int)
    p = PriorityQueue[tuple[int, str]]()
    p.put((1, "a"))
    assert_type(p.get_nowait(), tuple[int, str])
    c: Channel[bytes] = Channel()
    assert_type(c, Channel[bytes])
    s = SimpleQueue[str]()
    s.put("x")
    assert_type(next(iter(s)), str)
    task: Task[str] = spawn(s.get)
    s.put("y")
    assert task.get() == "y"

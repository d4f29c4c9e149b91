"""Names, reprs and typing, and the deterministic schedules the contract suite leaves out.

The queue contract itself (orders, sizes, peek, iteration, linking, waiters, shutdown, tasks)
is ``test_queue_contract.py``, run against every class.
"""

from __future__ import annotations

import queue as stdlib_queue
import sys
from typing import Any, assert_type

import pytest

from greensync.hub import Task, spawn, testing
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
def test_iteration_stops_at_a_buffered_stopiteration_class(
    cls: type[SimpleQueue[Any]],
) -> None:
    q = cls()
    for item in [1, 2, StopIteration, 3]:
        q.put(item)
    if cls is LifoQueue:
        assert list(q) == [3]
    else:
        assert list(q) == [1, 2]
        assert q.get_nowait() == 3


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

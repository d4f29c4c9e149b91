"""The exact schedule of blocked getters and putters on a deterministic hub.

Each test asserts the whole trace: puts never switch away, each hand-off wakes its waiter on
the next turn, in order.  The promises themselves (FIFO, hand-off, reserved room, timeouts)
are checked under every scheduler by the contract suite (``test_queue_contract.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from greensync.hub import testing
from greensync.queue import LifoQueue, PriorityQueue, Queue, SimpleQueue

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
    # Each item is handed to the getter that waited first; a PriorityQueue hands a claim on
    # an item in its heap instead, and each getter takes the lowest there when it runs.
    got = ["1", "2", "3"] if cls is PriorityQueue else ["3", "1", "2"]
    assert trace == [
        "a waits",
        "b waits",
        "c waits",
        "main put 3 items",
        f"a got {got[0]}",
        f"b got {got[1]}",
        f"c got {got[2]}",
    ]
    assert q.getting() == 0
    testing.assert_no_links(q)


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

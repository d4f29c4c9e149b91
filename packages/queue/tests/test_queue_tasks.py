"""Task tracking: unfinished_tasks, task_done() and join(timeout)."""

from __future__ import annotations

import pytest

from greensync.hub import get_hub, joinall, spawn, testing
from greensync.queue import LifoQueue, PriorityQueue, Queue


@pytest.mark.parametrize("cls", [Queue, LifoQueue, PriorityQueue])
def test_every_put_adds_a_task_and_task_done_finishes_one(cls: type[Queue[int]]) -> None:
    q = cls()
    assert q.unfinished_tasks == 0
    assert q.join() is True
    for i in range(3):
        q.put(i)
    assert q.unfinished_tasks == 3
    q.get()
    assert q.unfinished_tasks == 3  # getting is not finishing
    q.task_done()
    assert q.unfinished_tasks == 2
    q.task_done()
    q.task_done()
    assert q.unfinished_tasks == 0
    assert q.join(timeout=0) is True


def test_an_item_handed_straight_to_a_getter_is_a_task_too() -> None:
    q: Queue[int] = Queue()
    getter = spawn(q.get)
    testing.run_until_blocked()
    q.put(1)
    assert q.unfinished_tasks == 1
    testing.run_until_blocked()
    assert getter.value == 1
    q.task_done()
    assert q.unfinished_tasks == 0


def test_join_waits_until_the_last_task_is_done_and_wakes_every_joiner_in_order() -> None:
    q: Queue[str] = Queue()
    trace = testing.Trace()

    def joiner(name: str) -> None:
        trace(f"{name} joined {q.join()}")

    def worker() -> None:
        for item in q:
            trace(f"work {item}")
            q.task_done()

    q.put("a")
    q.put("b")
    testing.spawn_all(joiner, ["j1", "j2"])
    testing.run_until_blocked()
    assert trace == []
    worker_task = spawn(worker)
    testing.run_until_blocked()
    assert trace == ["work a", "work b", "j1 joined True", "j2 joined True"]
    q.put(StopIteration)  # type: ignore[arg-type]
    testing.run_until_blocked()
    assert worker_task.successful()
    testing.assert_no_links(q)


def test_join_with_a_timeout_returns_false_then_true() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    assert q.join(timeout=0) is False
    assert q.join(timeout=0.01) is False
    get_hub().call_later(0.01, q.task_done)
    assert q.join(timeout=10) is True
    assert q.unfinished_tasks == 0


def test_join_returns_true_if_tasks_reached_zero_even_if_more_were_put_before_it_ran() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    joiner = spawn(q.join)
    testing.run_until_blocked()
    q.task_done()  # zero: the joiner is woken...
    q.put(2)  # ...and its result is settled even though a task is unfinished again
    testing.run_until_blocked()
    assert joiner.value is True


def test_too_many_task_done_calls_raise_valueerror_and_the_queue_keeps_working() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(ValueError, match=r"task_done\(\) called more times"):
        q.task_done()
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError, match=r"task_done\(\) called more times"):
        q.task_done()
    assert q.unfinished_tasks == 0
    q.put(2)
    assert q.unfinished_tasks == 1
    assert q.get() == 2
    q.task_done()
    assert q.join(timeout=0)


def test_join_timeout_leaves_no_link_behind() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    joiners = [spawn(q.join, 0.01) for _ in range(50)]
    joinall(joiners)
    assert [j.value for j in joiners] == [False] * 50
    q.get()
    q.task_done()
    assert q.join() is True


def test_a_putter_that_timed_out_adds_no_task() -> None:
    q: Queue[int] = Queue(1)
    q.put(1)
    with pytest.raises(Exception, match="stayed full"):
        q.put(2, timeout=0.01)
    assert q.unfinished_tasks == 1

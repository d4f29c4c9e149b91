"""shutdown(immediate=False): Python 3.13's semantics on every Python."""

from __future__ import annotations

from typing import Any

import pytest

from greensync.hub import Task, get_hub, iwait, spawn, testing
from greensync.queue import Empty, LifoQueue, PriorityQueue, Queue, ShutDown, SimpleQueue

QUEUES: list[type[SimpleQueue[Any]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


def recorder(trace: testing.Trace, fn: Any, name: str) -> Any:
    def run(*args: Any) -> None:
        try:
            result = fn(*args)
        except ShutDown:
            trace(f"{name} ShutDown")
        else:
            trace(f"{name} {result}")

    return run


@pytest.mark.parametrize("cls", QUEUES)
def test_put_after_shutdown_raises_and_the_items_stay_gettable(
    cls: type[SimpleQueue[int]],
) -> None:
    q = cls()
    q.put(1)
    q.shutdown()
    assert q.is_shutdown
    with pytest.raises(ShutDown, match="shut down"):
        q.put(2)
    with pytest.raises(ShutDown):
        q.put_nowait(2)
    assert q.qsize() == 1
    assert q.peek() == 1
    assert q.get() == 1
    with pytest.raises(ShutDown):
        q.get()
    with pytest.raises(ShutDown):
        q.get_nowait()
    with pytest.raises(ShutDown):
        q.get(timeout=0.01)
    with pytest.raises(ShutDown):
        q.peek()
    with pytest.raises(ShutDown):
        q.peek_nowait()


@pytest.mark.parametrize("cls", QUEUES)
def test_shutdown_wakes_blocked_getters_in_order_with_shutdown(
    cls: type[SimpleQueue[int]],
) -> None:
    q = cls()
    trace = testing.Trace()
    for name in ["g1", "g2", "g3"]:
        spawn(recorder(trace, q.get, name))
    spawn(recorder(trace, q.peek, "peek"))
    testing.run_until_blocked()
    q.shutdown()
    trace("shutdown")
    testing.run_until_blocked()
    assert trace == ["shutdown", "g1 ShutDown", "g2 ShutDown", "g3 ShutDown", "peek ShutDown"]
    assert q.getting() == 0
    testing.assert_no_links(q)


@pytest.mark.parametrize("cls", QUEUES)
def test_shutdown_wakes_blocked_putters_with_shutdown_and_keeps_their_items_out(
    cls: type[SimpleQueue[int]],
) -> None:
    q = cls(1)
    q.put(0)
    trace = testing.Trace()
    for item in [1, 2]:
        spawn(recorder(trace, q.put, f"put {item}"), item)
    testing.run_until_blocked()
    q.shutdown()
    testing.run_until_blocked()
    assert trace == ["put 1 ShutDown", "put 2 ShutDown"]
    assert q.putting() == 0
    assert q.get() == 0  # not immediate: what was in the queue can still be got
    with pytest.raises(ShutDown):
        q.get_nowait()
    testing.assert_no_links(q)


def test_putter_handed_room_before_shutdown_raises_when_it_runs() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    trace = testing.Trace()
    spawn(recorder(trace, q.put, "put b"), "b")
    testing.run_until_blocked()
    assert q.get_nowait() == "a"  # room handed to the putter, which has not run yet
    q.shutdown()
    testing.run_until_blocked()
    assert trace == ["put b ShutDown"]
    assert (q.qsize(), q.putting(), q.unfinished_tasks) == (0, 0, 1)


def test_getters_drain_a_shut_down_queue_before_they_see_shutdown() -> None:
    q: Queue[int] = Queue()
    for i in range(3):
        q.put(i)
    q.shutdown()
    trace = testing.Trace()
    for name in ["g1", "g2", "g3", "g4"]:
        spawn(recorder(trace, q.get, name))
    testing.run_until_blocked()
    assert trace == ["g1 0", "g2 1", "g3 2", "g4 ShutDown"]


def test_immediate_shutdown_discards_items_accounts_their_tasks_and_wakes_join() -> None:
    q: Queue[int] = Queue()
    for i in range(3):
        q.put(i)
    assert q.get() == 0  # a task in progress: got, not yet done
    trace = testing.Trace()
    spawn(recorder(trace, q.join, "join"))
    testing.run_until_blocked()
    q.shutdown(immediate=True)
    assert (q.qsize(), q.unfinished_tasks) == (0, 1)
    with pytest.raises(ShutDown):
        q.get_nowait()
    testing.run_until_blocked()
    assert trace == []  # the task in progress still counts
    q.task_done()
    testing.run_until_blocked()
    assert trace == ["join True"]
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()


def test_immediate_shutdown_wakes_getters_and_putters() -> None:
    q: Queue[int] = Queue(1)
    trace = testing.Trace()
    spawn(recorder(trace, q.get, "g1"))
    testing.run_until_blocked()
    q.put(1)  # handed to g1
    q.put(2)  # in the queue
    spawn(recorder(trace, q.put, "put 3"), 3)
    testing.run_until_blocked()
    assert trace == ["g1 1"]
    q.shutdown(immediate=True)
    testing.run_until_blocked()
    assert trace == ["g1 1", "put 3 ShutDown"]
    assert (q.qsize(), q.unfinished_tasks) == (0, 1)  # 1 was got; 2 was discarded


def test_item_handed_to_a_getter_before_shutdown_is_still_delivered() -> None:
    q: Queue[int] = Queue()
    trace = testing.Trace()
    spawn(recorder(trace, q.get, "g1"))
    spawn(recorder(trace, q.get, "g2"))
    testing.run_until_blocked()
    q.put(1)  # reserved for g1
    q.shutdown(immediate=True)
    testing.run_until_blocked()
    assert trace == ["g1 1", "g2 ShutDown"]


def test_item_given_back_after_immediate_shutdown_is_discarded_and_accounted() -> None:
    q: Queue[int] = Queue()
    trace = testing.Trace()
    task: Task[None] = spawn(recorder(trace, q.get, "g1"))
    testing.run_until_blocked()
    task.kill(block=False)
    q.put(1)  # handed to g1, which is killed before it runs
    q.shutdown(immediate=True)
    testing.run_until_blocked()
    assert trace == []
    assert (q.qsize(), q.unfinished_tasks) == (0, 0)
    assert q.join(timeout=0)


def test_shutdown_twice_is_harmless_and_a_later_immediate_still_drains() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    q.shutdown()
    q.shutdown()
    assert q.qsize() == 1
    q.shutdown(immediate=True)
    assert (q.qsize(), q.unfinished_tasks) == (0, 0)


def test_a_shut_down_queue_is_ready_so_iwait_reports_it() -> None:
    q: Queue[int] = Queue()
    assert not q.ready()
    get_hub().call_later(0.01, q.shutdown)
    assert list(iwait([q], timeout=10)) == [q]
    assert q.ready()
    testing.assert_no_links(q)


def test_shutdown_does_not_touch_a_getter_that_timed_out() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(Empty):
        q.get(timeout=0.01)
    q.shutdown()
    testing.assert_no_links(q)

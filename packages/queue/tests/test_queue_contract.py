"""The queue contract: written once, run against every queue class, and Channel where it applies.

After CPython's ``Lib/test/lock_tests.py`` and trio's generic lock tests, in spirit: each test
takes the class (the ``queue_cls`` fixture of ``conftest.py``) or a factory (``make`` below,
which adds ``Channel``) and asserts only what the protocol promises -- FIFO service of getters
and of putters *in the order they began to wait* (recorded by the waiters themselves, right
before the call that parks them, never assumed from the spawn order), hand-off, nothing lost or
duplicated, counts, exceptions.  So the suite holds under the seeded chaos scheduler too (the
nox ``chaos`` session runs everything marked ``contract`` under several seeds), and under every
hub adapter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import LoopExit, Task, get_hub, iwait, joinall, spawn, wait
from greensync.hub.testing import assert_no_links, run_until_blocked, spawn_all
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

pytestmark = pytest.mark.contract

Order = Callable[[list[Any]], list[Any]]

#: Every implementation of put/get: the four queue classes (each with room for one item, so a
#: put can block) and the channel.
MAKERS: dict[str, Callable[[], Any]] = {
    "Queue": lambda: Queue(1),
    "SimpleQueue": lambda: SimpleQueue(1),
    "LifoQueue": lambda: LifoQueue(1),
    "PriorityQueue": lambda: PriorityQueue(1),
    "Channel": Channel,
}
TASK_CLASSES: list[type[Queue[Any]]] = [Queue, LifoQueue, PriorityQueue]


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of an empty queue (room for one item) or channel."""
    factory: Callable[[], Any] = MAKERS[request.param]
    return factory


def fill(q: Any) -> list[Any]:
    """Make a put on ``q`` block; return what gets will return before any later put's item."""
    if isinstance(q, Channel):
        return []  # a channel's put always waits for a getter
    q.put(-1)
    return [-1]


def finish(*tasks: Task[Any]) -> None:
    """Run the hub until nothing is runnable, and check that every task has finished."""
    run_until_blocked()
    left = [task for task in tasks if not task.ready()]
    assert not left, f"still blocked: {left}"


def drain(q: Any) -> list[Any]:
    return [q.get_nowait() for _ in range(q.qsize())]


def settled(q: Any) -> None:
    """Assert that nobody waits on ``q`` any more."""
    assert (q.getting(), q.putting()) == (0, 0)
    assert_no_links(q)


# -- without waiting ----------------------------------------------------------------------


def test_items_come_out_in_the_order_of_the_class(queue_cls: Any, order: Order) -> None:
    q = queue_cls()
    items = [5, 1, 4, 2, 3, 1]
    for item in items:
        q.put(item)
    assert [q.get() for _ in items] == order(items)
    assert q.empty()


@pytest.mark.parametrize("maxsize", [0, None, -1, -100])
def test_zero_none_and_negative_maxsize_mean_unbounded(queue_cls: Any, maxsize: int | None) -> None:
    q = queue_cls(maxsize)
    assert q.maxsize == 0
    for i in range(1000):
        q.put_nowait(i)
    assert (q.full(), q.qsize()) == (False, 1000)


def test_sizes_and_nonblocking_errors_of_a_bounded_queue(queue_cls: Any, order: Order) -> None:
    q = queue_cls(2)
    assert (q.qsize(), q.empty(), q.full(), len(q), bool(q), q.maxsize) == (
        0,
        True,
        False,
        0,
        True,
        2,
    )
    for call in (q.get_nowait, lambda: q.get(block=False), lambda: q.get(timeout=0)):
        with pytest.raises(Empty):
            call()
    q.put_nowait(2)
    q.put(1, block=False)
    assert (q.qsize(), q.empty(), q.full(), len(q)) == (2, False, True, 2)
    for call in (
        lambda: q.put_nowait(3),
        lambda: q.put(3, block=False),
        lambda: q.put(3, timeout=0),
    ):
        with pytest.raises(Full):
            call()
    assert [q.get_nowait(), q.get_nowait()] == order([2, 1])
    assert q.empty()
    settled(q)


def test_nonblocking_calls_of_a_channel_succeed_only_with_the_other_side_waiting() -> None:
    ch: Channel[int] = Channel()
    assert (ch.qsize(), ch.empty(), ch.full(), ch.ready(), ch.balance) == (0, True, True, False, 0)
    puts: list[Callable[[], object]] = [
        lambda: ch.put_nowait(1),
        lambda: ch.put(1, block=False),
        lambda: ch.put(1, timeout=0),
    ]
    for put in puts:
        with pytest.raises(Full):
            put()
    for get in (ch.get_nowait, lambda: ch.get(block=False), lambda: ch.get(timeout=0)):
        with pytest.raises(Empty):
            get()
    getter = spawn(ch.get)
    run_until_blocked()
    assert (ch.full(), ch.balance) == (False, -1)
    ch.put_nowait(1)
    finish(getter)
    assert getter.value == 1
    settled(ch)


def test_peek_returns_the_next_item_and_leaves_it(queue_cls: Any, order: Order) -> None:
    q = queue_cls()
    for peek in (q.peek_nowait, lambda: q.peek(block=False), lambda: q.peek(timeout=0)):
        with pytest.raises(Empty):
            peek()
    items = [5, 1, 3]
    for item in items:
        q.put(item)
    head = order(items)[0]
    assert (q.peek(), q.peek_nowait(), q.peek(timeout=0.01), q.qsize()) == (head, head, head, 3)
    assert q.get() == head


def test_a_waiting_peek_sees_the_first_item_and_leaves_it(queue_cls: Any) -> None:
    q = queue_cls()
    peeker = spawn(q.peek)
    run_until_blocked()
    assert not peeker.ready()
    q.put("x")
    finish(peeker)
    assert peeker.value == "x"
    assert q.get_nowait() == "x"
    assert_no_links(q)


def test_a_waiting_peek_lets_a_waiting_getter_have_the_item(queue_cls: Any) -> None:
    q = queue_cls()
    getter = spawn(q.get)
    peeker = spawn(q.peek)
    run_until_blocked()
    q.put("first")  # the getter's: it never enters the queue
    run_until_blocked()
    assert (getter.value, peeker.ready()) == ("first", False)
    q.put("second")
    finish(peeker)
    assert peeker.value == "second"
    assert q.get_nowait() == "second"
    assert_no_links(q)


def test_a_peek_times_out_with_empty_and_leaves_no_link(queue_cls: Any) -> None:
    q = queue_cls()
    with pytest.raises(Empty, match="stayed empty"):
        q.peek(timeout=0.01)
    assert_no_links(q)
    q.put(1)
    assert q.peek(timeout=0.01) == 1


def test_iteration_stops_at_the_stopiteration_class(make: Callable[[], Any]) -> None:
    q = make()
    seen: list[Any] = []

    def consumer() -> str:
        seen.extend(q)
        return "end"

    task = spawn(consumer)
    for item in [1, 2, StopIteration]:
        run_until_blocked()
        q.put(item)  # handed to the parked consumer: never compared with other items
    finish(task)
    assert (task.value, seen) == ("end", [1, 2])
    settled(q)


def test_iteration_stops_when_the_queue_is_shut_down_and_drained(queue_cls: Any) -> None:
    q = queue_cls()
    seen: list[Any] = []

    def consumer() -> str:
        seen.extend(q)
        return "end"

    task = spawn(consumer)
    q.put(1)
    run_until_blocked()
    q.put(2)
    q.put(3)
    q.shutdown()
    finish(task)
    assert task.value == "end"
    assert sorted(seen) == [1, 2, 3]
    assert seen[0] == 1


def test_a_queue_is_ready_while_it_holds_an_item_or_is_shut_down(queue_cls: Any) -> None:
    q = queue_cls()
    assert not q.ready()
    q.put(1)
    assert q.ready()
    q.get()
    assert not q.ready()
    q.shutdown()
    assert q.ready()


def test_iwait_reports_the_queue_that_got_an_item(queue_cls: Any) -> None:
    q1, q2 = queue_cls(), queue_cls()
    assert wait([q1, q2], timeout=0.01) == []
    get_hub().call_later(0.01, q2.put, 7)
    assert list(iwait([q1, q2], count=1, timeout=10)) == [q2]
    assert q2.get_nowait() == 7
    assert_no_links(q1, q2)


def test_an_item_handed_to_a_getter_does_not_make_the_queue_ready(make: Callable[[], Any]) -> None:
    q = make()
    getter = spawn(q.get)
    run_until_blocked()
    q.put(1)  # reserved for the getter, never in the queue
    assert not q.ready()
    assert wait([q], timeout=0.01) == []
    finish(getter)
    assert getter.value == 1
    settled(q)


def test_a_rawlink_callback_runs_once_when_an_item_arrives(queue_cls: Any) -> None:
    q = queue_cls()
    calls: list[object] = []
    q.rawlink(calls.append)
    run_until_blocked()
    assert calls == []
    q.put(1)
    q.put(2)
    run_until_blocked()
    assert calls == [q]
    assert q.linkcount() == 0


# -- waiters --------------------------------------------------------------------------------


def test_getters_are_served_in_the_order_they_began_to_wait(
    make: Callable[[], Any], exact: bool
) -> None:
    q = make()
    waited: list[str] = []  # the order in which the getters parked
    got: dict[str, Any] = {}

    def getter(name: str) -> None:
        waited.append(name)
        got[name] = q.get()

    tasks = spawn_all(getter, ["a", "b", "c", "d"])
    run_until_blocked()
    assert (q.getting(), sorted(waited)) == (4, ["a", "b", "c", "d"])
    items = [3, 1, 4, 2]
    for item in items:
        q.put(item)  # each handed to the first getter still waiting: no put blocks
    assert q.getting() == 0
    finish(*tasks)
    if isinstance(q, PriorityQueue):
        # Each getter was handed a claim on an item in the heap, and takes the lowest there
        # when it runs (as in the standard library): in the order they waited, on a hub that
        # runs them in that order.
        if exact:
            assert [got[name] for name in waited] == sorted(items)
        assert sorted(got.values()) == sorted(items)
    else:
        assert [got[name] for name in waited] == items
    assert q.qsize() == 0
    settled(q)


def test_a_put_hands_the_item_to_a_waiting_getter_so_nobody_else_can_take_it(
    make: Callable[[], Any],
) -> None:
    q = make()
    getter = spawn(q.get)
    run_until_blocked()
    q.put("x")
    # Reserved for the getter, which has not run yet: not in the queue, not gettable.
    assert (q.qsize(), q.getting(), getter.ready()) == (0, 0, False)
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    finish(getter)
    assert getter.value == "x"
    settled(q)


def test_putters_are_served_in_the_order_they_began_to_wait(make: Callable[[], Any]) -> None:
    q = make()
    before = fill(q)
    waited: list[int] = []  # the order in which the putters parked
    done: list[int] = []

    def putter(item: int) -> None:
        waited.append(item)
        q.put(item)
        done.append(item)

    tasks = spawn_all(putter, [1, 2, 3, 4])
    run_until_blocked()
    assert (q.putting(), done) == (4, [])
    got = [q.get() for _ in range(len(before) + 4)]
    finish(*tasks)
    assert got == before + waited
    assert sorted(done) == [1, 2, 3, 4]
    assert q.qsize() == 0
    settled(q)


def test_room_made_by_a_get_is_reserved_for_the_waiting_putter(queue_cls: Any) -> None:
    q = queue_cls(1)
    q.put("a")
    putter = spawn(q.put, "b")
    run_until_blocked()
    assert q.get_nowait() == "a"
    # The free place is promised to the parked putter: a newcomer cannot take it.
    assert q.full()
    with pytest.raises(Full):
        q.put_nowait("barger")
    assert q.putting() == 1
    finish(putter)
    assert putter.successful()
    assert drain(q) == ["b"]
    settled(q)


def test_a_putter_handed_room_gives_its_item_to_a_getter_that_came_meanwhile(
    queue_cls: Any,
) -> None:
    q = queue_cls(1)
    q.put("a")
    putter = spawn(q.put, "b")
    run_until_blocked()
    assert q.get_nowait() == "a"  # room handed to the putter, which has not run
    assert q.get(timeout=10) == "b"  # we park; the putter runs and hands "b" straight to us
    finish(putter)
    assert (q.qsize(), q.full()) == (0, False)
    settled(q)


@pytest.mark.parametrize("grow", ["maxsize", "resize"])
def test_growing_maxsize_hands_room_to_waiting_putters_in_order(
    queue_cls: Any, order: Order, grow: str, exact: bool
) -> None:
    q = queue_cls(1)
    q.put(0)
    waited: list[int] = []

    def putter(item: int) -> None:
        waited.append(item)
        q.put(item)

    tasks = spawn_all(putter, [1, 2, 3])
    run_until_blocked()
    if grow == "maxsize":
        q.maxsize = 3
    else:
        q.resize(3)
    run_until_blocked()
    finished = [item for item, task in zip([1, 2, 3], tasks, strict=True) if task.ready()]
    assert sorted(finished) == sorted(waited[:2])
    assert (q.qsize(), q.putting(), q.maxsize) == (3, 1, 3)
    q.maxsize = None  # unbounded: the last putter gets in too
    finish(*tasks)
    assert q.maxsize == 0
    if exact:
        assert drain(q) == order([0, *waited])
    else:
        # Room went to the first two putters; each stores its item when it runs, and the
        # scheduler may run two putters woken in one turn in either order.
        left = drain(q)
        assert sorted(left) == [0, 1, 2, 3]
        if order is not sorted:  # the last putter stored last: its item is the newest
            assert left.index(waited[2]) == order([0, *waited]).index(waited[2])
    settled(q)


def test_shrinking_maxsize_never_drops_an_item(queue_cls: Any, order: Order) -> None:
    q = queue_cls(5)
    for i in range(5):
        q.put(i)
    q.resize(2)
    assert (q.qsize(), q.full(), q.maxsize) == (5, True, 2)
    with pytest.raises(Full):
        q.put_nowait(99)
    putter = spawn(q.put, 5)
    run_until_blocked()
    got = [q.get() for _ in range(3)]
    assert got == order(list(range(5)))[:3]
    run_until_blocked()
    assert not putter.ready()  # two items left: still full
    got.append(q.get())
    finish(putter)
    assert sorted(got + drain(q)) == [0, 1, 2, 3, 4, 5]
    settled(q)


def test_a_get_that_times_out_raises_empty_and_leaves_nothing(make: Callable[[], Any]) -> None:
    q = make()
    with pytest.raises(Empty):
        q.get(timeout=0.01)
    settled(q)
    getter = spawn(q.get, timeout=10)
    run_until_blocked()
    q.put(1)
    finish(getter)
    assert getter.value == 1
    settled(q)


def test_a_put_that_times_out_raises_full_and_puts_nothing(make: Callable[[], Any]) -> None:
    q = make()
    before = fill(q)
    with pytest.raises(Full):
        q.put(2, timeout=0.01)
    assert q.qsize() == len(before)
    if isinstance(q, Queue):
        assert q.unfinished_tasks == len(before)
    settled(q)
    putter = spawn(q.put, 3, timeout=10)
    run_until_blocked()
    assert [q.get() for _ in range(len(before) + 1)] == [*before, 3]
    finish(putter)
    settled(q)


def test_many_waits_that_time_out_leave_no_waiter_behind(make: Callable[[], Any]) -> None:
    q = make()
    outcomes: list[str] = []

    def getter() -> None:
        try:
            q.get(timeout=0.02)
        except Empty:
            outcomes.append("empty")

    tasks = [spawn(getter) for _ in range(200)]
    run_until_blocked()
    assert q.getting() + len(outcomes) == 200  # each one waits, or has timed out
    joinall(tasks)
    assert outcomes == ["empty"] * 200
    settled(q)

    before = fill(q)
    outcomes.clear()

    def putter(item: int) -> None:
        try:
            q.put(item, timeout=0.02)
        except Full:
            outcomes.append("full")

    tasks = spawn_all(putter, range(200))
    run_until_blocked()
    assert q.putting() + len(outcomes) == 200
    joinall(tasks)
    assert outcomes == ["full"] * 200
    assert q.qsize() == len(before)
    settled(q)
    # Still works, both ways.
    assert drain(q) == before
    getter_task = spawn(q.get)
    run_until_blocked()
    q.put(5)
    finish(getter_task)
    assert getter_task.value == 5
    settled(q)


def test_the_main_greenlet_blocking_forever_gets_loopexit_and_the_queue_still_works(
    make: Callable[[], Any],
) -> None:
    q = make()
    with pytest.raises(LoopExit, match=type(q).__name__):
        q.get()
    settled(q)
    before = fill(q)
    with pytest.raises(LoopExit, match=rf"{type(q).__name__} .*putting=1"):
        q.put(2)
    assert q.qsize() == len(before)
    settled(q)
    assert drain(q) == before
    getter = spawn(q.get)
    run_until_blocked()
    q.put(5)
    finish(getter)
    assert getter.value == 5
    settled(q)


# -- shutdown -------------------------------------------------------------------------------


def test_a_put_after_shutdown_raises_and_the_items_stay_gettable(
    queue_cls: Any, order: Order
) -> None:
    q = queue_cls()
    q.put(2)
    q.put(1)
    q.shutdown()
    assert q.is_shutdown
    puts: list[Callable[[], object]] = [
        lambda: q.put(3),
        lambda: q.put_nowait(3),
        lambda: q.put(3, timeout=0.01),
    ]
    for put in puts:
        with pytest.raises(ShutDown):
            put()
    assert q.qsize() == 2
    head = order([2, 1])[0]
    assert (q.peek(), q.peek_nowait()) == (head, head)
    assert [q.get(), q.get_nowait()] == order([2, 1])
    for call in (q.get, q.get_nowait, lambda: q.get(timeout=0.01), q.peek, q.peek_nowait):
        with pytest.raises(ShutDown):
            call()
    settled(q)


def test_shutdown_wakes_waiting_getters_and_peekers_with_shutdown(queue_cls: Any) -> None:
    q = queue_cls()
    outcomes: dict[str, str] = {}

    def waiter(name: str) -> None:
        try:
            q.peek() if name == "peek" else q.get()
        except ShutDown:
            outcomes[name] = "ShutDown"

    tasks = spawn_all(waiter, ["g1", "g2", "g3", "peek"])
    run_until_blocked()
    assert q.getting() == 3
    q.shutdown()
    finish(*tasks)
    assert outcomes == dict.fromkeys(["g1", "g2", "g3", "peek"], "ShutDown")
    settled(q)


def test_shutdown_wakes_waiting_putters_with_shutdown_and_keeps_their_items_out(
    queue_cls: Any,
) -> None:
    q = queue_cls(1)
    q.put(0)
    outcomes: dict[int, str] = {}

    def putter(item: int) -> None:
        try:
            q.put(item)
        except ShutDown:
            outcomes[item] = "ShutDown"

    tasks = spawn_all(putter, [1, 2])
    run_until_blocked()
    q.shutdown()
    finish(*tasks)
    assert outcomes == {1: "ShutDown", 2: "ShutDown"}
    assert q.get() == 0  # not immediate: what was in the queue can still be got
    with pytest.raises(ShutDown):
        q.get_nowait()
    settled(q)


def test_a_putter_handed_room_before_shutdown_raises_when_it_runs(queue_cls: Any) -> None:
    q = queue_cls(1)
    q.put("a")
    putter = spawn(q.put, "b")
    run_until_blocked()
    assert q.get_nowait() == "a"  # room handed to the putter, which has not run yet
    q.shutdown()
    finish(putter)
    assert isinstance(putter.exception, ShutDown)
    assert (q.qsize(), q.putting()) == (0, 0)
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 1
    settled(q)


def test_getters_drain_a_shut_down_queue_before_they_see_shutdown(
    queue_cls: Any, order: Order
) -> None:
    q = queue_cls()
    for i in [2, 0, 1]:
        q.put(i)
    q.shutdown()
    called: list[str] = []
    outcomes: dict[str, Any] = {}

    def getter(name: str) -> None:
        called.append(name)
        try:
            outcomes[name] = q.get()
        except ShutDown:
            outcomes[name] = "ShutDown"

    tasks = spawn_all(getter, ["g1", "g2", "g3", "g4"])
    finish(*tasks)
    assert [outcomes[name] for name in called] == [*order([2, 0, 1]), "ShutDown"]


def test_immediate_shutdown_discards_the_items_and_wakes_waiters(queue_cls: Any) -> None:
    q = queue_cls(1)
    getter = spawn(q.get)
    run_until_blocked()
    q.put(1)  # handed to the getter: delivered even though the shutdown comes first
    q.put(2)  # in the queue: discarded
    putter = spawn(q.put, 3)
    run_until_blocked()
    assert getter.value == 1
    assert not putter.ready()
    q.shutdown(immediate=True)
    finish(putter)
    assert isinstance(putter.exception, ShutDown)
    assert q.qsize() == 0
    with pytest.raises(ShutDown):
        q.get_nowait()
    settled(q)


def test_an_item_handed_to_a_getter_before_an_immediate_shutdown_is_still_delivered(
    queue_cls: Any,
) -> None:
    q = queue_cls()
    waited: list[str] = []
    outcomes: dict[str, Any] = {}

    def getter(name: str) -> None:
        waited.append(name)
        try:
            outcomes[name] = q.get()
        except ShutDown:
            outcomes[name] = "ShutDown"

    tasks = spawn_all(getter, ["g1", "g2"])
    run_until_blocked()
    q.put(1)  # reserved for the first getter
    q.shutdown(immediate=True)
    finish(*tasks)
    assert [outcomes[name] for name in waited] == [1, "ShutDown"]
    settled(q)


def test_iwait_reports_a_queue_when_it_is_shut_down(queue_cls: Any) -> None:
    q = queue_cls()
    get_hub().call_later(0.01, q.shutdown)
    assert list(iwait([q], timeout=10)) == [q]
    assert q.ready()
    assert_no_links(q)


def test_a_shutdown_after_a_get_timed_out_finds_nobody_to_wake(queue_cls: Any) -> None:
    q = queue_cls()
    with pytest.raises(Empty):
        q.get(timeout=0.01)
    q.shutdown()
    settled(q)
    with pytest.raises(ShutDown):
        q.get(timeout=0.01)


def test_shutdown_twice_is_harmless_and_a_later_immediate_one_still_drains(queue_cls: Any) -> None:
    q = queue_cls()
    q.put(1)
    q.shutdown()
    q.shutdown()
    assert q.qsize() == 1
    q.shutdown(immediate=True)
    assert q.qsize() == 0
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 0


# -- tasks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda cls: cls.__name__)
def test_every_put_adds_a_task_and_task_done_finishes_one(cls: type[Queue[int]]) -> None:
    q = cls()
    assert (q.unfinished_tasks, q.join(), q.join(timeout=0)) == (0, True, True)
    getter = spawn(q.get)
    run_until_blocked()
    q.put(9)  # handed straight to a getter: a task all the same
    for i in range(3):
        q.put(i)
    assert q.unfinished_tasks == 4
    finish(getter)
    q.get()
    assert q.unfinished_tasks == 4  # getting is not finishing
    for left in [3, 2, 1, 0]:
        assert q.join(timeout=0) is False
        q.task_done()
        assert q.unfinished_tasks == left
    assert q.join(timeout=0) is True
    with pytest.raises(ValueError, match=r"task_done\(\) called more times"):
        q.task_done()
    assert q.unfinished_tasks == 0


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda cls: cls.__name__)
def test_join_wakes_every_joiner_when_the_last_task_is_done(cls: type[Queue[str]]) -> None:
    q = cls()
    q.put("a")
    q.put("b")
    joiners = [spawn(q.join) for _ in range(3)]
    run_until_blocked()
    assert not any(joiner.ready() for joiner in joiners)
    seen: list[str] = []

    def worker() -> None:
        for item in q:
            seen.append(item)
            q.task_done()

    worker_task = spawn(worker)
    finish(*joiners)
    assert [joiner.value for joiner in joiners] == [True] * 3
    assert sorted(seen) == ["a", "b"]
    q.shutdown()
    finish(worker_task)
    assert worker_task.successful()
    settled(q)


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda cls: cls.__name__)
def test_join_with_a_timeout_returns_false_then_true_and_leaves_no_joiner(
    cls: type[Queue[int]],
) -> None:
    q = cls()
    q.put(1)
    joiners = [spawn(q.join, 0.01) for _ in range(50)]
    joinall(joiners)
    assert [joiner.value for joiner in joiners] == [False] * 50
    assert q._joiners is not None
    assert q._joiners.listeners() == 0
    get_hub().call_later(0.01, q.task_done)
    assert q.join(timeout=10) is True
    assert q._joiners.listeners() == 0


@pytest.mark.parametrize("cls", TASK_CLASSES, ids=lambda cls: cls.__name__)
def test_immediate_shutdown_accounts_the_discarded_tasks_and_wakes_join(
    cls: type[Queue[int]],
) -> None:
    q = cls()
    for i in range(3):
        q.put(i)
    q.get()  # a task in progress: got, not yet done
    joiner = spawn(q.join)
    run_until_blocked()
    q.shutdown(immediate=True)
    assert (q.qsize(), q.unfinished_tasks) == (0, 1)
    run_until_blocked()
    assert not joiner.ready()  # the task in progress still counts
    q.task_done()
    finish(joiner)
    assert joiner.value is True
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()


def test_join_is_true_if_tasks_reached_zero_even_if_more_came_before_it_ran() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    joiner = spawn(q.join)
    run_until_blocked()
    q.task_done()  # zero: the joiner is woken...
    q.put(2)  # ...and its result is settled even though a task is unfinished again
    finish(joiner)
    assert joiner.value is True


def test_timeouts_of_infinity_wait_as_long_as_it_takes(make: Callable[[], Any]) -> None:
    q = make()
    getter = spawn(q.get, timeout=math.inf)
    run_until_blocked()
    q.put(1)
    finish(getter)
    assert getter.value == 1
    before = fill(q)
    putter = spawn(q.put, 2, timeout=math.inf)
    run_until_blocked()
    assert [q.get(timeout=math.inf) for _ in range(len(before) + 1)] == [*before, 2]
    finish(putter)
    settled(q)

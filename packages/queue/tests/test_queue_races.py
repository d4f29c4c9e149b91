"""Races at the moment of hand-off, each forced through the hub rather than hoped for.

* A waiter that leaves (``kill()``, an exception, an outer ``Timeout`` stood in for by a
  ``BaseException``) just as it is handed an item or room: the exception is queued *before* the
  put or get in the same hub turn, so it reaches the waiter first on the deterministic hub.
* A waiter handed an item and killed in the same turn, before it ran.
* A wait whose timeout falls due in the same hub turn as the put or get that would satisfy it:
  the two timers are armed back to back inside the waiter, then the thread sleeps until both
  are overdue, so the next turn runs them together in deadline order.
* A put or get from another OS thread while the waiter's timeout falls due.

Every test asserts exactly one outcome per waiter, every item delivered exactly once (got, or
still in the queue), and no waiter left behind.  On the deterministic built-in hub (the
``exact`` fixture) the outcome the interleaving forces is asserted too; under the chaos
scheduler and the adapters, whose turns are cut differently, either outcome may happen and only
the promises are checked, so the whole module is part of the contract suite.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import Task, get_hub, joinall, spawn
from greensync.hub.testing import assert_no_links, run_in_threads, run_until_blocked
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

MAKERS: dict[str, Callable[[], Any]] = {
    "Queue": lambda: Queue(1),
    "SimpleQueue": lambda: SimpleQueue(1),
    "LifoQueue": lambda: LifoQueue(1),
    "PriorityQueue": lambda: PriorityQueue(1),
    "Channel": Channel,
}
HOWS = ["kill", "throw", "outer"]
#: What a waiter that left records, per way of leaving.
LEFT = {"kill": "GreenletExit", "throw": "Boom", "outer": "OuterTimeout"}


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of an empty queue (room for one item) or channel."""
    factory: Callable[[], Any] = MAKERS[request.param]
    return factory


@pytest.fixture(params=sorted(name for name in MAKERS if name != "Channel"))
def make_queue(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of an empty queue with room for one item (no channel: see the channel's own
    tests of putters that leave)."""
    factory: Callable[[], Any] = MAKERS[request.param]
    return factory


class Boom(Exception):
    """Thrown into a waiter."""


class OuterTimeout(BaseException):
    """Stands in for an outer ``Timeout`` (a BaseException) firing around the wait."""


def leave_soon(task: Task[Any], how: str) -> None:
    """Queue the way ``task`` leaves for the hub's next turn, ahead of later callbacks."""
    if how == "kill":
        task.kill(block=False)
        return
    hub = get_hub()
    hub.run_callback(hub.throw_into, task, Boom() if how == "throw" else OuterTimeout())


class Crowd:
    """Greenlets that get from or put into one queue, recording who waited first and how each
    call ended (``"got x"``, ``"put"``, or the name of the exception)."""

    def __init__(self, q: Any) -> None:
        self.q = q
        self.waited: list[str] = []  # the order in which the calls were made (and parked)
        self.outcome: dict[str, str] = {}
        self.tasks: dict[str, Task[None]] = {}

    def _run(self, name: str, call: Callable[[], Any], what: str) -> None:
        self.waited.append(name)
        try:
            result = call()
        except (Boom, OuterTimeout, Empty, Full, ShutDown) as exc:
            self.outcome[name] = type(exc).__name__
        except GreenletExit:
            self.outcome[name] = "GreenletExit"
            raise
        else:
            self.outcome[name] = f"got {result}" if what == "get" else "put"

    def getter(self, name: str, timeout: float | None = None) -> Task[None]:
        task = self.tasks[name] = spawn(self._run, name, lambda: self.q.get(timeout=timeout), "get")
        return task

    def putter(self, item: Any, timeout: float | None = None) -> Task[None]:
        name = str(item)
        call = lambda: self.q.put(item, timeout=timeout)  # noqa: E731
        task = self.tasks[name] = spawn(self._run, name, call, "put")
        return task

    def first(self) -> Task[None]:
        """The task whose call began to wait first."""
        return self.tasks[self.waited[0]]

    def got(self) -> list[str]:
        return [o[4:] for o in self.outcome.values() if o.startswith("got ")]

    def finish(self) -> None:
        run_until_blocked()
        left = [name for name, task in self.tasks.items() if not task.ready()]
        assert not left, f"still blocked: {left}"
        assert sorted(self.outcome) == sorted(self.tasks)


def fill(q: Any) -> list[Any]:
    """Make a put on ``q`` block; return what gets return before any later put's item."""
    if isinstance(q, Channel):
        return []
    q.put("a")
    return ["a"]


def drain(q: Any) -> list[Any]:
    return [q.get_nowait() for _ in range(q.qsize())]


def settled(q: Any) -> None:
    assert (q.getting(), q.putting()) == (0, 0)
    assert_no_links(q)


# -- leaving at the moment of hand-off -------------------------------------------------------


@pytest.mark.parametrize("how", HOWS)
def test_an_item_handed_to_a_getter_that_leaves_goes_to_the_next_getter(
    make: Callable[[], Any], how: str, exact: bool
) -> None:
    q = make()
    crowd = Crowd(q)
    crowd.getter("g1")
    crowd.getter("g2")
    run_until_blocked()
    first, second = crowd.waited
    leave_soon(crowd.first(), how)
    q.put("x")  # handed to the first getter; its exception is already queued
    items = ["x"]
    run_until_blocked()
    if crowd.outcome.get(first) == "got x":
        assert not exact  # the wake-up ran before the exception: also one outcome
        q.put("y")
        items.append("y")
    crowd.finish()
    if exact:
        assert crowd.outcome == {first: LEFT[how], second: "got x"}
    assert sorted(crowd.got() + drain(q)) == items  # each item delivered exactly once
    settled(q)


@pytest.mark.parametrize("how", HOWS)
def test_an_item_handed_to_the_only_getter_that_leaves_is_next_again(
    queue_cls: Any, how: str, exact: bool
) -> None:
    q = queue_cls()
    crowd = Crowd(q)
    crowd.getter("g1")
    run_until_blocked()
    leave_soon(crowd.first(), how)
    q.put("x")  # handed to g1
    q.put("y")  # into the queue
    crowd.finish()
    if crowd.outcome["g1"] == "got x":
        assert not exact
        assert drain(q) == ["y"]
    else:
        assert crowd.outcome["g1"] == LEFT[how]
        # Given back to the front, whatever the class's order: "x" had been handed out first.
        assert drain(q) == ["x", "y"]
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 2  # given back, still one task each
    settled(q)


def test_an_item_handed_to_the_only_channel_getter_that_leaves_is_held_for_the_next_get(
    exact: bool,
) -> None:
    ch: Channel[str] = Channel()
    crowd = Crowd(ch)
    crowd.getter("g1")
    run_until_blocked()
    leave_soon(crowd.first(), "throw")
    ch.put("x")  # delivered: the put returned
    crowd.finish()
    if crowd.outcome["g1"] == "got x":
        assert not exact
        assert (ch.qsize(), ch.ready()) == (0, False)
    else:
        assert crowd.outcome["g1"] == "Boom"
        assert (ch.qsize(), ch.empty(), ch.ready()) == (1, False, True)
        assert repr(ch) == "<Channel getting=0 putting=0 held=1>"
        assert ch.get_nowait() == "x"
    assert ch.qsize() == 0
    settled(ch)


@pytest.mark.parametrize("how", HOWS)
def test_a_putter_that_leaves_after_being_handed_room_never_puts_and_passes_the_room_on(
    make_queue: Callable[[], Any], how: str, exact: bool
) -> None:
    q = make_queue()
    before = fill(q)
    crowd = Crowd(q)
    crowd.putter("b")
    crowd.putter("c")
    run_until_blocked()
    first, second = crowd.waited
    leave_soon(crowd.first(), how)
    # A get makes room (a channel's get asks the first putter for its item), handed to the
    # first putter, whose exception is already queued: the room passes to the second.
    got = [q.get(timeout=10) for _ in range(len(before) + 1)]
    run_until_blocked()
    if crowd.outcome.get(first) == "put":
        assert not exact  # it ran before its exception: its item is the one we got
        got.append(q.get(timeout=10))
    crowd.finish()
    if exact:
        assert crowd.outcome == {first: LEFT[how], second: "put"}
        assert got == [*before, second]
    put = [name for name in crowd.waited if crowd.outcome[name] == "put"]
    assert got + drain(q) == [*before, *put]  # each item that was put, once; no other
    settled(q)


def test_room_returned_by_the_only_putter_is_free_again(queue_cls: Any, exact: bool) -> None:
    q = queue_cls(1)
    q.put("a")
    crowd = Crowd(q)
    crowd.putter("b")
    run_until_blocked()
    leave_soon(crowd.first(), "throw")
    assert q.get_nowait() == "a"
    assert q.full()  # the room is promised to the putter...
    crowd.finish()
    if crowd.outcome["b"] == "put":
        assert not exact
        assert drain(q) == ["b"]
    else:
        assert crowd.outcome["b"] == "Boom"
        assert not q.full()  # ...which left, so it is free
    q.put_nowait("d")
    assert drain(q) == ["d"]
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 2 + (crowd.outcome["b"] == "put")  # "a", "d" (and "b")
    settled(q)


def test_a_putter_that_retries_after_an_outer_timeout_puts_its_item_exactly_once(
    make_queue: Callable[[], Any],
) -> None:
    q = make_queue()
    before = fill(q)
    attempts: list[str] = []

    def putter() -> None:
        while True:
            try:
                q.put("b")
            except OuterTimeout:
                attempts.append("outer timeout, retrying")
                continue
            attempts.append("put")
            return

    task = spawn(putter)
    run_until_blocked()
    leave_soon(task, "outer")
    got = [q.get(timeout=10) for _ in range(len(before) + 1)]
    run_until_blocked()
    assert task.ready()
    assert got == [*before, "b"]
    assert attempts[-1] == "put"
    assert attempts.count("put") == 1
    assert drain(q) == []
    settled(q)


def test_a_getter_that_times_out_in_the_middle_keeps_fifo_among_the_others(
    make: Callable[[], Any], exact: bool
) -> None:
    q = make()
    crowd = Crowd(q)
    crowd.getter("a")
    crowd.getter("b", timeout=0.01)
    crowd.getter("c")
    joinall([crowd.tasks["b"]])
    assert crowd.outcome == {"b": "Empty"}
    q.put(1)
    q.put(2)
    crowd.finish()
    stayed = [name for name in crowd.waited if name != "b"]
    outcomes = [crowd.outcome[name] for name in stayed]
    if isinstance(q, PriorityQueue) and not exact:
        # Claims on the heap: each getter takes the lowest item when it runs, and the
        # scheduler may run the two woken in one turn in either order.
        outcomes.sort()
    assert outcomes == ["got 1", "got 2"]
    settled(q)


@pytest.mark.parametrize("how", HOWS)
def test_a_getter_killed_after_being_handed_an_item_before_it_ran_passes_it_on(
    make: Callable[[], Any], how: str, exact: bool
) -> None:
    # The put is queued first and the exception second, in the same turn: the getter is
    # handed the item, then hit before its wake-up runs.
    q = make()
    crowd = Crowd(q)
    crowd.getter("g1")
    crowd.getter("g2")
    run_until_blocked()
    first, second = crowd.waited
    hub = get_hub()
    hub.run_callback(q.put_nowait, "x")
    leave_soon(crowd.first(), how)
    run_until_blocked()
    if crowd.outcome.get(first) == "got x":
        assert not exact
        q.put("y")
    crowd.finish()
    if exact:
        assert crowd.outcome == {first: LEFT[how], second: "got x"}
    assert crowd.got().count("x") == 1
    assert drain(q) == []
    settled(q)


def test_a_task_count_is_not_changed_by_an_item_given_back() -> None:
    q: Queue[str] = Queue()
    crowd = Crowd(q)
    crowd.getter("g1")
    run_until_blocked()
    leave_soon(crowd.first(), "kill")
    q.put("x")
    crowd.finish()
    assert q.unfinished_tasks == 1
    for _ in range(q.qsize()):
        q.get()
    q.task_done()
    assert q.join(timeout=0)


def test_an_item_given_back_after_an_immediate_shutdown_is_discarded_and_accounted(
    queue_cls: Any, exact: bool
) -> None:
    q = queue_cls()
    crowd = Crowd(q)
    crowd.getter("g1")
    run_until_blocked()
    leave_soon(crowd.first(), "kill")
    q.put(1)  # handed to g1, which is killed before it runs
    q.shutdown(immediate=True)
    crowd.finish()
    if exact:
        assert crowd.outcome == {"g1": "GreenletExit"}
    assert crowd.outcome["g1"] in ("GreenletExit", "got 1")
    assert q.qsize() == 0
    if isinstance(q, Queue):
        # Discarded, or got and not marked done: either way no task is lost track of.
        assert q.unfinished_tasks == len(crowd.got())
    settled(q)


@pytest.mark.parametrize("how", HOWS)
def test_a_channel_get_passes_over_a_putter_that_left_and_takes_the_next_ones_item(
    how: str,
) -> None:
    ch: Channel[str] = Channel()
    crowd = Crowd(ch)
    crowd.putter("a")
    crowd.putter("b")
    run_until_blocked()
    first, second = crowd.waited
    leave_soon(crowd.first(), how)
    run_until_blocked()  # the first putter leaves before any getter came: nothing delivered
    assert (ch.putting(), ch.ready()) == (1, True)
    assert ch.get_nowait() == second
    crowd.finish()
    assert crowd.outcome == {first: LEFT[how], second: "put"}
    assert ch.qsize() == 0
    settled(ch)


@pytest.mark.parametrize("how", HOWS)
def test_a_channel_putter_hit_in_the_turn_a_getter_took_its_item_raises_and_the_item_is_got_once(
    how: str, exact: bool
) -> None:
    # gevent's semantics, the price of a get_nowait that takes from a waiting putter: the
    # getter takes the item at once; an exception already on its way to the putter is still
    # raised in it.  The item is delivered once, and never again.
    ch: Channel[str] = Channel()
    crowd = Crowd(ch)
    crowd.putter("a")
    run_until_blocked()
    leave_soon(crowd.first(), how)
    assert ch.get_nowait() == "a"
    crowd.finish()
    if exact:
        assert crowd.outcome == {"a": LEFT[how]}
    assert crowd.outcome["a"] in (LEFT[how], "put")
    assert (ch.qsize(), ch.ready()) == (0, False)
    with pytest.raises(Empty):
        ch.get_nowait()
    settled(ch)


# -- a timeout falling due in the same turn as the put or get -------------------------------
#
# The margins are generous (a wait of 50 ms, overdue by 50 ms before the hub runs again), so
# that a slow machine cannot let a timer fire before the test has set the race up.


@pytest.mark.parametrize("first", ["put", "timeout"])
def test_a_get_timeout_and_a_put_due_in_the_same_turn_have_one_outcome(
    make: Callable[[], Any], first: str
) -> None:
    q = make()
    hub = get_hub()
    put: list[str] = []

    def put_x() -> None:
        try:
            q.put_nowait("x")
        except Full:  # a channel whose getter has gone
            put.append("refused")
        else:
            put.append("put")

    crowd = Crowd(q)

    def getter() -> None:
        # Both timers armed back to back: the put's deadline before the get's, or after.
        if first == "put":
            hub.call_later(0.02, put_x)
            crowd._run("g", lambda: q.get(timeout=0.04), "get")
        else:
            hub.call_later(0.04, put_x)
            crowd._run("g", lambda: q.get(timeout=0.02), "get")

    task = spawn(getter)
    run_until_blocked()
    time.sleep(0.08)  # both timers overdue: the next turn runs them together, in order
    joinall([task])
    run_until_blocked()
    left = drain(q)
    if first == "put":
        assert (crowd.outcome, put, left) == ({"g": "got x"}, ["put"], [])
    elif isinstance(q, Channel):
        assert (crowd.outcome, put, left) == ({"g": "Empty"}, ["refused"], [])
    else:
        assert (crowd.outcome, put, left) == ({"g": "Empty"}, ["put"], ["x"])
    settled(q)


@pytest.mark.parametrize("first", ["get", "timeout"])
def test_a_put_timeout_and_a_get_due_in_the_same_turn_have_one_outcome(
    queue_cls: Any, first: str
) -> None:
    q = queue_cls(1)
    q.put("a")
    hub = get_hub()
    got: list[str] = []
    crowd = Crowd(q)

    def putter() -> None:
        if first == "get":
            hub.call_later(0.02, lambda: got.append(q.get_nowait()))
            crowd._run("b", lambda: q.put("b", timeout=0.04), "put")
        else:
            hub.call_later(0.04, lambda: got.append(q.get_nowait()))
            crowd._run("b", lambda: q.put("b", timeout=0.02), "put")

    task = spawn(putter)
    run_until_blocked()
    time.sleep(0.08)
    joinall([task])
    run_until_blocked()
    if first == "get":
        assert (crowd.outcome, got, drain(q)) == ({"b": "put"}, ["a"], ["b"])
    else:
        assert (crowd.outcome, got, drain(q)) == ({"b": "Full"}, ["a"], [])
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 1 + (first == "get")
    settled(q)


def test_a_get_whose_timer_is_overdue_when_the_item_arrives_gets_it_exactly_once(
    make: Callable[[], Any],
) -> None:
    q = make()
    crowd = Crowd(q)
    crowd.getter("g", timeout=0.05)
    run_until_blocked()
    time.sleep(0.1)  # the timer is overdue, but the hub has not run it yet
    q.put_nowait("x")  # hand-off now; the turn's callbacks (the wake-up) run before timers
    joinall(list(crowd.tasks.values()))
    # The hand-off came first, so the overdue timer finds the wait already settled.
    assert (crowd.outcome, drain(q)) == ({"g": "got x"}, [])
    settled(q)


def test_a_channel_put_whose_timer_is_overdue_when_a_getter_comes_delivers_exactly_once() -> None:
    ch: Channel[str] = Channel()
    crowd = Crowd(ch)
    crowd.putter("x", timeout=0.05)
    run_until_blocked()
    time.sleep(0.1)  # the putter's timer is overdue
    got = ch.get(timeout=10)  # asks the putter for its item before its timer can run
    crowd.finish()
    assert (crowd.outcome, got) == ({"x": "put"}, "x")
    settled(ch)


# -- another OS thread ------------------------------------------------------------------------


def test_a_put_from_another_thread_while_the_get_times_out_is_delivered_once(
    make: Callable[[], Any],
) -> None:
    q = make()
    crowd = Crowd(q)
    crowd.getter("g", timeout=0.05)
    run_until_blocked()
    time.sleep(0.1)  # the getter's timer is overdue; this hub cannot run it yet

    def other_thread(_: int) -> None:
        q.put_nowait("x")  # hands the item over (and posts the wake-up to our hub)

    run_in_threads(other_thread, 1)
    joinall(list(crowd.tasks.values()))
    # The hand-off came first, so the overdue timer finds the wait already settled.
    assert (crowd.outcome, drain(q)) == ({"g": "got x"}, [])
    settled(q)


def test_room_made_from_another_thread_while_the_put_times_out_is_used_once(
    queue_cls: Any,
) -> None:
    q = queue_cls(1)
    q.put("a")
    crowd = Crowd(q)
    crowd.putter("b", timeout=0.05)
    run_until_blocked()
    time.sleep(0.1)
    got = run_in_threads(lambda _: q.get_nowait(), 1)
    joinall(list(crowd.tasks.values()))
    assert (got, crowd.outcome, drain(q)) == (["a"], {"b": "put"}, ["b"])
    settled(q)


ROUNDS = 100


def test_puts_from_another_thread_racing_get_timeouts_deliver_every_item_once(
    make: Callable[[], Any],
) -> None:
    q = make()
    go = threading.Semaphore(0)
    done = threading.Semaphore(0)
    refused: list[int] = []

    def putter_thread() -> None:
        rng = random.Random(8)
        for i in range(ROUNDS):
            go.acquire()
            time.sleep(rng.random() * 0.003)  # land around the getter's deadline
            try:
                q.put_nowait(i)
            except Full:  # a channel whose getter timed out
                refused.append(i)
            done.release()

    thread = threading.Thread(target=putter_thread, daemon=True)
    thread.start()
    outcomes: Counter[str] = Counter()
    for i in range(ROUNDS):
        crowd = Crowd(q)
        crowd.getter("g", timeout=0.0015)
        run_until_blocked()
        go.release()
        joinall(list(crowd.tasks.values()))
        assert done.acquire(timeout=10)
        run_until_blocked()
        here = drain(q)
        outcome = crowd.outcome["g"]
        outcomes["got" if outcome.startswith("got") else outcome] += 1
        # Exactly one of: the getter got it, it waits in the queue, or (channel) it was refused.
        places = (outcome == f"got {i}") + here.count(i) + refused.count(i)
        assert places == 1, (i, outcome, here, refused)
        assert outcome in (f"got {i}", "Empty")
        settled(q)
    thread.join(10)
    assert sum(outcomes.values()) == ROUNDS


def test_gets_from_another_thread_racing_put_timeouts_store_every_item_once(
    queue_cls: Any,
) -> None:
    q = queue_cls(1)
    go = threading.Semaphore(0)
    done = threading.Semaphore(0)
    taken: list[Any] = []

    def getter_thread() -> None:
        rng = random.Random(9)
        for _ in range(ROUNDS):
            go.acquire()
            time.sleep(rng.random() * 0.003)
            taken.append(q.get_nowait())  # the filler put before each round
            done.release()

    thread = threading.Thread(target=getter_thread, daemon=True)
    thread.start()
    for i in range(ROUNDS):
        q.put_nowait(("filler", i))
        crowd = Crowd(q)
        crowd.putter(i, timeout=0.0015)
        run_until_blocked()
        go.release()
        joinall(list(crowd.tasks.values()))
        assert done.acquire(timeout=10)
        run_until_blocked()
        here = drain(q)
        outcome = crowd.outcome[str(i)]
        assert taken[-1] == ("filler", i)
        assert (outcome, here) in (("put", [i]), ("Full", [])), (i, outcome, here)
        settled(q)
    thread.join(10)


# -- many timeouts racing hand-offs in one thread -------------------------------------------


def test_get_timeouts_racing_puts_never_lose_or_duplicate_an_item(make: Callable[[], Any]) -> None:
    q = make()
    got: list[int] = []
    refused: list[int] = []

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
        try:
            q.put(i, timeout=0.05)
        except Full:
            refused.append(i)
        if i % 7 == 0:
            time.sleep(0.002)  # let some getter timers fall due while items arrive
        run_until_blocked()
    for _ in getters:
        q.put(-1, timeout=10)
    joinall(getters)
    assert sorted(got + refused) == list(range(300))
    assert len(set(got)) == len(got)
    settled(q)


def test_put_timeouts_racing_gets_never_lose_or_duplicate_an_item(make: Callable[[], Any]) -> None:
    q = make()
    put_ok: list[tuple[int, int]] = []

    def producer(pid: int) -> None:
        for i in range(40):
            while True:
                try:
                    q.put((pid, i), timeout=0.001)
                except Full:
                    continue
                put_ok.append((pid, i))
                break

    producers = [spawn(producer, pid) for pid in range(3)]
    got: list[tuple[int, int]] = []
    while len(got) < 120:
        try:
            got.append(q.get(timeout=0.001))
        except Empty:
            continue
        if len(got) % 5 == 0:
            time.sleep(0.002)  # let producer timers fall due while room is made
    joinall(producers)
    assert sorted(got) == sorted(put_ok) == [(p, i) for p in range(3) for i in range(40)]
    assert q.qsize() == 0
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 120
    settled(q)


@pytest.mark.parametrize("how", HOWS)
def test_an_item_given_back_by_a_getter_that_left_wakes_a_waiting_peek(
    queue_cls: Any, how: str, exact: bool
) -> None:
    # Issue 19, item 1: the item comes back to the queue, so a greenlet blocked in peek() --
    # which the hand-off passed over, the item never having entered the queue -- must wake.
    q = queue_cls()
    crowd = Crowd(q)
    crowd.getter("g1")
    peeker = spawn(q.peek, timeout=10)
    run_until_blocked()
    leave_soon(crowd.first(), how)
    q.put("x")  # handed to g1, whose exception is already queued
    crowd.finish()
    if crowd.outcome["g1"] == "got x":
        assert not exact  # it ran first: the peek still waits for an item
        q.put("y")
        run_until_blocked()
        assert peeker.value == "y"
    else:
        assert crowd.outcome["g1"] == LEFT[how]
        run_until_blocked()
        assert peeker.ready(), "the peek was not woken by the item given back"
        assert peeker.value == "x"
    assert q.qsize() == 1
    settled(q)

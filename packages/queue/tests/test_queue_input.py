"""Bad input and misuse: a clear exception naming the parameter, and the queue keeps its items
and keeps working.

A sweep over every public constructor and method of every queue class and of Channel: wrong
types, negative numbers, NaN and infinities for timeouts and sizes, items that are awkward on
purpose (``None``, the hub's ``TIMED_OUT`` marker, items a ``PriorityQueue`` cannot compare),
and misuse from the wrong greenlet (blocking inside a hub callback) or thread.  After every
error the test checks that nothing changed -- items, order, sizes, task count, waiters -- and
that a round trip still works.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import TIMED_OUT, get_hub, spawn
from greensync.hub.testing import assert_no_links, run_in_threads, run_until_blocked
from greensync.queue import (
    Channel,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    ShutDown,
    SimpleQueue,
)

BAD_TYPES: list[Any] = ["1", b"0", [], {}, 1j, True, False, object()]
BAD_NUMBERS: list[Any] = [-1, -0.001, -math.inf, math.nan, -sys.float_info.max]
FOREVER: list[Any] = [None, math.inf, sys.float_info.max, 10**300]


def _name(cls: type) -> str:
    return cls.__name__


class Incomparable:
    """An item no other item can be ordered with."""

    def __repr__(self) -> str:
        return "<Incomparable>"


def snapshot(q: Any) -> tuple[Any, ...]:
    """Everything about ``q`` that an error must leave unchanged (without disturbing it)."""
    items = list(q.queue)
    tasks = q.unfinished_tasks if isinstance(q, Queue) else None
    return (items, q.qsize(), q.maxsize, q.full(), tasks, q.getting(), q.putting(), q.linkcount())


def still_works(q: Any) -> None:
    """A get that waits and a put that hands it an item; then (for a queue) a put and a get
    through the buffer.  The items the queue held are put back, in the order they were got."""
    items = [q.get_nowait() for _ in range(q.qsize())]
    getter = spawn(q.get)
    run_until_blocked()
    q.put("round trip")
    run_until_blocked()
    assert getter.value == "round trip"
    if not isinstance(q, Channel):
        q.put_nowait("buffered")
        assert q.get_nowait() == "buffered"
        for item in items:
            q.put_nowait(item)
    assert (q.getting(), q.putting()) == (0, 0)
    assert_no_links(q)


def loaded(cls: type[SimpleQueue[Any]]) -> SimpleQueue[Any]:
    """A queue of ``cls`` holding two items, with room for one more."""
    q = cls(3)
    q.put("b")
    q.put("a")
    return q


def timed_calls(q: Any) -> dict[str, Callable[[Any], object]]:
    calls: dict[str, Callable[[Any], object]] = {
        "get": lambda t: q.get(timeout=t),
        "get(block=False)": lambda t: q.get(block=False, timeout=t),
        "put": lambda t: q.put("c", timeout=t),
        "put(block=False)": lambda t: q.put("c", block=False, timeout=t),
        "peek": lambda t: q.peek(timeout=t),
        "peek(block=False)": lambda t: q.peek(block=False, timeout=t),
    }
    if isinstance(q, Queue):
        calls["join"] = lambda t: q.join(timeout=t)
    return calls


# -- timeouts -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_TYPES, ids=repr)
def test_non_numeric_timeouts_raise_typeerror_and_change_nothing(queue_cls: Any, bad: Any) -> None:
    q = loaded(queue_cls)
    before = snapshot(q)
    for name, call in timed_calls(q).items():
        with pytest.raises(TypeError, match="`timeout` must be a non-negative number or None"):
            call(bad)
        assert snapshot(q) == before, name
    still_works(q)


@pytest.mark.parametrize("bad", BAD_NUMBERS, ids=repr)
def test_negative_and_nan_timeouts_raise_valueerror_and_change_nothing(
    queue_cls: Any, bad: Any
) -> None:
    q = loaded(queue_cls)
    before = snapshot(q)
    for name, call in timed_calls(q).items():
        with pytest.raises(ValueError, match="`timeout` must be a non-negative number or None"):
            call(bad)
        assert snapshot(q) == before, name
    still_works(q)


@pytest.mark.parametrize("forever", FOREVER, ids=repr)
def test_none_infinity_and_huge_timeouts_wait_as_long_as_it_takes(
    queue_cls: Any, forever: Any
) -> None:
    q = queue_cls(1)
    getter = spawn(q.get, timeout=forever)
    peeker = spawn(q.peek, timeout=forever)
    run_until_blocked()
    q.put("x")
    run_until_blocked()
    assert (getter.value, peeker.ready()) == ("x", False)
    q.put("y")
    putter = spawn(q.put, "z", timeout=forever)
    run_until_blocked()
    assert (peeker.value, q.putting()) == ("y", 1)
    assert q.get(timeout=forever) == "y"
    run_until_blocked()
    assert putter.successful()
    if isinstance(q, Queue):
        joiner = spawn(q.join, forever)
        run_until_blocked()
        for _ in range(q.unfinished_tasks):
            q.task_done()
        run_until_blocked()
        assert joiner.value is True
    assert q.get_nowait() == "z"
    still_works(q)


def test_a_timeout_too_big_for_a_float_is_forever() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    assert q.get(timeout=10**400) == 1  # a timeout past every float: as good as forever
    still_works(q)


@pytest.mark.parametrize("bad", [*BAD_TYPES, *BAD_NUMBERS], ids=repr)
def test_bad_channel_timeouts_raise_and_the_channel_still_works(bad: Any) -> None:
    ch: Channel[Any] = Channel()
    expected = TypeError if any(bad is b for b in BAD_TYPES) else ValueError
    getter = spawn(ch.get)
    run_until_blocked()
    for call in (
        lambda: ch.get(timeout=bad),
        lambda: ch.get(block=False, timeout=bad),
        lambda: ch.put(1, timeout=bad),
        lambda: ch.put(1, block=False, timeout=bad),
    ):
        with pytest.raises(expected, match="`timeout` must be a non-negative number or None"):
            call()
        assert (ch.getting(), ch.putting(), ch.qsize()) == (1, 0, 0)
    ch.put(1)
    run_until_blocked()
    assert getter.value == 1
    assert_no_links(ch)


# -- sizes ----------------------------------------------------------------------------------

BAD_SIZES: list[Any] = ["3", b"3", 2.5, 3.0, math.nan, math.inf, -math.inf, 1j, True, False]
BAD_SIZES += [object(), [1]]


@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
def test_a_maxsize_that_is_not_an_int_raises_typeerror(queue_cls: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match="`maxsize` must be an int or None, got"):
        queue_cls(bad)
    with pytest.raises(TypeError, match="`maxsize`"):
        queue_cls(maxsize=bad)


@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
def test_a_bad_resize_raises_typeerror_and_keeps_the_bound_and_the_items(
    queue_cls: Any, bad: Any
) -> None:
    q = loaded(queue_cls)
    q.put("c")
    putter = spawn(q.put, "d")
    run_until_blocked()
    before = snapshot(q)
    with pytest.raises(TypeError, match="`size` must be an int or None, got"):
        q.resize(bad)
    with pytest.raises(TypeError, match="`maxsize` must be an int or None, got"):
        q.maxsize = bad
    assert snapshot(q) == before
    assert (q.maxsize, q.full(), q.putting()) == (3, True, 1)
    q.resize(4)  # the waiting putter gets in
    run_until_blocked()
    assert putter.successful()
    assert sorted(q.get_nowait() for _ in range(4)) == ["a", "b", "c", "d"]
    still_works(q)


@pytest.mark.parametrize("size", [0, None, -1, -(10**30)])
def test_zero_none_and_negative_sizes_mean_unbounded_everywhere(queue_cls: Any, size: Any) -> None:
    q = queue_cls(1)
    q.put(1)
    putter = spawn(q.put, 2)
    run_until_blocked()
    q.resize(size)
    run_until_blocked()
    assert (putter.successful(), q.maxsize, q.full(), q.qsize()) == (True, 0, False, 2)


def test_int_like_sizes_are_accepted() -> None:
    class Size:
        def __index__(self) -> int:
            return 2

    q: Queue[int] = Queue(Size())  # type: ignore[arg-type]
    assert q.maxsize == 2
    q.resize(Size())  # type: ignore[arg-type]
    q.maxsize = 10**30
    assert q.maxsize == 10**30


def test_channel_takes_no_size() -> None:
    with pytest.raises(TypeError):
        Channel(1)  # type: ignore[call-arg]


# -- tasks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Queue, PriorityQueue], ids=lambda cls: cls.__name__)
def test_task_done_too_often_raises_and_tasks_still_count(cls: type[Queue[int]]) -> None:
    q = cls()
    with pytest.raises(ValueError, match=r"task_done\(\) called more times than items were put"):
        q.task_done()
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError, match=r"task_done\(\) called more times"):
        q.task_done()
    assert q.unfinished_tasks == 0
    q.put(2)
    assert (q.unfinished_tasks, q.join(timeout=0)) == (1, False)
    q.get()
    q.task_done()
    assert q.join(timeout=0)


def test_simple_queues_have_no_task_tracking() -> None:
    q: SimpleQueue[int] = SimpleQueue()
    assert not hasattr(q, "task_done")
    assert not hasattr(q, "join")


# -- linking --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, 1, "callback"], ids=repr)
def test_rawlink_with_something_not_callable_raises_typeerror(queue_cls: Any, bad: Any) -> None:
    q = loaded(queue_cls)
    before = snapshot(q)
    with pytest.raises(TypeError, match="`callback` must be callable"):
        q.rawlink(bad)
    q.unlink(bad)  # never linked: nothing to remove
    assert snapshot(q) == before
    still_works(q)


# -- items ----------------------------------------------------------------------------------


@pytest.fixture(params=[Queue, SimpleQueue, LifoQueue, PriorityQueue, Channel], ids=_name)
def make_any(request: pytest.FixtureRequest) -> Any:
    """Each queue class, and Channel."""
    return request.param


@pytest.mark.parametrize("item", [None, TIMED_OUT, StopIteration, 0, ""], ids=repr)
def test_awkward_items_travel_like_any_other(make_any: Any, item: Any) -> None:
    # TIMED_OUT is the hub's own marker for "the wait timed out"; None is what a bare get of
    # an empty queue returns elsewhere.  Neither may be lost or mistaken for a timeout.
    q = make_any()
    getters = [spawn(q.get, timeout=10), spawn(q.get)]
    run_until_blocked()
    q.put(item)  # handed to a waiting getter, with and without a timeout
    if make_any is PriorityQueue:
        # A heap compares its items, and None cannot be ordered with None: one at a time.
        run_until_blocked()
    q.put(item)
    run_until_blocked()
    assert [g.value for g in getters] == [item, item]
    assert all(g.successful() for g in getters)
    # And given back by a getter that leaves, to the next one.
    getters = [spawn(q.get, timeout=10), spawn(q.get, timeout=10)]
    run_until_blocked()
    getters[0].kill(block=False)
    q.put(item)
    run_until_blocked()
    assert getters[1].value is item
    if not isinstance(q, Channel):
        q.put(item)  # through the buffer
        assert q.peek_nowait() is item
        assert q.get(timeout=10) is item
    assert (q.getting(), q.putting(), q.qsize()) == (0, 0, 0)
    assert_no_links(q)


def test_an_item_a_priority_queue_cannot_compare_is_refused_and_changes_nothing() -> None:
    q: PriorityQueue[Any] = PriorityQueue(10)
    for i in [5, 3, 8, 1, 9, 2, 7]:
        q.put(i)
    before = snapshot(q)
    for put in (q.put, q.put_nowait, lambda item: q.put(item, timeout=1)):
        with pytest.raises(TypeError, match="not supported between"):
            put(Incomparable())
        assert snapshot(q) == before
    assert [q.get_nowait() for _ in range(7)] == [1, 2, 3, 5, 7, 8, 9]
    assert q.unfinished_tasks == 7
    still_works(q)


def test_a_waiting_putter_whose_item_cannot_be_compared_raises_and_passes_its_room_on() -> None:
    q: PriorityQueue[Any] = PriorityQueue(2)
    q.put(1)
    q.put(2)
    outcomes: list[str] = []

    def putter(item: Any) -> None:
        try:
            q.put(item)
        except TypeError:
            outcomes.append(f"{item!r} refused")
        else:
            outcomes.append(f"{item!r} put")

    spawn(putter, Incomparable())
    run_until_blocked()
    spawn(putter, 3)
    run_until_blocked()
    assert q.putting() == 2
    assert q.get_nowait() == 1  # room for the first putter, whose item cannot go in
    run_until_blocked()
    assert outcomes == ["<Incomparable> refused", "3 put"]  # the room passed on
    assert [q.get_nowait() for _ in range(2)] == [2, 3]
    assert (q.unfinished_tasks, q.putting()) == (3, 0)
    still_works(q)


def test_an_item_a_parked_priority_getter_was_promised_stays_in_the_heap_until_it_runs() -> None:
    # A getter parked on a PriorityQueue is handed a claim, not the item: the item stays in
    # the heap, where every later put is compared with it.  If the getter leaves, the claim
    # passes on; nothing has to go back into the heap (before 0.3.0 an item handed to a
    # getter that left could fail to go back, and was lost with a TypeError).
    q: PriorityQueue[Any] = PriorityQueue()
    getter = spawn(q.get)
    run_until_blocked()
    odd = Incomparable()
    getter.kill(block=False)
    q.put(odd)  # a claim for the getter, which leaves before it runs
    with pytest.raises(TypeError, match="not supported between"):
        q.put(1)  # compared with the item in the heap: refused, the queue unchanged
    run_until_blocked()
    assert getter.exception is None  # killed: GreenletExit, nothing else
    assert (q.qsize(), q.unfinished_tasks, q.getting()) == (1, 1, 0)
    assert q.get_nowait() is odd
    q.task_done()
    still_works(q)


# -- misuse from the wrong greenlet or thread ---------------------------------------------


def waiting_calls(empty: Any, full: Any) -> dict[str, Callable[[], object]]:
    """Every call that would have to wait: gets on ``empty``, puts on ``full``."""
    calls: dict[str, Callable[[], object]] = {
        "get": empty.get,
        "get(timeout)": lambda: empty.get(timeout=1),
        "next(iter())": lambda: next(iter(empty)),
        "put": lambda: full.put("x"),
        "put(timeout)": lambda: full.put("x", timeout=1),
    }
    if not isinstance(empty, Channel):
        calls["peek"] = empty.peek
        calls["peek(timeout)"] = lambda: empty.peek(timeout=1)
    if isinstance(empty, Queue):
        calls["join"] = empty.join
        calls["join(timeout)"] = lambda: empty.join(timeout=1)
    return calls


def test_waiting_inside_a_hub_callback_is_refused_and_changes_nothing(make_any: Any) -> None:
    empty: Any
    full: Any
    if make_any is Channel:
        empty = full = make_any()  # both of its calls wait for the other side
    else:
        empty, full = make_any(1), make_any(1)
        empty.put("task")
        empty.get_nowait()  # empty, with an unfinished task (for join)
        full.put("a")
    calls = waiting_calls(empty, full)
    snapshots = [snapshot(q) for q in (empty, full) if not isinstance(q, Channel)]
    errors: dict[str, str] = {}

    def callback() -> None:
        for name, call in calls.items():
            try:
                call()
            except RuntimeError as exc:
                errors[name] = str(exc)

    get_hub().run_callback(callback)
    run_until_blocked()
    assert sorted(errors) == sorted(calls)
    for name, message in errors.items():
        assert message.startswith("cannot block inside the hub"), (name, message)
    assert [snapshot(q) for q in (empty, full) if not isinstance(q, Channel)] == snapshots
    # Calls that do not wait are fine inside a callback.
    done: list[Any] = []
    if not isinstance(full, Channel):
        get_hub().run_callback(lambda: done.append(full.get_nowait()))
        run_until_blocked()
        assert done == ["a"]
    if isinstance(empty, Queue):
        empty.task_done()
    still_works(empty)
    still_works(full)


def test_nonblocking_calls_from_another_thread_work_without_a_hub_there(queue_cls: Any) -> None:
    from greensync.hub.testing import existing_hub as _peek_hub

    q = queue_cls(2)
    getter = spawn(q.get)
    run_until_blocked()
    seen: list[Any] = []

    def other_thread(_: int) -> None:
        q.put_nowait("to the getter")
        q.put_nowait("kept")
        q.put_nowait("kept too")
        with pytest.raises(Full):
            q.put_nowait("no room")
        seen.append(q.peek_nowait())
        q.resize(3)
        if isinstance(q, Queue):
            q.task_done()
        seen.append(_peek_hub())

    run_in_threads(other_thread, 1)
    run_until_blocked()
    if queue_cls is PriorityQueue:
        # The getter was handed a claim, and took the lowest item when it ran.
        assert getter.value == "kept"
        rest = ["kept too", "to the getter"]
        assert seen[0] == "kept"  # the head of the heap, which the claimed getter took
    else:
        assert getter.value == "to the getter"
        rest = ["kept", "kept too"]
        assert seen[0] in rest
    assert seen[1] is None  # no hub was made in that thread
    assert sorted(q.get_nowait() for _ in range(2)) == rest
    still_works(q)


def test_a_put_after_shutdown_raises_and_the_items_are_kept(queue_cls: Any) -> None:
    q = loaded(queue_cls)
    q.shutdown()
    before = snapshot(q)
    puts: list[Callable[[], object]] = [
        lambda: q.put("c"),
        lambda: q.put_nowait("c"),
        lambda: q.put("c", timeout=1),
    ]
    for put in puts:
        with pytest.raises(ShutDown, match="shut down"):
            put()
        assert snapshot(q) == before
    assert sorted([q.get(), q.get()]) == ["a", "b"]
    with pytest.raises(ShutDown):
        q.get()
    if isinstance(q, Queue):
        q.task_done()
        q.task_done()
        assert q.join(timeout=0)


def test_a_getter_left_parked_in_a_thread_that_ended_does_not_swallow_an_item() -> None:
    q: Queue[str] = Queue()

    def body(_: int) -> int:
        spawn(q.get)  # parks, and is still parked when the thread ends
        run_until_blocked()
        return q.getting()

    assert run_in_threads(body, 1) == [1]
    q.put("x")
    assert q.get_nowait() == "x"

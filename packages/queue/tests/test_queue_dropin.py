"""What users of the standard library, gevent and eventlet rely on (issue 15).

* The standard library's subclass hooks: a subclass overriding ``_init(maxsize)``, ``_qsize()``,
  ``_put(item)`` or ``_get()`` changes the container and the order -- for parked getters and
  putters too -- and ``q.queue`` is the container.  CPython's ``test_queue.py`` builds its
  failing-queue tests on them; their checks are reproduced here with greenlets.
* Weak references to every public class.
* A channel that ``iwait`` reports ready gives an item to ``get_nowait``.
* ``Queue[int]`` is a generic alias for type checkers and at run time.
"""

from __future__ import annotations

import gc
import queue as stdlib_queue
import typing
import weakref
from typing import Any

import pytest

import greensync.queue
from greensync.hub import iwait, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked
from greensync.queue import (
    Channel,
    Empty,
    Full,
    JoinableQueue,
    LifoQueue,
    LightQueue,
    PriorityQueue,
    Queue,
    SimpleQueue,
)

# -- weak references ------------------------------------------------------------------------

#: Every public class of the package except the exceptions: a class added later without weak
#: references fails the test below.
PUBLIC_CLASSES = sorted(
    {
        obj
        for name in greensync.queue.__all__
        if isinstance(obj := getattr(greensync.queue, name), type)
        and not issubclass(obj, BaseException)
    },
    key=lambda cls: cls.__name__,
)


def test_the_list_of_public_classes_is_complete() -> None:
    assert {cls.__name__ for cls in PUBLIC_CLASSES} == {
        "Channel",
        "LifoQueue",
        "PriorityQueue",
        "Queue",
        "SimpleQueue",
    }
    assert JoinableQueue is Queue
    assert LightQueue is SimpleQueue


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_class_can_be_weakly_referenced(cls: type) -> None:
    obj = cls()
    ref = weakref.ref(obj)
    assert ref() is obj
    registry: weakref.WeakSet[Any] = weakref.WeakSet([obj])
    assert obj in registry
    del obj
    gc.collect()
    assert ref() is None
    assert len(registry) == 0


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_a_queue_that_waiters_used_is_freed_once_unreachable(cls: type) -> None:
    # The lines hold their queue weakly: nothing keeps it alive once the waiters are gone.
    obj: Any = cls()
    getter = spawn(obj.get)
    run_until_blocked()
    obj.put_nowait(1)
    run_until_blocked()
    assert getter.value == 1
    ref = weakref.ref(obj)
    del obj, getter
    gc.collect()
    assert ref() is None


# -- the standard library's hooks -------------------------------------------------------------


class FailingQueueException(Exception):
    pass


class FailingQueue(Queue[Any]):
    """CPython's ``test_queue.FailingQueue``: the next ``_put``/``_get`` raises on demand."""

    def __init__(self, *args: Any) -> None:
        self.fail_next_put = False
        self.fail_next_get = False
        super().__init__(*args)

    def _put(self, item: Any) -> None:
        if self.fail_next_put:
            self.fail_next_put = False
            raise FailingQueueException("You Lose")
        Queue._put(self, item)

    def _get(self) -> Any:
        if self.fail_next_get:
            self.fail_next_get = False
            raise FailingQueueException("You Lose")
        return Queue._get(self)


def test_a_failing_put_puts_nothing_and_counts_no_task() -> None:
    q = FailingQueue(3)
    q.put(1)
    q.put(2)
    for put in (q.put_nowait, lambda item: q.put(item, timeout=0.01), q.put):
        q.fail_next_put = True
        with pytest.raises(FailingQueueException):
            put("oops")
        assert (q.qsize(), q.unfinished_tasks, list(q.queue)) == (2, 2, [1, 2])
    q.put("last")
    assert q.full()


def test_a_parked_putter_whose_put_fails_raises_and_passes_its_room_on() -> None:
    q = FailingQueue(1)
    q.put("first")
    outcomes: dict[str, str] = {}

    def putter(item: str) -> None:
        try:
            q.put(item)
        except FailingQueueException:
            outcomes[item] = "failed"
        else:
            outcomes[item] = "put"

    spawn(putter, "doomed")
    run_until_blocked()
    spawn(putter, "next")
    run_until_blocked()
    assert q.putting() == 2
    q.fail_next_put = True  # the first putter's _put, when it runs with the room it is handed
    assert q.get() == "first"
    run_until_blocked()
    assert outcomes == {"doomed": "failed", "next": "put"}
    assert (list(q.queue), q.unfinished_tasks, q.putting()) == (["next"], 2, 0)
    assert_no_links(q)


class QsizeFailsLater(Queue[Any]):
    """A ``_qsize()`` that raises on its ``fail_in``-th call from now (0: never)."""

    def __init__(self, *args: Any) -> None:
        self.fail_in = 0
        super().__init__(*args)

    def _qsize(self) -> int:
        if self.fail_in:
            self.fail_in -= 1
            if not self.fail_in:
                raise FailingQueueException("You Lose")
        return Queue._qsize(self)


def test_a_hook_failing_when_a_putter_retries_after_joining_the_line_fails_the_put() -> None:
    q = QsizeFailsLater(1)
    q.put("first")
    # The put looks for room (_qsize: full), joins the line of putters and looks once more
    # before it parks: that second _qsize raises, and the put raises it, having put nothing.
    q.fail_in = 2
    with pytest.raises(FailingQueueException, match="You Lose"):
        q.put("second", timeout=10)
    assert q.fail_in == 0
    assert (list(q.queue), q.qsize(), q.unfinished_tasks, q.putting()) == (["first"], 1, 1, 0)
    assert_no_links(q)
    # Nothing was reserved for the failed put: the queue is full with one item, and works.
    assert q.full()
    assert q.get() == "first"
    q.put("third", timeout=10)
    assert (list(q.queue), q.full()) == (["third"], True)


def test_a_failing_get_leaves_the_item_where_it_was() -> None:
    q = FailingQueue()
    q.put("first")
    for get in (q.get_nowait, lambda: q.get(timeout=0.01), q.get):
        q.fail_next_get = True
        with pytest.raises(FailingQueueException):
            get()
        assert (q.qsize(), list(q.queue)) == (1, ["first"])
    assert q.get() == "first"
    assert q.empty()


def test_a_parked_getter_whose_get_fails_raises_and_the_item_stays() -> None:
    # CPython: "put succeeded, but get failed".  The getter was handed a claim on the item,
    # not the item: it takes it with _get() when it runs.
    q = FailingQueue()
    outcomes: list[str] = []

    def getter() -> None:
        try:
            outcomes.append(f"got {q.get()}")
        except FailingQueueException:
            outcomes.append("failed")

    spawn(getter)
    run_until_blocked()
    q.fail_next_get = True
    q.put("empty")
    run_until_blocked()
    assert outcomes == ["failed"]
    assert (q.qsize(), list(q.queue), q.getting()) == (1, ["empty"], 0)
    assert q.get() == "empty"
    assert_no_links(q)


def test_a_claim_that_fails_passes_to_the_next_parked_getter() -> None:
    q = FailingQueue()
    outcomes: list[str] = []

    def getter(name: str) -> None:
        try:
            outcomes.append(f"{name} got {q.get()}")
        except FailingQueueException:
            outcomes.append(f"{name} failed")

    spawn(getter, "a")
    spawn(getter, "b")
    run_until_blocked()
    q.fail_next_get = True
    q.put("x")
    run_until_blocked()
    assert outcomes == ["a failed", "b got x"]
    assert (q.qsize(), q.getting()) == (0, 0)


class SortedQueue(Queue[int]):
    """A container of the subclass's own: a list kept sorted, the lowest item got first."""

    def _init(self, maxsize: int) -> None:
        self.queue: list[int] = []

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: int) -> None:
        self.queue.append(item)
        self.queue.sort(reverse=True)

    def _get(self) -> int:
        return self.queue.pop()

    def _peek(self) -> int:  # gevent's hook, for peek()
        return self.queue[-1]


def test_a_subclass_changes_the_container_and_the_order() -> None:
    q = SortedQueue()
    assert q.queue == []
    for item in [5, 1, 4, 2, 3]:
        q.put(item)
    assert q.queue == [5, 4, 3, 2, 1]  # q.queue is the container the subclass made
    assert (q.peek(), q.peek_nowait()) == (1, 1)
    assert [q.get() for _ in range(5)] == [1, 2, 3, 4, 5]


def test_the_order_of_a_subclass_holds_for_parked_getters_and_putters_too() -> None:
    q = SortedQueue(2)
    waited: list[str] = []
    got: dict[str, int] = {}

    def getter(name: str) -> None:
        waited.append(name)
        got[name] = q.get()

    for name in ["a", "b", "c"]:
        spawn(getter, name)
    run_until_blocked()
    for item in [9, 7, 8]:  # in one turn: each getter takes the lowest when it runs
        q.put(item)
    run_until_blocked()
    assert [got[name] for name in waited] == [7, 8, 9]
    # Parked putters store their items with _put() when room is made for them.
    q.put(6)
    q.put(5)
    for item in [1, 2]:
        spawn(q.put, item)
    run_until_blocked()
    assert q.putting() == 2
    # A get makes room for the first putter, which stores its item when it runs: the next
    # get (no hub turn between) finds 6, and only the third waits for the putters.
    assert [q.get(timeout=1) for _ in range(4)] == [5, 6, 1, 2]
    assert_no_links(q)


class WeightedQueue(Queue[tuple[str, int]]):
    """``_qsize()`` counts weight, not items: the bound is on the weight."""

    def _qsize(self) -> int:
        return sum(weight for _, weight in self.queue)


def test_a_subclass_qsize_decides_fullness_and_when_puts_wait() -> None:
    q = WeightedQueue(4)
    q.put(("a", 3))
    assert (q.qsize(), len(q), q.full()) == (3, 3, False)  # len() is qsize(): the weight
    q.put(("b", 2))  # 3 < 4: room, as in the standard library
    assert (q.qsize(), len(q), q.full()) == (5, 5, True)
    with pytest.raises(Full):
        q.put_nowait(("c", 1))
    putter = spawn(q.put, ("c", 1))
    run_until_blocked()
    assert q.get() == ("a", 3)  # weight 2 left: the parked putter gets in
    run_until_blocked()
    assert putter.successful()
    assert list(q.queue) == [("b", 2), ("c", 1)]


def test_a_subclass_calling_the_base_hooks_gets_the_standard_library_behaviour() -> None:
    class Recording(LifoQueue[int]):
        def __init__(self) -> None:
            self.calls: list[str] = []
            super().__init__()

        def _put(self, item: int) -> None:
            self.calls.append(f"put {item}")
            LifoQueue._put(self, item)

        def _get(self) -> int:
            item = LifoQueue._get(self)
            self.calls.append(f"get {item}")
            return item

    q = Recording()
    q.put(1)
    q.put(2)
    assert isinstance(q.queue, list)
    assert [q.get(), q.get()] == [2, 1]
    assert q.calls == ["put 1", "put 2", "get 2", "get 1"]
    with pytest.raises(Empty):
        q.get_nowait()


@pytest.mark.parametrize(
    ("cls", "stdlib"),
    [
        (Queue, stdlib_queue.Queue),
        (LifoQueue, stdlib_queue.LifoQueue),
        (PriorityQueue, stdlib_queue.PriorityQueue),
        (SimpleQueue, stdlib_queue.Queue),
    ],
    ids=lambda c: c.__name__,
)
def test_q_queue_is_the_container_of_every_class(cls: Any, stdlib: Any) -> None:
    q, s = cls(), stdlib()
    for item in [3, 1, 2]:
        q.put(item)
        s.put(item)
    assert type(q.queue) is type(s.queue)
    assert list(q.queue) == list(s.queue)


def test_hooks_are_detected_once_when_the_class_is_made() -> None:
    class Plain(Queue[int]):
        def extra(self) -> str:
            return "no hook overridden"

    class Hooked(Queue[int]):
        def _get(self) -> int:
            return Queue._get(self)

    class OwnPut(Hooked):
        def put(self, item: int, block: bool = True, timeout: float | None = None) -> None:
            super().put(item * 10, block, timeout)

    builtin: list[type[SimpleQueue[Any]]] = [SimpleQueue, Queue, LifoQueue, Plain]
    for cls in builtin:
        assert not cls._hooked, cls
        assert cls.put is SimpleQueue.put  # the built-in fast path
    hooked: list[type[SimpleQueue[Any]]] = [PriorityQueue, Hooked, OwnPut]
    for cls in hooked:
        assert cls._hooked, cls
        assert cls.get is not SimpleQueue.get
    assert OwnPut.put is not Hooked.put  # a method the subclass wrote stays its own
    # The methods a hooked class gets carry the docstrings of the built-in ones (``__doc__``).
    for name in ("put", "put_nowait", "get", "get_nowait", "qsize", "empty", "full", "ready"):
        doc = getattr(SimpleQueue, name).__doc__
        assert doc, name
        for cls in (PriorityQueue, Hooked):
            assert getattr(cls, name).__doc__ == doc, (cls, name)
    q = OwnPut()
    q.put(1)
    assert q.get() == 10


# -- Channel ------------------------------------------------------------------------------------


def test_get_nowait_takes_from_a_waiting_putter_whose_put_then_returns() -> None:
    ch: Channel[str] = Channel()
    with pytest.raises(Empty):
        ch.get_nowait()
    putter = spawn(ch.put, "x")
    run_until_blocked()
    assert (ch.ready(), ch.empty(), ch.full(), ch.putting()) == (True, False, True, 1)
    assert ch.get_nowait() == "x"
    assert (ch.ready(), ch.putting()) == (False, 0)
    run_until_blocked()
    assert putter.successful()
    assert_no_links(ch)


def test_iwait_and_get_nowait_agree_on_a_channel() -> None:
    # The README's example: wait on several, take from whichever is ready.
    high: Channel[str] = Channel()
    low: Queue[str] = Queue()
    putter = spawn(high.put, "urgent")
    got = []
    queues: list[Any] = [high, low]
    with iwait(queues, timeout=5) as ready:
        for q in ready:
            got.append(q.get_nowait())
            break
    assert got == ["urgent"]
    run_until_blocked()
    assert putter.successful()
    assert_no_links(high, low)


def test_full_and_empty_of_a_channel_say_whether_a_put_or_a_get_would_wait() -> None:
    ch: Channel[int] = Channel()
    assert (ch.full(), ch.empty()) == (True, True)  # nobody on either side
    getter = spawn(ch.get)
    run_until_blocked()
    assert (ch.full(), ch.empty()) == (False, True)  # a put_nowait would succeed now
    ch.put_nowait(1)
    run_until_blocked()
    assert getter.value == 1
    putter = spawn(ch.put, 2)
    run_until_blocked()
    assert (ch.full(), ch.empty()) == (True, False)  # a get_nowait would succeed now
    assert ch.get_nowait() == 2
    run_until_blocked()
    assert putter.successful()


# -- typing ---------------------------------------------------------------------------------


def test_subscripting_a_class_gives_a_typing_generic_alias() -> None:
    alias = Queue[int]
    assert typing.get_origin(alias) is Queue
    assert typing.get_args(alias) == (int,)
    assert isinstance(alias(), Queue)
    assert typing.get_origin(Channel[str]) is Channel

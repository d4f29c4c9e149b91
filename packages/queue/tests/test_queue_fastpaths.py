"""Operations that do not wait never call into the hub (issue 19, item 8).

DESIGN rules 4, 5 and 10: a put or get that does not wait (``put_nowait``, ``get_nowait``, a
``put`` with room, a ``get`` with an item, ``task_done``) takes no hub round trip, makes no
call into the wait lines, and creates no hub in a thread that has none.  Each case below runs
one such operation in a new OS thread that has no hub, under a profiler that records every
Python function entered whose code lives in the ``greensync.hub`` package, and asserts that
nothing was recorded (at all) and that no hub was created.  The spy looks
only at where the code lives, not at what it is called, so it holds whatever the hub's
internals become.  Each queue is tried fresh, after getters and putters waited on it and were
served, and after a ``peek`` waited on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from greensync.hub import spawn
from greensync.hub.testing import hub_calls, run_until_blocked
from greensync.queue import (
    Channel,
    Empty,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    SimpleQueue,
)

T = TypeVar("T")

FRESH = "fresh"
AFTER_WAITERS = "after waiters"
AFTER_PEEK = "after a peek"
PUTS = ["put_nowait", "put", "put(block=False)", "put with room in a bounded queue"]

#: How long the operation's thread may take before the test fails (it should take microseconds).
BOUND = 5.0

# -- the cases ------------------------------------------------------------------------------

QUEUES: list[type[SimpleQueue[int]]] = [Queue, SimpleQueue, LifoQueue, PriorityQueue]


@dataclass(frozen=True)
class Case:
    """One operation that does not wait: ``run(q)`` after ``prepare(q)``, checked after."""

    name: str
    run: Callable[[Any], object]
    check: Callable[[Any, object], bool]
    prepare: Callable[[Any], object] = lambda q: None
    maxsize: int = 0
    #: Only for queues with task tracking (Queue and its subclasses).
    tasks: bool = False

    def __str__(self) -> str:
        return self.name


def _put_one(q: Any) -> None:
    q.put_nowait(1)


def _put_got(q: Any) -> None:
    q.put_nowait(1)
    assert q.get_nowait() == 1


def _raised(call: Callable[[], object]) -> str:
    try:
        call()
    except Full:
        return "Full"
    except Empty:
        return "Empty"
    return "nothing raised"


def _task_done_then_join(q: Queue[int]) -> bool:
    q.task_done()
    return q.join()


CASES = [
    Case("put_nowait", lambda q: q.put_nowait(1), lambda q, r: q.qsize() == 1),
    Case("put", lambda q: q.put(1), lambda q, r: q.qsize() == 1),
    Case("put(block=False)", lambda q: q.put(1, block=False), lambda q, r: q.qsize() == 1),
    Case(
        "put with room in a bounded queue",
        lambda q: q.put(1),
        lambda q, r: q.qsize() == 2,
        prepare=_put_one,
        maxsize=3,
    ),
    Case(
        "put_nowait into a full queue raises Full",
        lambda q: _raised(lambda: q.put_nowait(2)),
        lambda q, r: r == "Full" and q.qsize() == 1,
        prepare=_put_one,
        maxsize=1,
    ),
    Case("get_nowait", lambda q: q.get_nowait(), lambda q, r: r == 1, prepare=_put_one),
    Case("get", lambda q: q.get(), lambda q, r: r == 1, prepare=_put_one),
    Case("get(block=False)", lambda q: q.get(block=False), lambda q, r: r == 1, prepare=_put_one),
    Case(
        "get from a full bounded queue",
        lambda q: q.get(),
        lambda q, r: r == 1 and q.empty(),
        prepare=_put_one,
        maxsize=1,
    ),
    Case(
        "get_nowait on an empty queue raises Empty",
        lambda q: _raised(q.get_nowait),
        lambda q, r: r == "Empty",
    ),
    Case(
        "peek and peek_nowait",
        lambda q: (q.peek(), q.peek_nowait(), q.peek(block=False)),
        lambda q, r: r == (1, 1, 1) and q.qsize() == 1,
        prepare=_put_one,
    ),
    Case(
        "qsize, empty, full",
        lambda q: (q.qsize(), q.empty(), q.full()),
        lambda q, r: r == (1, False, True),
        prepare=_put_one,
        maxsize=1,
    ),
    Case("next(iter(q))", lambda q: next(iter(q)), lambda q, r: r == 1, prepare=_put_one),
    Case(
        "task_done and join",
        _task_done_then_join,
        lambda q, r: r is True and q.unfinished_tasks == 0,
        prepare=_put_got,
        tasks=True,
    ),
]


def _drain(q: Any) -> None:
    while not q.empty():
        q.get_nowait()
    if isinstance(q, Queue):
        for _ in range(q.unfinished_tasks):
            q.task_done()


def _contend(q: Any, history: str) -> None:
    """Give an empty queue a history: getters and putters that waited and were served, or a
    peek that waited and was answered.  It is left empty, with no task unfinished."""
    if history == AFTER_WAITERS:
        getter = spawn(q.get)
        run_until_blocked()
        q.put(10)  # handed to the getter
        run_until_blocked()
        assert getter.value == 10
        if q.maxsize:
            while not q.full():
                q.put_nowait(11)
            putter = spawn(q.put, 12)
            run_until_blocked()
            q.get_nowait()  # room for the putter
            run_until_blocked()
            assert putter.dead
    elif history == AFTER_PEEK:
        peeker = spawn(q.peek)
        run_until_blocked()
        q.put(13)
        run_until_blocked()
        assert peeker.value == 13
    _drain(q)
    assert q.getting() == 0
    assert q.putting() == 0


def _run_queue_case(cls: type[SimpleQueue[int]], case: Case, history: str) -> list[str]:
    q = cls(case.maxsize)
    _contend(q, history)
    case.prepare(q)
    calls, created, result = hub_calls(lambda: case.run(q))
    assert not created, f"{case} made a hub in a thread that had none: {created}"
    assert case.check(q, result), f"{case} returned {result!r}, leaving {q!r}"
    return calls


HISTORIES = [FRESH, AFTER_WAITERS, AFTER_PEEK]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize(
    ("cls", "case"),
    [
        pytest.param(cls, case, id=f"{cls.__name__}-{case}")
        for cls in QUEUES
        for case in CASES
        if issubclass(cls, Queue) or not case.tasks
    ],
)
def test_queue_operation_that_does_not_wait_makes_no_call_into_the_hub(
    cls: type[SimpleQueue[int]], case: Case, history: str
) -> None:
    calls = _run_queue_case(cls, case, history)
    assert not calls, (
        f"{cls.__name__}: {case} ({history}) called into greensync.hub: "
        f"{list(dict.fromkeys(calls))}"
    )


# -- the channel ----------------------------------------------------------------------------


def _held_item(ch: Channel[int]) -> None:
    """Leave an item held by the channel: handed to a getter that left before it ran."""
    getter = spawn(ch.get)
    run_until_blocked()
    getter.kill(block=False)
    ch.put_nowait(1)
    run_until_blocked()
    assert ch.qsize() == 1


CHANNEL_CASES = [
    Case(
        "Channel.put_nowait with no getter",
        lambda ch: _raised(lambda: ch.put_nowait(1)),
        lambda ch, r: r == "Full",
    ),
    Case(
        "Channel.get_nowait with nothing ready",
        lambda ch: _raised(ch.get_nowait),
        lambda ch, r: r == "Empty",
    ),
    Case(
        "Channel.get_nowait of an item given back",
        lambda ch: ch.get_nowait(),
        lambda ch, r: r == 1 and ch.qsize() == 0,
        prepare=_held_item,
    ),
]


def _contend_channel(ch: Channel[int]) -> None:
    getter = spawn(ch.get)
    run_until_blocked()
    ch.put(20)
    run_until_blocked()
    assert getter.value == 20
    putter = spawn(ch.put, 21)
    run_until_blocked()
    assert ch.get() == 21
    run_until_blocked()
    assert putter.dead
    assert ch.getting() == 0
    assert ch.putting() == 0


def _run_channel_case(case: Case, history: str) -> list[str]:
    ch: Channel[int] = Channel()
    if history == AFTER_WAITERS:
        _contend_channel(ch)
    case.prepare(ch)
    calls, created, result = hub_calls(lambda: case.run(ch))
    assert not created, f"{case} made a hub in a thread that had none: {created}"
    assert case.check(ch, result), f"{case} returned {result!r}, leaving {ch!r}"
    return calls


@pytest.mark.parametrize("history", [FRESH, AFTER_WAITERS])
@pytest.mark.parametrize("case", CHANNEL_CASES, ids=str)
def test_channel_operation_that_does_not_wait_makes_no_call_into_the_hub(
    case: Case, history: str
) -> None:
    calls = _run_channel_case(case, history)
    assert not calls, f"{case} ({history}) called into greensync.hub: {list(dict.fromkeys(calls))}"

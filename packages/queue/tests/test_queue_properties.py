"""Property tests: random sequences of operations against a small model of each queue.

Hypothesis draws a sequence of operations -- puts and gets (from the test's own greenlet, or by
greenlets that park), peeks, resizes, shutdowns, ``task_done``/``join`` for the task-tracking
classes, and kills of parked greenlets -- and runs it against a real queue and against a model
made of a list and a few counters.  After every operation the hub runs until nothing is
runnable, and then the queue and the model must agree on everything observable: what each call
returned or raised, which greenlets are still parked, ``qsize``, ``full``, ``getting``,
``putting``, ``unfinished_tasks``.  At the end the remaining greenlets are killed and the items
left must come out in the order the model predicts.  Channel has a model of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from greenlet import GreenletExit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greensync.hub import Task, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked
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

#: 200 examples: enough to reach rare states (putters parked on a full queue, then a resize)
#: in a few seconds.  No example database: nothing is written into the working tree.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ITEMS = st.integers(min_value=0, max_value=9)


def outcome_of(call: Callable[[], Any]) -> str:
    """What ``call()`` did, as a string the model can predict."""
    try:
        result = call()
    except (Empty, Full, ShutDown, ValueError) as exc:
        return type(exc).__name__
    return f"returned {result!r}"


class Parked:
    """Greenlets the test spawned, each recording the outcome of its one call."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task[None]] = {}
        self.outcome: dict[str, str] = {}

    def spawn(self, name: str, call: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.outcome[name] = outcome_of(call)
            except GreenletExit:
                self.outcome[name] = "killed"
                raise

        self.tasks[name] = spawn(run)

    def kill(self, name: str) -> None:
        self.tasks[name].kill(block=False)


# -- the queue model ----------------------------------------------------------------------------


class QueueModel:
    """What a queue of ``cls`` should do, each step run until no greenlet can move."""

    def __init__(self, cls: type[SimpleQueue[Any]], maxsize: int) -> None:
        self.cls = cls
        self.buf: list[int] = []  # in the order the items went in
        self.maxsize = maxsize
        self.getters: deque[str] = deque()
        self.putters: deque[tuple[str, int]] = deque()
        self.peekers: list[str] = []
        self.joiners: list[str] = []
        self.shut = False
        self.unfinished = 0
        self.outcome: dict[str, str] = {}

    # the class's order
    def front(self) -> int:
        if self.cls is LifoQueue:
            return self.buf[-1]
        if self.cls is PriorityQueue:
            return min(self.buf)
        return self.buf[0]

    def pop(self) -> int:
        item = self.front()
        if self.cls is LifoQueue:
            self.buf.pop()
        else:
            self.buf.remove(item)  # the first of equal items: equal ints are interchangeable
        return item

    def full(self) -> bool:
        return self.maxsize > 0 and len(self.buf) >= self.maxsize

    # effects
    def _enter(self, item: int) -> None:
        """``item`` was put: it goes to the first parked getter, or into the buffer."""
        self.unfinished += 1
        if self.getters:
            self.outcome[self.getters.popleft()] = f"returned {item!r}"
            return
        self.buf.append(item)
        if self.peekers:  # woken by the item, they see the queue's head once they run
            for name in self.peekers:
                self.outcome[name] = f"returned {self.front()!r}"
            self.peekers.clear()

    def _admit_putters(self) -> None:
        while self.putters and (not self.maxsize or len(self.buf) < self.maxsize):
            name, item = self.putters.popleft()
            self.outcome[name] = "returned None"
            self._enter(item)

    def _tasks_done(self) -> None:
        if self.unfinished == 0:
            for name in self.joiners:
                self.outcome[name] = "returned True"
            self.joiners.clear()

    def put(self, item: int, parker: str | None) -> str | None:
        if self.shut:
            return "ShutDown"
        if self.full():
            if parker is None:
                return "Full"
            self.putters.append((parker, item))
            return None
        self._enter(item)
        return "returned None"

    def get(self, parker: str | None) -> str | None:
        if self.buf:
            item = self.pop()
            self._admit_putters()
            return f"returned {item!r}"
        if self.shut:
            return "ShutDown"
        if parker is None:
            return "Empty"
        self.getters.append(parker)
        return None

    def peek(self, parker: str | None) -> str | None:
        if self.buf:
            return f"returned {self.front()!r}"
        if self.shut:
            return "ShutDown"
        if parker is None:
            return "Empty"
        self.peekers.append(parker)
        return None

    def resize(self, size: int | None) -> None:
        self.maxsize = size if size is not None and size > 0 else 0
        self._admit_putters()

    def shutdown(self, immediate: bool) -> None:
        self.shut = True
        if immediate:
            self.unfinished = max(0, self.unfinished - len(self.buf))
            self.buf.clear()
            self._tasks_done()
        for name, _ in self.putters:
            self.outcome[name] = "ShutDown"
        self.putters.clear()
        if not self.buf:
            for name in [*self.getters, *self.peekers]:
                self.outcome[name] = "ShutDown"
            self.getters.clear()
            self.peekers.clear()

    def task_done(self) -> str:
        if self.unfinished <= 0:
            return "ValueError"
        self.unfinished -= 1
        self._tasks_done()
        return "returned None"

    def join(self, parker: str | None) -> str | None:
        if self.unfinished == 0:
            return "returned True"
        if parker is None:
            return "returned False"
        self.joiners.append(parker)
        return None

    def kill(self, name: str) -> None:
        self.outcome[name] = "killed"
        self.getters = deque(n for n in self.getters if n != name)
        self.putters = deque(p for p in self.putters if p[0] != name)
        self.peekers = [n for n in self.peekers if n != name]
        self.joiners = [n for n in self.joiners if n != name]

    def parked(self) -> list[str]:
        return [*self.getters, *(n for n, _ in self.putters), *self.peekers, *self.joiners]


QUEUE_OPS = st.one_of(
    st.tuples(st.just("put_nowait"), ITEMS),
    st.tuples(st.just("put_timeout"), ITEMS),
    st.tuples(st.just("spawn_put"), ITEMS),
    st.tuples(st.just("get_nowait")),
    st.tuples(st.just("get_timeout")),
    st.tuples(st.just("spawn_get")),
    st.tuples(st.just("peek_nowait")),
    st.tuples(st.just("spawn_peek")),
    st.tuples(st.just("resize"), st.sampled_from([None, -1, 0, 1, 2, 3])),
    st.tuples(st.just("shutdown"), st.booleans()),
    st.tuples(st.just("task_done")),
    st.tuples(st.just("join_nowait")),
    st.tuples(st.just("spawn_join")),
    st.tuples(st.just("kill"), st.integers(min_value=0, max_value=20)),
)


def run_queue_ops(cls: type[SimpleQueue[int]], maxsize: int, ops: list[tuple[Any, ...]]) -> None:
    q = cls(maxsize)
    model = QueueModel(cls, maxsize)
    parked = Parked()
    tasks = isinstance(q, Queue)
    try:
        for step, (op, *args) in enumerate(ops):
            name = f"w{step}"
            expected: str | None = None
            actual: str | None = None
            if op in ("task_done", "join_nowait", "spawn_join") and not tasks:
                continue
            if op == "put_nowait":
                expected, actual = (
                    model.put(args[0], None),
                    outcome_of(partial(q.put_nowait, args[0])),
                )
            elif op == "put_timeout":
                expected = model.put(args[0], None)
                actual = outcome_of(partial(q.put, args[0], timeout=0.001))
            elif op == "spawn_put":
                parked.spawn(name, partial(q.put, args[0]))
                model.outcome[name] = model.put(args[0], name) or ""
            elif op == "get_nowait":
                expected, actual = model.get(None), outcome_of(q.get_nowait)
            elif op == "get_timeout":
                expected, actual = model.get(None), outcome_of(lambda: q.get(timeout=0.001))
            elif op == "spawn_get":
                parked.spawn(name, q.get)
                model.outcome[name] = model.get(name) or ""
            elif op == "peek_nowait":
                expected, actual = model.peek(None), outcome_of(q.peek_nowait)
            elif op == "spawn_peek":
                parked.spawn(name, q.peek)
                model.outcome[name] = model.peek(name) or ""
            elif op == "resize":
                model.resize(args[0])
                q.resize(args[0])
            elif op == "shutdown":
                model.shutdown(args[0])
                q.shutdown(immediate=args[0])
            elif op == "task_done":
                expected, actual = model.task_done(), outcome_of(q.task_done)  # type: ignore[attr-defined]
            elif op == "join_nowait":
                expected = model.join(None)
                actual = outcome_of(lambda: q.join(timeout=0))  # type: ignore[attr-defined]
            elif op == "spawn_join":
                parked.spawn(name, q.join)  # type: ignore[attr-defined]
                model.outcome[name] = model.join(name) or ""
            elif op == "kill":
                waiting = model.parked()
                if not waiting:
                    continue
                victim = waiting[args[0] % len(waiting)]
                model.kill(victim)
                parked.kill(victim)
            run_until_blocked()
            assert actual == expected, (step, op, args)
            check_queue(q, model, parked, (step, op, args))
        for victim in model.parked():
            model.kill(victim)
            parked.kill(victim)
        run_until_blocked()
        check_queue(q, model, parked, "end")
        left = [q.get_nowait() for _ in range(q.qsize())]
        assert left == [model.pop() for _ in range(len(model.buf))]
        assert_no_links(q)
    finally:
        for task in parked.tasks.values():
            task.kill(block=False)
        run_until_blocked()


def check_queue(q: Any, model: QueueModel, parked: Parked, where: object) -> None:
    recorded = {name: outcome for name, outcome in model.outcome.items() if outcome}
    assert parked.outcome == recorded, where
    still = {name for name, task in parked.tasks.items() if not task.ready()}
    assert still == set(model.parked()), where
    assert (q.qsize(), q.full(), q.getting(), q.putting(), q.maxsize) == (
        len(model.buf),
        model.full(),
        len(model.getters),
        len(model.putters),
        model.maxsize,
    ), where
    assert sorted(q.queue) == sorted(model.buf), where
    if isinstance(q, Queue):
        assert q.unfinished_tasks == model.unfinished, where


@pytest.mark.parametrize(
    "cls", [Queue, SimpleQueue, LifoQueue, PriorityQueue], ids=lambda c: c.__name__
)
@SETTINGS
@given(maxsize=st.sampled_from([0, 1, 2, 3]), ops=st.lists(QUEUE_OPS, max_size=40))
def test_a_queue_behaves_like_its_model(
    cls: type[SimpleQueue[int]], maxsize: int, ops: list[tuple[Any, ...]]
) -> None:
    run_queue_ops(cls, maxsize, ops)


# -- the channel model --------------------------------------------------------------------------


CHANNEL_OPS = st.one_of(
    st.tuples(st.just("put_nowait"), ITEMS),
    st.tuples(st.just("put_timeout"), ITEMS),
    st.tuples(st.just("spawn_put"), ITEMS),
    st.tuples(st.just("get_nowait")),
    st.tuples(st.just("get_timeout")),
    st.tuples(st.just("spawn_get")),
    st.tuples(st.just("kill"), st.integers(min_value=0, max_value=20)),
)


@SETTINGS
@given(ops=st.lists(CHANNEL_OPS, max_size=40))
def test_a_channel_behaves_like_its_model(ops: list[tuple[Any, ...]]) -> None:
    ch: Channel[int] = Channel()
    getters: deque[str] = deque()
    putters: deque[tuple[str, int]] = deque()
    expected_outcome: dict[str, str] = {}
    parked = Parked()

    def meet(getter: str | None, putter: str | None, item: int) -> str | None:
        """A getter and a putter meet: the item changes hands; return the caller's outcome."""
        if getter is not None:
            expected_outcome[getter] = f"returned {item!r}"
        if putter is not None:
            expected_outcome[putter] = "returned None"
        return None

    try:
        for step, (op, *args) in enumerate(ops):
            name = f"w{step}"
            expected: str | None = None
            actual: str | None = None
            if op in ("put_nowait", "put_timeout"):
                if getters:
                    meet(getters.popleft(), None, args[0])
                    expected = "returned None"
                else:
                    expected = "Full"
                if op == "put_nowait":
                    actual = outcome_of(partial(ch.put_nowait, args[0]))
                else:
                    actual = outcome_of(partial(ch.put, args[0], timeout=0.005))
            elif op == "spawn_put":
                parked.spawn(name, partial(ch.put, args[0]))
                if getters:
                    meet(getters.popleft(), name, args[0])
                else:
                    putters.append((name, args[0]))
            elif op == "get_nowait":
                # Takes the first waiting putter's item, as in gevent (nothing is held here).
                if putters:
                    putter, item = putters.popleft()
                    meet(None, putter, item)
                    expected = f"returned {item!r}"
                else:
                    expected = "Empty"
                actual = outcome_of(ch.get_nowait)
            elif op == "get_timeout":
                if putters:
                    putter, item = putters.popleft()
                    meet(None, putter, item)
                    expected = f"returned {item!r}"
                else:
                    expected = "Empty"
                actual = outcome_of(lambda: ch.get(timeout=0.005))
            elif op == "spawn_get":
                parked.spawn(name, ch.get)
                if putters:
                    putter, item = putters.popleft()
                    meet(name, putter, item)
                else:
                    getters.append(name)
            elif op == "kill":
                waiting = [*getters, *(n for n, _ in putters)]
                if not waiting:
                    continue
                victim = waiting[args[0] % len(waiting)]
                getters = deque(n for n in getters if n != victim)
                putters = deque(p for p in putters if p[0] != victim)
                expected_outcome[victim] = "killed"
                parked.kill(victim)
            run_until_blocked()
            where = (step, op, args)
            assert actual == expected, where
            assert parked.outcome == expected_outcome, where
            still = {n for n, task in parked.tasks.items() if not task.ready()}
            assert still == {*getters, *(n for n, _ in putters)}, where
            assert (ch.getting(), ch.putting(), ch.balance, ch.qsize()) == (
                len(getters),
                len(putters),
                len(putters) - len(getters),
                0,
            ), where
            assert (ch.ready(), ch.full()) == (bool(putters), not getters), where
        for task in parked.tasks.values():
            task.kill(block=False)
        run_until_blocked()
        assert (ch.getting(), ch.putting(), ch.qsize()) == (0, 0, 0)
        assert_no_links(ch)
    finally:
        for task in parked.tasks.values():
            task.kill(block=False)
        run_until_blocked()

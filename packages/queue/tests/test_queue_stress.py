"""Load: many OS threads and greenlets, a million timeouts, storms of kills.

Each test runs at two scales with the same code: ``reduced`` in the default run, ``full``
marked ``stress`` (skipped unless ``GREENSYNC_STRESS`` is set; ``nox -s stress``).  Run with
``-s`` to see the figures each one prints (items, timeouts, traced memory before and after).

* Threads: 4 OS threads, each running its own hub and 100 greenlets (half producers, half
  consumers, half of each retrying with short timeouts), move 100,000 items through one shared
  queue or channel; every item arrives exactly once, counts return to zero, nothing deadlocks.
* Leaks: a million waits that time out (gets on an empty queue, puts on a full one) leave no
  waiter, no link and no memory behind (tracemalloc, after a warm-up and ``gc.collect()``).
* Kills: waiters killed in the same turn as the items or room handed to them give everything
  back; the queue holds exactly what was put and not got, and no task is lost track of.
"""

from __future__ import annotations

import asyncio
import gc
import random
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import Task, joinall, spawn
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

THREADS = 4
#: scale -> (greenlets per thread, items in all)
THREAD_SCALES = {"reduced": (20, 4_000), "full": (100, 100_000)}
#: scale -> timed-out waits in all
LEAK_SCALES = {"reduced": 20_000, "full": 1_000_000}
#: scale -> rounds of kills
KILL_SCALES = {"reduced": 200, "full": 10_000}
SCALES = [pytest.param("reduced"), pytest.param("full", marks=pytest.mark.stress)]

MAKERS: dict[str, Callable[[], Any]] = {
    "Queue(8)": lambda: Queue(8),
    "Queue()": Queue,
    "SimpleQueue(8)": lambda: SimpleQueue(8),
    "LifoQueue(8)": lambda: LifoQueue(8),
    "PriorityQueue(8)": lambda: PriorityQueue(8),
    "Channel": Channel,
}
STOP = (-1, -1, -1)  # ends a channel's consumers (a queue is shut down instead)


def settled(q: Any) -> None:
    assert (q.getting(), q.putting(), q.qsize()) == (0, 0, 0)
    assert_no_links(q)


# -- threads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("kind", list(MAKERS))
def test_four_threads_of_producers_and_consumers_deliver_every_item_exactly_once(
    kind: str, scale: str
) -> None:
    greenlets, total = THREAD_SCALES[scale]
    producers = THREADS * (greenlets // 2)
    per_producer = total // producers
    q = MAKERS[kind]()
    consumers = THREADS * (greenlets - greenlets // 2)
    guard = threading.Lock()
    left = [producers]
    timeouts = Counter[str]()

    def put(item: tuple[int, int, int], patient: bool) -> None:
        if patient:
            q.put(item)
            return
        while True:
            try:
                q.put(item, timeout=0.002)
                return
            except Full:
                with guard:
                    timeouts["put"] += 1

    def get(patient: bool) -> Any:
        if patient:
            return q.get()
        while True:
            try:
                return q.get(timeout=0.002)
            except Empty:
                with guard:
                    timeouts["get"] += 1

    def produce(thread: int, glet: int) -> list[Any]:
        for i in range(per_producer):
            put((thread, glet, i), patient=glet % 2 == 0)
        with guard:
            left[0] -= 1
            last = left[0] == 0
        if last:  # every item is in (or, for a channel, delivered): the consumers may stop
            if isinstance(q, Channel):
                for _ in range(consumers):
                    q.put(STOP)
            else:
                q.shutdown()  # consumers drain what is left, then see ShutDown
        return []

    def consume(glet: int) -> list[Any]:
        got: list[Any] = []
        while True:
            try:
                item = get(patient=glet % 2 == 0)
            except ShutDown:
                return got
            if item == STOP:
                return got
            got.append(item)
            if isinstance(q, Queue):
                q.task_done()

    def thread_main(thread: int) -> list[Any]:
        tasks: list[Task[list[Any]]] = []
        for glet in range(greenlets):
            if glet % 2:
                tasks.append(spawn(consume, glet // 2))
            else:
                tasks.append(spawn(produce, thread, glet // 2))
        joinall(tasks, raise_error=True)
        return [item for task in tasks for item in task.get()]

    started = time.perf_counter()
    results = run_in_threads(thread_main, THREADS, timeout=120, what=f"{kind} x {THREADS}")
    elapsed = time.perf_counter() - started
    delivered = Counter(item for result in results for item in result)  # type: ignore[attr-defined]
    expected = {
        (t, g, i): 1
        for t in range(THREADS)
        for g in range(greenlets // 2)
        for i in range(per_producer)
    }
    assert delivered == expected
    settled(q)
    if isinstance(q, Queue):
        assert q.unfinished_tasks == 0
        assert q.join(timeout=0)
    items = len(expected)
    print(
        f"\n[threads] {kind} {scale}: {THREADS} threads x {greenlets} greenlets, {items} items "
        f"({2 * items} puts and gets), {timeouts['put']} put and {timeouts['get']} get "
        f"timeouts, {elapsed:.2f}s"
    )


# -- leaks -------------------------------------------------------------------------------------


def time_out_many(
    makers: Callable[[], tuple[Any, Any]], waits: int, waiters: int = 20, check: bool = True
) -> None:
    """Have ``waiters`` greenlets time out ``waits`` times in all: half of them in gets on an
    empty queue, half in puts on a full one; then (``check``) assert that nobody waits."""
    empty, full = makers()
    per = waits // waiters
    counts = Counter[str]()

    def getter() -> None:
        for _ in range(per):
            try:
                empty.get(timeout=1e-6)
            except Empty:
                counts["get"] += 1

    def putter() -> None:
        for _ in range(per):
            try:
                full.put("never", timeout=1e-6)
            except Full:
                counts["put"] += 1

    tasks = [spawn(getter if i % 2 else putter) for i in range(waiters)]
    joinall(tasks, raise_error=True)
    assert counts == {"get": per * (waiters // 2), "put": per * (waiters - waiters // 2)}
    for q in (empty, full) if check else ():
        assert (q.getting(), q.putting()) == (0, 0)
        assert_no_links(q)


def _queue_pair(cls: type[SimpleQueue[Any]]) -> Callable[[], tuple[Any, Any]]:
    def make() -> tuple[Any, Any]:
        full = cls(1)
        full.put("kept")
        return cls(), full

    return make


LEAK_MAKERS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "Queue": _queue_pair(Queue),
    "SimpleQueue": _queue_pair(SimpleQueue),
    "LifoQueue": _queue_pair(LifoQueue),
    "PriorityQueue": _queue_pair(PriorityQueue),
    "Channel": lambda: (Channel(), Channel()),  # two: a getter and a putter would pair up
}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("kind", list(LEAK_MAKERS))
def test_a_million_waits_that_time_out_leave_no_waiter_and_no_memory_behind(
    kind: str, scale: str
) -> None:
    waits = LEAK_SCALES[scale]
    gc.collect()
    tracemalloc.start()
    try:
        time_out_many(LEAK_MAKERS[kind], 2_000)  # warm-up: free lists, the hub's structures
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        time_out_many(LEAK_MAKERS[kind], waits)
        elapsed = time.perf_counter() - started
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    print(
        f"\n[leaks] {kind} {scale}: {waits} timed-out waits in {elapsed:.2f}s (traced); "
        f"traced memory {before} -> {after} bytes ({after - before:+d})"
    )
    assert after - before < 64 * 1024


def test_error_messages_of_timed_out_waits_do_not_count_the_waiters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Counting can walk the waiters (a channel's putters): doing it in every message made n
    # simultaneous timeouts cost O(n**2) (16,000 getters: 7 s instead of 0.5 s).  Messages
    # describe the queue without its counts; the repr, which has them, is never built.
    counted = Counter[str]()

    def spy(cls: type[Any]) -> None:
        original: Callable[[Any], str] = cls.__dict__["__repr__"]

        def counting(self: Any) -> str:
            counted[type(self).__name__] += 1
            return original(self)

        monkeypatch.setattr(cls, "__repr__", counting)

    spy(SimpleQueue)
    spy(Channel)
    for make in LEAK_MAKERS.values():
        time_out_many(make, 400, waiters=200, check=False)
    assert counted == Counter(), counted


# -- kills ------------------------------------------------------------------------------------


KILL_MAKERS: dict[str, Callable[[], Any]] = {
    "Queue": lambda: Queue(8),
    "SimpleQueue": lambda: SimpleQueue(8),
    "LifoQueue": lambda: LifoQueue(8),
    "PriorityQueue": lambda: PriorityQueue(8),
    "Channel": Channel,
}


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("kind", list(KILL_MAKERS))
def test_storms_of_kills_at_hand_off_lose_nothing_and_hold_nothing(kind: str, scale: str) -> None:
    rounds = KILL_SCALES[scale]
    rng = random.Random(kind)
    q = KILL_MAKERS[kind]()
    got: list[int] = []
    put_ok: list[int] = []
    next_item = 0
    kills = 0
    for _ in range(rounds):
        # Some getters and putters wait; some of them are killed in the same turn as items
        # and room are handed out.
        getters = [spawn(lambda: got.append(q.get())) for _ in range(rng.randint(0, 4))]
        items = list(range(next_item, next_item + rng.randint(0, 6)))
        next_item += len(items)

        def putter(item: int) -> None:
            q.put(item)
            put_ok.append(item)

        putters = [spawn(putter, item) for item in items]
        run_until_blocked()
        doomed = [task for task in getters + putters if not task.ready() and rng.random() < 0.5]
        for task in doomed:
            task.kill(block=False)
        kills += len(doomed)
        while True:  # make room and take items until nothing moves
            try:
                got.append(q.get(timeout=0.0001) if isinstance(q, Channel) else q.get_nowait())
            except Empty:
                break
        run_until_blocked()
        # Every greenlet still waiting is let go the same way, so each round ends clean.
        for task in getters + putters:
            if not task.ready():
                task.kill(block=False)
                kills += 1
        run_until_blocked()
        assert all(task.ready() for task in getters + putters)
        got.extend(q.get_nowait() for _ in range(q.qsize()))  # items given back by the killed
        settled(q)
    assert len(set(got)) == len(got)  # nothing twice
    if isinstance(q, Channel):
        # Every item whose put returned was got; so were some items of putters killed in the
        # turn a getter took their item (gevent's semantics: see the channel's race tests),
        # and of no other putter.
        assert set(put_ok) <= set(got)
        assert set(got) <= set(range(next_item))
    else:
        # Every item whose put returned was got exactly once; no other item was.
        assert sorted(got) == sorted(put_ok)
    if isinstance(q, Queue):
        assert q.unfinished_tasks == len(put_ok)
    print(f"\n[kills] {kind} {scale}: {rounds} rounds, {kills} kills, {len(put_ok)} items put")


# -- greenlets and tasks in every thread -------------------------------------------------------

#: scale -> items in all (each put once and got once)
MIXED_SCALES = {"reduced": 4_000, "full": 100_000}


@pytest.mark.parametrize("scale", SCALES)
def test_four_threads_of_greenlets_and_tasks_deliver_every_item_exactly_once(scale: str) -> None:
    # Each of 4 threads runs an asyncio loop with 50 greenlets (through run_greenlet) and 50
    # tasks; half of each produce, half consume, all on one bounded Queue.  The last producer
    # to finish shuts the queue down; consumers drain it and stop.
    total = MIXED_SCALES[scale]
    per_side = 25  # producers (and consumers) of each kind per thread
    producers = THREADS * 2 * per_side
    per_producer = total // producers
    q: Queue[tuple[int, str, int, int]] = Queue(64)
    guard = threading.Lock()
    left = [producers]

    def finished_producing() -> None:
        with guard:
            left[0] -= 1
            last = left[0] == 0
        if last:
            q.shutdown()

    def thread_main(thread: int) -> list[Any]:
        from greensync.hub.aio import run_greenlet

        def green_producer(n: int) -> list[Any]:
            for i in range(per_producer):
                q.put((thread, "greenlet", n, i))
            finished_producing()
            return []

        def green_consumer() -> list[Any]:
            got = []
            for item in q:
                got.append(item)
                q.task_done()
            return got

        async def task_producer(n: int) -> list[Any]:
            for i in range(per_producer):
                await q.async_put((thread, "task", n, i))
            finished_producing()
            return []

        async def task_consumer() -> list[Any]:
            got = []
            async for item in q:
                got.append(item)
                q.task_done()
            return got

        async def main() -> list[Any]:
            workers: list[Any] = []
            for n in range(per_side):
                workers.append(run_greenlet(green_producer, n))
                workers.append(run_greenlet(green_consumer))
                workers.append(task_producer(n))
                workers.append(task_consumer())
            results = await asyncio.gather(*workers)
            return [item for result in results for item in result]

        return asyncio.run(main())

    started = time.perf_counter()
    results = run_in_threads(thread_main, THREADS, timeout=300, what="greenlets and tasks")
    elapsed = time.perf_counter() - started
    delivered = Counter(item for result in results for item in result)  # type: ignore[attr-defined]
    expected = {
        (t, kind, n, i): 1
        for t in range(THREADS)
        for kind in ("greenlet", "task")
        for n in range(per_side)
        for i in range(per_producer)
    }
    assert delivered == expected
    settled(q)
    assert (q.unfinished_tasks, q.join(timeout=0)) == (0, True)
    print(
        f"\n[mixed] {scale}: {THREADS} threads x ({per_side * 2} greenlets + {per_side * 2} "
        f"tasks), {len(expected)} items, {elapsed:.2f}s"
    )

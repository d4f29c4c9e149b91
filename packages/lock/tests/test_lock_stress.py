"""Long stress runs: many threads and greenlets, timeouts and kills mixed in, counts conserved.

Marked ``stress``: the shared pytest plugin skips them unless ``GREENSYNC_STRESS`` is set (the
nox ``stress`` session); the default run carries the reduced versions in the other modules.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from greensync.hub import Task, joinall, sleep, spawn
from greensync.hub.testing import assert_no_links, run_in_threads
from greensync.lock import (
    Barrier,
    BoundedSemaphore,
    CappedSemaphore,
    Condition,
    Lock,
    RLock,
    Semaphore,
)

pytestmark = pytest.mark.stress  # the shared plugin skips these unless GREENSYNC_STRESS is set

THREADS = 4
GREENLETS = 200
ROUNDS = 200


def _limiters() -> dict[str, Callable[[], Any]]:
    return {
        "Lock": Lock,
        "RLock": RLock,
        "Semaphore": lambda: Semaphore(3),
        "BoundedSemaphore": lambda: BoundedSemaphore(3),
        "CappedSemaphore": lambda: CappedSemaphore(3),
    }


@pytest.mark.parametrize("name", sorted(_limiters()))
def test_limit_holds_with_timeouts_and_kills(name: str) -> None:
    prim = _limiters()[name]()
    limit = 1 if name in ("Lock", "RLock") else 3
    stats = threading.Lock()
    inside = most = entered = 0

    def worker(seed: int) -> None:
        nonlocal inside, most, entered
        rng = random.Random(seed)
        for _ in range(ROUNDS):
            timeout = rng.choice([None, 0, 0.0005, 0.002])
            if not prim.acquire(timeout=timeout):
                continue
            with stats:  # no switch from acquire() to here: a kill cannot land in between
                inside += 1
                entered += 1
                most = max(most, inside)
            try:
                sleep(0)
            finally:  # a kill lands in sleep(); the holder still leaves properly
                with stats:
                    inside -= 1
                prim.release()

    def thread(t: int) -> None:
        rng = random.Random(t)
        tasks = [spawn(worker, t * GREENLETS + i) for i in range(GREENLETS)]
        victims: list[Task[None]] = rng.sample(tasks, GREENLETS // 10)
        for _ in range(5):
            sleep(0.001)
        for task in victims:
            task.kill(block=False)
        joinall(tasks)

    run_in_threads(thread, THREADS, timeout=300, what=f"{name} stress")
    assert most <= limit
    assert inside == 0
    assert entered > 0
    assert_no_links(prim)
    taken = 0
    while prim.acquire(blocking=False):
        taken += 1
        if name == "RLock" and taken == 1:
            break
    assert taken == limit


def test_condition_queue_conserves_items_under_stress() -> None:
    cond = Condition()
    items: list[int] = []
    taken: list[int] = []
    guard = threading.Lock()
    per_producer = 20

    def thread(t: int) -> None:
        def producer(base: int) -> None:
            for k in range(per_producer):
                with cond:
                    items.append(base + k)
                    cond.notify()
                if k % 3 == 0:
                    sleep(0)

        def consumer() -> None:
            for _ in range(per_producer):
                with cond:
                    while not items:
                        cond.wait(0.01)
                    item = items.pop(0)
                with guard:
                    taken.append(item)

        if t % 2:
            tasks = [spawn(producer, (t * GREENLETS + i) * 1000) for i in range(GREENLETS)]
        else:
            tasks = [spawn(consumer) for _ in range(GREENLETS)]
        joinall(tasks)
        assert all(task.successful() for task in tasks)

    run_in_threads(thread, THREADS, timeout=300, what="condition stress")
    total = (THREADS // 2) * GREENLETS * per_producer
    assert len(taken) == len(set(taken)) == total
    assert items == []


def test_barrier_trips_under_stress() -> None:
    trips = 0

    def action() -> None:
        nonlocal trips
        trips += 1

    parties = THREADS * 10
    barrier = Barrier(parties, action=action)
    seen: list[list[int]] = []
    guard = threading.Lock()

    def thread(_: int) -> None:
        def party() -> None:
            mine = [barrier.wait() for _ in range(ROUNDS)]
            with guard:
                seen.append(mine)

        joinall([spawn(party) for _ in range(10)])

    run_in_threads(thread, THREADS, timeout=300, what="barrier stress")
    assert trips == ROUNDS
    assert [sorted(trip) for trip in zip(*seen, strict=True)] == [list(range(parties))] * ROUNDS

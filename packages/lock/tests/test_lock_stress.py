"""Threads: many OS threads and greenlets on shared primitives, timeouts and kills mixed in.

Each test runs at two scales: ``reduced`` in the default run, and ``full`` (issue 8's figures:
4 OS threads x 100 greenlets, 100k operations in all) marked ``stress``, which the shared
pytest plugin skips unless ``GREENSYNC_STRESS`` is set (``nox -s stress``).  Both run the same
code.  Each test prints what it did (``pytest -s`` shows it): operations and wall time.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Scale:
    threads: int
    greenlets: int  # per thread
    operations: int  # in all, per test

    def __str__(self) -> str:
        return f"{self.threads} threads x {self.greenlets} greenlets"


REDUCED = Scale(threads=4, greenlets=25, operations=4_000)
FULL = Scale(threads=4, greenlets=100, operations=100_000)
SCALES = [
    pytest.param(REDUCED, id="reduced"),
    pytest.param(FULL, id="full", marks=pytest.mark.stress),
]


def report(line: str) -> None:
    print(f"\n[lock stress] {line}")


def _limiters() -> dict[str, Callable[[], Any]]:
    return {
        "Lock": Lock,
        "RLock": RLock,
        "Semaphore": lambda: Semaphore(3),
        "BoundedSemaphore": lambda: BoundedSemaphore(3),
        "CappedSemaphore": lambda: CappedSemaphore(3),
    }


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", sorted(_limiters()))
def test_limit_holds_with_timeouts_and_kills(name: str, scale: Scale, eager_gil: float) -> None:
    """Greenlets in every thread acquire one shared primitive (blocking, with a timeout, or
    not at all), hold it across a switch and release it; a tenth of them are killed midway.
    At most ``limit`` hold it at once, nothing is left waiting, and every unit is back."""
    prim = _limiters()[name]()
    limit = 1 if name in ("Lock", "RLock") else 3
    rounds = scale.operations // (scale.threads * scale.greenlets)
    stats = threading.Lock()
    inside = most = 0
    counts: Counter[str] = Counter()

    def thread(t: int) -> None:
        local: Counter[str] = Counter()

        def worker(seed: int) -> None:
            nonlocal inside, most
            rng = random.Random(seed)
            for _ in range(rounds):
                timeout = rng.choice([None, 0, 0.0005, 0.002])
                local["acquire"] += 1
                if not prim.acquire(timeout=timeout):
                    local["timed out" if timeout else "refused"] += 1
                    continue
                with stats:  # no switch from acquire() to here: a kill cannot land in between
                    inside += 1
                    most = max(most, inside)
                try:
                    sleep(0)
                finally:  # a kill lands in sleep(); the holder still leaves properly
                    with stats:
                        inside -= 1
                    prim.release()
                    local["release"] += 1

        rng = random.Random(t)
        tasks = [spawn(worker, t * scale.greenlets + i) for i in range(scale.greenlets)]
        victims: list[Task[None]] = rng.sample(tasks, scale.greenlets // 10)
        for _ in range(5):
            sleep(0.001)
        for task in victims:
            task.kill(block=False)
        joinall(tasks)
        local["killed"] += sum(1 for task in victims if task.exception is None and task.value)
        with stats:
            counts.update(local)

    started = time.perf_counter()
    run_in_threads(thread, scale.threads, timeout=100, what=f"{name} stress")
    elapsed = time.perf_counter() - started
    assert most <= limit
    assert inside == 0
    assert counts["release"] > 0
    assert counts["acquire"] <= scale.threads * scale.greenlets * rounds
    assert_no_links(prim)
    taken = 0
    while prim.acquire(blocking=False):
        taken += 1
        if name == "RLock" and taken == 1:
            break
    assert taken == limit
    report(
        f"{name}, {scale}: {counts['acquire']} acquires ({counts['release']} held and "
        f"released, {counts['timed out']} timed out, {counts['refused']} refused at once), "
        f"{counts['acquire'] + counts['release']} operations, at most {most} inside, "
        f"in {elapsed:.2f}s"
    )


@pytest.mark.parametrize("scale", SCALES)
def test_condition_queue_conserves_items_under_stress(scale: Scale, eager_gil: float) -> None:
    """Producers in half the threads append items and notify; consumers in the other half
    wait for them.  Every item is taken exactly once; nobody hangs."""
    cond = Condition()
    items: list[int] = []
    taken: list[int] = []
    guard = threading.Lock()
    producing_threads = scale.threads // 2
    # An item is two operations: a put (append + notify) and a get (wait + pop).
    per_producer = scale.operations // 2 // (producing_threads * scale.greenlets)
    waits = Counter[str]()

    def thread(t: int) -> None:
        local: Counter[str] = Counter()

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
                        local[f"wait {cond.wait(0.01)}"] += 1
                    item = items.pop(0)
                with guard:
                    taken.append(item)

        if t % 2:
            tasks = [
                spawn(producer, (t * scale.greenlets + i) * 100_000) for i in range(scale.greenlets)
            ]
        else:
            tasks = [spawn(consumer) for _ in range(scale.greenlets)]
        joinall(tasks)
        assert all(task.successful() for task in tasks)
        with guard:
            waits.update(local)

    started = time.perf_counter()
    run_in_threads(thread, scale.threads, timeout=100, what="condition stress")
    elapsed = time.perf_counter() - started
    total = producing_threads * scale.greenlets * per_producer
    assert len(taken) == len(set(taken)) == total
    assert items == []
    assert not cond.locked()
    assert_no_links(cond._line, cond._lock)
    report(
        f"Condition producer/consumer, {scale}: {total} items put and got "
        f"({2 * total} operations; waits: {dict(sorted(waits.items()))}) in {elapsed:.2f}s"
    )


@pytest.mark.parametrize("scale", SCALES)
def test_barrier_trips_under_stress(scale: Scale, eager_gil: float) -> None:
    """Ten parties per thread meet at one barrier, round after round; the action runs once
    per trip and every trip hands out each index once."""
    trips = 0

    def action() -> None:
        nonlocal trips
        trips += 1

    per_thread = 10
    parties = scale.threads * per_thread
    rounds = max(1, scale.operations // 500)  # 200 trips at full scale, 8 reduced
    barrier = Barrier(parties, action=action)
    seen: list[list[int]] = []
    guard = threading.Lock()

    def thread(_: int) -> None:
        def party() -> None:
            mine = [barrier.wait() for _ in range(rounds)]
            with guard:
                seen.append(mine)

        joinall([spawn(party) for _ in range(per_thread)])

    started = time.perf_counter()
    run_in_threads(thread, scale.threads, timeout=100, what="barrier stress")
    elapsed = time.perf_counter() - started
    assert trips == rounds
    assert [sorted(trip) for trip in zip(*seen, strict=True)] == [list(range(parties))] * rounds
    assert barrier.broken is False
    assert_no_links(barrier._line)
    report(
        f"Barrier, {scale.threads} threads x {per_thread} parties: {rounds} trips "
        f"({rounds * parties} waits) in {elapsed:.2f}s"
    )

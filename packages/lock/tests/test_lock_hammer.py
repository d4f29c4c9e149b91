"""OS threads hammering one primitive with the GIL switching mid-operation (issue 12).

The uncontended paths take no mutex (DESIGN rule 10): each step is one atomic list
operation, and a waiter re-checks after joining the line.  These tests make threads switch
every microsecond (``sys.setswitchinterval(1e-6)``, restored afterwards), so a thread is
interrupted inside the primitives' pop-then-check and append-then-check sequences, and check
that nothing is lost or doubled: at most ``units`` holders at once, an increment made under
the primitive never lost, every permit back at the end, nobody left in a line.

Two scales: ``reduced`` in the default run and ``full`` (a million operations; 4 threads x
50 greenlets and 50 asyncio tasks for the mixed run) marked ``stress``.  The thread tests
are marked ``contract`` too, so the chaos session runs them under its seeds
(``GREENSYNC_CHAOS`` gives every thread a seeded chaos hub).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from greensync.hub import aio, joinall, spawn
from greensync.hub.testing import run_in_threads
from greensync.lock import BoundedSemaphore, CappedSemaphore, Lock, RLock, Semaphore

PRIMITIVES: dict[str, tuple[Callable[[], Any], int]] = {
    "Semaphore": (lambda: Semaphore(2), 2),
    "BoundedSemaphore": (lambda: BoundedSemaphore(2), 2),
    "CappedSemaphore": (lambda: CappedSemaphore(2), 2),
    "Lock": (Lock, 1),
    "RLock": (RLock, 1),
}

HAMMER = [
    pytest.param(20_000, id="reduced"),
    pytest.param(1_000_000, id="full", marks=pytest.mark.stress),
]


def report(line: str) -> None:
    print(f"\n[lock hammer] {line}")


@pytest.fixture
def switch_every_microsecond() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class Tally:
    """What the holders of one primitive saw, kept with atomic list operations."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.inside: list[int] = []
        self.crowded: list[int] = []
        self.total = 0  # incremented while holding: a broken exclusion loses increments

    def hold(self) -> None:
        inside = self.inside
        inside.append(1)
        if len(inside) > self.units:
            self.crowded.append(len(inside))
        total = self.total
        for _ in range(20):  # a little work while holding: threads switch in here too
            pass
        if self.units == 1:
            self.total = total + 1
        inside.pop()


def _round(prim: Any, tally: Tally, i: int) -> None:
    """One operation: mostly blocking acquires, some non-blocking and timed ones."""
    which = i % 8
    if which == 0:
        if not prim.acquire(blocking=False):
            return
    elif which == 1:
        if not prim.acquire(timeout=0.05):
            return
    else:
        prim.acquire()
    try:
        if isinstance(prim, RLock):
            with prim:  # the owner re-enters without waiting
                tally.hold()
        else:
            tally.hold()
    finally:
        prim.release()


@pytest.mark.contract
@pytest.mark.parametrize("operations", HAMMER)
@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_threads_hammering_one_primitive_conserve_it(
    name: str, threads: int, operations: int, switch_every_microsecond: None
) -> None:
    make, units = PRIMITIVES[name]
    prim = make()
    tally = Tally(units)
    per = operations // threads
    done = [0] * threads

    def worker(index: int) -> None:
        for i in range(per):
            _round(prim, tally, i)
        done[index] = per

    started = time.perf_counter()
    run_in_threads(worker, threads, timeout=600.0, what=f"{threads} threads on a {name}")
    elapsed = time.perf_counter() - started
    contended = prim.waitline is not None
    report(
        f"{name}: {threads} threads x {per} operations in {elapsed:.2f}s, contended: {contended}"
    )
    assert sum(done) == per * threads
    assert tally.crowded == []
    if units == 1:
        exclusive = sum(1 for i in range(per) if i % 8 > 1) * threads
        assert tally.total >= exclusive  # every blocking round held it, none lost its write
    assert prim.linkcount() == 0
    if isinstance(prim, (Lock, RLock)):
        assert not prim.locked()
    else:
        assert prim.counter == units


MIXED = [
    pytest.param((4, 10, 10, 4_000), id="reduced"),
    pytest.param((4, 50, 50, 100_000), id="full", marks=pytest.mark.stress),
]


@pytest.mark.parametrize("scale", MIXED)
def test_greenlets_and_tasks_of_four_threads_share_one_semaphore(
    scale: tuple[int, int, int, int],
) -> None:
    """Each thread runs an asyncio loop with greenlets (on the loop-bound hub) and tasks;
    all of them take and give back permits of one Semaphore."""
    threads, greenlets, tasks, operations = scale
    permits = 5
    sem = Semaphore(permits)
    tally = Tally(permits)
    workers = threads * (greenlets + tasks)
    per = max(1, operations // workers)
    finished = [0] * threads

    def glet_worker() -> int:
        for i in range(per):
            _round(sem, tally, i)
        return per

    async def task_worker() -> int:
        for i in range(per):
            if i % 4 == 0:
                if not await sem.async_acquire(timeout=0.05):
                    continue
            else:
                await sem.async_acquire()
            try:
                tally.hold()
                await asyncio.sleep(0)
            finally:
                sem.release()
        return per

    def thread_main(index: int) -> None:
        def greenlets_part() -> int:
            spawned = [spawn(glet_worker) for _ in range(greenlets)]
            joinall(spawned)
            return sum(task.get() for task in spawned)

        async def main() -> int:
            coros = [task_worker() for _ in range(tasks)]
            results = await asyncio.gather(aio.run_greenlet(greenlets_part), *coros)
            return sum(results)

        finished[index] = asyncio.run(main())

    started = time.perf_counter()
    run_in_threads(thread_main, threads, timeout=600.0, what="greenlets and tasks")
    elapsed = time.perf_counter() - started
    report(
        f"Semaphore({permits}): {threads} threads x ({greenlets} greenlets + {tasks} tasks) "
        f"x {per} operations in {elapsed:.2f}s"
    )
    assert sum(finished) == per * workers
    assert tally.crowded == []
    assert (sem.counter, sem.linkcount()) == (permits, 0)

"""Leaks: waits that time out, and waiters that are killed, leave nothing behind.

Each test runs at two scales: ``reduced`` in the default run (15k timed-out waits), and
``full`` (issue 8's figure: a million timed-out waits across every primitive) marked
``stress``, which the shared pytest plugin skips unless ``GREENSYNC_STRESS`` is set.  Memory is
traced with tracemalloc after a warm-up and ``gc.collect()``; each test prints the traced
memory before and after (``pytest -s`` shows it).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from greenlet import GreenletExit

from greensync.hub import spawn
from greensync.hub.testing import assert_no_links, run_until_blocked, spawn_all
from greensync.lock import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    CappedSemaphore,
    Condition,
    Lock,
    RLock,
    Semaphore,
)


@dataclass(frozen=True)
class Scale:
    timed_out_waits: int
    kill_rounds: int


REDUCED = Scale(timed_out_waits=15_000, kill_rounds=6)
FULL = Scale(timed_out_waits=1_000_000, kill_rounds=100)
SCALES = [
    pytest.param(REDUCED, id="reduced"),
    pytest.param(FULL, id="full", marks=pytest.mark.stress),
]

#: Growth of traced memory allowed across a leak test, after a warm-up.  Generous: the bound
#: is there to catch a per-wait leak (a million waits leaking 8 bytes each is 8 MB).
MEMORY_BOUND = 256 * 1024


def report(line: str) -> None:
    print(f"\n[lock leaks] {line}")


def _traced(warm_up: Callable[[], object], run: Callable[[], object]) -> tuple[int, int]:
    """Run ``warm_up()`` then ``run()`` under tracemalloc; return the traced memory after each.

    The warm-up runs traced too, so what it leaves behind on purpose (the hub's timer heap at
    its high-water mark, dead records not compacted yet) counts before as well as after, and
    only what ``run()`` adds on top shows as growth.
    """
    gc.collect()
    tracemalloc.start()
    try:
        warm_up()
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        run()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return before, after


class Blocked:
    """One of each primitive, set up so that every wait on it blocks until it times out."""

    def __init__(self) -> None:
        self.semaphore = Semaphore(0)
        self.bounded = BoundedSemaphore(1)
        assert self.bounded.acquire()
        # Two: an acquire finds a blocked releaser's permit, and the other way round.
        self.capped_floor = CappedSemaphore(0, upper_bound=5)  # acquires wait
        self.capped_ceiling = CappedSemaphore(1)  # releases wait
        self.lock = Lock()
        assert self.lock.acquire()
        self.rlock = RLock()
        assert self.rlock.acquire()  # owned by the test's main greenlet
        self.cond = Condition()

    def waits(self) -> list[tuple[str, Callable[[float | None], object], object]]:
        """(name, a wait with a timeout, what it returns when it times out)."""
        cond = self.cond

        def condition_wait(timeout: float | None) -> bool:
            with cond:
                return cond.wait(timeout)

        return [
            ("Semaphore.acquire", lambda t: self.semaphore.acquire(timeout=t), False),
            ("Semaphore.wait", self.semaphore.wait, 0),
            ("BoundedSemaphore.acquire", lambda t: self.bounded.acquire(timeout=t), False),
            ("CappedSemaphore.acquire", lambda t: self.capped_floor.acquire(timeout=t), False),
            ("CappedSemaphore.release", lambda t: self.capped_ceiling.release(timeout=t), False),
            ("Lock.acquire", lambda t: self.lock.acquire(timeout=t), False),
            ("RLock.acquire", lambda t: self.rlock.acquire(timeout=t), False),
            ("Condition.wait", condition_wait, False),
        ]

    def linkables(self) -> list[Any]:
        return [
            self.semaphore,
            self.bounded,
            self.capped_floor,
            self.capped_ceiling,
            self.lock,
            self.rlock,
            self.cond._line,
            self.cond._lock,
        ]

    def state(self) -> tuple[object, ...]:
        return (
            self.semaphore.counter,
            self.bounded.counter,
            self.capped_floor.counter,
            self.capped_ceiling.counter,
            self.lock.locked(),
            self.rlock._count,
            self.cond.locked(),
        )


UNTOUCHED = (0, 0, 0, 1, True, 1, False)


@pytest.mark.parametrize("scale", SCALES)
def test_timed_out_waits_leave_no_links_and_memory_flat(scale: Scale) -> None:
    """500 greenlets time out over and over on one of each primitive (and a Barrier of their
    own, which each timeout breaks and each greenlet resets): nothing is left on any of them,
    no permit appears or vanishes, and memory does not grow."""
    blocked = Blocked()
    waits = blocked.waits()
    kinds = len(waits) + 1  # and the barriers
    greenlets = 500
    timeout = 0.0001
    tally: Counter[str] = Counter()
    barriers = [Barrier(2) for _ in range(greenlets)]

    def worker(number: int, count: int) -> int:
        barrier = barriers[number]
        local: Counter[str] = Counter()
        for i in range(count):
            which = (number + i) % kinds
            if which == len(waits):
                try:
                    barrier.wait(timeout)
                except BrokenBarrierError:
                    barrier.reset()
                    local["Barrier.wait"] += 1
                    continue
                raise AssertionError("Barrier.wait passed alone")
            name, wait, timed_out = waits[which]
            assert wait(timeout) == timed_out, name
            local[name] += 1
        tally.update(local)
        return count

    def run(total: int) -> int:
        per = total // greenlets
        tasks = [spawn(worker, number, per) for number in range(greenlets)]
        return sum(task.get() for task in tasks)

    done = [0]
    started = time.perf_counter()
    before, after = _traced(
        lambda: run(greenlets * 2 * kinds), lambda: done.__setitem__(0, run(scale.timed_out_waits))
    )
    elapsed = time.perf_counter() - started
    assert done[0] == scale.timed_out_waits
    assert sum(tally.values()) == scale.timed_out_waits + greenlets * 2 * kinds
    assert_no_links(*blocked.linkables(), *(barrier._line for barrier in barriers))
    assert blocked.state() == UNTOUCHED
    assert all(barrier.n_waiting == 0 and not barrier.broken for barrier in barriers)
    report(
        f"{done[0]} timed-out waits in {elapsed:.2f}s under tracemalloc "
        f"({dict(sorted(tally.items()))} with the warm-up): traced memory {before} -> {after} "
        f"bytes ({after - before:+d})"
    )
    assert after - before < MEMORY_BOUND


@pytest.mark.parametrize("scale", SCALES)
def test_killed_waiters_hold_nothing_and_memory_flat(scale: Scale) -> None:
    """Rounds of waiters are killed while parked on every primitive.  A kill releases
    nothing and leaves nothing: only the long-lived keepers are left waiting, no permit
    appears, the condition's keeper is woken at most spuriously (and waits again), and
    memory does not grow from round to round."""
    blocked = Blocked()
    cond = blocked.cond
    released = [False]
    keepers_done: list[str] = []

    def keeper(name: str, wait: Callable[[], object]) -> None:
        wait()
        keepers_done.append(name)

    def condition_keeper() -> None:
        with cond:
            cond.wait_for(lambda: released[0])
        keepers_done.append("Condition")

    untimed = [(name, wait) for name, wait, _ in blocked.waits() if name != "Condition.wait"]

    def untimed_wait(wait: Callable[[float | None], object]) -> Callable[[], object]:
        return lambda: wait(None)

    keepers = [spawn(keeper, name, untimed_wait(wait)) for name, wait in untimed]
    keepers.append(spawn(condition_keeper))
    run_until_blocked()
    baseline = [obj.linkcount() for obj in blocked.linkables()]
    barrier = Barrier(1_000_000)  # never trips: every kill breaks it, and it is reset
    per_round = 320
    kills: Counter[str] = Counter()

    def victim(index: int) -> None:
        if index % 10 == 9:
            try:
                barrier.wait()
            except BrokenBarrierError:
                pass  # another victim's kill broke it
            return
        if index % 10 == 8:
            with cond:
                cond.wait()
            return
        untimed[index % len(untimed)][1](None)

    def one_round() -> None:
        victims = spawn_all(victim, range(per_round))
        run_until_blocked()
        for task in victims:
            task.kill(block=False)
        run_until_blocked()
        assert all(task.dead for task in victims)
        for task in victims:
            value: object = task.value
            kills["killed" if isinstance(value, GreenletExit) else "ended otherwise"] += 1
        assert [obj.linkcount() for obj in blocked.linkables()] == baseline
        assert blocked.state() == UNTOUCHED
        assert barrier.broken is True
        barrier.reset()
        assert keepers_done == []

    def rounds() -> None:
        for _ in range(scale.kill_rounds):
            one_round()

    def warm_up() -> None:
        # Records of killed waiters are compacted once they outnumber the live ones, so a
        # few dozen dead ones may stay on each object between compactions; a few rounds
        # bring that residue to its steady size.
        for _ in range(3):
            one_round()

    before, after = _traced(warm_up, rounds)
    # Let the keepers go: they were never given anything by the kills around them.
    blocked.semaphore.release(2)  # one for acquire(), one for wait()'s sake
    blocked.bounded.release()
    assert blocked.capped_floor.release() is True  # to the blocked acquirer
    assert blocked.capped_ceiling.acquire() is True  # takes the blocked releaser's permit
    blocked.lock.release()
    blocked.rlock.release()
    with cond:
        released[0] = True
        cond.notify_all()
    run_until_blocked()
    assert all(task.dead for task in keepers)
    assert sorted(keepers_done) == sorted([name for name, _ in untimed] + ["Condition"])
    assert_no_links(*blocked.linkables(), barrier._line)
    report(
        f"{kills['killed']} waiters killed while parked in {scale.kill_rounds + 3} rounds "
        f"(with the warm-up; {kills['ended otherwise']} more ended first, broken barrier or "
        f"spurious condition wake-up): traced memory {before} -> {after} bytes "
        f"({after - before:+d})"
    )
    assert after - before < MEMORY_BOUND


def test_a_leak_would_be_seen() -> None:
    """The memory check can fail: waits that each leave 100 bytes behind are caught."""
    sem = Semaphore(0)
    kept: list[bytes] = []

    def leaky(count: int) -> None:
        for _ in range(count):
            sem.acquire(timeout=0)
            kept.append(bytes(100))

    before, after = _traced(lambda: leaky(100), lambda: leaky(5_000))
    assert after - before > 5_000 * 100

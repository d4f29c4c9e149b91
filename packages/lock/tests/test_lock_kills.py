"""Killed tasks release nothing they did not hold, and hold nothing after.

For every primitive: a holder killed inside its ``with`` block gives back exactly what it held
(an RLock every level of it), no more; a waiter killed while parked gives back nothing (the
other holders keep what they hold, and a later release goes to the next live waiter); a task
killed before it started touches nothing.  A waiter killed after being handed a unit, in the
same turn, is covered by ``test_lock_races.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from greenlet import GreenletExit, getcurrent

from greensync.hub import Task, Waiter, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked
from greensync.lock import Barrier, BoundedSemaphore, CappedSemaphore, Condition, Lock, RLock

if TYPE_CHECKING:
    from packages.lock.tests.conftest import Kind

pytestmark = pytest.mark.contract


def killed(task: Task[Any]) -> bool:
    value: object = task.value
    return task.ready() and task.exception is None and isinstance(value, GreenletExit)


def exhausted(kind: Kind, prim: Any) -> bool:
    """Take every unit, check that one more is refused, and give them back."""
    kind.take_all(prim)
    other = spawn(prim.acquire, blocking=False)
    run_until_blocked()
    refused = other.get() is False
    kind.give_all(prim)
    return refused


def test_holder_killed_inside_with_gives_back_exactly_what_it_held(kind: Kind) -> None:
    prim = kind.make()
    for _ in range(kind.units - 1):  # the test holds every unit but one
        assert prim.acquire(blocking=False)
    forever: Waiter[None] = Waiter()

    def holder() -> None:
        with prim:
            if kind.owned:
                with prim:  # an RLock, two levels deep
                    forever.get()
            forever.get()

    task = spawn(holder)
    run_until_blocked()
    assert kind.free(prim) == 0
    if isinstance(prim, RLock):
        assert prim._count == 2

    def take_and_give() -> bool:
        got = kind.take(prim)
        kind.give(prim)
        return got

    queued = spawn(take_and_give)
    run_until_blocked()
    task.kill()
    run_until_blocked()
    assert killed(task)
    # The one unit the holder held went to the greenlet queued for it, which gave it back;
    # ours are still ours.
    assert queued.get() is True
    assert kind.free(prim) == 1
    assert_no_links(prim)
    for _ in range(kind.units - 1):
        kind.give(prim)  # a BoundedSemaphore refuses one release too many
    assert kind.free(prim) == kind.units
    assert exhausted(kind, prim)


def test_waiter_killed_while_parked_gives_back_nothing(kind: Kind) -> None:
    prim = kind.make()
    kind.take_all(prim)
    if kind.owned:
        assert prim.acquire()  # two levels
    got: list[str] = []

    def waiter(name: str) -> None:
        if kind.take(prim):
            got.append(name)

    victim = spawn(waiter, "victim")
    run_until_blocked()
    patient = spawn(waiter, "patient")
    run_until_blocked()
    victim.kill()
    run_until_blocked()
    assert killed(victim)
    assert (kind.free(prim), prim.linkcount(), got) == (0, 1, [])
    if isinstance(prim, RLock):
        assert (prim._owner, prim._count) == (getcurrent(), 2)  # still ours, both levels
        prim.release()
    kind.give(prim)
    run_until_blocked()
    assert got == ["patient"]  # the unit went to the live waiter, not to the dead one
    if not kind.owned:
        kind.give(prim)  # on behalf of "patient"
        for _ in range(kind.units - 1):
            kind.give(prim)  # a BoundedSemaphore accepts exactly the units we took
        assert kind.free(prim) == kind.units
        assert exhausted(kind, prim)
    assert patient.dead
    assert_no_links(prim)


def test_task_killed_before_it_started_touches_nothing(kind: Kind) -> None:
    prim = kind.make()
    task = spawn(kind.take, prim)
    task.kill()
    run_until_blocked()
    assert killed(task)
    assert kind.free(prim) == kind.units
    assert_no_links(prim)
    assert exhausted(kind, prim)


def test_bounded_semaphore_holders_killed_never_over_release() -> None:
    """Every holder killed inside its ``with`` block releases once: after all of them, the
    semaphore is full and one more release is still refused."""
    sem = BoundedSemaphore(3)
    forever: Waiter[None] = Waiter()

    def holder() -> None:
        with sem:
            forever.get()

    tasks = [spawn(holder) for _ in range(5)]  # three hold, two wait
    run_until_blocked()
    assert (sem.counter, sem.balance) == (0, -2)
    for task in tasks:
        task.kill()
    run_until_blocked()
    assert all(killed(task) for task in tasks)
    assert (sem.counter, sem.balance) == (3, 3)
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert_no_links(sem)


def test_capped_releaser_killed_while_blocked_releases_nothing() -> None:
    sem = CappedSemaphore(1)  # at its upper bound: a release blocks
    victim = spawn(sem.release)
    run_until_blocked()
    patient = spawn(sem.release)
    run_until_blocked()
    assert sem.balance == 3
    victim.kill()
    run_until_blocked()
    assert killed(victim)
    assert (sem.counter, sem.balance, sem.linkcount()) == (1, 2, 1)
    assert sem.acquire() is True  # takes the live releaser's permit
    run_until_blocked()
    assert patient.get() is True
    assert (sem.counter, sem.balance) == (1, 1)
    assert sem.acquire() is True  # from the counter: the dead releaser added nothing
    assert sem.acquire(blocking=False) is False
    assert sem.counter == 0
    assert_no_links(sem)


@pytest.mark.parametrize("lock_type", [Lock, RLock])
def test_condition_waiter_killed_leaves_the_lock_to_its_holder(
    lock_type: type[Lock | RLock],
) -> None:
    """A waiter killed in ``wait()`` while another greenlet holds the lock waits for the lock
    before it leaves (``wait`` re-acquires however it ends), so it never takes the lock from
    the holder, and releases it as its ``with`` block unwinds: it holds nothing after."""
    lock = lock_type()
    cond = Condition(lock)

    def waiter() -> None:
        with cond:
            cond.wait()

    task = spawn(waiter)
    run_until_blocked()
    with cond:
        if isinstance(lock, RLock):
            lock.acquire()  # two levels, which must survive the waiter's leaving
        task.kill(block=False)
        run_until_blocked()
        assert not task.dead  # waiting for the lock we hold
        assert cond.locked()
        if isinstance(lock, RLock):
            assert (lock._owner, lock._count) == (getcurrent(), 2)
            lock.release()
    run_until_blocked()
    assert killed(task)
    assert not cond.locked()
    assert_no_links(cond._line, lock)


def test_condition_holder_killed_outside_wait_releases_the_lock() -> None:
    cond = Condition()
    forever: Waiter[None] = Waiter()

    def holder() -> None:
        with cond:
            forever.get()

    task = spawn(holder)
    run_until_blocked()
    assert cond.locked()
    task.kill()
    assert killed(task)
    assert not cond.locked()
    with cond:
        cond.notify()  # nobody waits: a no-op
    assert_no_links(cond._line, cond._lock)


def test_barrier_party_killed_holds_no_place_after_reset() -> None:
    barrier = Barrier(3)
    tasks = [spawn(barrier.wait) for _ in range(2)]
    run_until_blocked()
    assert barrier.n_waiting == 2
    tasks[0].kill()
    run_until_blocked()
    assert killed(tasks[0])
    assert barrier.broken is True
    assert tasks[1].dead
    barrier.reset()
    assert (barrier.n_waiting, barrier.broken) == (0, False)
    parties = [spawn(barrier.wait) for _ in range(2)]
    run_until_blocked()
    assert barrier.n_waiting == 2  # the killed party takes no place in the new trip
    assert barrier.wait() == 2
    run_until_blocked()
    assert sorted(task.get() for task in parties) == [0, 1]
    assert_no_links(barrier._line)

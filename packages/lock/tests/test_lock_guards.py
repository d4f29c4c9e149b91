"""Guards for behaviours that no other lock test pins down (issue 19), through public APIs only.

* ``CappedSemaphore`` one past its upper bound and one below its lower bound, where a permit
  given back by a waiter that left early can leave the counter (items 2 and 3);
* a ``Condition`` waiter killed around the moment ``notify`` moves it to the lock's line
  (item 4);
* a waiter of a hub that was destroyed and later killed (item 5);
* the count of live waiters after early leavers, where ``CappedSemaphore`` prunes its lines
  while answering ``ready()``, ``locked()`` and ``bounded()`` (item 6).

They use the primitives' public methods and ``greensync.hub``'s public names only, so they hold
whatever the wait lines become.  Nothing here asserts how long anything took; a wait on another
thread is bounded and fails naming what did not happen.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from greenlet import GreenletExit, getcurrent

from greensync.hub import get_hub, joinall, sleep, spawn
from greensync.hub.testing import Trace, assert_no_links, run_until_blocked
from greensync.lock import CappedSemaphore, Condition, Lock, RLock

if TYPE_CHECKING:
    from packages.lock.tests.conftest import Kind

#: How long a test waits for another thread before it fails, naming what did not happen.
BOUND = 5.0
#: A timeout meant to expire, long enough that it cannot expire before the test looks.
SHORT = 0.2


def _acquirer(sem: CappedSemaphore, trace: Trace, name: str, timeout: float | None) -> None:
    try:
        got = sem.acquire(timeout=timeout)
    except GreenletExit:
        trace(f"{name} killed")
        raise
    trace(f"{name} {'acquired' if got else 'timed out'}")


def _releaser(sem: CappedSemaphore, trace: Trace, name: str, timeout: float | None) -> None:
    try:
        done = sem.release(timeout=timeout)
    except GreenletExit:
        trace(f"{name} killed")
        raise
    trace(f"{name} {'released' if done else 'timed out'}")


# -- CappedSemaphore past its bounds (items 2 and 3) ----------------------------------------


def test_capped_acquire_one_past_the_upper_bound_leaves_a_blocked_releaser_blocked() -> None:
    sem = CappedSemaphore(1, lower_bound=1, upper_bound=1)
    trace = Trace()
    # An acquirer is handed a released permit and killed before it runs: the permit comes
    # back to the counter, which ends one past the upper bound (documented in the class).
    acquirer = spawn(_acquirer, sem, trace, "acquirer", None)
    run_until_blocked()
    acquirer.kill(block=False)
    assert sem.release() is True
    run_until_blocked()
    assert trace == ["acquirer killed"]
    assert sem.counter == 2
    # A releaser now blocks: the counter is past the upper bound.
    spawn(_releaser, sem, trace, "releaser", None)
    run_until_blocked()
    assert trace == ["acquirer killed"]
    assert sem.linkcount() == 1
    # This acquire brings the counter down to the upper bound.  The blocked releaser cannot
    # release now (that would pass the bound again): its permit must stay with it.
    assert sem.acquire(blocking=False) is True
    run_until_blocked()
    assert trace == ["acquirer killed"], (
        "an acquire one past the upper bound took the permit of the releaser blocked there"
    )
    assert sem.counter == 1
    assert sem.linkcount() == 1
    # The next acquire, at the lower bound, does take the releaser's permit.
    assert sem.acquire(blocking=False) is True
    run_until_blocked()
    assert trace == ["acquirer killed", "releaser released"]
    assert sem.counter == 1
    assert_no_links(sem)


def test_capped_one_below_the_lower_bound_fires_no_rawlink_until_ready() -> None:
    sem = CappedSemaphore(1, lower_bound=1, upper_bound=1)
    trace = Trace()
    # A releaser blocks at the upper bound; an acquire takes its permit directly; the
    # releaser is killed before it runs, so its release never happened: the counter ends one
    # below the lower bound (documented in the class).
    releaser = spawn(_releaser, sem, trace, "releaser", None)
    run_until_blocked()
    releaser.kill(block=False)
    assert sem.acquire(blocking=False) is True
    run_until_blocked()
    assert trace == ["releaser killed"]
    assert sem.counter == 0
    seen: list[object] = []
    sem.rawlink(seen.append)
    assert not sem.ready()
    # One release brings the counter up to the lower bound: still not ready.
    assert sem.release(blocking=False) is True
    run_until_blocked()
    assert sem.counter == 1
    assert not sem.ready()
    assert seen == [], "a rawlink callback fired while the semaphore was not ready"
    assert sem.linkcount() == 1
    # A releaser blocking at the upper bound makes an acquire possible: now it fires.
    spawn(_releaser, sem, trace, "second releaser", None)
    run_until_blocked()
    assert sem.ready()
    assert seen == [sem]
    assert sem.acquire(blocking=False) is True
    run_until_blocked()
    assert trace == ["releaser killed", "second releaser released"]
    assert_no_links(sem)


# -- the count of live waiters, where CappedSemaphore prunes its lines (item 6) -------------


def test_capped_state_queries_keep_the_count_of_live_releasers_exact() -> None:
    sem = CappedSemaphore(1, lower_bound=1, upper_bound=1)
    trace = Trace()
    # Two releasers at the head of the line give up; the third waits for good.
    for name, timeout in [("r0", SHORT), ("r1", SHORT), ("r2", None)]:
        spawn(_releaser, sem, trace, name, timeout)
    run_until_blocked()
    assert sem.linkcount() == 3
    sleep(2 * SHORT)
    assert trace == ["r0 timed out", "r1 timed out"]
    assert sem.linkcount() == 1
    # Each query may pass over the dead releasers: the count must not change.
    assert sem.ready() is True
    assert sem.linkcount() == 1, "ready() left the count of live releasers wrong"
    assert sem.locked() is False
    assert sem.linkcount() == 1, "locked() left the count of live releasers wrong"
    assert sem.balance == 2
    assert sem.linkcount() == 1
    assert sem.acquire(blocking=False) is True  # takes r2's permit
    run_until_blocked()
    assert trace[-1] == "r2 released"
    assert sem.linkcount() == 0
    assert sem.counter == 1
    assert_no_links(sem)


def test_capped_state_queries_keep_the_count_of_live_acquirers_exact() -> None:
    sem = CappedSemaphore(1, lower_bound=1, upper_bound=1)
    trace = Trace()
    for name, timeout in [("a0", SHORT), ("a1", SHORT), ("a2", None)]:
        spawn(_acquirer, sem, trace, name, timeout)
    run_until_blocked()
    assert sem.linkcount() == 3
    sleep(2 * SHORT)
    assert trace == ["a0 timed out", "a1 timed out"]
    assert sem.linkcount() == 1
    assert sem.bounded() is False  # a release would hand its permit to a2
    assert sem.linkcount() == 1, "bounded() left the count of live acquirers wrong"
    assert sem.balance == 0
    assert sem.release(blocking=False) is True
    run_until_blocked()
    assert trace[-1] == "a2 acquired"
    assert sem.linkcount() == 0
    assert sem.counter == 1
    assert sem.bounded() is True
    assert_no_links(sem)


# -- a Condition waiter killed around notify (item 4) ---------------------------------------

LOCKS: list[Callable[[], Lock | RLock]] = [Lock, RLock]


def _condition_waiters(cond: Condition, trace: Trace, names: list[str]) -> dict[str, Any]:
    def waiter(name: str) -> None:
        with cond:
            try:
                notified = cond.wait()
            except GreenletExit:
                trace(f"{name} killed")
                raise
            trace(f"{name} {'notified' if notified else 'timed out'}")

    tasks = {name: spawn(waiter, name) for name in names}
    run_until_blocked()
    return tasks


def _condition_waiting(cond: Condition) -> int:
    """The number of waiters a Condition's repr reports (its only public count)."""
    found = re.search(r"waiters=(-?\d+)>$", repr(cond))
    assert found is not None, f"no waiter count in {cond!r}"
    return int(found.group(1))


@pytest.mark.parametrize("make_lock", LOCKS, ids=lambda f: f.__name__)
def test_waiter_killed_before_notify_is_passed_over_and_not_counted(
    make_lock: Callable[[], Lock | RLock],
) -> None:
    lock = make_lock()
    cond = Condition(lock)
    trace = Trace()
    tasks = _condition_waiters(cond, trace, ["w1", "w2", "w3"])
    assert _condition_waiting(cond) == 3
    assert cond.acquire()
    tasks["w1"].kill(block=False)
    run_until_blocked()  # w1 leaves wait() and queues for the lock, which we hold
    assert _condition_waiting(cond) == 2
    assert lock.linkcount() == 1
    cond.notify(1)  # must pass over w1 and choose w2
    assert _condition_waiting(cond) == 1, "the killed waiter is still counted by the condition"
    assert lock.linkcount() == 2, "the lock's line does not hold w1 and w2 alone"
    cond.release()
    run_until_blocked()
    # w1 passes a notification on when it leaves (it may have been the one chosen): w3.
    assert trace == ["w1 killed", "w2 notified", "w3 notified"]
    assert _condition_waiting(cond) == 0
    assert lock.linkcount() == 0
    assert not lock.locked()


@pytest.mark.parametrize("make_lock", LOCKS, ids=lambda f: f.__name__)
def test_waiter_killed_after_notify_moved_it_is_not_counted_on_the_lock(
    make_lock: Callable[[], Lock | RLock],
) -> None:
    lock = make_lock()
    cond = Condition(lock)
    trace = Trace()
    tasks = _condition_waiters(cond, trace, ["w1", "w2", "w3"])
    assert cond.acquire()
    cond.notify(2)  # w1 and w2 now wait for the lock, not for a notification
    assert _condition_waiting(cond) == 1
    assert lock.linkcount() == 2
    tasks["w1"].kill(block=False)
    run_until_blocked()  # w1 leaves its place in the lock's line, then queues for it again
    assert lock.linkcount() == 2, (
        f"lock.linkcount() is {lock.linkcount()}: a waiter killed after notify moved it is "
        "counted as a live waiter of the lock"
    )
    # The next notify and the next release still do the right thing.
    cond.notify(1)
    assert lock.linkcount() == 3
    assert _condition_waiting(cond) == 0
    cond.release()
    run_until_blocked()
    # w2 is served first (w1's first place in the line is gone), then w1 takes the lock to
    # leave wait(), then w3.
    assert trace == ["w2 notified", "w1 killed", "w3 notified"]
    assert lock.linkcount() == 0
    assert not lock.locked()
    assert all(task.dead for task in tasks.values())


# -- a waiter of a destroyed hub, killed later (item 5) -------------------------------------


def _park_then_destroy_hub_then_kill(
    park: Callable[[], object], released: threading.Event
) -> tuple[threading.Thread, threading.Event, list[str]]:
    """Park the main greenlet of a new thread in ``park()``; once it is parked, destroy that
    thread's hub, signal ``parked``, wait for ``released``, then throw ``GreenletExit`` into
    the parked greenlet.  Returns the thread, ``parked`` and how ``park()`` ended."""
    parked = threading.Event()
    outcome: list[str] = []

    def body() -> None:
        hub = get_hub()
        me = getcurrent()

        def destroy_then_kill() -> None:
            hub.destroy()
            parked.set()
            released.wait(BOUND)  # blocks this thread's hub, as a test may
            hub.throw_into(me, GreenletExit())

        hub.run_callback(destroy_then_kill)
        try:
            outcome.append(f"returned {park()!r}")
        except GreenletExit:
            outcome.append("killed")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome.append(f"raised {exc!r}")

    thread = threading.Thread(target=body, name="greensync-guard-destroyed", daemon=True)
    thread.start()
    return thread, parked, outcome


def test_waiter_of_a_destroyed_hub_killed_later_loses_no_wakeup(kind: Kind) -> None:
    prim = kind.make()
    kind.take_all(prim)
    released = threading.Event()
    thread, parked, outcome = _park_then_destroy_hub_then_kill(lambda: kind.take(prim), released)
    assert parked.wait(BOUND), "the other thread never parked"
    assert prim.linkcount() == 1
    kind.give(prim)  # its hub is gone: the unit must not go to that waiter
    released.set()
    thread.join(BOUND)
    assert not thread.is_alive(), "the waiter of the destroyed hub was not killed"
    assert outcome == ["killed"]
    assert kind.free(prim) == 1, "the unit went to a waiter whose hub was destroyed"
    assert prim.linkcount() == 0, f"linkcount() is {prim.linkcount()} after that waiter left"
    # A new waiter must be counted, and woken by the next release.
    assert prim.acquire(blocking=False) is True
    trace = Trace()

    def new_waiter() -> None:
        trace(f"took: {kind.take(prim)}")

    task = spawn(new_waiter)
    run_until_blocked()
    assert prim.linkcount() == 1, f"a new waiter is counted as {prim.linkcount()}"
    kind.give(prim)
    run_until_blocked()
    assert trace == ["took: True"], (
        f"the new waiter was not woken by the release ({prim!r}, free {kind.free(prim)})"
    )
    assert task.dead
    assert prim.linkcount() == 0


#: Waiters of this thread in each round of the race below, and waiters of the other thread.
CROWD = 2000
KILLED = 100
ROUNDS = 3


@pytest.mark.parametrize("make_lock", LOCKS, ids=lambda f: f.__name__)
def test_waiters_killed_in_another_thread_while_notify_moves_them_are_not_counted(
    make_lock: Callable[[], Lock | RLock], eager_gil: float
) -> None:
    # Another thread kills its waiters, last in the condition's line, one by one while this
    # thread's notify_all() moves the line to the lock: a waiter that starts to leave while
    # it still belongs to the condition finishes leaving after it was moved.  It must then
    # count as gone from the lock's line, not from the condition's.  No public hook can pause
    # notify, so the interleaving is not forced: the threads are kept hot (the GIL changes
    # hands every few microseconds, this thread spins until the kills begin) and each round
    # tries again.  With the mistake in place nearly every round shows it.
    for _ in range(ROUNDS):
        _kill_while_notify_moves(make_lock())


def _kill_while_notify_moves(lock: Lock | RLock) -> None:
    cond = Condition(lock)
    trace = Trace()
    here = _condition_waiters(cond, trace, [f"w{i}" for i in range(CROWD)])
    parked = threading.Event()
    started = threading.Event()
    shared: list[Any] = []

    def body() -> None:
        hub = get_hub()
        theirs = _condition_waiters(cond, trace, [f"k{i}" for i in range(KILLED)])
        shared.append((hub, list(theirs.values())))
        parked.set()
        try:
            joinall(list(theirs.values()), timeout=4 * BOUND)
        finally:
            hub.destroy()

    thread = threading.Thread(target=body, name="greensync-guard-killer", daemon=True)
    thread.start()
    assert parked.wait(BOUND), "the waiters in the other thread never parked"
    assert _condition_waiting(cond) == CROWD + KILLED
    other_hub, theirs = shared[0]

    def kill_one_by_one() -> None:
        for task in theirs:
            other_hub.throw_into(task, GreenletExit())
            started.set()
            time.sleep(0.0001)  # let this thread's notify_all() run meanwhile

    assert cond.acquire()
    other_hub.run_callback_threadsafe(kill_one_by_one)
    deadline = time.monotonic() + BOUND
    while not started.is_set():  # spin: a sleeping thread wakes too late for the race
        assert time.monotonic() < deadline, "the other thread never started killing"
    cond.notify_all()
    cond.release()
    for task in here.values():
        task.join(timeout=BOUND)
    thread.join(2 * BOUND)
    assert not thread.is_alive(), "the killed waiters of the other thread never left wait()"
    assert sorted(trace) == sorted(
        [f"w{i} notified" for i in range(CROWD)] + [f"k{i} killed" for i in range(KILLED)]
    )
    assert lock.linkcount() == 0, (
        f"lock.linkcount() is {lock.linkcount()} once everyone left: waiters killed while "
        "notify moved them were counted as gone from the condition instead of the lock"
    )
    assert _condition_waiting(cond) == 0, f"the condition counts {_condition_waiting(cond)}"
    assert not lock.locked()

"""Deterministic races: a release meeting a timeout, a kill, an outer exception or another thread.

Each race is forced through the hub, not hoped for: an exception queued (``hub.throw_into``
from a callback, or ``kill(block=False)``) before a release in the same turn, so it reaches a
waiter that was just handed the permit; timers whose deadlines are ordered and all overdue when
the hub next looks (the thread is held in ``time.sleep`` meanwhile, so they fire in one pass);
a release from another OS thread completed while this thread's hub was not running.  ``Outer``
(a ``BaseException``) stands in for an outer ``Timeout``.

Every test asserts that each waiter had exactly one outcome, that nothing was lost and nothing
duplicated (the free units are counted, and then taken until the primitive refuses), and that
no waiter is left behind.  On the deterministic built-in hub the outcome of each forced order is
exact; under the chaos scheduler and on the adapters, orders forced through same-turn callbacks
assert only the promises (timer races stay exact on the built-in hub, chaos or not).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from greensync.hub import Task, Waiter, get_hub, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked
from greensync.lock import (
    Barrier,
    BrokenBarrierError,
    CappedSemaphore,
    Condition,
    Lock,
    RLock,
    Semaphore,
)

if TYPE_CHECKING:
    from packages.lock.tests.conftest import Kind, OtherThread

pytestmark = pytest.mark.contract

T = 0.01  # the timeout of the racing waits; the hub is held for 3 * T to make them overdue


class Outer(BaseException):
    """Stands in for an outer ``Timeout``: a BaseException thrown into a parked waiter."""


def hold_the_hub(seconds: float) -> None:
    """Block this OS thread (and so its hub) long enough for armed timers to be overdue."""
    time.sleep(seconds)


def strike(task: Task[Any], how: str) -> None:
    """Queue an outer exception or a kill for ``task``: it lands on the hub's next turn."""
    if how == "throw":
        hub = get_hub()
        hub.run_callback(hub.throw_into, task, Outer())
    else:
        task.kill(block=False)


def in_turn(fn: Callable[[str], None], names: str) -> dict[str, Task[None]]:
    """Spawn ``fn(name)`` for each name, letting each block before the next starts."""
    tasks = {}
    for name in names:
        tasks[name] = spawn(fn, name)
        run_until_blocked()
    return tasks


def exhausted(kind: Kind, prim: Any) -> bool:
    """Take every unit, check that one more is refused, and give them back."""
    kind.take_all(prim)
    other = spawn(prim.acquire, blocking=False)
    run_until_blocked()
    refused = other.get() is False
    kind.give_all(prim)
    return refused


# -- a release from another OS thread while the acquirer's timeout expires ----------------------


@pytest.mark.parametrize("when", ["before_the_deadline", "after_the_deadline"])
def test_release_from_another_thread_as_the_timeout_expires_wins(
    kind: Kind, other_thread: OtherThread, when: str
) -> None:
    """The other thread releases (and is done) while this hub is not running, before or after
    the waiter's deadline: the release marks the waiter handed, and its timer, overdue when
    the hub next looks, finds nothing to do.  One outcome: the waiter has the unit."""
    prim = kind.make()
    other_thread.call(kind.take_all, prim)  # an RLock is owned there
    results: list[bool] = []

    def waiter() -> None:
        got = kind.take(prim, T)
        results.append(got)
        if got:
            kind.give(prim)

    task = spawn(waiter)
    run_until_blocked()
    assert prim.linkcount() == 1
    if when == "after_the_deadline":
        hold_the_hub(3 * T)
    other_thread.call(kind.give, prim)
    hold_the_hub(3 * T)
    task.join(30)
    assert results == [True]
    assert_no_links(prim)
    assert kind.free(prim) == 1  # the waiter gave back the unit it got; nothing duplicated
    other_thread.call(lambda: [kind.give(prim) for _ in range(kind.units - 1)])
    assert kind.free(prim) == kind.units
    assert exhausted(kind, prim)


def test_releases_from_another_thread_at_random_moments_around_the_timeout(
    kind: Kind, other_thread: OtherThread
) -> None:
    """Not forced: the other thread releases at seeded random moments around the waiter's
    deadline.  Whatever the interleaving, the waiter times out or gets the unit, exactly
    once, and the unit is then either the waiter's or free: never both, never neither."""
    rng = random.Random(8)
    outcomes: Counter[bool] = Counter()
    for _ in range(25):
        prim = kind.make()
        other_thread.call(kind.take_all, prim)
        results: list[bool] = []

        def waiter(prim: Any = prim, results: list[bool] = results) -> None:
            got = kind.take(prim, T)
            results.append(got)
            if got:
                kind.give(prim)

        task = spawn(waiter)
        run_until_blocked()

        def release_later(prim: Any = prim, delay: float = rng.uniform(0, 2 * T)) -> None:
            time.sleep(delay)
            kind.give(prim)

        done = other_thread.start(release_later)
        task.join(30)
        done()
        assert task.dead
        assert len(results) == 1
        assert_no_links(prim)
        assert kind.free(prim) == 1
        outcomes[results[0]] += 1
        other_thread.call(lambda prim=prim: [kind.give(prim) for _ in range(kind.units - 1)])
        assert kind.free(prim) == kind.units
    assert sum(outcomes.values()) == 25


def test_acquire_from_another_thread_as_a_blocked_releasers_timeout_expires(
    other_thread: OtherThread,
) -> None:
    """CappedSemaphore's other line: an acquire in another thread takes the permit of a
    releaser blocked at the upper bound whose timeout is overdue.  The release went through."""
    sem = CappedSemaphore(1)
    results: list[bool] = []
    task = spawn(lambda: results.append(sem.release(timeout=T)))
    run_until_blocked()
    hold_the_hub(3 * T)
    assert other_thread.call(sem.acquire) is True
    task.join(30)
    assert results == [True]
    assert (sem.counter, sem.balance) == (1, 1)  # one acquire, one release: as it started
    assert_no_links(sem)


# -- an outer exception or a kill in the same turn as the release --------------------------------


@pytest.mark.parametrize("how", ["throw", "kill"])
@pytest.mark.parametrize("when", ["before_release", "after_handed", "after_wake"])
def test_exception_racing_a_release_gives_one_outcome_and_loses_nothing(
    kind: Kind, how: str, when: str, exact: bool
) -> None:
    """Three waiters; the first is struck.  ``before_release``: the exception lands, then the
    release.  ``after_handed``: the release hands the first waiter the unit, but the exception
    (queued first) reaches it before it runs: the unit passes to the next.  ``after_wake``: the
    wake-up runs first, and the exception finds the waiter gone."""
    prim = kind.make()
    kind.take_all(prim)
    results: dict[str, object] = {}

    def waiter(name: str) -> None:
        try:
            got = kind.take(prim)
        except Outer:
            results[name] = "Outer"
            return
        results[name] = got
        kind.give(prim)

    tasks = in_turn(waiter, "abc")
    assert prim.linkcount() == 3
    if when == "before_release":
        strike(tasks["a"], how)
        run_until_blocked()
        kind.give(prim)
    elif when == "after_handed":
        strike(tasks["a"], how)
        kind.give(prim)
    else:
        kind.give(prim)
        strike(tasks["a"], how)
    run_until_blocked()
    for _ in range(kind.units - 1):
        kind.give(prim)
    run_until_blocked()
    assert all(task.dead for task in tasks.values())
    struck = "Outer" if how == "throw" else "killed"
    outcome = results.get("a", "killed")
    if when == "before_release" or (exact and when == "after_handed"):
        assert outcome == struck
    elif exact:
        assert outcome is True
    else:
        assert outcome in (struck, True)
    assert (results["b"], results["c"]) == (True, True)  # nothing lost
    assert kind.free(prim) == kind.units
    assert_no_links(prim)
    assert exhausted(kind, prim)  # nothing duplicated


@pytest.mark.parametrize("how", ["throw", "kill"])
@pytest.mark.parametrize("when", ["before_acquire", "after_handed", "after_wake"])
def test_exception_racing_an_acquire_gives_a_blocked_releaser_one_outcome(
    how: str, when: str, exact: bool
) -> None:
    """CappedSemaphore's release line: releasers blocked at the upper bound, the first struck
    in the same turn as the acquire that takes its permit.  The counter always equals the
    start, minus the acquires, plus the releases that went through."""
    sem = CappedSemaphore(1)
    results: dict[str, object] = {}

    def releaser(name: str) -> None:
        try:
            results[name] = sem.release()
        except Outer:
            results[name] = "Outer"

    tasks = in_turn(releaser, "abc")
    acquired = 0
    if when == "before_acquire":
        strike(tasks["a"], how)
        run_until_blocked()
    if when == "after_wake":
        assert sem.acquire() is True
        strike(tasks["a"], how)
    else:
        strike(tasks["a"], how)
        assert sem.acquire() is True
    acquired += 1
    run_until_blocked()
    while sem.linkcount():  # let the releasers still blocked through, one acquire each
        assert sem.acquire() is True
        acquired += 1
        run_until_blocked()
    assert all(task.dead for task in tasks.values())
    struck = "Outer" if how == "throw" else "killed"
    outcome = results.get("a", "killed")
    if when == "before_acquire" or (exact and when == "after_handed"):
        assert outcome == struck
    elif exact:
        assert outcome is True
    else:
        assert outcome in (struck, True)
    assert (results["b"], results["c"]) == (True, True)
    released = sum(1 for result in results.values() if result is True)
    assert sem.counter == 1 - acquired + released
    assert sem.counter == 1  # every release that went through was taken by an acquire
    assert_no_links(sem)


# -- Condition: notify meeting a timeout, an exception or another thread --------------------------


CONDITIONS: dict[str, Callable[[], Condition]] = {
    "RLock": Condition,
    "Lock": lambda: Condition(Lock()),
    "foreign": lambda: Condition(Semaphore(1)),  # not ours: woken, then acquires itself
}


@pytest.fixture(params=sorted(CONDITIONS))
def make_cond(request: pytest.FixtureRequest) -> Callable[[], Condition]:
    factory: Callable[[], Condition] = CONDITIONS[request.param]
    return factory


def _locks(cond: Condition) -> list[Any]:
    return [cond._line, cond._lock]


@pytest.mark.parametrize("notify_all", [False, True])
@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_notify_landing_among_expiring_timeouts_gives_each_waiter_one_outcome(
    make_cond: Callable[[], Condition], position: int, notify_all: bool, builtin_timers: bool
) -> None:
    """Three waiters with the same timeout; the notify is a timer armed after ``position`` of
    them began, so its deadline falls between theirs, and all four are overdue in one turn.
    Those whose deadline came first time out; the notify wakes the next live one (or all the
    live ones); every waiter returns holding the lock, and the lock ends free."""
    cond = make_cond()
    results: dict[str, tuple[bool, bool]] = {}
    began: list[str] = []

    def waiter(name: str) -> None:
        with cond:
            began.append(name)
            got = cond.wait(T)
            results[name] = (got, cond.locked())

    def notify() -> None:
        with cond:  # the lock is free: every waiter released it in wait()
            if notify_all:
                cond.notify_all()
            else:
                cond.notify()

    hub = get_hub()
    names = "abc"
    tasks = []
    for index, name in enumerate(names):
        if index == position:
            hub.call_later(T, notify)
        tasks.append(spawn(waiter, name))
        run_until_blocked()
    if position == len(names):
        hub.call_later(T, notify)
    hold_the_hub(3 * T)
    for task in tasks:
        task.join(30)
        assert task.dead
    assert set(results) == set(names)
    assert all(held for _, held in results.values())  # wait() returned holding the lock
    woken = [name for name in names if results[name][0]]
    if builtin_timers:
        late = began[position:]
        assert woken == (late if notify_all else late[:1])
    else:
        assert len(woken) <= (len(names) if notify_all else 1)
    assert not cond.locked()
    assert_no_links(*_locks(cond))


def test_notify_from_another_thread_while_the_timeout_is_overdue_wakes_the_waiter(
    make_cond: Callable[[], Condition], other_thread: OtherThread
) -> None:
    """The other thread takes the lock and notifies while this hub is held past the waiter's
    deadline: the waiter was chosen before its timer ran, so it returns True, holding the
    lock."""
    cond = make_cond()
    results: list[tuple[bool, bool]] = []

    def waiter() -> None:
        with cond:
            results.append((cond.wait(T), cond.locked()))

    def notify() -> None:
        with cond:
            cond.notify()

    task = spawn(waiter)
    run_until_blocked()
    hold_the_hub(3 * T)
    other_thread.call(notify)
    task.join(30)
    assert results == [(True, True)]
    assert not cond.locked()
    assert_no_links(*_locks(cond))


@pytest.mark.parametrize("how", ["throw", "kill"])
@pytest.mark.parametrize("when", ["before_notify", "after_notify", "after_wake"])
def test_a_notification_reaching_a_waiter_that_leaves_is_passed_on(
    make_cond: Callable[[], Condition], how: str, when: str, exact: bool
) -> None:
    """Three waiters; ``notify(1)`` chooses the first, and an exception queued in the same
    turn reaches it before it runs (``after_notify``).  Its notification is not lost: the
    next waiter wakes (a consumer must never hang for a wake-up that went to a greenlet that
    left; asyncio fixed the same lost wake-up in Python 3.13).  The one that left still held
    the lock as it left ``wait()``."""
    cond = make_cond()
    results: dict[str, tuple[object, bool]] = {}

    def waiter(name: str) -> None:
        with cond:
            try:
                results[name] = (cond.wait(), cond.locked())
            except Outer:
                results[name] = ("Outer", cond.locked())

    tasks = in_turn(waiter, "abc")
    if when == "before_notify":
        strike(tasks["a"], how)
        run_until_blocked()
        with cond:
            cond.notify()
    elif when == "after_notify":
        with cond:
            strike(tasks["a"], how)
            cond.notify()
    else:
        with cond:
            cond.notify()
        run_until_blocked()
        strike(tasks["a"], how)
    run_until_blocked()
    struck = "Outer" if how == "throw" else "killed"
    outcome = results.get("a", ("killed", True))
    assert outcome[1] is True  # left wait() (or returned) holding the lock
    woke = [name for name in "bc" if name in results]
    if when == "before_notify":
        assert outcome[0] == struck
        # The notify went to the next waiter still there.  With our own locks, "a" also
        # passed a notification on as it left (it cannot tell whether a notify had chosen
        # it), so "c" woke as well: a spurious wake-up, which a condition variable allows,
        # never a lost one.  A foreign lock's waiter knows, and passes nothing on.
        foreign = not isinstance(cond._lock, (Lock, RLock))
        assert woke == (["b"] if foreign else ["b", "c"])
    elif exact and when == "after_notify":
        assert outcome[0] == struck
        assert woke == ["b"]  # passed on by "a" as it left
    elif exact:
        assert outcome[0] is True
        assert woke == []
    else:
        assert outcome[0] in (struck, True)
        assert len(woke) <= 1
    assert all(results[name] == (True, True) for name in woke)
    with cond:
        cond.notify_all()
    run_until_blocked()
    assert all(task.dead for task in tasks.values())
    assert results["b"] == results["c"] == (True, True)
    assert not cond.locked()
    assert_no_links(*_locks(cond))


def test_a_waiter_hit_again_while_re_acquiring_the_lock_still_passes_its_notification_on(
    exact: bool,
) -> None:
    """A notified waiter gets an exception; waiting for the lock again (to leave ``wait()``
    holding it), it gets a second one, just as the lock is handed to it.  It leaves without
    the lock (nothing else is possible), the lock passes on, and the notification still
    reaches the next waiter, which is handed the lock at once since nobody holds it."""
    cond = Condition()
    lock = cond._lock
    assert isinstance(lock, RLock)
    results: dict[str, object] = {}

    def victim(name: str) -> None:
        cond.acquire()
        try:
            results[name] = cond.wait()
        except Outer as exc:
            results[name] = (exc.args[0], lock._is_owned())
        if lock._is_owned():
            cond.release()

    def waiter(name: str) -> None:
        with cond:
            results[name] = (cond.wait(), lock._is_owned())

    tasks = in_turn(victim, "a")
    tasks.update(in_turn(waiter, "b"))
    hub = get_hub()
    with cond:
        cond.notify()  # chooses "a"
        hub.run_callback(hub.throw_into, tasks["a"], Outer("first"))
        run_until_blocked()  # "a" leaves the lock's queue, then waits for the lock again
        assert "a" not in results
        hub.run_callback(hub.throw_into, tasks["a"], Outer("second"))
    # Leaving the block handed the lock to "a"; the second exception reached it first.
    run_until_blocked()
    assert all(task.dead for task in tasks.values())
    if exact:
        assert results["a"] == ("second", False)
    else:
        assert results["a"] in (("second", False), ("first", True))
    assert results["b"] == (True, True)  # the notification was passed on
    assert not cond.locked()
    assert_no_links(*_locks(cond))


def test_producer_consumer_does_not_hang_when_a_notified_consumer_is_killed(
    make_cond: Callable[[], Condition], exact: bool
) -> None:
    """The lost wake-up as a user meets it: one item, two consumers; the consumer chosen by
    the producer's notify is killed before it runs.  The other consumer gets the item."""
    cond = make_cond()
    items: list[int] = []
    got: list[str] = []

    def consumer(name: str) -> None:
        with cond:
            while not items:
                cond.wait()
            items.pop()
            got.append(name)

    tasks = in_turn(consumer, "ab")
    with cond:
        items.append(1)
        tasks["a"].kill(block=False)
        cond.notify()
    run_until_blocked()
    assert tasks["a"].dead
    if exact:
        assert got == ["b"]
    else:  # or the kill landed after "a" had taken the item
        assert got in (["b"], ["a"])
        if got == ["a"]:
            tasks["b"].kill()
    assert tasks["b"].dead
    assert items == []
    assert not cond.locked()
    assert_no_links(*_locks(cond))


# -- Barrier: a waiter killed or interrupted mid-trip ---------------------------------------------


class Parties:
    """Greenlets waiting on one barrier, each recording how its wait ended."""

    def __init__(self, barrier: Barrier) -> None:
        self.barrier = barrier
        self.results: dict[str, str] = {}
        self.tasks: dict[str, Task[None]] = {}

    def spawn(self, name: str) -> Task[None]:
        def party() -> None:
            try:
                self.results[name] = f"passed {self.barrier.wait()}"
            except Outer:
                self.results[name] = "Outer"
            except BrokenBarrierError:
                self.results[name] = "BrokenBarrierError"

        task = self.tasks[name] = spawn(party)
        return task

    def in_turn(self, names: str) -> None:
        for name in names:
            self.spawn(name)
            run_until_blocked()

    def outcome(self, name: str) -> str:
        return self.results.get(name, "GreenletExit")  # a killed party records nothing


@pytest.mark.parametrize("how", ["throw", "kill"])
def test_waiter_struck_while_the_action_runs_breaks_the_trip(how: str) -> None:
    """The last party runs the action (which blocks); meanwhile a waiter of that trip is
    struck.  The trip fails for everybody, the action's runner included; nobody is left, and
    after reset() the barrier works."""
    gate: Waiter[None] = Waiter()
    ran: list[bool] = []

    def action() -> None:
        ran.append(True)
        gate.get()  # parks until the test opens the gate (at once, once it is open)

    barrier = Barrier(3, action=action)
    parties = Parties(barrier)
    parties.in_turn("abc")  # "c" arrives last and runs the action
    assert ran == [True]
    strike(parties.tasks["a"], how)
    run_until_blocked()
    assert barrier.broken is True
    gate.switch(None)
    run_until_blocked()
    struck = "Outer" if how == "throw" else "GreenletExit"
    assert [parties.outcome(name) for name in "abc"] == [
        struck,
        "BrokenBarrierError",
        "BrokenBarrierError",
    ]
    assert_no_links(barrier._line)
    barrier.reset()
    parties.in_turn("xyz")
    assert [parties.outcome(name) for name in "xyz"] == ["passed 0", "passed 1", "passed 2"]
    assert ran == [True, True]


def test_arrival_waiting_for_the_action_killed_does_not_break_the_barrier() -> None:
    """A greenlet that arrives while the previous trip's action runs waits for the next trip;
    killed there, it was never a party of any trip, so nothing breaks."""
    gate: Waiter[None] = Waiter()
    barrier = Barrier(2, action=gate.get)
    parties = Parties(barrier)
    parties.in_turn("ab")  # "b" runs the action, which waits for the gate
    parties.in_turn("e")  # arrives during the action: waits for it to finish
    parties.tasks["e"].kill()
    assert barrier.broken is False
    gate.switch(None)
    run_until_blocked()
    assert [parties.outcome(name) for name in "abe"] == ["passed 0", "passed 1", "GreenletExit"]
    assert (barrier.broken, barrier.n_waiting) == (False, 0)
    assert_no_links(barrier._line)


@pytest.mark.parametrize("how", ["throw", "kill"])
@pytest.mark.parametrize("when", ["before_trip", "after_handed", "after_wake"])
def test_exception_racing_the_trip_gives_one_outcome(how: str, when: str, exact: bool) -> None:
    """``before_trip``: the struck waiter leaves first and breaks the barrier, so the last
    arrival fails too.  ``after_handed``: the trip completes (every pass handed) before the
    exception, queued first, reaches the waiter: it leaves with the exception, but the trip
    stands for the others.  ``after_wake``: the waiter has passed already."""
    barrier = Barrier(3)
    parties = Parties(barrier)
    parties.in_turn("ab")
    victim = parties.tasks["a"]
    last: object
    if when == "before_trip":
        strike(victim, how)
        run_until_blocked()
        with pytest.raises(BrokenBarrierError):
            barrier.wait()
        last = "BrokenBarrierError"
    elif when == "after_handed":
        strike(victim, how)
        last = barrier.wait()
    else:
        last = barrier.wait()
        strike(victim, how)
    run_until_blocked()
    struck = "Outer" if how == "throw" else "GreenletExit"
    outcome = parties.outcome("a")
    if when == "before_trip":
        assert outcome == struck
        assert parties.outcome("b") == "BrokenBarrierError"
        assert barrier.broken is True
        barrier.reset()
    else:
        assert last == 2
        assert parties.outcome("b") == "passed 1"
        if exact:
            assert outcome == (struck if when == "after_handed" else "passed 0")
        else:
            assert outcome in (struck, "passed 0")
        assert barrier.broken is False  # a pass given out is not taken back
    assert_no_links(barrier._line)
    parties.in_turn("xy")
    assert barrier.wait() == 2
    run_until_blocked()
    assert [parties.outcome(name) for name in "xy"] == ["passed 0", "passed 1"]

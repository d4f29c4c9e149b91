"""Deterministic races: a fire meeting a timeout, a kill, an outer exception or another thread.

Each race is forced through the hub, not hoped for: callbacks queued in a known order in one
turn, timers whose deadlines are ordered and all overdue when the hub next looks (the thread
is held in ``time.sleep`` meanwhile, so they fire in one pass), a fire from another OS thread
completed while this thread's hub was not running.  Every test asserts that each waiter had
exactly one outcome, that nobody was woken twice (each survivor then waits on a fresh object
that is never fired, and must time out there), that nothing was lost (every waiter still
waiting when the fire came got it) and that no link is left.

On the deterministic built-in hub the outcome of each forced order is exact.  Under the chaos
scheduler (same-turn callbacks shuffled) and on the adapters (other loops), races forced
through the order of callbacks assert only the promises; timer races stay exact under chaos.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

import pytest

from greensync.hub import Task, get_hub, spawn
from greensync.hub.testing import assert_no_links, run_until_blocked

if TYPE_CHECKING:
    from packages.event.tests.conftest import Kind

pytestmark = pytest.mark.contract

TIMED_OUT = "timed out"  # what Kind.outcome() returns for a timed-out wait
T = 0.01  # the timeout of the racing waits; the hub is held for 3 * T to make them overdue


class Outer(BaseException):
    """Stands in for an outer ``Timeout``: a BaseException thrown into a parked waiter."""


class Racers:
    """Waiters on one object that record, each, when they began and what their wait gave."""

    def __init__(self, kind: Kind, obj: object) -> None:
        self.kind = kind
        self.obj = obj
        self.began: list[str] = []
        self.results: dict[str, object] = {}
        self.late: dict[str, object] = {}
        self.tasks: dict[str, Task[None]] = {}

    def spawn(self, name: str, timeout: float | None, check_late: bool = True) -> Task[None]:
        def body() -> None:
            self.began.append(name)
            try:
                self.results[name] = self.kind.outcome(self.obj, timeout)
            except BaseException as exc:
                self.results[name] = type(exc).__name__
                if isinstance(exc, Outer):
                    return  # caught, as a `with Timeout(...)` block would
                raise
            if check_late:
                # A second wake-up for the first wait would end this one early.
                self.late[name] = self.kind.outcome(self.kind.make(), 2 * T)

        task = self.tasks[name] = spawn(body)
        return task

    def join(self) -> None:
        for task in self.tasks.values():
            task.join(30)
            assert task.dead, f"{task!r} is still running"

    def check_no_duplicates(self) -> None:
        assert self.late == dict.fromkeys(self.late, TIMED_OUT)


def hold_the_hub(seconds: float) -> None:
    """Block this OS thread (and so its hub) long enough for armed timers to be overdue."""
    time.sleep(seconds)


# -- a timeout expiring in the same hub turn as the fire ----------------------------------------


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_fire_landing_among_expiring_timeouts_in_one_turn_gives_each_waiter_one_outcome(
    kind: Kind, position: int, builtin_timers: bool
) -> None:
    """Three waiters with the same timeout; the fire is a timer armed after ``position`` of
    them began, so its deadline falls between theirs; all four are overdue in one turn."""
    obj = kind.make()
    racers = Racers(kind, obj)
    hub = get_hub()
    names = ["a", "b", "c"]
    for index, name in enumerate(names):
        if index == position:
            hub.call_later(T, kind.fire, obj, "v")
        racers.spawn(name, T)
        run_until_blocked()  # it has begun to wait: its timer is armed
    if position == len(names):
        hub.call_later(T, kind.fire, obj, "v")
    hold_the_hub(3 * T)
    racers.join()
    if builtin_timers:
        # Expired timers fire in deadline order: those armed before the fire time out.
        expired = racers.began[:position]
        assert racers.results == {
            name: TIMED_OUT if name in expired else kind.expect("v") for name in names
        }
    else:
        assert set(racers.results) == set(names)
        assert set(racers.results.values()) <= {TIMED_OUT, kind.expect("v")}
    racers.check_no_duplicates()
    assert_no_links(obj)
    assert obj.ready()
    assert kind.wait(obj, 0) == kind.expect("v")


def test_fire_after_the_timer_is_overdue_but_before_the_hub_looks_wins(kind: Kind) -> None:
    """The timeout has passed but its timer has not run: a fire now still wakes the waiter."""
    obj = kind.make()
    racers = Racers(kind, obj)
    racers.spawn("a", T)
    racers.spawn("b", T)
    run_until_blocked()
    hold_the_hub(3 * T)
    kind.fire(obj, "v")
    racers.join()
    assert racers.results == {"a": kind.expect("v"), "b": kind.expect("v")}
    racers.check_no_duplicates()
    assert_no_links(obj)


# -- an outer exception or a kill racing the fire -----------------------------------------------


@pytest.mark.parametrize("how", ["throw", "kill"])
@pytest.mark.parametrize("when", ["before_fire", "after_handed", "after_wake"])
def test_exception_racing_the_fire_gives_the_victim_one_outcome_and_the_rest_theirs(
    kind: Kind, how: str, when: str, exact: bool
) -> None:
    """``before_fire``: the exception arrives, then the fire, in one turn.  ``after_handed``:
    the fire already handed the victim its wake-up, but the exception runs before the wake-up
    batch.  ``after_wake``: the wake-up batch runs first and the victim has finished."""
    obj = kind.make()
    racers = Racers(kind, obj)
    for name in "abc":
        racers.spawn(name, None, check_late=name != "b")
    run_until_blocked()
    assert obj.linkcount() == 3
    victim = racers.tasks["b"]
    hub = get_hub()

    def strike() -> None:
        if how == "throw":
            hub.run_callback(hub.throw_into, victim, Outer())
        else:
            victim.kill(block=False)

    struck = "Outer" if how == "throw" else "GreenletExit"
    if when == "before_fire":
        strike()
        hub.run_callback(kind.fire, obj, "v")
    elif when == "after_handed":
        strike()
        kind.fire(obj, "v")
    else:
        kind.fire(obj, "v")
        strike()
    racers.join()
    outcome = racers.results.get("b", struck)  # a task killed before it ran records nothing
    if when == "before_fire" or (exact and when == "after_handed"):
        assert outcome == struck
    elif when == "after_wake" and exact:
        assert outcome == kind.expect("v")
    else:
        assert outcome in (struck, kind.expect("v"))
    others = {name: racers.results[name] for name in "ac"}
    assert others == {"a": kind.expect("v"), "c": kind.expect("v")}  # nothing lost
    racers.check_no_duplicates()
    assert_no_links(obj)


# -- a fire from another OS thread while the waiters time out ----------------------------------


def test_fire_from_another_thread_while_the_timeouts_are_overdue_wakes_every_waiter(
    kind: Kind,
) -> None:
    """The other thread fires while this hub is held past the waiters' deadlines: the fire
    marks them handed before their timers run, so the timers find nothing to do."""
    obj = kind.make()
    racers = Racers(kind, obj)
    for name in "abc":
        racers.spawn(name, T)
    run_until_blocked()
    thread = threading.Thread(target=kind.fire, args=(obj, "far"))
    thread.start()
    thread.join(30)
    hold_the_hub(3 * T)
    racers.join()
    assert racers.results == dict.fromkeys("abc", kind.expect("far"))
    racers.check_no_duplicates()
    assert_no_links(obj)


def test_exception_queued_before_a_wake_up_from_another_thread_wins(
    kind: Kind, exact: bool
) -> None:
    """The other thread hands the waiters their wake-up; before this hub picks the posted
    batch up, an outer exception queued here reaches one of them."""
    obj = kind.make()
    racers = Racers(kind, obj)
    for name in "abc":
        racers.spawn(name, None, check_late=name != "b")
    run_until_blocked()
    hub = get_hub()
    hub.run_callback(hub.throw_into, racers.tasks["b"], Outer())
    thread = threading.Thread(target=kind.fire, args=(obj, "far"))
    thread.start()
    thread.join(30)
    racers.join()
    if exact:
        assert racers.results["b"] == "Outer"
    else:
        assert racers.results["b"] in ("Outer", kind.expect("far"))
    assert {name: racers.results[name] for name in "ac"} == dict.fromkeys("ac", kind.expect("far"))
    racers.check_no_duplicates()
    assert_no_links(obj)


def test_fires_from_another_thread_at_random_moments_around_the_timeouts(kind: Kind) -> None:
    """Not forced: the other thread fires at seeded random moments around the deadline, and
    for kinds that can be re-armed, re-arms and fires again at once.  Whatever the interleaving,
    each waiter times out or gets the first fire's outcome, exactly once."""
    rng = random.Random(8)
    tally = {TIMED_OUT: 0, "woke": 0}
    timeout = 0.002
    for _ in range(30):
        obj = kind.make()
        racers = Racers(kind, obj)
        for name in "abcdef":
            racers.spawn(name, timeout, check_late=False)
        run_until_blocked()
        delay = rng.uniform(0, 2 * timeout)

        def firer(obj: object = obj, delay: float = delay) -> None:
            time.sleep(delay)
            kind.fire(obj, "first")
            if kind.rearm is not None:
                kind.rearm(obj)
                kind.fire(obj, "second")

        thread = threading.Thread(target=firer)
        thread.start()
        racers.join()
        thread.join(30)
        assert set(racers.results) == set("abcdef")
        for result in racers.results.values():
            assert result in (TIMED_OUT, kind.expect("first"))
            tally[TIMED_OUT if result == TIMED_OUT else "woke"] += 1
        assert_no_links(obj)
    assert sum(tally.values()) == 30 * 6

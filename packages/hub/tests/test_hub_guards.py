"""Guards for the waiter protocol's bookkeeping, written against public names only.

Each test here pins a behaviour that a rewrite of the wait lines could lose without any other
test noticing (issue 19): the count of live waiters after early leavers, waiters of a hub that
was destroyed, and listeners in other threads.  They drive the protocol through
``greensync.hub.testing.Permits`` and the hub's public API, never through the records or
lines behind them, so they stay valid whatever those become.

A test that waits for another thread waits a few seconds at most and then fails, naming what
was not woken; nothing here asserts how long anything took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from greenlet import GreenletExit, getcurrent

from greensync.hub import Task, get_hub, sleep, spawn
from greensync.hub.testing import Permits, Trace, assert_no_links, run_until_blocked

#: How long a test waits for another thread before it fails, naming what did not happen.
BOUND = 5.0
#: A timeout meant to expire, long enough that it cannot expire before the test looks.
SHORT = 0.2


# -- the count of live waiters after early leavers (issue 19, item 6) -----------------------


def _taker(permits: Permits, trace: Trace, name: str, timeout: float | None) -> None:
    try:
        got = permits.acquire(timeout)
    except GreenletExit:
        trace(f"{name} killed")
        raise
    trace(f"{name} {'acquired' if got else 'timed out'}")


def test_linkcount_counts_only_live_waiters_as_early_leavers_are_passed_over() -> None:
    permits = Permits(0)
    trace = Trace()
    # a, c and f wait for good; b and d give up on a short timeout; e is killed.
    plan: list[tuple[str, float | None]] = [
        ("a", None),
        ("b", SHORT),
        ("c", None),
        ("d", SHORT),
        ("e", None),
        ("f", None),
    ]
    tasks = {name: spawn(_taker, permits, trace, name, timeout) for name, timeout in plan}
    run_until_blocked()
    assert permits.linkcount() == 6
    sleep(2 * SHORT)  # b and d time out
    assert trace == ["b timed out", "d timed out"]
    assert permits.linkcount() == 4, "waiters that timed out are still counted"
    tasks["e"].kill(block=True, timeout=BOUND)
    assert trace[-1] == "e killed"
    assert permits.linkcount() == 3, "a killed waiter is still counted"

    # Listeners leave early too: one times out, one callback is unlinked.
    def listener(timeout: float | None) -> None:
        trace(f"listener {'woken' if permits.wait_ready(timeout) else 'timed out'}")

    spawn(listener, SHORT)
    spawn(listener, None)
    seen: list[object] = []
    permits.rawlink(seen.append)
    permits.rawlink(trace)
    run_until_blocked()
    assert permits.linkcount() == 7
    permits.unlink(trace)
    sleep(2 * SHORT)
    assert trace[-1] == "listener timed out"
    assert permits.linkcount() == 5, "an unlinked callback or a timed-out listener is counted"

    # Each release passes over the dead records in front of the next live waiter.
    expected_after = [("a", 4), ("c", 3), ("f", 2)]
    for name, left in expected_after:
        permits.release()
        run_until_blocked()
        assert trace[-1] == f"{name} acquired"
        assert permits.linkcount() == left, f"after {name} was served"
    permits.release()  # nobody takes it: it goes to the counter and wakes the listeners
    run_until_blocked()
    assert trace[-1] == "listener woken"
    assert seen == [permits]
    assert permits.count == 1
    assert permits.linkcount() == 0, "the listeners' line still counts someone"
    assert_no_links(permits)
    # The lines still work after all that.
    assert permits.acquire(timeout=0) is True
    late = spawn(permits.acquire)
    run_until_blocked()
    assert permits.linkcount() == 1
    permits.release()
    late.join(timeout=BOUND)
    assert late.value is True
    assert permits.linkcount() == 0


@pytest.mark.parametrize("how", ["timeout", "kill"])
def test_linkcount_stays_exact_when_many_leavers_pile_up(how: str) -> None:
    # Enough leavers that a line implementation may compact itself: the count must not care.
    permits = Permits(0)
    trace = Trace()
    head = spawn(_taker, permits, trace, "head", None)
    leavers = [
        spawn(_taker, permits, trace, f"leaver {i}", SHORT if how == "timeout" else None)
        for i in range(80)
    ]
    listeners = [spawn(permits.wait_ready, SHORT if how == "timeout" else None) for _ in range(80)]
    tail = spawn(_taker, permits, trace, "tail", None)
    run_until_blocked()
    assert permits.linkcount() == 162
    if how == "timeout":
        sleep(2 * SHORT)
    else:
        for task in leavers + listeners:
            task.kill(block=False)
        run_until_blocked()
    assert all(task.dead for task in leavers + listeners)
    assert permits.linkcount() == 2, "leavers are still counted as waiters"
    permits.release()
    run_until_blocked()
    assert trace[-1] == "head acquired"
    assert permits.linkcount() == 1
    permits.release()
    run_until_blocked()
    assert trace[-1] == "tail acquired"
    assert permits.linkcount() == 0
    assert head.successful()
    assert tail.successful()
    permits.release()
    assert permits.count == 1
    assert_no_links(permits)


# -- a waiter of a destroyed hub that is later killed (issue 19, item 5) --------------------


def _park_then_destroy_hub_then_kill(
    permits: Permits, park: Callable[[], object], released: threading.Event
) -> tuple[threading.Thread, threading.Event, list[str]]:
    """Park the main greenlet of a new thread on ``permits``; once it is parked, destroy that
    thread's hub, let the caller act (``parked`` is set, the caller sets ``released``), then
    throw ``GreenletExit`` into the parked greenlet.  Returns the thread, ``parked`` and what
    the parked call ended with."""
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


@pytest.mark.parametrize("line", ["hand-off", "listener"])
def test_waiter_of_a_destroyed_hub_killed_later_leaves_counts_and_wakeups_right(
    line: str,
) -> None:
    permits = Permits(0)
    released = threading.Event()
    park: Callable[[], object] = permits.acquire if line == "hand-off" else permits.wait_ready
    thread, parked, outcome = _park_then_destroy_hub_then_kill(permits, park, released)
    assert parked.wait(BOUND), "the other thread never parked"
    assert permits.linkcount() == 1
    permits.release()  # its hub is gone: the permit must not go to that waiter
    released.set()
    thread.join(BOUND)
    assert not thread.is_alive(), "the waiter of the destroyed hub was not killed"
    assert outcome == ["killed"]
    assert permits.count == 1, "the permit went to a waiter whose hub was destroyed"
    assert permits.linkcount() == 0, (
        f"linkcount() is {permits.linkcount()} after the waiter of a destroyed hub left"
    )
    # A new waiter is counted and woken.
    assert permits.acquire(timeout=0) is True
    trace = Trace()
    waiter = spawn(_taker, permits, trace, "new waiter", None)
    run_until_blocked()
    assert permits.linkcount() == 1, f"a new waiter is counted as {permits.linkcount()}"
    permits.release()
    waiter.join(timeout=BOUND)
    assert trace == ["new waiter acquired"], "the new waiter was not woken"
    assert permits.count == 0
    assert permits.linkcount() == 0


# -- listeners in other threads (issue 19, item 7) ------------------------------------------


class _ThreadListener:
    """A thread whose main greenlet waits on ``permits.wait_ready`` and reports how it ended."""

    def __init__(self, permits: Permits, name: str) -> None:
        self.name = name
        self.outcome: list[str] = []
        self.parked = threading.Event()
        self.thread = threading.Thread(target=self._body, args=(permits,), name=name, daemon=True)
        self.thread.start()

    def _body(self, permits: Permits) -> None:
        hub = get_hub()
        # Runs on the hub's first turn, once the main greenlet below is parked.
        hub.run_callback(self.parked.set)
        try:
            woken = permits.wait_ready(timeout=2 * BOUND)
            self.outcome.append("woken" if woken else "timed out")
        finally:
            hub.destroy()

    def check_woken(self, by: str) -> None:
        self.thread.join(BOUND)
        assert not self.thread.is_alive(), (
            f"the listener in thread {self.name} was not woken by {by}"
        )
        assert self.outcome == ["woken"], f"the listener in thread {self.name}: {self.outcome}"


@pytest.mark.parametrize("first", ["this thread", "another thread"])
def test_listeners_in_other_threads_are_woken_by_a_release(first: str) -> None:
    permits = Permits(0)
    here: list[Task[bool]] = []
    if first == "this thread":
        here.append(spawn(permits.wait_ready, 2 * BOUND))
        run_until_blocked()
    listeners = []
    for i in range(2):
        listener = _ThreadListener(permits, f"listener-{i}")
        assert listener.parked.wait(BOUND), f"thread {listener.name} never parked"
        listeners.append(listener)
    if first == "another thread":
        here.append(spawn(permits.wait_ready, 2 * BOUND))
        run_until_blocked()
    assert permits.linkcount() == 3
    permits.release()
    for listener in listeners:
        listener.check_woken("release()")
    here[0].join(timeout=BOUND)
    assert here[0].value is True, "the listener in this thread was not woken by release()"
    assert permits.linkcount() == 0
    assert permits.count == 1
